/* The msb policy filter: every frame between the sandbox and libslirp passes here.
 *
 * From the sandbox (egress): only IPv4 from the sandbox's own address and ARP go on; IP
 * fragments, IPv6 and other protocols are dropped. A new TCP connection (SYN), every UDP
 * datagram and every ICMP echo is judged by the policy; a denied one is answered at once
 * with ICMP "administratively prohibited" so the guest fails fast instead of timing out.
 * Port 53 to any address is DNS: UDP queries go to the interceptor (dns.h), TCP connections
 * are redirected to the interceptor's address inside the slirp network and their answers
 * rewritten back to the address the guest dialled.
 *
 * To the sandbox (ingress): a connection slirp opens from a published port (a SYN) and UDP to
 * a published port are judged by the ingress rules — a denied connection is reset; other UDP
 * must come from a peer the sandbox may talk to. The sandbox's answers from a published UDP
 * port go back to the peers that wrote to it lately, and to no one else.
 *
 * Must never: let a frame through that it could not parse, or let guest input change its
 * state beyond the bounded DNS-redirect table. Owned by the engine thread. */
#ifndef MSB_RUNTIME_NET_FILTER_H
#define MSB_RUNTIME_NET_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/net/dns.h"
#include "runtime/net/pins.h"
#include "runtime/net/policy.h"

#define MSB_NET_DNS_REDIRECTS 64
#define MSB_NET_UDP_INBOUND 64

typedef enum msb_net_verdict
{
  MSB_NET_PASS = 0, /* hand the (possibly rewritten) frame on */
  MSB_NET_DROP,     /* denied or malformed; anything to say was said already */
} msb_net_verdict;

typedef struct msb_net_filter
{
  const msb_net_policy *policy;
  msb_net_pins *pins;
  msb_net_dns *dns;
  uint32_t guest_be;
  uint32_t gateway_be;
  uint32_t dns_be;     /* the interceptor's TCP address inside the slirp network */
  uint8_t gateway_mac[6];
  uint8_t guest_mac[6];
  bool has_guest_mac;
  unsigned max_connections;
  /* New DNS-over-TCP connections still allowed this engine round: slirp connects each to the
   * interceptor's Unix socket with a blocking connect(), which must never find the listen
   * backlog full (the interceptor accepts once per round, in the same thread). */
  unsigned dns_tcp_budget;
  /* How many host sockets the sandbox holds open now (the engine counts slirp's). */
  unsigned (*open_connections) (void *opaque);
  void (*to_guest) (void *opaque, const uint8_t *frame, size_t len);
  void (*to_slirp) (void *opaque, const uint8_t *frame, size_t len);
  void *opaque;
  /* Guest ports published over UDP (ingress). */
  uint8_t udp_published[65536 / 8];
  struct
  {
    uint16_t guest_port;
    uint32_t resolver_be;
    uint64_t last_ns;
  } redirect[MSB_NET_DNS_REDIRECTS];
  /* Peers that sent to a published UDP port lately: the sandbox's answers to them are
   * replies, not new egress (and only to them: slirp would send anything from that port). */
  struct
  {
    uint16_t guest_port;
    uint16_t peer_port;
    uint32_t peer_be;
    uint64_t last_ns;
  } udp_inbound[MSB_NET_UDP_INBOUND];
  /* The last ingress UDP verdict: bulk UDP does not re-run the rules per datagram. */
  struct
  {
    msb_net_addr peer;
    uint16_t port;
    uint8_t verdict;
    uint64_t until_ns;
  } udp_cache;
  uint64_t denied_egress;
  uint64_t denied_ingress;
} msb_net_filter;

msb_net_verdict msb_net_filter_from_guest (msb_net_filter *f, uint8_t *frame, size_t len,
                                           uint64_t now_ns);
msb_net_verdict msb_net_filter_to_guest (msb_net_filter *f, uint8_t *frame, size_t len,
                                         uint64_t now_ns);

#endif
