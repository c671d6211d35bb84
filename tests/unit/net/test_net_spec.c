/* The grammar of network options and the network section of a config (lib/net_spec.c,
 * lib/config_net.c, lib/config_net_json.c): what is accepted, how it is normalised, what it
 * is stored as, and which errors (kind and wording) the rest are refused with. */
#include <msb/msb.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/net_spec.h"
#include "tests/unit/test.h"

static msb_net_rule rules[2];

static int
rule (const char *s)
{
  for (int i = 0; i < 2; i++)
    msb_net_rule_clear (&rules[i]);
  return msb_net_parse_rule (s, rules, NULL);
}

static char *
cidr_text (const msb_net_cidr *c)
{
  static char buf[64];
  msb_net_cidr_format (c, buf, sizeof buf);
  return buf;
}

TEST (test_rule_grammar_full)
{
  CHECK_EQ_INT (rule ("deny:egress@10.0.0.0/8:tcp:80-90"), 1);
  CHECK_EQ_INT (rules[0].action, MSB_NET_DENY);
  CHECK_EQ_INT (rules[0].direction, MSB_NET_EGRESS);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_CIDR);
  CHECK_EQ_STR (cidr_text (&rules[0].cidr), "10.0.0.0/8");
  CHECK_EQ_INT (rules[0].protocols, MSB_NET_PROTO_TCP);
  CHECK_EQ_INT (rules[0].n_ports, 1);
  CHECK_EQ_INT (rules[0].ports[0].start, 80);
  CHECK_EQ_INT (rules[0].ports[0].end, 90);
}

TEST (test_rule_targets)
{
  CHECK_EQ_INT (rule ("allow@pypi.org"), 1);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_DOMAIN);
  CHECK_EQ_STR (rules[0].domain, "pypi.org");
  CHECK_EQ_INT (rule ("allow@*.Example.COM."), 1);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_SUFFIX);
  CHECK_EQ_STR (rules[0].domain, "example.com");
  CHECK_EQ_INT (rule ("allow@suffix=example.com:tcp:443"), 1);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_SUFFIX);
  CHECK_EQ_INT (rule ("deny:any@meta"), 1);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_GROUP);
  CHECK_EQ_INT (rules[0].group, MSB_NET_GROUP_METADATA);
  CHECK_EQ_INT (rules[0].direction, MSB_NET_ANY_DIRECTION);
  CHECK_EQ_INT (rule ("allow@link-local"), 1);
  CHECK_EQ_INT (rules[0].group, MSB_NET_GROUP_LINK_LOCAL);
  CHECK_EQ_INT (rule ("allow@any:udp"), 1);
  CHECK_EQ_INT (rules[0].dest_kind, MSB_NET_DEST_ANY);
  CHECK_EQ_INT (rule ("allow@[fd00::]/8:tcp:443"), 1);
  CHECK_EQ_STR (cidr_text (&rules[0].cidr), "fd00::/8");
  CHECK_EQ_INT (rules[0].ports[0].start, 443);
  CHECK_EQ_INT (rule ("allow@[::1]"), 1);
  CHECK_EQ_STR (cidr_text (&rules[0].cidr), "::1/128");
  CHECK_EQ_INT (rule ("allow@1.2.3.4"), 1);
  CHECK_EQ_STR (cidr_text (&rules[0].cidr), "1.2.3.4/32");
  /* Host bits are cleared. */
  CHECK_EQ_INT (rule ("allow@10.1.2.3/8"), 1);
  CHECK_EQ_STR (cidr_text (&rules[0].cidr), "10.0.0.0/8");
}

TEST (test_rule_dns_target_is_two_rules)
{
  CHECK_EQ_INT (rule ("allow@dns"), 2);
  for (int i = 0; i < 2; i++)
    {
      CHECK_EQ_INT (rules[i].dest_kind, MSB_NET_DEST_GROUP);
      CHECK_EQ_INT (rules[i].group, MSB_NET_GROUP_HOST);
      CHECK_EQ_INT (rules[i].ports[0].start, 53);
    }
  CHECK_EQ_INT (rules[0].protocols | rules[1].protocols, MSB_NET_PROTO_UDP | MSB_NET_PROTO_TCP);
  CHECK_EQ_INT (rule ("deny@dns:udp"), 1);
  CHECK_EQ_INT (rules[0].protocols, MSB_NET_PROTO_UDP);
  CHECK (rule ("allow@dns:icmpv4") < 0);
  CHECK (rule ("allow@dns:tcp:54") < 0);
}

