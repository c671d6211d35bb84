/* The filter and the DNS interceptor together (runtime/net/filter.c, dns.c), without slirp:
 * frames a guest would send go in, and what would reach slirp, the guest or the upstream
 * resolver (a fake one on 127.0.0.1, run by a thread here) is checked. */
#include <arpa/inet.h>
#include <msb/msb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "lib/config.h"
#include "runtime/net/dns.h"
#include "runtime/net/dns_msg.h"
#include "runtime/net/filter.h"
#include "runtime/net/packet.h"
#include "tests/unit/test.h"

#define GUEST 0xac100002u
#define GATEWAY 0xac100001u
#define DNS_ADDR 0xac100003u

static const uint8_t guest_mac[6] = { 2, 0x4d, 0x53, 16, 0, 2 };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 172, 16, 0, 1 };

/* ---- a fake upstream resolver ---- */

static int upstream_fd;
static int upstream_port;
static volatile int upstream_queries;

static void *
upstream_main (void *arg)
{
  for (;;)
    {
      uint8_t q[1500], a[1500];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (upstream_fd, q, sizeof q, 0, (struct sockaddr *) &from, &fl);
      if (n <= 0)
        return NULL;
      upstream_queries++;
      msb_dns_question qq;
      if (msb_dns_parse_query (q, (size_t) n, &qq) != 0)
        continue;
      uint32_t addr = 0;
      if (strcmp (qq.name, "good.test") == 0 || strcmp (qq.name, "bad.test") == 0)
        addr = htonl (0xcb00710a); /* 203.0.113.10 */
      else if (strcmp (qq.name, "rebind.test") == 0)
        addr = htonl (0x0a14000a); /* 10.20.0.10 */
      else if (strcmp (qq.name, "slow.test") == 0)
        continue;
      size_t len;
      if (strcmp (qq.name, "spoof.test") == 0)
        {
          /* First an answer with the wrong id (ignored), then the real one. */
          uint32_t evil = htonl (0x0a000001);
          len = msb_dns_build_a (q, &qq, &evil, 1, 60, a, sizeof a);
          a[0] ^= 0xff;
          sendto (upstream_fd, a, len, 0, (struct sockaddr *) &from, fl);
          addr = htonl (0xcb00710b);
        }
      if (addr)
        len = msb_dns_build_a (q, &qq, &addr, 1, 60, a, sizeof a);
      else
        len = msb_dns_build_rcode (q, &qq, MSB_DNS_NXDOMAIN, false, a, sizeof a);
      a[2] &= (uint8_t) ~0x04; /* not authoritative: a resolver */
      sendto (upstream_fd, a, len, 0, (struct sockaddr *) &from, fl);
    }
}

static void
start_upstream (void)
{
  if (upstream_port)
    return;
  upstream_fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  bind (upstream_fd, (struct sockaddr *) &sa, sizeof sa);
  socklen_t l = sizeof sa;
  getsockname (upstream_fd, (struct sockaddr *) &sa, &l);
  upstream_port = ntohs (sa.sin_port);
  pthread_t t;
  pthread_create (&t, NULL, upstream_main, NULL);
  pthread_detach (t);
}

/* ---- the harness: filter + interceptor, callbacks recorded ---- */

typedef struct harness
{
  msb_config *cfg;
  msb_net_policy policy;
  msb_net_pins *pins;
  msb_net_dns *dns;
  msb_net_filter f;
  uint8_t to_guest[2048];
  size_t to_guest_len;
  int to_guest_count;
  uint8_t to_slirp[256];
  size_t to_slirp_len;
  uint8_t answer[4096];
  size_t answer_len;
  msb_dns_udp_client answer_to;
  unsigned open_conns;
} harness;

static void
cb_to_guest (void *o, const uint8_t *f, size_t n)
{
  harness *h = o;
  memcpy (h->to_guest, f, n < sizeof h->to_guest ? n : sizeof h->to_guest);
  h->to_guest_len = n;
  h->to_guest_count++;
}

static void
cb_to_slirp (void *o, const uint8_t *f, size_t n)
{
  harness *h = o;
  memcpy (h->to_slirp, f, n < sizeof h->to_slirp ? n : sizeof h->to_slirp);
  h->to_slirp_len = n;
}

static void
cb_send_udp (void *o, const msb_dns_udp_client *c, const uint8_t *m, size_t n)
{
  harness *h = o;
  memcpy (h->answer, m, n < sizeof h->answer ? n : sizeof h->answer);
  h->answer_len = n;
  h->answer_to = *c;
}

static unsigned
cb_open (void *o)
{
  return ((harness *) o)->open_conns;
}

