/* The `network` object of the stored config (API.md §1.20), written and read back exactly:
 *   {"enabled", "ports": [{"host_port", "guest_port", "protocol", "host_bind"}],
 *    "policy"?: {"default_egress", "default_ingress", "rules": [{"action", "direction",
 *                "destination", "protocols", "ports": [{"start", "end"}]}]},
 *    "deny_domains"?, "deny_domain_suffixes"?, "dns"?: {"rebind_protection", "nameservers",
 *    "query_timeout_ms"}, "max_connections", "ipv4_pool"?, "ipv6_pool"?}
 * The reader is also the validator of msb_config_set_network_json, so it is strict about
 * what it understands (errors name the key: "network.policy.rules[2].destination: …") and
 * ignores keys it does not know (tls, rate_limiter, …). */
#include "lib/config_net_json.h"

#include <msb/network.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"

/* ---- writing ----------------------------------------------------------------------------- */

static const char *const protocol_names[] = { "tcp", "udp", "icmpv4", "icmpv6" };

static json_t *
destination_json (const msb_net_rule *r)
{
  char text[64];
  switch (r->dest_kind)
    {
    case MSB_NET_DEST_CIDR:
      msb_net_cidr_format (&r->cidr, text, sizeof text);
      return json_pack ("{s:s}", "cidr", text);
    case MSB_NET_DEST_DOMAIN:
      return json_pack ("{s:s}", "domain", r->domain);
    case MSB_NET_DEST_SUFFIX:
      return json_pack ("{s:s}", "domain_suffix", r->domain);
    case MSB_NET_DEST_GROUP:
      return json_pack ("{s:s}", "group", msb_net_group_name (r->group));
    default:
      return json_string ("any");
    }
}

static json_t *
rule_json (const msb_net_rule *r)
{
  json_t *o = json_object ();
  static const char *const dirs[] = { "egress", "egress", "ingress", "any" };
  json_object_set_new (o, "direction", json_string (dirs[r->direction & 3]));
  json_object_set_new (o, "destination", destination_json (r));
  json_t *protos = json_array ();
  for (int i = 0; i < 4; i++)
    if (r->protocols & (1 << i))
      json_array_append_new (protos, json_string (protocol_names[i]));
  json_object_set_new (o, "protocols", protos);
  json_t *ports = json_array ();
  for (size_t i = 0; i < r->n_ports; i++)
    json_array_append_new (ports, json_pack ("{s:i, s:i}", "start", r->ports[i].start, "end",
                                             r->ports[i].end));
  json_object_set_new (o, "ports", ports);
  json_object_set_new (o, "action", json_string (r->action == MSB_NET_DENY ? "deny" : "allow"));
  return o;
}