TEST (test_rule_grammar_rejects)
{
  const char *bad[] = { "allow", "permit@1.2.3.4", "allow:sideways@1.2.3.4", "allow@",
                        "allow@10.0.0.0/33", "allow@300.1.1.1", "allow@1.2.3.4:sctp",
                        "allow@1.2.3.4:tcp:0", "allow@1.2.3.4:tcp:70000", "allow@1.2.3.4:tcp:90-80",
                        "allow@1.2.3.4:tcp:80:extra", "allow@[fd00::", "allow@bad..name",
                        "allow@-", NULL };
  for (int i = 0; bad[i]; i++)
    {
      msb_error *e = NULL;
      msb_net_rule r[2];
      int rc = msb_net_parse_rule (bad[i], r, &e);
      if (rc >= 0)
        fprintf (stderr, "  accepted `%s`\n", bad[i]);
      CHECK (rc < 0);
      CHECK (e != NULL && msb_error_get_kind (e) == MSB_ERR_INVALID_ARGUMENT);
      /* The message quotes the rule. */
      CHECK (e != NULL && strstr (msb_error_get_message (e), bad[i]) != NULL);
      msb_error_free (e);
    }
}

TEST (test_port_binding_forms)
{
  msb_net_port_binding b;
  CHECK_EQ_INT (msb_net_parse_port_binding ("8080:80", &b, NULL), 0);
  CHECK_EQ_STR (b.bind, "127.0.0.1");
  CHECK_EQ_INT (b.host_port, 8080);
  CHECK_EQ_INT (b.guest_port, 80);
  CHECK (!b.udp);
  free (b.bind);
  CHECK_EQ_INT (msb_net_parse_port_binding ("0.0.0.0:5353:53/udp", &b, NULL), 0);
  CHECK_EQ_STR (b.bind, "0.0.0.0");
  CHECK (b.udp);
  free (b.bind);
  CHECK_EQ_INT (msb_net_parse_port_binding ("[::1]:8443:443/tcp", &b, NULL), 0);
  CHECK_EQ_STR (b.bind, "::1");
  free (b.bind);
  const char *bad[] = { "80", "a:80", "8080:0", "localhost:8080:80", "1:2:3:4", "8080:80/sctp",
                        "[::1:80:80", NULL };
  for (int i = 0; bad[i]; i++)
    {
      msb_error *e = NULL;
      CHECK (msb_net_parse_port_binding (bad[i], &b, &e) < 0);
      CHECK (e && msb_error_get_kind (e) == MSB_ERR_INVALID_ARGUMENT);
      msb_error_free (e);
    }
}

TEST (test_groups_of_addresses)
{
  struct
  {
    const char *addr;
    int group;
  } cases[] = {
    { "8.8.8.8", MSB_NET_GROUP_PUBLIC },          { "203.0.113.10", MSB_NET_GROUP_PUBLIC },
    { "10.1.2.3", MSB_NET_GROUP_PRIVATE },        { "172.31.255.255", MSB_NET_GROUP_PRIVATE },
    { "172.32.0.1", MSB_NET_GROUP_PUBLIC },       { "192.168.1.1", MSB_NET_GROUP_PRIVATE },
    { "100.64.0.1", MSB_NET_GROUP_PRIVATE },      { "100.128.0.1", MSB_NET_GROUP_PUBLIC },
    { "127.0.0.53", MSB_NET_GROUP_LOOPBACK },     { "0.0.0.0", MSB_NET_GROUP_LOOPBACK },
    { "169.254.1.1", MSB_NET_GROUP_LINK_LOCAL },  { "169.254.169.254", MSB_NET_GROUP_METADATA },
    { "224.0.0.251", MSB_NET_GROUP_MULTICAST },   { "255.255.255.255", MSB_NET_GROUP_MULTICAST },
    { "::1", MSB_NET_GROUP_LOOPBACK },            { "fe80::1", MSB_NET_GROUP_LINK_LOCAL },
    { "fd12::1", MSB_NET_GROUP_PRIVATE },         { "ff02::1", MSB_NET_GROUP_MULTICAST },
    { "2001:db8::1", MSB_NET_GROUP_PUBLIC },      { "::ffff:10.0.0.1", MSB_NET_GROUP_PRIVATE },
    { "64:ff9b::a00:1", MSB_NET_GROUP_PRIVATE },  { "fd00:ec2::254", MSB_NET_GROUP_METADATA },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_net_addr a;
      CHECK_EQ_INT (msb_net_parse_addr (cases[i].addr, &a), 0);
      int g = msb_net_group_of_static (&a);
      if (g != cases[i].group)
        fprintf (stderr, "  %s: group %d, expected %d\n", cases[i].addr, g, cases[i].group);
      CHECK_EQ_INT (g, cases[i].group);
    }
}

