/* The network setters of msb_config (msb/network.h): each validates its argument with the
 * grammar of net_spec.c and names the option in its error. The policy is kept as one rule
 * list: the rules users add (custom, evaluated first, in the order added) followed by the
 * rules of the preset they chose (public-only unless they chose another). */
#include <msb/network.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/net_spec.h"

/* Gives the config an explicit policy equal to the default (public-only), so rules and
 * defaults can be edited on top of it. */
static void
materialize_policy (msb_config_net *n)
{
  if (n->has_policy)
    return;
  n->has_policy = true;
  n->default_egress = MSB_NET_DENY;
  n->default_ingress = MSB_NET_ALLOW;
  msb_net_profile_rules (1u << MSB_NET_GROUP_PUBLIC, &n->rules, &n->n_rules);
  n->n_custom = 0;
}

static void
drop_preset_rules (msb_config_net *n)
{
  for (size_t i = n->n_custom; i < n->n_rules; i++)
    msb_net_rule_clear (&n->rules[i]);
  n->n_rules = n->n_custom;
}

int
msb_config_set_network_enabled (msb_config *cfg, bool enabled, msb_error **err)
{
  cfg->net.disabled = !enabled;
  return 0;
}

int
msb_config_set_network_policy (msb_config *cfg, const char *preset, msb_error **err)
{
  msb_config_net *n = &cfg->net;
  if (preset == NULL || *preset == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network policy: empty");
  uint8_t egress = MSB_NET_DENY, ingress = MSB_NET_ALLOW;
  unsigned groups = 0;
  bool with_profile_rules = true;
  if (strcasecmp (preset, "none") == 0)
    {
      ingress = MSB_NET_DENY;
      with_profile_rules = false;
    }
  else if (strcasecmp (preset, "allow-all") == 0 || strcasecmp (preset, "allow_all") == 0
           || strcasecmp (preset, "all") == 0)
    {
      egress = MSB_NET_ALLOW;
      with_profile_rules = false;
    }
  else if (strcasecmp (preset, "public-only") == 0 || strcasecmp (preset, "public_only") == 0
           || strcasecmp (preset, "default") == 0)
    groups = 1u << MSB_NET_GROUP_PUBLIC;
  else
    {
      _msb_cleanup_free_ char *copy = msb_xstrdup (preset);
      char *save = NULL;
      for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
        {
          int g = msb_net_parse_group (w);
          if (g != MSB_NET_GROUP_PUBLIC && g != MSB_NET_GROUP_PRIVATE && g != MSB_NET_GROUP_HOST)
            return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                             "network policy `%s`: `%s` is not a profile (public, private, host) "
                             "or a preset (public-only, none, allow-all)",
                             preset, w);
          groups |= 1u << g;
        }
    }
  materialize_policy (n);
  drop_preset_rules (n);
  n->default_egress = egress;
  n->default_ingress = ingress;
  if (with_profile_rules)
    msb_net_profile_rules (groups, &n->rules, &n->n_rules);
  return 0;
}

int
msb_config_set_network_default (msb_config *cfg, const char *direction, const char *action,
                                msb_error **err)
{
  uint8_t dir, act;
  if (msb_net_parse_direction (direction, &dir) < 0 || dir == MSB_NET_ANY_DIRECTION)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "network default: direction must be egress or ingress, got `%s`",
                     direction ? direction : "(null)");
  if (msb_net_parse_action (action, &act) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "network default_%s: must be allow or deny, got `%s`", direction,
                     action ? action : "(null)");
  materialize_policy (&cfg->net);
  if (dir == MSB_NET_EGRESS)
    cfg->net.default_egress = act;
  else
    cfg->net.default_ingress = act;
  return 0;
}

/* Inserts `r` after the custom rules already there (taking ownership of its domain). */
static int
insert_custom (msb_config_net *n, msb_net_rule *r, msb_error **err)
{
  if (n->n_rules >= MSB_NET_MAX_RULES)
    {
      msb_net_rule_clear (r);
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network policy: more than %d rules",
                       MSB_NET_MAX_RULES);
    }
  materialize_policy (n);
  n->rules = msb_xrealloc (n->rules, (n->n_rules + 1) * sizeof *n->rules);
  memmove (&n->rules[n->n_custom + 1], &n->rules[n->n_custom],
           (n->n_rules - n->n_custom) * sizeof *n->rules);
  n->rules[n->n_custom] = *r;
  n->n_custom++;
  n->n_rules++;
  return 0;
}

int
msb_config_add_network_rule (msb_config *cfg, const char *rule, msb_error **err)
{
  msb_net_rule r[2];
  int n = msb_net_parse_rule (rule, r, err);
  if (n < 0)
    return -1;
  for (int i = 0; i < n; i++)
    if (insert_custom (&cfg->net, &r[i], err) < 0)
      {
        for (int j = i + 1; j < n; j++)
          msb_net_rule_clear (&r[j]);
        return -1;
      }
  return 0;
}

int
msb_config_add_network_rule_parts (msb_config *cfg, const char *action, const char *direction,
                                   const char *destination, const char *protocol,
                                   const char *ports, msb_error **err)
{
  msb_net_rule r = { .direction = MSB_NET_EGRESS };
  if (msb_net_parse_action (action, &r.action) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "network rule: action must be allow or deny, got `%s`",
                     action ? action : "(null)");
  if (direction && msb_net_parse_direction (direction, &r.direction) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "network rule: direction must be egress, ingress or any, got `%s`",
                     direction);
  if (msb_net_parse_protocols (protocol, &r.protocols, "network rule protocol", err) < 0
      || msb_net_parse_ports (ports, &r, "network rule port", err) < 0
      || msb_net_parse_destination (destination, &r, "network rule destination", err) < 0)
    {
      msb_net_rule_clear (&r);
      return -1;
    }
  return insert_custom (&cfg->net, &r, err);
}