static json_t *
strv_json (char **v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

json_t *
msb_config_net_to_json (const msb_config_net *n)
{
  json_t *o = json_object ();
  json_object_set_new (o, "enabled", json_boolean (!n->disabled));
  json_t *ports = json_array ();
  for (size_t i = 0; i < n->n_ports; i++)
    json_array_append_new (ports, json_pack ("{s:i, s:i, s:s, s:s}", "host_port",
                                             n->ports[i].host_port, "guest_port",
                                             n->ports[i].guest_port, "protocol",
                                             n->ports[i].udp ? "udp" : "tcp", "host_bind",
                                             n->ports[i].bind));
  json_object_set_new (o, "ports", ports);
  if (n->has_policy)
    {
      json_t *rules = json_array ();
      for (size_t i = 0; i < n->n_rules; i++)
        json_array_append_new (rules, rule_json (&n->rules[i]));
      json_object_set_new (o, "policy",
                           json_pack ("{s:s, s:s, s:o}", "default_egress",
                                      n->default_egress == MSB_NET_DENY ? "deny" : "allow",
                                      "default_ingress",
                                      n->default_ingress == MSB_NET_DENY ? "deny" : "allow",
                                      "rules", rules));
    }
  if (n->deny_domains)
    json_object_set_new (o, "deny_domains", strv_json (n->deny_domains));
  if (n->deny_suffixes)
    json_object_set_new (o, "deny_domain_suffixes", strv_json (n->deny_suffixes));
  if (n->has_dns)
    json_object_set_new (o, "dns",
                         json_pack ("{s:b, s:o, s:o}", "rebind_protection",
                                    !n->no_rebind_protection, "nameservers",
                                    strv_json (n->nameservers), "query_timeout_ms",
                                    n->dns_timeout_ms ? json_integer (n->dns_timeout_ms)
                                                      : json_null ()));
  json_object_set_new (o, "max_connections",
                       json_integer (n->max_connections ? n->max_connections
                                                        : MSB_NET_DEFAULT_MAX_CONNECTIONS));
  if (n->ipv4_pool)
    json_object_set_new (o, "ipv4_pool", json_string (n->ipv4_pool));
  if (n->ipv6_pool)
    json_object_set_new (o, "ipv6_pool", json_string (n->ipv6_pool));
  return o;
}

/* ---- reading ----------------------------------------------------------------------------- */

static int
bad (msb_error **err, const char *path, const char *what)
{
  return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network%s: %s", path, what);
}

static int
read_uint (json_t *v, long max, long *out)
{
  if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > max)
    return -1;
  *out = (long) json_integer_value (v);
  return 0;
}

static int
read_port_binding (json_t *p, size_t i, msb_config_net *n, msb_error **err)
{
  char path[48];
  snprintf (path, sizeof path, ".ports[%zu]", i);
  if (!json_is_object (p))
    return bad (err, path, "must be an object {host_port, guest_port, protocol, host_bind}");
  long host = 0, guest = 0;
  if (read_uint (json_object_get (p, "host_port"), 65535, &host) < 0 || host == 0
      || read_uint (json_object_get (p, "guest_port"), 65535, &guest) < 0 || guest == 0)
    return bad (err, path, "host_port and guest_port must be integers from 1 to 65535");
  json_t *proto = json_object_get (p, "protocol"), *bind = json_object_get (p, "host_bind");
  if ((proto && !json_is_null (proto) && !json_is_string (proto))
      || (bind && !json_is_null (bind) && !json_is_string (bind)))
    return bad (err, path, "protocol and host_bind must be strings");
  msb_config tmp = { 0 };
  tmp.net = *n;
  int r = msb_config_add_network_port (&tmp, json_string_value (bind), (unsigned) host,
                                       (unsigned) guest, json_string_value (proto), err);
  *n = tmp.net;
  return r < 0 ? msb_error_prefix (err, "network%s", path) : 0;
}

static int
read_destination (json_t *d, msb_net_rule *r, const char *path, msb_error **err)
{
  _msb_cleanup_free_ char *what = msb_xasprintf ("network%s.destination", path);
  if (d == NULL || json_is_null (d))
    return msb_net_parse_destination (NULL, r, what, err);
  if (json_is_string (d))
    return msb_net_parse_destination (json_string_value (d), r, what, err);
  if (!json_is_object (d) || json_object_size (d) != 1)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "%s: must be \"any\" or one of {cidr|ip|domain|domain_suffix|group: value}",
                     what);
  const char *key;
  json_t *v;
  json_object_foreach (d, key, v)
  {
    if (!json_is_string (v))
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s.%s: must be a string", what, key);
    const char *s = json_string_value (v);
    if (strcmp (key, "cidr") == 0 || strcmp (key, "ip") == 0)
      {
        if (msb_net_parse_cidr (s, &r->cidr) < 0)
          return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: `%s` is not an IP or CIDR",
                           what, s);
        r->dest_kind = MSB_NET_DEST_CIDR;
      }
    else if (strcmp (key, "domain") == 0 || strcmp (key, "domain_suffix") == 0)
      {
        bool suffix = key[6] == '_';
        const char *bare = suffix && strncmp (s, "*.", 2) == 0 ? s + 2 : s;
        r->domain = msb_net_normalize_domain (bare);
        if (r->domain == NULL)
          return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: `%s` is not a valid domain",
                           what, s);
        r->dest_kind = suffix ? MSB_NET_DEST_SUFFIX : MSB_NET_DEST_DOMAIN;
      }
    else if (strcmp (key, "group") == 0)
      {
        int g = msb_net_parse_group (s);
        if (g < 0)
          return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                           "%s: unknown group `%s` (public, private, loopback, link_local, "
                           "metadata, multicast, host)",
                           what, s);
        r->dest_kind = MSB_NET_DEST_GROUP;
        r->group = (uint8_t) g;
      }
    else
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: unknown kind `%s`", what, key);
  }
  return 0;
}