TEST (test_domain_matching)
{
  CHECK (msb_net_domain_matches ("example.com", "example.com", false));
  CHECK (!msb_net_domain_matches ("a.example.com", "example.com", false));
  CHECK (msb_net_domain_matches ("a.example.com", "example.com", true));
  CHECK (msb_net_domain_matches ("example.com", "example.com", true));
  CHECK (!msb_net_domain_matches ("badexample.com", "example.com", true));
  char *n = msb_net_normalize_domain ("WWW.Example.Com.");
  CHECK_EQ_STR (n, "www.example.com");
  free (n);
  CHECK (msb_net_normalize_domain ("a..b") == NULL);
  CHECK (msb_net_normalize_domain ("has space.com") == NULL);
  char label[80];
  memset (label, 'a', 64);
  label[64] = '\0';
  CHECK (msb_net_normalize_domain (label) == NULL);
}

static char *
network_json_of (msb_config *cfg)
{
  return msb_config_get_network_json (cfg);
}

TEST (test_default_network_json)
{
  msb_config *cfg = msb_config_new ();
  char *j = network_json_of (cfg);
  CHECK_EQ_STR (j, "{\"enabled\":true,\"ports\":[],\"max_connections\":256}");
  free (j);
  msb_config_free (cfg);
}

TEST (test_cli_setters_build_policy_in_order)
{
  msb_config *cfg = msb_config_new ();
  msb_error *e = NULL;
  CHECK_EQ_INT (msb_config_add_network_rule (cfg, "deny@203.0.113.7", &e), 0);
  CHECK_EQ_INT (msb_config_set_network_policy (cfg, "public,host", &e), 0);
  CHECK_EQ_INT (msb_config_add_network_rule (cfg, "allow@*.corp.example:tcp:443", &e), 0);
  CHECK_EQ_INT (msb_config_add_network_port_string (cfg, "8080:80", &e), 0);
  CHECK_EQ_INT (msb_config_add_network_port (cfg, NULL, 5353, 53, "udp", &e), 0);
  char *j = network_json_of (cfg);
  /* Custom rules first, in the order given, then the profile's: DNS, public, host. */
  const char *want
      = "{\"enabled\":true,\"ports\":[{\"host_port\":8080,\"guest_port\":80,\"protocol\":\"tcp\","
        "\"host_bind\":\"127.0.0.1\"},{\"host_port\":5353,\"guest_port\":53,\"protocol\":\"udp\","
        "\"host_bind\":\"127.0.0.1\"}],\"policy\":{\"default_egress\":\"deny\",\"default_ingress\":"
        "\"allow\",\"rules\":[{\"direction\":\"egress\",\"destination\":{\"cidr\":\"203.0.113.7/32\"},"
        "\"protocols\":[],\"ports\":[],\"action\":\"deny\"},{\"direction\":\"egress\","
        "\"destination\":{\"domain_suffix\":\"corp.example\"},\"protocols\":[\"tcp\"],\"ports\":"
        "[{\"start\":443,\"end\":443}],\"action\":\"allow\"},{\"direction\":\"egress\","
        "\"destination\":{\"group\":\"host\"},\"protocols\":[\"udp\"],\"ports\":[{\"start\":53,"
        "\"end\":53}],\"action\":\"allow\"},{\"direction\":\"egress\",\"destination\":{\"group\":"
        "\"host\"},\"protocols\":[\"tcp\"],\"ports\":[{\"start\":53,\"end\":53}],\"action\":"
        "\"allow\"},{\"direction\":\"egress\",\"destination\":{\"group\":\"public\"},\"protocols\":"
        "[],\"ports\":[],\"action\":\"allow\"},{\"direction\":\"egress\",\"destination\":{\"group\":"
        "\"host\"},\"protocols\":[],\"ports\":[],\"action\":\"allow\"}]},\"max_connections\":256}";
  CHECK_EQ_STR (j, want);
  /* Through the whole config and back: the same. */
  char *full = msb_config_to_json (cfg);
  msb_config *back = NULL;
  CHECK_EQ_INT (msb_config_from_json (full, &back, &e), 0);
  char *j2 = back ? network_json_of (back) : NULL;
  CHECK_EQ_STR (j2, want);
  free (j);
  free (j2);
  free (full);
  msb_config_free (back);
  msb_config_free (cfg);
  msb_error_free (e);
}

