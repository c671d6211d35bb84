/* Policy evaluation (runtime/net/policy.c, pins.c): first match per direction, groups, the
 * default profile, domain rules through pins only, and what DNS answers may name. */
#include <arpa/inet.h>
#include <msb/msb.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "lib/config.h"
#include "runtime/net/pins.h"
#include "runtime/net/policy.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

static msb_net_addr
A (const char *s)
{
  msb_net_addr a;
  memset (&a, 0, sizeof a);
  if (msb_net_parse_addr (s, &a) < 0)
    abort ();
  return a;
}

static void
compile (msb_config *cfg, msb_net_policy *p)
{
  CHECK_EQ_INT (msb_net_policy_compile (&cfg->net, p, NULL), 0);
  msb_net_addr gw = A ("172.16.0.1");
  msb_net_policy_add_host (p, &gw);
  msb_net_addr lan = A ("192.168.1.20"); /* one of "the host's own addresses" */
  msb_net_policy_add_host (p, &lan);
}

static int
egress (const msb_net_policy *p, const char *addr, uint8_t proto, uint16_t port,
        const msb_net_pins *pins, uint64_t now)
{
  msb_net_flow f = { .direction = MSB_NET_EGRESS, .proto = proto, .port = port, .peer = A (addr) };
  return msb_net_policy_decide (p, &f, pins, now);
}

TEST (test_default_is_public_only)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  compile (cfg, &p);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 443, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "2001:db8::1", MSB_NET_PROTO_UDP, 443, NULL, 0), MSB_NET_ALLOW);
  const char *denied[] = { "10.0.0.1", "172.16.5.5", "192.168.0.1", "100.64.1.1", "fd00::1",
                           "127.0.0.1", "0.0.0.0", "169.254.1.1", "169.254.169.254", "224.0.0.1",
                           "172.16.0.1", /* the gateway: host */
                           "192.168.1.20", NULL };
  for (int i = 0; denied[i]; i++)
    {
      int v = egress (&p, denied[i], MSB_NET_PROTO_TCP, 80, NULL, 0);
      if (v != MSB_NET_DENY)
        fprintf (stderr, "  %s allowed\n", denied[i]);
      CHECK_EQ_INT (v, MSB_NET_DENY);
    }
  /* DNS to the gateway is the exception. */
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_UDP, 53, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_TCP, 53, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_TCP, 54, NULL, 0), MSB_NET_DENY);
  /* Ingress is allowed by default (only published ports lead in). */
  msb_net_flow in = { .direction = MSB_NET_INGRESS, .proto = MSB_NET_PROTO_TCP, .port = 80,
                      .peer = A ("172.16.0.1") };
  CHECK_EQ_INT (msb_net_policy_decide (&p, &in, NULL, 0), MSB_NET_ALLOW);
  msb_net_policy_clear (&p);
  msb_config_free (cfg);
}

TEST (test_presets)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  msb_config_set_network_policy (cfg, "none", NULL);
  compile (cfg, &p);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 443, NULL, 0), MSB_NET_DENY);
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_UDP, 53, NULL, 0), MSB_NET_DENY);
  msb_net_flow in = { .direction = MSB_NET_INGRESS, .proto = MSB_NET_PROTO_TCP, .port = 80,
                      .peer = A ("172.16.0.1") };
  CHECK_EQ_INT (msb_net_policy_decide (&p, &in, NULL, 0), MSB_NET_DENY);
  msb_net_policy_clear (&p);
  msb_config_set_network_policy (cfg, "all", NULL);
  compile (cfg, &p);
  CHECK_EQ_INT (egress (&p, "169.254.169.254", MSB_NET_PROTO_TCP, 80, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_TCP, 8080, NULL, 0), MSB_NET_ALLOW);
  msb_net_policy_clear (&p);
  msb_config_set_network_policy (cfg, "public,host", NULL);
  compile (cfg, &p);
  CHECK_EQ_INT (egress (&p, "172.16.0.1", MSB_NET_PROTO_TCP, 8080, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "192.168.1.20", MSB_NET_PROTO_TCP, 22, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "192.168.1.21", MSB_NET_PROTO_TCP, 22, NULL, 0), MSB_NET_DENY);
  CHECK_EQ_INT (egress (&p, "127.0.0.1", MSB_NET_PROTO_TCP, 22, NULL, 0), MSB_NET_DENY);
  msb_net_policy_clear (&p);
  msb_config_free (cfg);
}

TEST (test_first_match_wins)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  msb_config_add_network_rule (cfg, "deny@203.0.113.0/24:tcp:22", NULL);
  msb_config_add_network_rule (cfg, "allow@10.9.0.0/16:tcp:5432", NULL);
  msb_config_add_network_rule (cfg, "deny@10.9.0.0/16", NULL); /* never reached for 5432 */
  compile (cfg, &p);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 22, NULL, 0), MSB_NET_DENY);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 23, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_UDP, 22, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "10.9.1.1", MSB_NET_PROTO_TCP, 5432, NULL, 0), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "10.9.1.1", MSB_NET_PROTO_TCP, 5433, NULL, 0), MSB_NET_DENY);
  /* A port rule never matches ICMP. */
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_ICMPV4, 0, NULL, 0), MSB_NET_ALLOW);
  msb_net_policy_clear (&p);
  msb_config_free (cfg);
}

