/* The policy filter between the sandbox and libslirp (see filter.h). */
#include "runtime/net/filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "runtime/net/packet.h"
#include "runtime/rtlog.h"

#define UDP_CACHE_NS 1000000000ull
#define UDP_INBOUND_NS (120ull * 1000000000ull)
#define LOG_BURST 20

static void
log_denied (msb_net_filter *f, const msb_pkt *p, const char *proto, const char *why, uint64_t now)
{
  static uint64_t window;
  static unsigned logged;
  if (now - window > 1000000000ull)
    {
      window = now;
      logged = 0;
    }
  if (++logged > LOG_BURST)
    return;
  char dst[64];
  msb_net_addr_format (&p->dst, dst, sizeof dst);
  if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
    msb_rtlog (MSB_RT_INFO, "net: denied %s to %s port %u (%s)", proto, dst, p->dport, why);
  else
    msb_rtlog (MSB_RT_INFO, "net: denied %s to %s (%s)", proto, dst, why);
}

/* Tells the guest at once that the policy said no (never for broadcast or multicast
 * destinations: RFC 1122 forbids ICMP errors about those). */
static msb_net_verdict
refuse (msb_net_filter *f, const msb_pkt *p, const char *proto, const char *why, uint64_t now)
{
  f->denied_egress++;
  log_denied (f, p, proto, why, now);
  uint32_t subnet_broadcast = f->gateway_be | htonl (3); /* the /30's last address */
  if (msb_net_policy_group (f->policy, &p->dst) == MSB_NET_GROUP_MULTICAST
      || msb_net_addr_v4 (&p->dst) == subnet_broadcast)
    return MSB_NET_DROP;
  uint8_t out[1600];
  msb_net_addr gw;
  msb_net_addr_from_v4 (&gw, f->gateway_be);
  size_t n = msb_pkt_build_prohibited (p, f->gateway_mac, &gw, out, sizeof out);
  if (n)
    f->to_guest (f->opaque, out, n);
  return MSB_NET_DROP;
}

static msb_net_verdict
judge_egress (msb_net_filter *f, const msb_pkt *p, uint8_t proto, uint16_t port, const char *name,
              uint64_t now)
{
  msb_net_flow flow = { .direction = MSB_NET_EGRESS, .proto = proto, .port = port, .peer = p->dst };
  if (msb_net_policy_decide (f->policy, &flow, f->pins, now) == MSB_NET_ALLOW)
    return MSB_NET_PASS;
  return refuse (f, p, name, "policy", now);
}

static int
redirect_find (const msb_net_filter *f, uint16_t guest_port)
{
  for (int i = 0; i < MSB_NET_DNS_REDIRECTS; i++)
    if (f->redirect[i].last_ns && f->redirect[i].guest_port == guest_port)
      return i;
  return -1;
}

static void
redirect_add (msb_net_filter *f, uint16_t guest_port, uint32_t resolver_be, uint64_t now)
{
  int slot = redirect_find (f, guest_port);
  for (int i = 0; slot < 0 && i < MSB_NET_DNS_REDIRECTS; i++)
    if (f->redirect[i].last_ns == 0)
      slot = i;
  if (slot < 0)
    {
      slot = 0;
      for (int i = 1; i < MSB_NET_DNS_REDIRECTS; i++)
        if (f->redirect[i].last_ns < f->redirect[slot].last_ns)
          slot = i;
    }
  f->redirect[slot].guest_port = guest_port;
  f->redirect[slot].resolver_be = resolver_be;
  f->redirect[slot].last_ns = now;
}

/* TCP to port 53 anywhere goes to the interceptor's address inside the slirp network. */
static bool
udp_published (const msb_net_filter *f, uint16_t port)
{
  return f->udp_published[port / 8] & (1u << (port % 8));
}

