/* Bounded frame parsing and the frames the engine writes itself (see packet.h). Every read
 * of a header field is preceded by a length check against what the frame actually holds;
 * a header that claims more than that makes the frame malformed. */
#include "runtime/net/packet.h"

#include <netinet/in.h>
#include <string.h>

static uint16_t
rd16 (const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static void
wr16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void
wr32 (uint8_t *p, uint32_t v)
{
  wr16 (p, (uint16_t) (v >> 16));
  wr16 (p + 2, (uint16_t) v);
}

uint32_t
msb_csum_add (uint32_t sum, const void *data, size_t n)
{
  const uint8_t *p = data;
  for (; n > 1; n -= 2, p += 2)
    sum += rd16 (p);
  if (n)
    sum += (uint32_t) p[0] << 8;
  return sum;
}

uint16_t
msb_csum_fold (uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

static void
parse_l4 (msb_pkt *p, uint8_t *l4, size_t n)
{
  p->l4 = NULL;
  p->l4_len = n;
  switch (p->proto)
    {
    case IPPROTO_TCP:
      if (n < 20 || (size_t) (l4[12] >> 4) * 4 < 20 || (size_t) (l4[12] >> 4) * 4 > n)
        return;
      p->sport = rd16 (l4);
      p->dport = rd16 (l4 + 2);
      p->tcp_flags = l4[13];
      break;
    case IPPROTO_UDP:
      if (n < 8 || rd16 (l4 + 4) < 8 || rd16 (l4 + 4) > n)
        return;
      p->sport = rd16 (l4);
      p->dport = rd16 (l4 + 2);
      p->l4_len = rd16 (l4 + 4);
      break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      if (n < 8)
        return;
      p->icmp_type = l4[0];
      p->icmp_code = l4[1];
      break;
    default:
      break;
    }
  p->l4 = l4;
}

static int
parse_v4 (msb_pkt *p, uint8_t *ip, size_t n)
{
  if (n < 20 || (ip[0] >> 4) != 4)
    return -1;
  size_t hlen = (size_t) (ip[0] & 0x0f) * 4;
  size_t total = rd16 (ip + 2);
  if (hlen < 20 || total < hlen || total > n)
    return -1;
  p->ip_version = 4;
  p->l3 = ip;
  p->l3_len = total;
  p->ip_hlen = hlen;
  uint32_t s, d;
  memcpy (&s, ip + 12, 4);
  memcpy (&d, ip + 16, 4);
  msb_net_addr_from_v4 (&p->src, s);
  msb_net_addr_from_v4 (&p->dst, d);
  p->proto = ip[9];
  uint16_t frag = rd16 (ip + 6);
  p->is_fragment = (frag & 0x2000) || (frag & 0x1fff);
  if ((frag & 0x1fff) == 0)
    parse_l4 (p, ip + hlen, total - hlen);
  return 0;
}

static int
parse_v6 (msb_pkt *p, uint8_t *ip, size_t n)
{
  if (n < 40 || (ip[0] >> 4) != 6)
    return -1;
  size_t total = 40 + (size_t) rd16 (ip + 4);
  if (total > n)
    return -1;
  p->ip_version = 6;
  p->l3 = ip;
  p->l3_len = total;
  p->ip_hlen = 40;
  memcpy (p->src.b, ip + 8, 16);
  memcpy (p->dst.b, ip + 24, 16);
  uint8_t next = ip[6];
  size_t off = 40;
  /* Extension headers, a bounded number of them. */
  for (int i = 0; i < 8; i++)
    {
      if (next == 0 || next == 43 || next == 60)
        {
          if (off + 8 > total)
            return -1;
          size_t len = ((size_t) ip[off + 1] + 1) * 8;
          next = ip[off];
          off += len;
          if (off > total)
            return -1;
          continue;
        }
      if (next == 44) /* fragment */
        {
          if (off + 8 > total)
            return -1;
          p->is_fragment = true;
          next = ip[off];
          uint16_t fo = rd16 (ip + off + 2) & 0xfff8;
          off += 8;
          if (fo != 0)
            {
              p->proto = next;
              return 0;
            }
          continue;
        }
      break;
    }
  p->proto = next;
  parse_l4 (p, ip + off, total - off);
  return 0;
}

int
msb_pkt_parse (uint8_t *frame, size_t len, msb_pkt *p)
{
  memset (p, 0, sizeof *p);
  p->frame = frame;
  p->len = len;
  if (len < MSB_ETH_HLEN)
    return -1;
  p->ethertype = rd16 (frame + 12);
  if (p->ethertype == MSB_ETHERTYPE_IPV4)
    return parse_v4 (p, frame + MSB_ETH_HLEN, len - MSB_ETH_HLEN);
  if (p->ethertype == MSB_ETHERTYPE_IPV6)
    return parse_v6 (p, frame + MSB_ETH_HLEN, len - MSB_ETH_HLEN);
  return 0;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over the two 16-bit halves of an address. */
static void
csum_replace32 (uint8_t *csum, uint32_t old_be, uint32_t new_be)
{
  uint8_t o[4], nw[4];
  memcpy (o, &old_be, 4);
  memcpy (nw, &new_be, 4);
  uint32_t sum = (uint16_t) ~rd16 (csum);
  sum += (uint16_t) ~rd16 (o) + (uint16_t) ~rd16 (o + 2);
  sum += rd16 (nw) + rd16 (nw + 2);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  wr16 (csum, (uint16_t) ~sum);
}

static void
set_v4_addr (msb_pkt *p, size_t off, uint32_t be)
{
  uint32_t old;
  memcpy (&old, p->l3 + off, 4);
  if (old == be)
    return;
  memcpy (p->l3 + off, &be, 4);
  csum_replace32 (p->l3 + 10, old, be);
  if (p->l4 && p->proto == IPPROTO_TCP)
    csum_replace32 (p->l4 + 16, old, be);
  else if (p->l4 && p->proto == IPPROTO_UDP && rd16 (p->l4 + 6) != 0)
    csum_replace32 (p->l4 + 6, old, be);
  if (off == 12)
    msb_net_addr_from_v4 (&p->src, be);
  else
    msb_net_addr_from_v4 (&p->dst, be);
}

void
msb_pkt_set_v4_src (msb_pkt *p, uint32_t be)
{
  set_v4_addr (p, 12, be);
}

void
msb_pkt_set_v4_dst (msb_pkt *p, uint32_t be)
{
  set_v4_addr (p, 16, be);
}

static void
write_eth (uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
  memcpy (out, dst, 6);
  memcpy (out + 6, src, 6);
  wr16 (out + 12, type);
}

static void
write_ip4 (uint8_t *ip, size_t total, uint8_t proto, uint32_t src_be, uint32_t dst_be)
{
  static uint16_t ident;
  memset (ip, 0, 20);
  ip[0] = 0x45;
  wr16 (ip + 2, (uint16_t) total);
  wr16 (ip + 4, ++ident);
  wr16 (ip + 6, 0x4000); /* DF */
  ip[8] = 64;
  ip[9] = proto;
  memcpy (ip + 12, &src_be, 4);
  memcpy (ip + 16, &dst_be, 4);
  wr16 (ip + 10, msb_csum_fold (msb_csum_add (0, ip, 20)));
}

static uint32_t
pseudo_v4 (uint32_t src_be, uint32_t dst_be, uint8_t proto, size_t len)
{
  uint32_t sum = msb_csum_add (0, &src_be, 4);
  sum = msb_csum_add (sum, &dst_be, 4);
  return sum + proto + (uint32_t) len;
}

size_t
msb_pkt_build_prohibited (const msb_pkt *orig, const uint8_t gw_mac[6], const msb_net_addr *from,
                          uint8_t *out, size_t cap)
{
  /* Never answer an ICMP error with one (RFC 1122 3.2.2). */
  if (orig->ip_version == 4 && orig->proto == IPPROTO_ICMP && orig->l4
      && orig->icmp_type != 8 && orig->icmp_type != 13)
    return 0;
  if (orig->ip_version == 6 && orig->proto == IPPROTO_ICMPV6 && orig->l4 && orig->icmp_type < 128)
    return 0;
  if (orig->ip_version == 4)
    {
      size_t quote = orig->ip_hlen + 8 <= orig->l3_len ? orig->ip_hlen + 8 : orig->l3_len;
      size_t total = 20 + 8 + quote;
      if (MSB_ETH_HLEN + total > cap)
        return 0;
      write_eth (out, orig->frame + 6, gw_mac, MSB_ETHERTYPE_IPV4);
      uint8_t *ip = out + MSB_ETH_HLEN, *icmp = ip + 20;
      write_ip4 (ip, total, IPPROTO_ICMP, msb_net_addr_v4 (from), msb_net_addr_v4 (&orig->src));
      memset (icmp, 0, 8);
      icmp[0] = 3;  /* destination unreachable */
      icmp[1] = 13; /* communication administratively prohibited */
      memcpy (icmp + 8, orig->l3, quote);
      wr16 (icmp + 2, msb_csum_fold (msb_csum_add (0, icmp, 8 + quote)));
      return MSB_ETH_HLEN + total;
    }
  if (orig->ip_version == 6)
    {
      size_t quote = orig->l3_len < 1232 ? orig->l3_len : 1232;
      size_t plen = 8 + quote;
      if (MSB_ETH_HLEN + 40 + plen > cap)
        return 0;
      write_eth (out, orig->frame + 6, gw_mac, MSB_ETHERTYPE_IPV6);
      uint8_t *ip = out + MSB_ETH_HLEN, *icmp = ip + 40;
      memset (ip, 0, 40);
      ip[0] = 0x60;
      wr16 (ip + 4, (uint16_t) plen);
      ip[6] = IPPROTO_ICMPV6;
      ip[7] = 64;
      memcpy (ip + 8, from->b, 16);
      memcpy (ip + 24, orig->src.b, 16);
      memset (icmp, 0, 8);
      icmp[0] = 1; /* destination unreachable */
      icmp[1] = 1; /* administratively prohibited */
      memcpy (icmp + 8, orig->l3, quote);
      uint32_t sum = msb_csum_add (0, ip + 8, 32);
      sum += (uint32_t) plen + IPPROTO_ICMPV6;
      wr16 (icmp + 2, msb_csum_fold (msb_csum_add (sum, icmp, plen)));
      return MSB_ETH_HLEN + 40 + plen;
    }
  return 0;
}

size_t
msb_pkt_build_tcp_reset (const msb_pkt *orig, uint8_t *out, size_t cap)
{
  if (orig->ip_version != 4 || orig->proto != IPPROTO_TCP || orig->l4 == NULL)
    return 0;
  size_t total = 20 + 20;
  if (MSB_ETH_HLEN + total > cap)
    return 0;
  write_eth (out, orig->frame + 6, orig->frame, MSB_ETHERTYPE_IPV4);
  uint32_t src = msb_net_addr_v4 (&orig->dst), dst = msb_net_addr_v4 (&orig->src);
  uint8_t *ip = out + MSB_ETH_HLEN, *tcp = ip + 20;
  write_ip4 (ip, total, IPPROTO_TCP, src, dst);
  memset (tcp, 0, 20);
  wr16 (tcp, orig->dport);
  wr16 (tcp + 2, orig->sport);
  size_t seg = orig->l4_len - (size_t) (orig->l4[12] >> 4) * 4;
  uint32_t ack = rd32 (orig->l4 + 4) + (uint32_t) seg + (orig->tcp_flags & MSB_TCP_SYN ? 1 : 0)
                 + (orig->tcp_flags & MSB_TCP_FIN ? 1 : 0);
  if (orig->tcp_flags & MSB_TCP_ACK)
    {
      wr32 (tcp + 4, rd32 (orig->l4 + 8));
      tcp[13] = MSB_TCP_RST;
    }
  else
    {
      wr32 (tcp + 8, ack);
      tcp[13] = MSB_TCP_RST | MSB_TCP_ACK;
    }
  tcp[12] = 5 << 4;
  wr16 (tcp + 16, msb_csum_fold (msb_csum_add (pseudo_v4 (src, dst, IPPROTO_TCP, 20), tcp, 20)));
  return MSB_ETH_HLEN + total;
}

size_t
msb_pkt_build_udp4 (uint8_t *out, size_t cap, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                    uint32_t src_be, uint32_t dst_be, uint16_t sport, uint16_t dport,
                    const uint8_t *payload, size_t n)
{
  size_t total = 20 + 8 + n;
  if (MSB_ETH_HLEN + total > cap || total > 65535)
    return 0;
  write_eth (out, dst_mac, src_mac, MSB_ETHERTYPE_IPV4);
  uint8_t *ip = out + MSB_ETH_HLEN, *udp = ip + 20;
  write_ip4 (ip, total, IPPROTO_UDP, src_be, dst_be);
  wr16 (udp, sport);
  wr16 (udp + 2, dport);
  wr16 (udp + 4, (uint16_t) (8 + n));
  wr16 (udp + 6, 0);
  memcpy (udp + 8, payload, n);
  uint16_t c = msb_csum_fold (msb_csum_add (pseudo_v4 (src_be, dst_be, IPPROTO_UDP, 8 + n), udp, 8 + n));
  wr16 (udp + 6, c ? c : 0xffff);
  return MSB_ETH_HLEN + total;
}
