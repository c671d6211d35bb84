/* The hostile-input codecs of the network engine: DNS messages (dns_msg.c), Ethernet/IP
 * frames (packet.c) and the QEMU stream framing (link_stream.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/net/dns_msg.h"
#include "runtime/net/link.h"
#include "runtime/net/packet.h"
#include "tests/unit/test.h"

static size_t
query (uint8_t *m, const char *name, uint16_t qtype)
{
  size_t n = 0;
  const uint8_t hdr[12] = { 0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
  memcpy (m, hdr, 12);
  n = 12;
  for (const char *p = name; *p;)
    {
      const char *dot = strchr (p, '.');
      size_t l = dot ? (size_t) (dot - p) : strlen (p);
      m[n++] = (uint8_t) l;
      memcpy (m + n, p, l);
      n += l;
      p += l + (dot ? 1 : 0);
    }
  m[n++] = 0;
  m[n++] = (uint8_t) (qtype >> 8);
  m[n++] = (uint8_t) qtype;
  m[n++] = 0;
  m[n++] = 1;
  return n;
}

/* Appends an answer record whose owner is a pointer to the question name. */
static size_t
add_rr (uint8_t *m, size_t n, uint16_t type, const void *rdata, uint16_t rdlen, uint32_t ttl)
{
  uint8_t rr[10] = { 0, 0, 0, 1, (uint8_t) (ttl >> 24), (uint8_t) (ttl >> 16), (uint8_t) (ttl >> 8),
                     (uint8_t) ttl, (uint8_t) (rdlen >> 8), (uint8_t) rdlen };
  rr[0] = (uint8_t) (type >> 8);
  rr[1] = (uint8_t) type;
  m[n++] = 0xc0;
  m[n++] = 12;
  memcpy (m + n, rr, 10);
  n += 10;
  memcpy (m + n, rdata, rdlen);
  return n + rdlen;
}

TEST (test_dns_query_parse)
{
  uint8_t m[512];
  size_t n = query (m, "WWW.Example.COM", 1);
  msb_dns_question q;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), 0);
  CHECK_EQ_STR (q.name, "www.example.com");
  CHECK_EQ_INT (q.qtype, 1);
  CHECK_EQ_INT (q.end, n);
  /* Not a query / not QUERY / not one question. */
  m[2] |= 0x80;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), -1);
  m[2] = 0x01 | (2 << 3);
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_NOTIMP);
  m[2] = 0x01;
  m[5] = 2;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_FORMERR);
  m[5] = 1;
  CHECK_EQ_INT (msb_dns_parse_query (m, n - 1, &q), MSB_DNS_FORMERR); /* truncated */
  CHECK_EQ_INT (msb_dns_parse_query (m, 11, &q), -1);
}

TEST (test_dns_names_are_checked)
{
  uint8_t m[600];
  size_t n = query (m, "a.b", 1);
  msb_dns_question q;
  /* A label with a dot inside it would read as two labels: refused. */
  m[13] = '.';
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_FORMERR);
  /* A pointer to itself (a loop) and a forward pointer. */
  n = 12;
  m[n++] = 0xc0;
  m[n++] = 12;
  m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 1;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_FORMERR);
  m[13] = 20;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_FORMERR);
  /* A name of more than 253 bytes. */
  n = 12;
  for (int i = 0; i < 5; i++)
    {
      m[n++] = 60;
      memset (m + n, 'a', 60);
      n += 60;
    }
  m[n++] = 0, m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 1;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), MSB_DNS_FORMERR);
}

TEST (test_dns_response_parse)
{
  uint8_t m[1024];
  size_t n = query (m, "good.test", 1);
  m[2] = 0x81;
  m[3] = 0x80;
  m[7] = 3; /* ancount */
  /* good.test CNAME cdn.test (pointer-compressed target "cdn" + pointer to ".test") */
  const uint8_t cname[] = { 3, 'c', 'd', 'n', 0xc0, 17 };
  n = add_rr (m, n, MSB_DNS_TYPE_CNAME, cname, sizeof cname, 300);
  const uint8_t a1[4] = { 203, 0, 113, 10 }, a2[4] = { 10, 0, 0, 1 };
  n = add_rr (m, n, MSB_DNS_TYPE_A, a1, 4, 30);
  n = add_rr (m, n, MSB_DNS_TYPE_A, a2, 4, 0xffffffffu);
  msb_dns_response *r = malloc (sizeof *r);
  CHECK_EQ_INT (msb_dns_parse_response (m, n, r), 0);
  CHECK_EQ_INT (r->n_addrs, 2);
  CHECK_EQ_INT (r->rcode, 0);
  CHECK_EQ_INT (r->addrs[0].ttl, 30);
  CHECK_EQ_INT (r->addrs[1].ttl, 0); /* a TTL with the top bit set is 0 (RFC 2181) */
  CHECK_EQ_INT (r->n_names, 2);
  CHECK_EQ_STR (r->names[0], "good.test");
  CHECK_EQ_STR (r->names[1], "cdn.test");
  /* An A record of the wrong size is malformed, not skipped. */
  m[n - 5] = 5;
  CHECK_EQ_INT (msb_dns_parse_response (m, n + 1, r), -1);
  /* Truncated mid-record: fine only with TC. */
  CHECK_EQ_INT (msb_dns_parse_response (m, n - 8, r), -1);
  m[2] |= 0x02;
  CHECK_EQ_INT (msb_dns_parse_response (m, n - 8, r), 0);
  free (r);
}