static int
read_rule_ports (json_t *ports, msb_net_rule *r, const char *path, msb_error **err)
{
  _msb_cleanup_free_ char *what = msb_xasprintf ("network%s.ports", path);
  if (ports == NULL || json_is_null (ports))
    return 0;
  if (json_is_integer (ports) || json_is_string (ports))
    {
      json_t *one = json_array ();
      json_array_append (one, ports);
      int rr = read_rule_ports (one, r, path, err);
      json_decref (one);
      return rr;
    }
  if (!json_is_array (ports))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: must be a list", what);
  size_t i;
  json_t *p;
  json_array_foreach (ports, i, p)
  {
    if (r->n_ports == MSB_NET_MAX_RULE_PORTS)
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: more than %d ranges", what,
                       MSB_NET_MAX_RULE_PORTS);
    long start = 0, end = 0;
    if (json_is_string (p))
      {
        msb_net_rule tmp = { 0 };
        if (msb_net_parse_ports (json_string_value (p), &tmp, what, err) < 0)
          return -1;
        for (size_t k = 0; k < tmp.n_ports && r->n_ports < MSB_NET_MAX_RULE_PORTS; k++)
          r->ports[r->n_ports++] = tmp.ports[k];
        continue;
      }
    if (json_is_integer (p))
      {
        if (read_uint (p, 65535, &start) < 0 || start == 0)
          return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s[%zu]: not a port", what, i);
        end = start;
      }
    else if (read_uint (json_object_get (p, "start"), 65535, &start) < 0 || start == 0
             || read_uint (json_object_get (p, "end"), 65535, &end) < 0 || end < start)
      return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                       "%s[%zu]: expected {start, end} with 1 <= start <= end <= 65535", what, i);
    r->ports[r->n_ports++] = (msb_net_port_range){ (uint16_t) start, (uint16_t) end };
  }
  return 0;
}

static int
read_rule (json_t *o, size_t i, msb_net_rule *r, msb_error **err)
{
  char path[48];
  snprintf (path, sizeof path, ".policy.rules[%zu]", i);
  memset (r, 0, sizeof *r);
  r->direction = MSB_NET_EGRESS;
  if (!json_is_object (o))
    return bad (err, path, "must be an object");
  json_t *v = json_object_get (o, "action");
  if (!json_is_string (v) || msb_net_parse_action (json_string_value (v), &r->action) < 0)
    return bad (err, path, "action must be \"allow\" or \"deny\"");
  v = json_object_get (o, "direction");
  if (v && !json_is_null (v)
      && (!json_is_string (v) || msb_net_parse_direction (json_string_value (v), &r->direction) < 0))
    return bad (err, path, "direction must be \"egress\", \"ingress\" or \"any\"");
  if (read_destination (json_object_get (o, "destination"), r, path, err) < 0)
    return -1;
  _msb_cleanup_free_ char *pwhat = msb_xasprintf ("network%s.protocols", path);
  json_t *protos = json_object_get (o, "protocols");
  if (protos == NULL)
    protos = json_object_get (o, "protocol");
  if (json_is_string (protos))
    {
      if (msb_net_parse_protocols (json_string_value (protos), &r->protocols, pwhat, err) < 0)
        return -1;
    }
  else if (json_is_array (protos))
    {
      size_t k;
      json_t *p;
      json_array_foreach (protos, k, p)
      {
        uint8_t m;
        if (!json_is_string (p))
          return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: must be strings", pwhat);
        if (msb_net_parse_protocols (json_string_value (p), &m, pwhat, err) < 0)
          return -1;
        if (m == 0) /* "any" */
          {
            r->protocols = 0;
            break;
          }
        r->protocols |= m;
      }
    }
  else if (protos && !json_is_null (protos))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: must be a list", pwhat);
  json_t *ports = json_object_get (o, "ports");
  if (ports == NULL)
    ports = json_object_get (o, "port");
  return read_rule_ports (ports, r, path, err);
}