TEST (test_network_json_round_trip)
{
  const char *in
      = "{\"enabled\":true,\"ports\":[{\"host_port\":2222,\"guest_port\":22}],"
        "\"policy\":{\"default_egress\":\"allow\",\"rules\":[{\"action\":\"deny\",\"destination\":"
        "{\"ip\":\"169.254.169.254\"}},{\"action\":\"deny\",\"direction\":\"ingress\","
        "\"destination\":\"10.0.0.0/8\",\"protocols\":[\"icmp\"],\"ports\":[22,\"8000-8100\"]}]},"
        "\"deny_domains\":[\"Evil.Example\"],\"deny_domain_suffixes\":[\"*.ads.example\"],"
        "\"dns\":{\"rebind_protection\":false,\"nameservers\":[\"192.0.2.53\",\"[2001:db8::53]:5353\"],"
        "\"query_timeout_ms\":2000},\"max_connections\":1000,\"ipv4_pool\":\"10.200.0.0/16\","
        "\"tls\":{\"bypass\":[]}}";
  msb_config *cfg = msb_config_new ();
  msb_error *e = NULL;
  CHECK_EQ_INT (msb_config_set_network_json (cfg, in, &e), 0);
  if (e)
    fprintf (stderr, "  %s\n", msb_error_get_message (e));
  char *j = network_json_of (cfg);
  const char *want
      = "{\"enabled\":true,\"ports\":[{\"host_port\":2222,\"guest_port\":22,\"protocol\":\"tcp\","
        "\"host_bind\":\"127.0.0.1\"}],\"policy\":{\"default_egress\":\"allow\",\"default_ingress\":"
        "\"allow\",\"rules\":[{\"direction\":\"egress\",\"destination\":{\"cidr\":"
        "\"169.254.169.254/32\"},\"protocols\":[],\"ports\":[],\"action\":\"deny\"},{\"direction\":"
        "\"ingress\",\"destination\":{\"cidr\":\"10.0.0.0/8\"},\"protocols\":[\"icmpv4\",\"icmpv6\"],"
        "\"ports\":[{\"start\":22,\"end\":22},{\"start\":8000,\"end\":8100}],\"action\":\"deny\"}]},"
        "\"deny_domains\":[\"evil.example\"],\"deny_domain_suffixes\":[\"ads.example\"],\"dns\":"
        "{\"rebind_protection\":false,\"nameservers\":[\"192.0.2.53\",\"[2001:db8::53]:5353\"],"
        "\"query_timeout_ms\":2000},\"max_connections\":1000,\"ipv4_pool\":\"10.200.0.0/16\"}";
  CHECK_EQ_STR (j, want);
  free (j);
  msb_config_free (cfg);
  msb_error_free (e);
}