static harness *
harness_new (const char *const *rules, const char *preset, unsigned timeout_ms)
{
  start_upstream ();
  harness *h = calloc (1, sizeof *h);
  h->cfg = msb_config_new ();
  if (preset)
    msb_config_set_network_policy (h->cfg, preset, NULL);
  for (; rules && *rules; rules++)
    CHECK_EQ_INT (msb_config_add_network_rule (h->cfg, *rules, NULL), 0);
  msb_net_policy_compile (&h->cfg->net, &h->policy, NULL);
  msb_net_addr gw;
  msb_net_addr_from_v4 (&gw, htonl (GATEWAY));
  msb_net_policy_add_host (&h->policy, &gw);
  h->pins = msb_net_pins_new (64);
  struct sockaddr_storage ns;
  char text[32];
  snprintf (text, sizeof text, "127.0.0.1:%d", upstream_port);
  msb_net_dns_parse_nameserver (text, &ns);
  msb_net_dns_config dc = { .policy = &h->policy, .pins = h->pins, .nameservers = &ns,
                            .n_nameservers = 1, .timeout_ms = timeout_ms,
                            .rebind_protection = true, .gateway_be = htonl (GATEWAY),
                            .tcp_listen_fd = -1, .send_udp = cb_send_udp, .opaque = h };
  h->dns = msb_net_dns_new (&dc);
  msb_net_filter *f = &h->f;
  f->policy = &h->policy;
  f->pins = h->pins;
  f->dns = h->dns;
  f->guest_be = htonl (GUEST);
  f->gateway_be = htonl (GATEWAY);
  f->dns_be = htonl (DNS_ADDR);
  memcpy (f->gateway_mac, gw_mac, 6);
  f->max_connections = 4;
  f->dns_tcp_budget = 2;
  f->open_connections = cb_open;
  f->to_guest = cb_to_guest;
  f->to_slirp = cb_to_slirp;
  f->opaque = h;
  return h;
}

static void
harness_free (harness *h)
{
  msb_net_dns_free (h->dns);
  msb_net_pins_free (h->pins);
  msb_net_policy_clear (&h->policy);
  msb_config_free (h->cfg);
  free (h);
}

/* Runs the interceptor's part of the engine loop until an answer arrives (or 3 s). */
static void
run_dns (harness *h)
{
  uint64_t end = msb_now_mono_ns () + 3000000000ull;
  while (h->answer_len == 0 && msb_now_mono_ns () < end)
    {
      struct pollfd p[64];
      int timeout = 100;
      size_t n = msb_net_dns_fill (h->dns, p, 64, &timeout, msb_now_mono_ns ());
      poll (p, n, timeout);
      msb_net_dns_dispatch (h->dns, p, n, msb_now_mono_ns ());
    }
}

static size_t
udp_frame (uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
           const uint8_t *payload, size_t n)
{
  return msb_pkt_build_udp4 (out, 2048, gw_mac, guest_mac, htonl (src), htonl (dst), sport, dport,
                             payload, n);
}

static size_t
tcp_frame (uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
  /* Build it as UDP for the headers, then turn it into a minimal TCP segment. */
  uint8_t tcp[20];
  memset (tcp, 0, sizeof tcp);
  tcp[0] = (uint8_t) (sport >> 8), tcp[1] = (uint8_t) sport;
  tcp[2] = (uint8_t) (dport >> 8), tcp[3] = (uint8_t) dport;
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  size_t n = msb_pkt_build_udp4 (out, 2048, gw_mac, guest_mac, htonl (src), htonl (dst), 1, 1, tcp, 12);
  /* Replace the UDP header + 12 bytes by the 20-byte TCP header. */
  memcpy (out + 14 + 20, tcp, 20);
  out[14 + 9] = IPPROTO_TCP;
  uint16_t total = 40;
  out[14 + 2] = 0, out[14 + 3] = (uint8_t) total;
  return n;
}

static size_t
dns_query (uint8_t *m, const char *name, uint16_t id)
{
  size_t n = 0;
  m[n++] = (uint8_t) (id >> 8), m[n++] = (uint8_t) id, m[n++] = 1, m[n++] = 0;
  m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = 0, m[n++] = 0;
  for (const char *p = name; *p;)
    {
      const char *dot = strchr (p, '.');
      size_t l = dot ? (size_t) (dot - p) : strlen (p);
      m[n++] = (uint8_t) l;
      memcpy (m + n, p, l);
      n += l;
      p += l + (dot ? 1 : 0);
    }
  m[n++] = 0, m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 1;
  return n;
}

/* The guest asks `resolver` for `name`; returns the rcode of the answer (-1 none) and the
 * first address in *addr. */