static int
inbound_find (const msb_net_filter *f, uint16_t guest_port, uint32_t peer_be, uint16_t peer_port,
              uint64_t now)
{
  for (int i = 0; i < MSB_NET_UDP_INBOUND; i++)
    if (f->udp_inbound[i].last_ns && now - f->udp_inbound[i].last_ns < UDP_INBOUND_NS
        && f->udp_inbound[i].guest_port == guest_port && f->udp_inbound[i].peer_be == peer_be
        && f->udp_inbound[i].peer_port == peer_port)
      return i;
  return -1;
}

static void
inbound_note (msb_net_filter *f, uint16_t guest_port, uint32_t peer_be, uint16_t peer_port,
              uint64_t now)
{
  int slot = inbound_find (f, guest_port, peer_be, peer_port, now);
  if (slot < 0)
    {
      slot = 0;
      for (int i = 1; i < MSB_NET_UDP_INBOUND; i++)
        if (f->udp_inbound[i].last_ns < f->udp_inbound[slot].last_ns)
          slot = i;
    }
  f->udp_inbound[slot].guest_port = guest_port;
  f->udp_inbound[slot].peer_be = peer_be;
  f->udp_inbound[slot].peer_port = peer_port;
  f->udp_inbound[slot].last_ns = now;
}

static msb_net_verdict
redirect_dns_tcp (msb_net_filter *f, msb_pkt *p, uint64_t now)
{
  uint32_t resolver = msb_net_addr_v4 (&p->dst);
  if ((p->tcp_flags & (MSB_TCP_SYN | MSB_TCP_ACK)) == MSB_TCP_SYN)
    {
      if (!msb_net_dns_reachable (f->policy, MSB_NET_PROTO_TCP, NULL))
        return refuse (f, p, "DNS over TCP", "policy", now);
      if (f->dns_tcp_budget == 0)
        return refuse (f, p, "DNS over TCP", "too many new connections at once", now);
      f->dns_tcp_budget--;
      redirect_add (f, p->sport, resolver, now);
    }
  int slot = redirect_find (f, p->sport);
  if (slot < 0 || f->redirect[slot].resolver_be != resolver)
    return MSB_NET_PASS; /* no such connection: slirp resets it */
  f->redirect[slot].last_ns = now;
  msb_pkt_set_v4_dst (p, f->dns_be);
  return MSB_NET_PASS;
}

msb_net_verdict
msb_net_filter_from_guest (msb_net_filter *f, uint8_t *frame, size_t len, uint64_t now)
{
  msb_pkt p;
  if (msb_pkt_parse (frame, len, &p) < 0)
    return MSB_NET_DROP;
  if (p.ethertype == MSB_ETHERTYPE_ARP)
    return MSB_NET_PASS;
  if (p.ip_version != 4 || msb_net_addr_v4 (&p.src) != f->guest_be)
    return MSB_NET_DROP;
  if (!(frame[6] & 1) && (!f->has_guest_mac || memcmp (f->guest_mac, frame + 6, 6) != 0))
    {
      memcpy (f->guest_mac, frame + 6, 6);
      f->has_guest_mac = true;
    }
  /* A later fragment could rewrite the header the rules judged; the guest's TCP never
   * fragments (DF, MSS), so fragments are not worth that risk. */
  if (p.is_fragment || p.l4 == NULL)
    return MSB_NET_DROP;
  switch (p.proto)
    {
    case IPPROTO_UDP:
      if (p.dport == 53)
        {
          msb_dns_udp_client c = { f->guest_be, p.sport, msb_net_addr_v4 (&p.dst) };
          msb_net_dns_udp_query (f->dns, &c, p.l4 + 8, p.l4_len - 8, now);
          return MSB_NET_DROP;
        }
      if (udp_published (f, p.sport)
          && inbound_find (f, p.sport, msb_net_addr_v4 (&p.dst), p.dport, now) >= 0)
        return MSB_NET_PASS; /* an answer on a published port */
      return judge_egress (f, &p, MSB_NET_PROTO_UDP, p.dport, "UDP", now);
    case IPPROTO_TCP:
      if (p.dport == 53)
        return redirect_dns_tcp (f, &p, now);
      if ((p.tcp_flags & (MSB_TCP_SYN | MSB_TCP_ACK)) != MSB_TCP_SYN)
        return MSB_NET_PASS; /* slirp knows no socket for it unless its SYN was allowed */
      if (f->open_connections && f->max_connections
          && f->open_connections (f->opaque) >= f->max_connections)
        return refuse (f, &p, "TCP", "max_connections reached", now);
      return judge_egress (f, &p, MSB_NET_PROTO_TCP, p.dport, "TCP", now);
    case IPPROTO_ICMP:
      if (p.icmp_type == 8) /* echo request */
        return judge_egress (f, &p, MSB_NET_PROTO_ICMPV4, 0, "ICMP", now);
      return MSB_NET_DROP;
    default:
      return MSB_NET_DROP;
    }
}

