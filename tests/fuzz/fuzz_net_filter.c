/* Fuzzes the network engine's policy filter (runtime/net/filter.c, packet.c) with frames as a
 * hostile sandbox — or a confused slirp — could send them: each input is one Ethernet frame,
 * passed from the guest and, separately, towards it, under a policy with CIDR, group,
 * domain and port rules. DNS queries inside reach the interceptor, which has no nameserver
 * (so it answers SERVFAIL without sockets). Any frame the filter lets through must parse,
 * and every frame it writes itself (ICMP, resets, DNS answers) must parse too.
 */
// FUZZ_SOURCES: runtime/net/filter.c runtime/net/packet.c runtime/net/policy.c
// FUZZ_SOURCES: runtime/net/pins.c runtime/net/dns.c runtime/net/dns_msg.c runtime/rtlog.c
// FUZZ_SOURCES: lib/net_spec.c common/util.c common/error.c common/buf.c
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/net/filter.h"
#include "runtime/net/packet.h"
#include "runtime/rtlog.h"

#define FUZZ_ASSERT(cond)                                                                 \
  do                                                                                      \
    {                                                                                     \
      if (!(cond))                                                                        \
        {                                                                                 \
          fprintf (stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);   \
          abort ();                                                                       \
        }                                                                                 \
    }                                                                                     \
  while (0)

static msb_net_filter f;
static msb_net_policy policy;

static void
must_parse (void *o, const uint8_t *frame, size_t n)
{
  uint8_t copy[2048];
  FUZZ_ASSERT (n <= sizeof copy);
  memcpy (copy, frame, n);
  msb_pkt p;
  FUZZ_ASSERT (msb_pkt_parse (copy, n, &p) == 0);
}

static void
answer (void *o, const msb_dns_udp_client *c, const uint8_t *m, size_t n)
{
  FUZZ_ASSERT (n >= 12);
}

static unsigned
conns (void *o)
{
  return 3;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  msb_rtlog_set_level ("error");
  msb_config_net cfg;
  memset (&cfg, 0, sizeof cfg);
  cfg.has_policy = true;
  cfg.default_egress = MSB_NET_DENY;
  const char *rules[] = { "deny@203.0.113.7:tcp:22", "allow@good.test", "allow@*.svc.test:udp:443",
                          "deny:ingress@any:tcp:22", "allow@10.0.0.0/8:icmpv4", "allow@public" };
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    {
      msb_net_rule r[2];
      int n = msb_net_parse_rule (rules[i], r, NULL);
      for (int k = 0; k < n; k++)
        {
          cfg.rules = realloc (cfg.rules, (cfg.n_rules + 1) * sizeof *cfg.rules);
          cfg.rules[cfg.n_rules++] = r[k];
        }
    }
  msb_net_profile_rules (1u << MSB_NET_GROUP_PUBLIC, &cfg.rules, &cfg.n_rules);
  msb_net_policy_compile (&cfg, &policy, NULL);
  msb_config_net_clear (&cfg);
  msb_net_addr gw;
  msb_net_addr_from_v4 (&gw, htonl (0xac100001));
  msb_net_policy_add_host (&policy, &gw);
  msb_net_pins *pins = msb_net_pins_new (64);
  msb_net_addr a;
  msb_net_addr_from_v4 (&a, htonl (0xcb00710a));
  msb_net_pins_add (pins, &a, "good.test", ~0ull);
  msb_net_dns_config dc = { .policy = &policy, .pins = pins, .n_nameservers = 0,
                            .rebind_protection = true, .gateway_be = htonl (0xac100001),
                            .tcp_listen_fd = -1, .send_udp = answer };
  f.policy = &policy;
  f.pins = pins;
  f.dns = msb_net_dns_new (&dc);
  f.guest_be = htonl (0xac100002);
  f.gateway_be = htonl (0xac100001);
  f.dns_be = htonl (0xac100003);
  f.max_connections = 4;
  f.open_connections = conns;
  f.to_guest = must_parse;
  f.to_slirp = must_parse;
  f.udp_published[53 / 8] |= 1u << (53 % 8);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > 65536)
    return 0;
  static uint8_t frame[65536];
  msb_pkt p;
  f.dns_tcp_budget = 16; /* the engine's per-round ration */
  memcpy (frame, data, size);
  if (msb_net_filter_from_guest (&f, frame, size, 1000000000ull) == MSB_NET_PASS)
    FUZZ_ASSERT (msb_pkt_parse (frame, size, &p) == 0);
  memcpy (frame, data, size);
  if (msb_net_filter_to_guest (&f, frame, size, 1000000000ull) == MSB_NET_PASS && size >= 14)
    FUZZ_ASSERT (msb_pkt_parse (frame, size, &p) == 0 || p.ip_version == 0);
  return 0;
}