static int
read_policy (json_t *p, msb_config_net *n, msb_error **err)
{
  if (p == NULL || json_is_null (p))
    return 0;
  if (!json_is_object (p))
    return bad (err, ".policy", "must be an object");
  n->has_policy = true;
  n->default_egress = MSB_NET_DENY;
  n->default_ingress = MSB_NET_ALLOW;
  const char *keys[] = { "default_egress", "default_ingress" };
  uint8_t *slots[] = { &n->default_egress, &n->default_ingress };
  for (int k = 0; k < 2; k++)
    {
      json_t *v = json_object_get (p, keys[k]);
      if (v && !json_is_null (v)
          && (!json_is_string (v) || msb_net_parse_action (json_string_value (v), slots[k]) < 0))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "network.policy.%s: must be \"allow\" or \"deny\"", keys[k]);
    }
  json_t *rules = json_object_get (p, "rules");
  if (rules == NULL || json_is_null (rules))
    return 0;
  if (!json_is_array (rules))
    return bad (err, ".policy.rules", "must be a list");
  if (json_array_size (rules) > MSB_NET_MAX_RULES)
    return bad (err, ".policy.rules", "too many rules");
  n->rules = msb_xcalloc (json_array_size (rules) + 1, sizeof *n->rules);
  size_t i;
  json_t *r;
  json_array_foreach (rules, i, r)
  {
    int rc = read_rule (r, i, &n->rules[n->n_rules], err);
    n->n_rules++; /* counted even on failure: its domain is freed by the caller's clear */
    if (rc < 0)
      return -1;
  }
  n->n_custom = n->n_rules;
  return 0;
}

static int
read_names (json_t *a, const char *key, bool suffix, msb_config_net *n, msb_error **err)
{
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network.%s: must be a list", key);
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v)
  {
    msb_config tmp = { 0 };
    tmp.net = *n;
    int r = json_is_string (v)
                ? msb_config_add_network_deny_domain (&tmp, json_string_value (v), suffix, err)
                : msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "must be a string");
    *n = tmp.net;
    if (r < 0)
      return msb_error_prefix (err, "network.%s[%zu]", key, i);
  }
  return 0;
}

static int
read_dns (json_t *d, msb_config_net *n, msb_error **err)
{
  if (d == NULL || json_is_null (d))
    return 0;
  if (!json_is_object (d))
    return bad (err, ".dns", "must be an object");
  json_t *rebind = json_object_get (d, "rebind_protection");
  if (rebind && !json_is_boolean (rebind) && !json_is_null (rebind))
    return bad (err, ".dns.rebind_protection", "must be a boolean");
  json_t *ns = json_object_get (d, "nameservers");
  if (ns && !json_is_array (ns) && !json_is_null (ns))
    return bad (err, ".dns.nameservers", "must be a list of strings");
  long timeout = 0;
  json_t *t = json_object_get (d, "query_timeout_ms");
  if (t && !json_is_null (t) && read_uint (t, 600000, &timeout) < 0)
    return bad (err, ".dns.query_timeout_ms", "must be an integer from 0 to 600000");
  _msb_cleanup_free_ const char **v = msb_xcalloc (json_array_size (ns) + 1, sizeof (char *));
  size_t i;
  json_t *s;
  json_array_foreach (ns, i, s)
  {
    if (!json_is_string (s))
      return bad (err, ".dns.nameservers", "must be a list of strings");
    v[i] = json_string_value (s);
  }
  msb_config tmp = { 0 };
  tmp.net = *n;
  int r = msb_config_set_network_dns (&tmp, !json_is_false (rebind), v, (unsigned) timeout, err);
  *n = tmp.net;
  return r < 0 ? msb_error_prefix (err, "network.dns") : 0;
}