static msb_net_verdict
judge_udp_in (msb_net_filter *f, const msb_pkt *p, uint64_t now)
{
  bool published = udp_published (f, p->dport);
  uint16_t port = published ? p->dport : p->sport;
  msb_net_verdict v;
  if (now < f->udp_cache.until_ns && f->udp_cache.port == port
      && memcmp (&f->udp_cache.peer, &p->src, sizeof p->src) == 0)
    v = (msb_net_verdict) f->udp_cache.verdict;
  else
    {
      /* To a published port: the ingress rules. Anything else is a reply, welcome only from
       * a peer the sandbox may send to. */
      msb_net_flow flow = { .direction = published ? MSB_NET_INGRESS : MSB_NET_EGRESS,
                            .proto = MSB_NET_PROTO_UDP, .port = port, .peer = p->src };
      v = msb_net_policy_decide (f->policy, &flow, f->pins, now) == MSB_NET_ALLOW ? MSB_NET_PASS
                                                                                  : MSB_NET_DROP;
      f->udp_cache.peer = p->src;
      f->udp_cache.port = port;
      f->udp_cache.verdict = (uint8_t) v;
      f->udp_cache.until_ns = now + UDP_CACHE_NS;
    }
  if (v == MSB_NET_DROP)
    f->denied_ingress++;
  else if (published)
    inbound_note (f, p->dport, msb_net_addr_v4 (&p->src), p->sport, now);
  return v;
}

msb_net_verdict
msb_net_filter_to_guest (msb_net_filter *f, uint8_t *frame, size_t len, uint64_t now)
{
  msb_pkt p;
  if (msb_pkt_parse (frame, len, &p) < 0)
    return MSB_NET_DROP;
  if (p.ip_version != 4 || p.l4 == NULL || p.is_fragment)
    return MSB_NET_PASS;
  if (p.proto == IPPROTO_TCP)
    {
      if (msb_net_addr_v4 (&p.src) == f->dns_be && p.sport == 53)
        {
          int slot = redirect_find (f, p.dport);
          if (slot >= 0)
            {
              f->redirect[slot].last_ns = now;
              msb_pkt_set_v4_src (&p, f->redirect[slot].resolver_be);
            }
          return MSB_NET_PASS;
        }
      if ((p.tcp_flags & (MSB_TCP_SYN | MSB_TCP_ACK)) == MSB_TCP_SYN)
        {
          /* slirp opens a connection only from a published port. */
          msb_net_flow flow = { .direction = MSB_NET_INGRESS, .proto = MSB_NET_PROTO_TCP,
                                .port = p.dport, .peer = p.src };
          if (msb_net_policy_decide (f->policy, &flow, f->pins, now) != MSB_NET_ALLOW)
            {
              f->denied_ingress++;
              uint8_t rst[128];
              size_t n = msb_pkt_build_tcp_reset (&p, rst, sizeof rst);
              if (n)
                f->to_slirp (f->opaque, rst, n);
              return MSB_NET_DROP;
            }
        }
      return MSB_NET_PASS;
    }
  if (p.proto == IPPROTO_UDP)
    return judge_udp_in (f, &p, now);
  return MSB_NET_PASS;
}