TEST (test_dns_build_answers)
{
  uint8_t m[512], out[512];
  size_t n = query (m, "host.microsandbox.internal", 1);
  msb_dns_question q;
  CHECK_EQ_INT (msb_dns_parse_query (m, n, &q), 0);
  uint32_t gw = htonl (0xac100001);
  size_t len = msb_dns_build_a (m, &q, &gw, 1, 60, out, sizeof out);
  msb_dns_response *r = malloc (sizeof *r);
  CHECK_EQ_INT (msb_dns_parse_response (out, len, r), 0);
  CHECK_EQ_INT (r->n_addrs, 1);
  CHECK_EQ_INT (r->addrs[0].addr.b[15], 1);
  CHECK_EQ_INT (msb_dns_id (out), 0x1234);
  len = msb_dns_build_rcode (m, &q, MSB_DNS_NXDOMAIN, false, out, sizeof out);
  CHECK_EQ_INT (msb_dns_parse_response (out, len, r), 0);
  CHECK_EQ_INT (r->rcode, MSB_DNS_NXDOMAIN);
  CHECK_EQ_INT (r->n_addrs, 0);
  CHECK (msb_dns_same_question (&r->q, &q));
  free (r);
}

static bool
checksum_ok (const uint8_t *p, size_t n, uint32_t pseudo)
{
  return msb_csum_fold (msb_csum_add (pseudo, p, n)) == 0;
}

TEST (test_udp_frame_round_trip_and_rewrite)
{
  uint8_t f[256];
  const uint8_t dst[6] = { 2, 0, 0, 0, 0, 2 }, src[6] = { 0x52, 0x55, 172, 16, 0, 1 };
  uint32_t s = htonl (0x08080808), d = htonl (0xac100002);
  size_t n = msb_pkt_build_udp4 (f, sizeof f, dst, src, s, d, 53, 40000, (const uint8_t *) "hello", 5);
  CHECK_EQ_INT (n, 14 + 20 + 8 + 5);
  msb_pkt p;
  CHECK_EQ_INT (msb_pkt_parse (f, n, &p), 0);
  CHECK_EQ_INT (p.ip_version, 4);
  CHECK_EQ_INT (p.proto, IPPROTO_UDP);
  CHECK_EQ_INT (p.sport, 53);
  CHECK_EQ_INT (p.dport, 40000);
  CHECK (checksum_ok (p.l3, 20, 0));
  /* The incremental rewrite keeps both checksums right. */
  msb_pkt_set_v4_src (&p, htonl (0xac100003));
  CHECK (checksum_ok (p.l3, 20, 0));
  uint32_t ns = htonl (0xac100003);
  uint32_t pseudo = msb_csum_add (msb_csum_add (0, &ns, 4), &d, 4) + IPPROTO_UDP + 13;
  CHECK (checksum_ok (p.l4, 13, pseudo));
}

TEST (test_prohibited_answer)
{
  uint8_t f[256], out[256];
  const uint8_t dst[6] = { 0x52, 0x55, 172, 16, 0, 1 }, src[6] = { 2, 0x4d, 0x53, 16, 0, 2 };
  size_t n = msb_pkt_build_udp4 (f, sizeof f, dst, src, htonl (0xac100002), htonl (0x0a000001),
                                 40000, 80, (const uint8_t *) "x", 1);
  msb_pkt p;
  CHECK_EQ_INT (msb_pkt_parse (f, n, &p), 0);
  msb_net_addr gw;
  msb_net_addr_from_v4 (&gw, htonl (0xac100001));
  size_t m = msb_pkt_build_prohibited (&p, dst, &gw, out, sizeof out);
  CHECK (m > 0);
  msb_pkt r;
  CHECK_EQ_INT (msb_pkt_parse (out, m, &r), 0);
  CHECK_EQ_INT (r.proto, IPPROTO_ICMP);
  CHECK_EQ_INT (r.icmp_type, 3);
  CHECK_EQ_INT (r.icmp_code, 13);
  CHECK (memcmp (out, src, 6) == 0);
  CHECK (checksum_ok (r.l4, r.l4_len, 0));
  /* Never an ICMP error about an ICMP error. */
  CHECK_EQ_INT (msb_pkt_build_prohibited (&r, dst, &gw, f, sizeof f), 0);
}

