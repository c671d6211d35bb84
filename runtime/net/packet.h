/* Ethernet frames as the policy filter sees them: a bounded parse of the L2/L3/L4 headers of
 * one frame (every length checked against the frame), in-place address rewriting with
 * incremental checksums, and the few frames the engine writes itself (ICMP "administratively
 * prohibited", a TCP reset, a UDP datagram). Pure functions of their buffers: this is hostile
 * input from the guest, and it is fuzzed (tests/fuzz/fuzz_net_packet.c). */
#ifndef MSB_RUNTIME_NET_PACKET_H
#define MSB_RUNTIME_NET_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net_spec.h"

#define MSB_ETH_HLEN 14
#define MSB_ETHERTYPE_IPV4 0x0800
#define MSB_ETHERTYPE_ARP 0x0806
#define MSB_ETHERTYPE_IPV6 0x86dd

#define MSB_TCP_FIN 0x01
#define MSB_TCP_SYN 0x02
#define MSB_TCP_RST 0x04
#define MSB_TCP_ACK 0x10

typedef struct msb_pkt
{
  uint8_t *frame;
  size_t len;
  uint16_t ethertype;
  int ip_version;      /* 4, 6 or 0 (not IP) */
  uint8_t *l3;         /* IP header */
  size_t l3_len;       /* IP total length (≤ what the frame holds) */
  size_t ip_hlen;      /* IPv4 header length; 40 for IPv6 */
  msb_net_addr src;
  msb_net_addr dst;
  uint8_t proto;       /* IPPROTO_* of the transport header */
  bool is_fragment;    /* IPv4 MF or offset, or an IPv6 fragment header */
  uint8_t *l4;         /* transport header (NULL when absent or truncated) */
  size_t l4_len;
  uint16_t sport;      /* TCP/UDP */
  uint16_t dport;
  uint8_t tcp_flags;
  uint8_t icmp_type;
  uint8_t icmp_code;
} msb_pkt;

/* Parses `frame`; returns 0 when the frame is well-formed as far as the filter cares (a
 * non-IP frame is well-formed with ip_version 0), -1 when a header is truncated or
 * inconsistent. Never reads outside [frame, frame + len). */
int msb_pkt_parse (uint8_t *frame, size_t len, msb_pkt *p);

/* Rewrites the IPv4 source / destination of a parsed TCP or UDP packet in place, fixing the
 * IP and transport checksums incrementally (RFC 1624). */
void msb_pkt_set_v4_src (msb_pkt *p, uint32_t be_addr);
void msb_pkt_set_v4_dst (msb_pkt *p, uint32_t be_addr);

/* An ICMP destination unreachable, "communication administratively prohibited" (v4 type 3
 * code 13; v6 type 1 code 1), from `from` (the gateway) back to the sender of `orig`, quoting
 * its header. Returns the frame length, 0 when `orig` does not deserve one. */
size_t msb_pkt_build_prohibited (const msb_pkt *orig, const uint8_t gw_mac[6],
                                 const msb_net_addr *from, uint8_t *out, size_t cap);

/* A TCP RST|ACK answering the SYN `orig` as if from its destination (frame addresses
 * swapped). Returns the frame length. */
size_t msb_pkt_build_tcp_reset (const msb_pkt *orig, uint8_t *out, size_t cap);

/* An Ethernet + IPv4 + UDP frame carrying `payload`. Returns the frame length, 0 if it does
 * not fit `cap`. */
size_t msb_pkt_build_udp4 (uint8_t *out, size_t cap, const uint8_t dst_mac[6],
                           const uint8_t src_mac[6], uint32_t src_be, uint32_t dst_be,
                           uint16_t sport, uint16_t dport, const uint8_t *payload, size_t n);

/* The Internet checksum of `n` bytes, added to `sum` (not folded or inverted). */
uint32_t msb_csum_add (uint32_t sum, const void *data, size_t n);
uint16_t msb_csum_fold (uint32_t sum);

#endif