TEST (test_domain_rules_need_pins)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  msb_config_set_network_policy (cfg, "none", NULL);
  msb_config_add_network_rule (cfg, "allow@dns", NULL);
  msb_config_add_network_rule (cfg, "allow@good.test", NULL);
  msb_config_add_network_rule (cfg, "allow@*.svc.test:tcp:443", NULL);
  compile (cfg, &p);
  msb_net_pins *pins = msb_net_pins_new (16);
  uint64_t t = 100 * SEC;
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 80, pins, t), MSB_NET_DENY);
  msb_net_addr ip = A ("203.0.113.10");
  /* Resolving another name to the same address does not open it. */
  msb_net_pins_add (pins, &ip, "bad.test", t + 60 * SEC);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 80, pins, t), MSB_NET_DENY);
  msb_net_pins_add (pins, &ip, "good.test", t + 60 * SEC);
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 80, pins, t), MSB_NET_ALLOW);
  /* Pins expire. */
  CHECK_EQ_INT (egress (&p, "203.0.113.10", MSB_NET_PROTO_TCP, 80, pins, t + 61 * SEC), MSB_NET_DENY);
  msb_net_addr ip2 = A ("198.51.100.7");
  msb_net_pins_add (pins, &ip2, "api.svc.test", t + 60 * SEC);
  CHECK_EQ_INT (egress (&p, "198.51.100.7", MSB_NET_PROTO_TCP, 443, pins, t), MSB_NET_ALLOW);
  CHECK_EQ_INT (egress (&p, "198.51.100.7", MSB_NET_PROTO_TCP, 80, pins, t), MSB_NET_DENY);
  /* What names say by themselves. */
  CHECK_EQ_INT (msb_net_policy_name (&p, "good.test"), MSB_NET_NAME_ALLOWED);
  CHECK_EQ_INT (msb_net_policy_name (&p, "x.svc.test"), MSB_NET_NAME_ALLOWED);
  CHECK_EQ_INT (msb_net_policy_name (&p, "bad.test"), MSB_NET_NAME_UNDECIDED);
  const char *good[] = { "good.test" }, *bad[] = { "bad.test" };
  CHECK (msb_net_policy_may_allow (&p, &ip, good, 1));
  CHECK (!msb_net_policy_may_allow (&p, &ip, bad, 1));
  msb_net_pins_free (pins);
  msb_net_policy_clear (&p);
  msb_config_free (cfg);
}

TEST (test_deny_domains_come_first)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  msb_config_set_network_policy (cfg, "all", NULL);
  msb_config_add_network_deny_domain (cfg, "tracker.example", true, NULL);
  compile (cfg, &p);
  CHECK_EQ_INT (msb_net_policy_name (&p, "a.tracker.example"), MSB_NET_NAME_DENIED);
  CHECK_EQ_INT (msb_net_policy_name (&p, "tracker.example"), MSB_NET_NAME_DENIED);
  CHECK_EQ_INT (msb_net_policy_name (&p, "example"), MSB_NET_NAME_UNDECIDED);
  msb_net_policy_clear (&p);
  msb_config_free (cfg);
}

TEST (test_may_allow_for_rebind_protection)
{
  msb_config *cfg = msb_config_new ();
  msb_net_policy p;
  compile (cfg, &p);
  const char *n[] = { "intranet.test" };
  msb_net_addr priv = A ("10.20.0.10"), pub = A ("203.0.113.10");
  CHECK (!msb_net_policy_may_allow (&p, &priv, n, 1));
  CHECK (msb_net_policy_may_allow (&p, &pub, n, 1));
  msb_net_policy_clear (&p);
  /* A rule for the range, or for the name, lets the answer through. */
  msb_config_add_network_rule (cfg, "allow@10.20.0.0/16:tcp:443", NULL);
  compile (cfg, &p);
  CHECK (msb_net_policy_may_allow (&p, &priv, n, 1));
  msb_net_policy_clear (&p);
  msb_config *cfg2 = msb_config_new ();
  msb_config_add_network_rule (cfg2, "allow@intranet.test", NULL);
  compile (cfg2, &p);
  CHECK (msb_net_policy_may_allow (&p, &priv, n, 1));
  msb_net_policy_clear (&p);
  msb_config_free (cfg2);
  msb_config_free (cfg);
}

TEST (test_pins_are_bounded)
{
  msb_net_pins *pins = msb_net_pins_new (8);
  uint64_t now = msb_now_mono_ns ();
  for (int i = 0; i < 100; i++)
    {
      msb_net_addr a;
      msb_net_addr_from_v4 (&a, htonl (0x0a000000u + (uint32_t) i));
      msb_net_pins_add (pins, &a, "n.test", now + (uint64_t) (i + 1) * SEC);
    }
  CHECK (msb_net_pins_count (pins) <= 8);
  /* The latest pins survive (the ones closest to expiring went first). */
  msb_net_addr last;
  msb_net_addr_from_v4 (&last, htonl (0x0a000000u + 99));
  CHECK (msb_net_pins_match (pins, &last, "n.test", false, now));
  msb_net_pins_free (pins);
}

TEST_MAIN (TEST_ENTRY (test_default_is_public_only), TEST_ENTRY (test_presets),
           TEST_ENTRY (test_first_match_wins), TEST_ENTRY (test_domain_rules_need_pins),
           TEST_ENTRY (test_deny_domains_come_first),
           TEST_ENTRY (test_may_allow_for_rebind_protection), TEST_ENTRY (test_pins_are_bounded))