TEST (test_packet_parse_rejects_lies)
{
  uint8_t f[128];
  memset (f, 0, sizeof f);
  f[12] = 0x08;
  f[14] = 0x45;
  f[16] = 0x05; /* total length 1280 > frame */
  msb_pkt p;
  CHECK_EQ_INT (msb_pkt_parse (f, 60, &p), -1);
  f[16] = 0, f[17] = 40;
  f[14] = 0x4f; /* header length 60 > total 40 */
  CHECK_EQ_INT (msb_pkt_parse (f, 60, &p), -1);
  f[14] = 0x45;
  f[23] = IPPROTO_TCP;
  f[14 + 20 + 12] = 0xf0; /* TCP data offset 60 > 20 bytes left */
  CHECK_EQ_INT (msb_pkt_parse (f, 60, &p), 0);
  CHECK (p.l4 == NULL);
  CHECK_EQ_INT (msb_pkt_parse (f, 13, &p), -1);
}

TEST (test_stream_link_framing)
{
  int sv[2];
  CHECK_EQ_INT (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  msb_net_link *l = msb_net_link_stream_new (sv[0]);
  /* Two frames in one write, the second split across writes. */
  uint8_t wire[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'x' };
  CHECK_EQ_INT (write (sv[1], wire, sizeof wire), (ssize_t) sizeof wire);
  static uint8_t buf[MSB_NET_FRAME_MAX];
  CHECK_EQ_INT (l->ops->recv (l, buf, sizeof buf), 3);
  CHECK (memcmp (buf, "abc", 3) == 0);
  CHECK_EQ_INT (l->ops->recv (l, buf, sizeof buf), 0);
  CHECK_EQ_INT (write (sv[1], "y", 1), 1);
  CHECK_EQ_INT (l->ops->recv (l, buf, sizeof buf), 2);
  CHECK (memcmp (buf, "xy", 2) == 0);
  /* Sending adds the length prefix. */
  CHECK (l->ops->send (l, (const uint8_t *) "hello", 5));
  uint8_t got[16];
  CHECK_EQ_INT (read (sv[1], got, sizeof got), 9);
  CHECK (memcmp (got, "\0\0\0\5hello", 9) == 0);
  /* A length beyond any frame ends the link. */
  uint8_t huge[] = { 0x7f, 0, 0, 0 };
  CHECK_EQ_INT (write (sv[1], huge, 4), 4);
  CHECK_EQ_INT (l->ops->recv (l, buf, sizeof buf), -1);
  l->ops->free (l);
  close (sv[1]);
}

TEST (test_stream_link_backpressure_drops_whole_frames)
{
  int sv[2];
  CHECK_EQ_INT (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  msb_net_link *l = msb_net_link_stream_new (sv[0]);
  static uint8_t frame[1500];
  size_t sent = 0, dropped = 0;
  for (int i = 0; i < 10000; i++)
    {
      frame[0] = (uint8_t) i;
      if (l->ops->send (l, frame, sizeof frame))
        sent++;
      else
        dropped++;
    }
  CHECK (dropped > 0);
  CHECK (l->ops->events (l) & POLLOUT);
  /* Everything accepted arrives, framed, in order. */
  static uint8_t acc[8 << 20];
  size_t have = 0, off = 0, frames = 0;
  for (int idle = 0; idle < 1000 && frames < sent;)
    {
      l->ops->flush (l);
      ssize_t k = recv (sv[1], acc + have, sizeof acc - have, MSG_DONTWAIT);
      if (k > 0)
        have += (size_t) k;
      else
        idle++;
      while (have - off >= 4 + 1500)
        {
          CHECK_EQ_INT ((acc[off + 2] << 8) | acc[off + 3], 1500);
          CHECK_EQ_INT (acc[off + 4], (uint8_t) frames);
          off += 4 + 1500;
          frames++;
        }
    }
  CHECK_EQ_INT (frames, sent);
  l->ops->free (l);
  close (sv[1]);
}

TEST_MAIN (TEST_ENTRY (test_dns_query_parse), TEST_ENTRY (test_dns_names_are_checked),
           TEST_ENTRY (test_dns_response_parse), TEST_ENTRY (test_dns_build_answers),
           TEST_ENTRY (test_udp_frame_round_trip_and_rewrite), TEST_ENTRY (test_prohibited_answer),
           TEST_ENTRY (test_packet_parse_rejects_lies), TEST_ENTRY (test_stream_link_framing),
           TEST_ENTRY (test_stream_link_backpressure_drops_whole_frames))