TEST (test_network_json_errors_name_the_key)
{
  struct
  {
    const char *json;
    const char *fragment;
  } cases[] = {
    { "[]", "network: must be an object" },
    { "{\"enabled\":1}", "network.enabled" },
    { "{\"ports\":[{\"host_port\":0,\"guest_port\":80}]}", "network.ports[0]" },
    { "{\"ports\":[{\"host_port\":80,\"guest_port\":80,\"host_bind\":\"localhost\"}]}",
      "network.ports[0]" },
    { "{\"policy\":{\"rules\":[{\"action\":\"allow\"},{\"action\":\"maybe\"}]}}",
      "network.policy.rules[1]" },
    { "{\"policy\":{\"rules\":[{\"action\":\"allow\",\"destination\":{\"cidr\":\"1.2.3.4/40\"}}]}}",
      "network.policy.rules[0].destination" },
    { "{\"policy\":{\"rules\":[{\"action\":\"allow\",\"destination\":{\"group\":\"lan\"}}]}}",
      "unknown group `lan`" },
    { "{\"policy\":{\"default_egress\":\"block\"}}", "network.policy.default_egress" },
    { "{\"dns\":{\"nameservers\":[\"dns.google\"]}}", "network.dns" },
    { "{\"max_connections\":5000}", "network.max_connections" },
    { "{\"enabled\":false,\"ports\":[{\"host_port\":80,\"guest_port\":80}]}", "need networking" },
    { "{\"ipv4_pool\":\"10.0.0.0/31\"}", "network.ipv4_pool" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_config *cfg = msb_config_new ();
      msb_error *e = NULL;
      CHECK (msb_config_set_network_json (cfg, cases[i].json, &e) < 0);
      CHECK (e && msb_error_get_kind (e) == MSB_ERR_INVALID_ARGUMENT);
      if (e && strstr (msb_error_get_message (e), cases[i].fragment) == NULL)
        {
          fprintf (stderr, "  %s: %s\n", cases[i].json, msb_error_get_message (e));
          CHECK (0);
        }
      /* A failed set leaves the config as it was. */
      char *j = network_json_of (cfg);
      CHECK_EQ_STR (j, "{\"enabled\":true,\"ports\":[],\"max_connections\":256}");
      free (j);
      msb_error_free (e);
      msb_config_free (cfg);
    }
}

TEST (test_setter_errors)
{
  msb_config *cfg = msb_config_new ();
  msb_error *e = NULL;
  CHECK (msb_config_set_network_max_connections (cfg, 4097, &e) < 0);
  CHECK (e && strstr (msb_error_get_message (e), "max_connections") != NULL);
  msb_error_free (e), e = NULL;
  CHECK (msb_config_set_network_policy (cfg, "public,lan", &e) < 0);
  CHECK (e && strstr (msb_error_get_message (e), "`lan`") != NULL);
  msb_error_free (e), e = NULL;
  CHECK (msb_config_add_network_port (cfg, "127.0.0.1", 8080, 80, "sctp", &e) < 0);
  msb_error_free (e), e = NULL;
  CHECK_EQ_INT (msb_config_add_network_port (cfg, "127.0.0.1", 8080, 80, NULL, &e), 0);
  CHECK (msb_config_add_network_port_string (cfg, "8080:81", &e) < 0); /* published twice */
  CHECK (e && strstr (msb_error_get_message (e), "twice") != NULL);
  msb_error_free (e), e = NULL;
  CHECK (msb_config_add_network_deny_domain (cfg, "not a name", false, &e) < 0);
  msb_error_free (e), e = NULL;
  const char *bad_ns[] = { "192.0.2.1:99999", NULL };
  CHECK (msb_config_set_network_dns (cfg, true, bad_ns, 0, &e) < 0);
  msb_error_free (e);
  msb_config_free (cfg);
}

TEST (test_copy_is_deep)
{
  msb_config *cfg = msb_config_new ();
  msb_config_add_network_rule (cfg, "allow@example.com", NULL);
  msb_config_add_network_port_string (cfg, "8080:80", NULL);
  msb_config *copy = msb_config_copy (cfg);
  char *a = network_json_of (cfg);
  msb_config_free (cfg);
  char *b = network_json_of (copy);
  CHECK_EQ_STR (a, b);
  free (a);
  free (b);
  msb_config_free (copy);
}

TEST_MAIN (TEST_ENTRY (test_rule_grammar_full), TEST_ENTRY (test_rule_targets),
           TEST_ENTRY (test_rule_dns_target_is_two_rules), TEST_ENTRY (test_rule_grammar_rejects),
           TEST_ENTRY (test_port_binding_forms), TEST_ENTRY (test_groups_of_addresses),
           TEST_ENTRY (test_domain_matching), TEST_ENTRY (test_default_network_json),
           TEST_ENTRY (test_cli_setters_build_policy_in_order),
           TEST_ENTRY (test_network_json_round_trip),
           TEST_ENTRY (test_network_json_errors_name_the_key), TEST_ENTRY (test_setter_errors),
           TEST_ENTRY (test_copy_is_deep))