static void
strv_push (char ***v, const char *s)
{
  size_t n = msb_strv_len (*v);
  *v = msb_xrealloc (*v, (n + 2) * sizeof (char *));
  (*v)[n] = msb_xstrdup (s);
  (*v)[n + 1] = NULL;
}

int
msb_config_add_network_deny_domain (msb_config *cfg, const char *name, bool suffix,
                                    msb_error **err)
{
  const char *bare = name && strncmp (name, "*.", 2) == 0 ? name + 2 : name;
  _msb_cleanup_free_ char *norm = msb_net_normalize_domain (bare);
  if (norm == NULL)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: `%s` is not a valid domain name",
                     suffix ? "deny_domain_suffixes" : "deny_domains", name ? name : "(null)");
  strv_push (suffix ? &cfg->net.deny_suffixes : &cfg->net.deny_domains, norm);
  return 0;
}

static int
add_binding (msb_config_net *n, msb_net_port_binding *b, msb_error **err)
{
  for (size_t i = 0; i < n->n_ports; i++)
    if (n->ports[i].host_port == b->host_port && n->ports[i].udp == b->udp
        && strcmp (n->ports[i].bind, b->bind) == 0)
      {
        int r = msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                          "published port %s:%u/%s: published twice", b->bind, b->host_port,
                          b->udp ? "udp" : "tcp");
        free (b->bind);
        return r;
      }
  if (n->n_ports >= MSB_NET_MAX_PORTS)
    {
      free (b->bind);
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "published ports: more than %d",
                       MSB_NET_MAX_PORTS);
    }
  n->ports = msb_xrealloc (n->ports, (n->n_ports + 1) * sizeof *n->ports);
  n->ports[n->n_ports++] = *b;
  return 0;
}

int
msb_config_add_network_port (msb_config *cfg, const char *bind, unsigned host_port,
                             unsigned guest_port, const char *protocol, msb_error **err)
{
  if (host_port < 1 || host_port > 65535 || guest_port < 1 || guest_port > 65535)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port %u → %u: ports must be from 1 to 65535", host_port,
                     guest_port);
  bool udp = false;
  if (protocol && strcasecmp (protocol, "udp") == 0)
    udp = true;
  else if (protocol && strcasecmp (protocol, "tcp") != 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port %u: protocol must be tcp or udp, got `%s`", host_port,
                     protocol);
  msb_net_addr a;
  if (msb_net_parse_addr (bind ? bind : "127.0.0.1", &a) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port %u: bind address `%s` is not an IP address", host_port,
                     bind);
  char text[64];
  msb_net_addr_format (&a, text, sizeof text);
  msb_net_port_binding b = { msb_xstrdup (text), (uint16_t) host_port, (uint16_t) guest_port, udp };
  return add_binding (&cfg->net, &b, err);
}

int
msb_config_add_network_port_string (msb_config *cfg, const char *spec, msb_error **err)
{
  msb_net_port_binding b;
  if (msb_net_parse_port_binding (spec, &b, err) < 0)
    return -1;
  return add_binding (&cfg->net, &b, err);
}

int
msb_config_set_network_dns (msb_config *cfg, bool rebind_protection,
                            const char *const *nameservers, unsigned query_timeout_ms,
                            msb_error **err)
{
  size_t n = 0;
  for (; nameservers && nameservers[n]; n++)
    {
      msb_net_addr a;
      const char *s = nameservers[n];
      _msb_cleanup_free_ char *host = NULL;
      const char *colon = strrchr (s, ':');
      /* "ip:port" for IPv4, "[ip6]:port" for IPv6; a bare IPv6 has several colons. */
      if (colon && (s[0] == '[' ? colon > strchr (s, ']') : strchr (s, ':') == colon))
        host = msb_xstrndup (s, (size_t) (colon - s));
      char *end = NULL;
      long port = host ? strtol (colon + 1, &end, 10) : 53;
      if (msb_net_parse_addr (host ? host : s, &a) < 0 || (host && (*end || port < 1 || port > 65535)))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "dns nameservers: `%s` is not IP, IP:PORT or [IPv6]:PORT", s);
    }
  if (n > MSB_NET_MAX_NAMESERVERS)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "dns nameservers: at most %d",
                     MSB_NET_MAX_NAMESERVERS);
  if (query_timeout_ms > 600000)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "dns query_timeout_ms: %u is more than 10 minutes", query_timeout_ms);
  msb_config_net *net = &cfg->net;
  msb_strv_free (net->nameservers);
  net->nameservers = n ? msb_strv_dup ((char *const *) nameservers) : NULL;
  net->has_dns = true;
  net->no_rebind_protection = !rebind_protection;
  net->dns_timeout_ms = query_timeout_ms;
  return 0;
}

int
msb_config_set_network_max_connections (msb_config *cfg, unsigned max, msb_error **err)
{
  if (max < 1 || max > MSB_NET_MAX_CONNECTIONS_LIMIT)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "max_connections: must be between 1 and %d, got %u",
                     MSB_NET_MAX_CONNECTIONS_LIMIT, max);
  cfg->net.max_connections = max;
  return 0;
}
