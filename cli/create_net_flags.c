/* The network create flags (API.md §2), thin translations to msb/network.h:
 *   -p, --port [BIND:]HOST:GUEST[/udp]   publish a sandbox port on the host (bind 127.0.0.1)
 *   --net public,private,host|all|none   the policy preset (default: public)
 *   --net-rule RULE                      a rule, evaluated before the preset's, in order
 *   --net-default allow|deny             what egress no rule matches gets
 *   --no-net                             no network at all (loopback only)
 * --net-default holds whatever order it is given in relative to --net. Errors name the flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char help[] =
    "  -p, --port [BIND:]HOST:GUEST[/udp]  publish a sandbox port on the host (BIND 127.0.0.1)\n"
    "      --net PROFILES         public,private,host | all | none (default: public)\n"
    "      --net-rule RULE        <allow|deny>[:egress|ingress|any]@<target>[:<proto>[:<port>]]\n"
    "                             target: IP, CIDR, [IPv6], domain, *.suffix, dns, public,\n"
    "                             private, loopback, link-local, meta, multicast, host, any\n"
    "      --net-default ACTION   allow or deny egress no rule matches\n"
    "      --no-net               no network: loopback only\n";

const char *
cli_create_net_flags_help (void)
{
  return help;
}

static int
applied (const char *flag, msb_error *err)
{
  if (err == NULL)
    return 1;
  fprintf (stderr, "msb: %s: %s\n", flag, msb_error_get_message (err));
  msb_error_free (err);
  return -1;
}

static int
missing (const char *flag)
{
  fprintf (stderr, "msb: %s: a value is required\n", flag);
  return -1;
}

int
cli_create_net_flag (cli_create_opts *o, int argc, char **argv, int *i)
{
  static const char *net_default;
  msb_error *err = NULL;
  bool m;
  const char *flag = argv[*i];
  const char *v;
  if (strcmp (flag, "--no-net") == 0)
    return msb_config_set_network_enabled (o->cfg, false, &err), applied (flag, err);
  v = cli_flag_value (argc, argv, i, "-p", "--port", &m);
  if (m)
    return v ? (msb_config_add_network_port_string (o->cfg, v, &err), applied (flag, err)) : missing (flag);
  v = cli_flag_value (argc, argv, i, NULL, "--net-rule", &m);
  if (m)
    return v ? (msb_config_add_network_rule (o->cfg, v, &err), applied (flag, err)) : missing (flag);
  v = cli_flag_value (argc, argv, i, NULL, "--net-default", &m);
  if (m)
    {
      if (v == NULL)
        return missing (flag);
      net_default = v;
      return msb_config_set_network_default (o->cfg, "egress", v, &err), applied (flag, err);
    }
  v = cli_flag_value (argc, argv, i, NULL, "--net", &m);
  if (m)
    {
      if (v == NULL)
        return missing (flag);
      if (msb_config_set_network_policy (o->cfg, v, &err) < 0)
        return applied (flag, err);
      if (net_default)
        msb_config_set_network_default (o->cfg, "egress", net_default, NULL);
      return 1;
    }
  return 0;
}