static int
resolve (harness *h, const char *name, uint32_t resolver, uint32_t *addr)
{
  uint8_t q[512], f[2048];
  size_t qn = dns_query (q, name, 0x4242);
  size_t fn = udp_frame (f, GUEST, resolver, 33333, 53, q, qn);
  h->answer_len = 0;
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, fn, msb_now_mono_ns ()), MSB_NET_DROP);
  run_dns (h);
  if (h->answer_len == 0)
    return -1;
  CHECK_EQ_INT (msb_dns_id (h->answer), 0x4242);
  /* The answer comes from the address the guest asked. */
  CHECK_EQ_INT (h->answer_to.resolver_be, htonl (resolver));
  CHECK_EQ_INT (h->answer_to.guest_port, 33333);
  msb_dns_response *r = malloc (sizeof *r);
  int rc = msb_dns_parse_response (h->answer, h->answer_len, r) == 0 ? r->rcode : -2;
  if (addr)
    *addr = rc == 0 && r->n_addrs ? ntohl (msb_net_addr_v4 (&r->addrs[0].addr)) : 0;
  free (r);
  return rc;
}

static int
syn (harness *h, uint32_t dst, uint16_t port)
{
  uint8_t f[2048];
  size_t n = tcp_frame (f, GUEST, dst, 40000, port, MSB_TCP_SYN);
  h->to_guest_count = 0;
  return msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ());
}

TEST (test_dns_to_any_resolver_is_answered_here)
{
  harness *h = harness_new (NULL, NULL, 2000);
  uint32_t a = 0;
  int before = upstream_queries;
  CHECK_EQ_INT (resolve (h, "good.test", 0x09090909, &a), 0); /* 9.9.9.9, not reachable */
  CHECK_EQ_INT (a, 0xcb00710a);
  CHECK_EQ_INT (upstream_queries, before + 1);
  CHECK_EQ_INT (resolve (h, "host.microsandbox.internal", GATEWAY, &a), 0);
  CHECK_EQ_INT (a, GATEWAY);
  CHECK_EQ_INT (upstream_queries, before + 1); /* answered locally */
  harness_free (h);
}

TEST (test_rebinding_answer_is_nxdomain)
{
  harness *h = harness_new (NULL, NULL, 2000);
  CHECK_EQ_INT (resolve (h, "rebind.test", GATEWAY, NULL), MSB_DNS_NXDOMAIN);
  harness_free (h);
  const char *rules[] = { "allow@10.20.0.0/16", NULL };
  h = harness_new (rules, NULL, 2000);
  uint32_t a;
  CHECK_EQ_INT (resolve (h, "rebind.test", GATEWAY, &a), 0);
  CHECK_EQ_INT (a, 0x0a14000a);
  harness_free (h);
}

TEST (test_domain_rule_follows_this_sandboxs_pins)
{
  const char *rules[] = { "allow@dns", "allow@good.test", NULL };
  harness *h = harness_new (rules, "none", 2000);
  /* Before resolving: denied, and the guest is told so at once. */
  CHECK_EQ_INT (syn (h, 0xcb00710a, 80), MSB_NET_DROP);
  CHECK_EQ_INT (h->to_guest_count, 1);
  msb_pkt p;
  CHECK_EQ_INT (msb_pkt_parse (h->to_guest, h->to_guest_len, &p), 0);
  CHECK_EQ_INT (p.icmp_type, 3);
  CHECK_EQ_INT (p.icmp_code, 13);
  /* bad.test has the same address but no rule: NXDOMAIN, and no pin. */
  CHECK_EQ_INT (resolve (h, "bad.test", GATEWAY, NULL), MSB_DNS_NXDOMAIN);
  CHECK_EQ_INT (syn (h, 0xcb00710a, 80), MSB_NET_DROP);
  CHECK_EQ_INT (resolve (h, "good.test", GATEWAY, NULL), 0);
  CHECK_EQ_INT (syn (h, 0xcb00710a, 80), MSB_NET_PASS);
  CHECK_EQ_INT (syn (h, 0xcb00710b, 80), MSB_NET_DROP);
  harness_free (h);
}

TEST (test_none_refuses_dns)
{
  harness *h = harness_new (NULL, "none", 2000);
  CHECK_EQ_INT (resolve (h, "good.test", GATEWAY, NULL), MSB_DNS_REFUSED);
  harness_free (h);
}

TEST (test_spoofed_and_missing_answers)
{
  harness *h = harness_new (NULL, NULL, 400);
  uint32_t a;
  CHECK_EQ_INT (resolve (h, "spoof.test", GATEWAY, &a), 0);
  CHECK_EQ_INT (a, 0xcb00710b); /* the answer with our id, not the first one */
  uint64_t t0 = msb_now_mono_ns ();
  CHECK_EQ_INT (resolve (h, "slow.test", GATEWAY, NULL), MSB_DNS_SERVFAIL);
  CHECK (msb_now_mono_ns () - t0 < 2000000000ull);
  harness_free (h);
}