static int
read_pool (json_t *v, const char *key, bool v4, char **out, msb_error **err)
{
  if (v == NULL || json_is_null (v))
    return 0;
  msb_net_cidr c;
  if (!json_is_string (v) || msb_net_parse_cidr (json_string_value (v), &c) < 0
      || msb_net_addr_is_v4 (&c.addr) != v4 || c.prefix > (v4 ? 96 + 30 : 64))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network.%s: must be an %s CIDR of at most /%d",
                     key, v4 ? "IPv4" : "IPv6", v4 ? 30 : 64);
  *out = msb_xstrdup (json_string_value (v));
  return 0;
}

static int
read_network (json_t *o, msb_config_net *n, msb_error **err)
{
  if (!json_is_object (o))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network: must be an object");
  json_t *enabled = json_object_get (o, "enabled");
  if (enabled && !json_is_boolean (enabled))
    return bad (err, ".enabled", "must be a boolean");
  n->disabled = json_is_false (enabled);
  json_t *ports = json_object_get (o, "ports");
  if (ports && !json_is_array (ports) && !json_is_null (ports))
    return bad (err, ".ports", "must be a list");
  size_t i;
  json_t *p;
  json_array_foreach (ports, i, p)
    if (read_port_binding (p, i, n, err) < 0)
      return -1;
  if (read_policy (json_object_get (o, "policy"), n, err) < 0
      || read_names (json_object_get (o, "deny_domains"), "deny_domains", false, n, err) < 0
      || read_names (json_object_get (o, "deny_domain_suffixes"), "deny_domain_suffixes", true, n,
                     err)
             < 0
      || read_dns (json_object_get (o, "dns"), n, err) < 0)
    return -1;
  json_t *max = json_object_get (o, "max_connections");
  long m = 0;
  if (max && !json_is_null (max)
      && (read_uint (max, MSB_NET_MAX_CONNECTIONS_LIMIT, &m) < 0 || m == 0))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "network.max_connections: must be an integer from 1 to %d",
                     MSB_NET_MAX_CONNECTIONS_LIMIT);
  n->max_connections = m == MSB_NET_DEFAULT_MAX_CONNECTIONS ? 0 : (unsigned) m;
  if (read_pool (json_object_get (o, "ipv4_pool"), "ipv4_pool", true, &n->ipv4_pool, err) < 0
      || read_pool (json_object_get (o, "ipv6_pool"), "ipv6_pool", false, &n->ipv6_pool, err) < 0)
    return -1;
  if (n->disabled && n->n_ports)
    return bad (err, ".ports", "published ports need networking (\"enabled\": false)");
  return 0;
}

int
msb_config_net_from_json (json_t *o, msb_config_net *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (o == NULL || json_is_null (o))
    return 0;
  if (read_network (o, out, err) < 0)
    {
      msb_config_net_clear (out);
      return -1;
    }
  return 0;
}

/* ---- public ------------------------------------------------------------------------------ */

int
msb_config_set_network_json (msb_config *cfg, const char *text, msb_error **err)
{
  json_error_t jerr;
  json_t *o = json_loads (text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
  if (o == NULL)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network: invalid JSON: %s", jerr.text);
  msb_config_net n;
  int r = msb_config_net_from_json (o, &n, err);
  json_decref (o);
  if (r < 0)
    return -1;
  msb_config_net_clear (&cfg->net);
  cfg->net = n;
  return 0;
}

char *
msb_config_get_network_json (const msb_config *cfg)
{
  json_t *o = msb_config_net_to_json (&cfg->net);
  char *s = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (o);
  if (s == NULL)
    abort ();
  return s;
}