TEST (test_dns_over_tcp_is_redirected_and_answers_rewritten_back)
{
  harness *h = harness_new (NULL, NULL, 2000);
  uint8_t f[2048];
  size_t n = tcp_frame (f, GUEST, 0x08080808, 41000, 53, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_PASS);
  msb_pkt p;
  msb_pkt_parse (f, n, &p);
  CHECK_EQ_INT (ntohl (msb_net_addr_v4 (&p.dst)), DNS_ADDR);
  /* slirp's SYN|ACK from the interceptor's address goes back as if from 8.8.8.8. */
  n = tcp_frame (f, DNS_ADDR, GUEST, 53, 41000, MSB_TCP_SYN | MSB_TCP_ACK);
  CHECK_EQ_INT (msb_net_filter_to_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_PASS);
  msb_pkt_parse (f, n, &p);
  CHECK_EQ_INT (ntohl (msb_net_addr_v4 (&p.src)), 0x08080808);
  /* New TCP DNS connections are rationed per engine round (the engine refills the budget). */
  n = tcp_frame (f, GUEST, 0x08080808, 41001, 53, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_PASS);
  n = tcp_frame (f, GUEST, 0x08080808, 41002, 53, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  harness_free (h);
  /* Under `none`, TCP DNS is refused at the SYN. */
  h = harness_new (NULL, "none", 2000);
  n = tcp_frame (f, GUEST, 0x08080808, 41000, 53, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  harness_free (h);
}

TEST (test_spoofed_sources_fragments_and_ipv6_are_dropped)
{
  harness *h = harness_new (NULL, "all", 2000);
  uint8_t f[2048];
  size_t n = tcp_frame (f, 0xac100009, 0xcb00710a, 40000, 80, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  n = tcp_frame (f, GUEST, 0xcb00710a, 40000, 80, MSB_TCP_SYN);
  f[14 + 6] = 0x20; /* more fragments */
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  n = tcp_frame (f, GUEST, 0xcb00710a, 40000, 80, MSB_TCP_SYN);
  f[12] = 0x86, f[13] = 0xdd;
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  /* GRE, say: not a protocol the sandbox may use. */
  n = tcp_frame (f, GUEST, 0xcb00710a, 40000, 80, MSB_TCP_SYN);
  f[14 + 9] = 47;
  CHECK_EQ_INT (msb_net_filter_from_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  harness_free (h);
}

TEST (test_max_connections)
{
  harness *h = harness_new (NULL, "all", 2000);
  h->open_conns = 3;
  CHECK_EQ_INT (syn (h, 0xcb00710a, 80), MSB_NET_PASS);
  h->open_conns = 4;
  CHECK_EQ_INT (syn (h, 0xcb00710a, 80), MSB_NET_DROP);
  CHECK_EQ_INT (h->to_guest_count, 1);
  harness_free (h);
}

TEST (test_denied_inbound_connection_is_reset)
{
  const char *rules[] = { "deny:ingress@any:tcp:22", NULL };
  harness *h = harness_new (rules, NULL, 2000);
  uint8_t f[2048];
  size_t n = tcp_frame (f, GATEWAY, GUEST, 50000, 22, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_to_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_DROP);
  CHECK (h->to_slirp_len > 0);
  msb_pkt p;
  CHECK_EQ_INT (msb_pkt_parse (h->to_slirp, h->to_slirp_len, &p), 0);
  CHECK_EQ_INT (p.tcp_flags & MSB_TCP_RST, MSB_TCP_RST);
  CHECK_EQ_INT (ntohl (msb_net_addr_v4 (&p.src)), GUEST);
  n = tcp_frame (f, GATEWAY, GUEST, 50000, 80, MSB_TCP_SYN);
  CHECK_EQ_INT (msb_net_filter_to_guest (&h->f, f, n, msb_now_mono_ns ()), MSB_NET_PASS);
  harness_free (h);
}

TEST_MAIN (TEST_ENTRY (test_dns_to_any_resolver_is_answered_here),
           TEST_ENTRY (test_rebinding_answer_is_nxdomain),
           TEST_ENTRY (test_domain_rule_follows_this_sandboxs_pins),
           TEST_ENTRY (test_none_refuses_dns), TEST_ENTRY (test_spoofed_and_missing_answers),
           TEST_ENTRY (test_dns_over_tcp_is_redirected_and_answers_rewritten_back),
           TEST_ENTRY (test_spoofed_sources_fragments_and_ipv6_are_dropped),
           TEST_ENTRY (test_max_connections), TEST_ENTRY (test_denied_inbound_connection_is_reset))
