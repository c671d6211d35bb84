/* The grammar of network options (see net_spec.h). Everything here is a pure function of its
 * arguments; errors are MSB_ERR_INVALID_ARGUMENT (Python: ValueError) and quote the input. */
#include "lib/net_spec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* ---- lifetime ---------------------------------------------------------------------------- */

void
msb_net_rule_clear (msb_net_rule *r)
{
  free (r->domain);
  r->domain = NULL;
}

void
msb_net_rule_copy (msb_net_rule *dst, const msb_net_rule *src)
{
  *dst = *src;
  dst->domain = msb_xstrdup (src->domain);
}

void
msb_config_net_clear (msb_config_net *n)
{
  for (size_t i = 0; i < n->n_rules; i++)
    msb_net_rule_clear (&n->rules[i]);
  free (n->rules);
  for (size_t i = 0; i < n->n_ports; i++)
    free (n->ports[i].bind);
  free (n->ports);
  msb_strv_free (n->deny_domains);
  msb_strv_free (n->deny_suffixes);
  msb_strv_free (n->nameservers);
  free (n->ipv4_pool);
  free (n->ipv6_pool);
  memset (n, 0, sizeof *n);
}

void
msb_config_net_copy (msb_config_net *dst, const msb_config_net *src)
{
  *dst = *src;
  dst->rules = msb_xcalloc (src->n_rules + 1, sizeof *dst->rules);
  for (size_t i = 0; i < src->n_rules; i++)
    msb_net_rule_copy (&dst->rules[i], &src->rules[i]);
  dst->ports = msb_xcalloc (src->n_ports + 1, sizeof *dst->ports);
  for (size_t i = 0; i < src->n_ports; i++)
    {
      dst->ports[i] = src->ports[i];
      dst->ports[i].bind = msb_xstrdup (src->ports[i].bind);
    }
  dst->deny_domains = msb_strv_dup (src->deny_domains);
  dst->deny_suffixes = msb_strv_dup (src->deny_suffixes);
  dst->nameservers = msb_strv_dup (src->nameservers);
  dst->ipv4_pool = msb_xstrdup (src->ipv4_pool);
  dst->ipv6_pool = msb_xstrdup (src->ipv6_pool);
}

static msb_net_rule *
append_rule (msb_net_rule **rules, size_t *n)
{
  *rules = msb_xrealloc (*rules, (*n + 1) * sizeof **rules);
  msb_net_rule *r = &(*rules)[(*n)++];
  memset (r, 0, sizeof *r);
  r->direction = MSB_NET_EGRESS;
  return r;
}

void
msb_net_profile_rules (unsigned groups, msb_net_rule **rules, size_t *n)
{
  /* Rule.allow_dns(): the resolver every sandbox is given is the gateway. */
  static const uint8_t dns_protos[] = { MSB_NET_PROTO_UDP, MSB_NET_PROTO_TCP };
  for (size_t i = 0; i < 2; i++)
    {
      msb_net_rule *r = append_rule (rules, n);
      r->dest_kind = MSB_NET_DEST_GROUP;
      r->group = MSB_NET_GROUP_HOST;
      r->protocols = dns_protos[i];
      r->n_ports = 1;
      r->ports[0] = (msb_net_port_range){ 53, 53 };
    }
  for (int g = 0; g < MSB_NET_GROUP_COUNT; g++)
    if (groups & (1u << g))
      {
        msb_net_rule *r = append_rule (rules, n);
        r->dest_kind = MSB_NET_DEST_GROUP;
        r->group = (uint8_t) g;
      }
}

/* ---- addresses --------------------------------------------------------------------------- */

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool
msb_net_addr_is_v4 (const msb_net_addr *a)
{
  return memcmp (a->b, v4_mapped_prefix, 12) == 0;
}

void
msb_net_addr_from_v4 (msb_net_addr *a, uint32_t be)
{
  memcpy (a->b, v4_mapped_prefix, 12);
  memcpy (a->b + 12, &be, 4);
}

uint32_t
msb_net_addr_v4 (const msb_net_addr *a)
{
  uint32_t be;
  memcpy (&be, a->b + 12, 4);
  return be;
}

int
msb_net_parse_addr (const char *s, msb_net_addr *out)
{
  if (s == NULL)
    return -1;
  char buf[64];
  size_t len = strlen (s);
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
    {
      if (len - 2 >= sizeof buf)
        return -1;
      memcpy (buf, s + 1, len - 2);
      buf[len - 2] = '\0';
      struct in6_addr a6;
      if (inet_pton (AF_INET6, buf, &a6) != 1)
        return -1;
      memcpy (out->b, &a6, 16);
      return 0;
    }
  struct in_addr a4;
  if (inet_pton (AF_INET, s, &a4) == 1)
    {
      msb_net_addr_from_v4 (out, a4.s_addr);
      return 0;
    }
  struct in6_addr a6;
  if (inet_pton (AF_INET6, s, &a6) == 1)
    {
      memcpy (out->b, &a6, 16);
      return 0;
    }
  return -1;
}

static void
cidr_mask (msb_net_cidr *c)
{
  for (int i = 0; i < 16; i++)
    {
      int bits = (int) c->prefix - i * 8;
      if (bits >= 8)
        continue;
      c->addr.b[i] &= bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
    }
}

int
msb_net_parse_cidr (const char *s, msb_net_cidr *out)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64)
    return -1;
  char buf[72];
  snprintf (buf, sizeof buf, "%s", s);
  char *slash = strchr (buf, '/');
  long bits = -1;
  if (slash)
    {
      *slash = '\0';
      char *end;
      errno = 0;
      if (!isdigit ((unsigned char) slash[1]))
        return -1;
      bits = strtol (slash + 1, &end, 10);
      if (*end || errno)
        return -1;
    }
  if (msb_net_parse_addr (buf, &out->addr) < 0)
    return -1;
  bool v4 = msb_net_addr_is_v4 (&out->addr) && buf[0] != '[' && strchr (buf, ':') == NULL;
  if (v4)
    {
      if (bits > 32)
        return -1;
      out->prefix = (uint8_t) (96 + (bits < 0 ? 32 : bits));
    }
  else
    {
      if (bits > 128)
        return -1;
      out->prefix = (uint8_t) (bits < 0 ? 128 : bits);
    }
  cidr_mask (out);
  return 0;
}

bool
msb_net_cidr_contains (const msb_net_cidr *c, const msb_net_addr *a)
{
  int full = c->prefix / 8, rest = c->prefix % 8;
  if (memcmp (c->addr.b, a->b, (size_t) full) != 0)
    return false;
  if (rest == 0)
    return true;
  uint8_t mask = (uint8_t) (0xff << (8 - rest));
  return (a->b[full] & mask) == c->addr.b[full];
}

void
msb_net_addr_format (const msb_net_addr *a, char *out, size_t n)
{
  if (msb_net_addr_is_v4 (a))
    {
      struct in_addr a4 = { msb_net_addr_v4 (a) };
      inet_ntop (AF_INET, &a4, out, (socklen_t) n);
    }
  else
    inet_ntop (AF_INET6, a->b, out, (socklen_t) n);
}

void
msb_net_cidr_format (const msb_net_cidr *c, char *out, size_t n)
{
  char a[INET6_ADDRSTRLEN];
  msb_net_addr_format (&c->addr, a, sizeof a);
  bool v4 = msb_net_addr_is_v4 (&c->addr) && c->prefix >= 96;
  snprintf (out, n, "%s/%u", a, v4 ? c->prefix - 96u : c->prefix);
}

typedef struct static_range
{
  const char *cidr;
  int group;
} static_range;

/* Most specific first: the metadata address lies inside link-local, 0/8 means "this host". */
static const static_range static_ranges[] = {
  { "169.254.169.254/32", MSB_NET_GROUP_METADATA },
  { "fd00:ec2::254/128", MSB_NET_GROUP_METADATA },
  { "127.0.0.0/8", MSB_NET_GROUP_LOOPBACK },
  { "0.0.0.0/8", MSB_NET_GROUP_LOOPBACK },
  { "::1/128", MSB_NET_GROUP_LOOPBACK },
  { "::/128", MSB_NET_GROUP_LOOPBACK },
  { "169.254.0.0/16", MSB_NET_GROUP_LINK_LOCAL },
  { "fe80::/10", MSB_NET_GROUP_LINK_LOCAL },
  { "10.0.0.0/8", MSB_NET_GROUP_PRIVATE },
  { "172.16.0.0/12", MSB_NET_GROUP_PRIVATE },
  { "192.168.0.0/16", MSB_NET_GROUP_PRIVATE },
  { "100.64.0.0/10", MSB_NET_GROUP_PRIVATE },
  { "fc00::/7", MSB_NET_GROUP_PRIVATE },
  { "224.0.0.0/4", MSB_NET_GROUP_MULTICAST },
  { "255.255.255.255/32", MSB_NET_GROUP_MULTICAST },
  { "ff00::/8", MSB_NET_GROUP_MULTICAST },
};

int
msb_net_group_of_static (const msb_net_addr *in)
{
  static msb_net_cidr ranges[sizeof static_ranges / sizeof static_ranges[0]];
  static bool parsed;
  if (!parsed)
    {
      for (size_t i = 0; i < sizeof static_ranges / sizeof static_ranges[0]; i++)
        msb_net_parse_cidr (static_ranges[i].cidr, &ranges[i]);
      __atomic_store_n (&parsed, true, __ATOMIC_RELEASE);
    }
  msb_net_addr a = *in;
  /* NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds. */
  static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
  if (memcmp (a.b, nat64, 12) == 0)
    memcpy (a.b, v4_mapped_prefix, 12);
  for (size_t i = 0; i < sizeof static_ranges / sizeof static_ranges[0]; i++)
    if (msb_net_cidr_contains (&ranges[i], &a))
      return static_ranges[i].group;
  return MSB_NET_GROUP_PUBLIC;
}

/* ---- names ------------------------------------------------------------------------------- */

char *
msb_net_normalize_domain (const char *s)
{
  if (s == NULL)
    return NULL;
  size_t len = strlen (s);
  if (len > 0 && s[len - 1] == '.')
    len--;
  if (len == 0 || len > 253)
    return NULL;
  char *out = msb_xstrndup (s, len);
  size_t label = 0;
  for (size_t i = 0; i < len; i++)
    {
      char c = (char) tolower ((unsigned char) out[i]);
      out[i] = c;
      if (c == '.')
        {
          /* Empty labels and labels starting or ending with '-' (RFC 1123). */
          if (label == 0 || out[i - 1] == '-')
            return free (out), NULL;
          label = 0;
          continue;
        }
      if (!(isalnum ((unsigned char) c) || c == '-' || c == '_') || ++label > 63
          || (label == 1 && c == '-'))
        return free (out), NULL;
    }
  if (label == 0 || out[len - 1] == '-')
    return free (out), NULL;
  return out;
}

bool
msb_net_domain_matches (const char *name, const char *domain, bool suffix)
{
  if (strcmp (name, domain) == 0)
    return true;
  if (!suffix)
    return false;
  size_t nl = strlen (name), dl = strlen (domain);
  return nl > dl && name[nl - dl - 1] == '.' && strcmp (name + nl - dl, domain) == 0;
}

/* ---- words ------------------------------------------------------------------------------- */

static const char *const group_json_names[MSB_NET_GROUP_COUNT] = {
  "public", "loopback", "private", "link_local", "metadata", "multicast", "host",
};

const char *
msb_net_group_name (int group)
{
  return group >= 0 && group < MSB_NET_GROUP_COUNT ? group_json_names[group] : "public";
}

int
msb_net_parse_group (const char *s)
{
  if (s == NULL)
    return -1;
  for (int g = 0; g < MSB_NET_GROUP_COUNT; g++)
    if (strcasecmp (s, group_json_names[g]) == 0)
      return g;
  if (strcasecmp (s, "link-local") == 0)
    return MSB_NET_GROUP_LINK_LOCAL;
  if (strcasecmp (s, "meta") == 0)
    return MSB_NET_GROUP_METADATA;
  return -1;
}

int
msb_net_parse_action (const char *s, uint8_t *out)
{
  if (s && strcasecmp (s, "allow") == 0)
    return *out = MSB_NET_ALLOW, 0;
  if (s && strcasecmp (s, "deny") == 0)
    return *out = MSB_NET_DENY, 0;
  return -1;
}

int
msb_net_parse_direction (const char *s, uint8_t *out)
{
  if (s && strcasecmp (s, "egress") == 0)
    return *out = MSB_NET_EGRESS, 0;
  if (s && strcasecmp (s, "ingress") == 0)
    return *out = MSB_NET_INGRESS, 0;
  if (s && strcasecmp (s, "any") == 0)
    return *out = MSB_NET_ANY_DIRECTION, 0;
  return -1;
}

/* Something the user meant as an address: digits, dots, colons, slashes, brackets only. */
static bool
looks_numeric (const char *s)
{
  bool digit = false;
  for (; *s; s++)
    {
      if (isdigit ((unsigned char) *s))
        digit = true;
      else if (!strchr (".:/[]", *s) && !isxdigit ((unsigned char) *s))
        return false;
    }
  return digit;
}

int
msb_net_parse_destination (const char *s, msb_net_rule *r, const char *what, msb_error **err)
{
  free (r->domain);
  r->domain = NULL;
  if (s == NULL || strcasecmp (s, "any") == 0 || strcmp (s, "*") == 0)
    {
      r->dest_kind = MSB_NET_DEST_ANY;
      return 0;
    }
  int g = msb_net_parse_group (s);
  if (g >= 0)
    {
      r->dest_kind = MSB_NET_DEST_GROUP;
      r->group = (uint8_t) g;
      return 0;
    }
  const char *suffix = NULL;
  if (strncmp (s, "*.", 2) == 0)
    suffix = s + 2;
  else if (strncasecmp (s, "suffix=", 7) == 0)
    suffix = s + 7;
  else if (s[0] == '.')
    suffix = s + 1;
  if (suffix)
    {
      r->domain = msb_net_normalize_domain (suffix);
      if (r->domain == NULL)
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: `%s` is not a valid domain suffix",
                         what, s);
      r->dest_kind = MSB_NET_DEST_SUFFIX;
      return 0;
    }
  if (msb_net_parse_cidr (s, &r->cidr) == 0)
    {
      r->dest_kind = MSB_NET_DEST_CIDR;
      return 0;
    }
  if (!looks_numeric (s))
    {
      r->domain = msb_net_normalize_domain (s);
      if (r->domain)
        {
          r->dest_kind = MSB_NET_DEST_DOMAIN;
          return 0;
        }
    }
  return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                   "%s: `%s` is not an IP, CIDR, domain, domain suffix or group (public, "
                   "private, loopback, link-local, metadata, multicast, host, any)",
                   what, s);
}

int
msb_net_parse_protocols (const char *s, uint8_t *mask, const char *what, msb_error **err)
{
  *mask = 0;
  if (s == NULL)
    return 0;
  _msb_cleanup_free_ char *copy = msb_xstrdup (s);
  char *save = NULL;
  for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
    {
      if (strcasecmp (w, "tcp") == 0)
        *mask |= MSB_NET_PROTO_TCP;
      else if (strcasecmp (w, "udp") == 0)
        *mask |= MSB_NET_PROTO_UDP;
      else if (strcasecmp (w, "icmpv4") == 0)
        *mask |= MSB_NET_PROTO_ICMPV4;
      else if (strcasecmp (w, "icmpv6") == 0)
        *mask |= MSB_NET_PROTO_ICMPV6;
      else if (strcasecmp (w, "icmp") == 0)
        *mask |= MSB_NET_PROTO_ICMPV4 | MSB_NET_PROTO_ICMPV6;
      else if (strcasecmp (w, "any") == 0)
        {
          *mask = 0;
          return 0;
        }
      else
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "%s: unknown protocol `%s` (tcp, udp, icmpv4, icmpv6, icmp or any)",
                         what, w);
    }
  return 0;
}

static int
parse_port (const char *s, uint16_t *out)
{
  char *end;
  if (!isdigit ((unsigned char) *s))
    return -1;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (*end || errno || v < 1 || v > 65535)
    return -1;
  *out = (uint16_t) v;
  return 0;
}

int
msb_net_parse_ports (const char *s, msb_net_rule *r, const char *what, msb_error **err)
{
  r->n_ports = 0;
  if (s == NULL || strcasecmp (s, "any") == 0)
    return 0;
  _msb_cleanup_free_ char *copy = msb_xstrdup (s);
  char *save = NULL;
  for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
    {
      if (r->n_ports == MSB_NET_MAX_RULE_PORTS)
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: more than %d port ranges", what,
                         MSB_NET_MAX_RULE_PORTS);
      msb_net_port_range pr;
      char *dash = strchr (w, '-');
      if (dash)
        *dash = '\0';
      if (parse_port (w, &pr.start) < 0 || (dash && parse_port (dash + 1, &pr.end) < 0))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "%s: `%s` is not a port (1-65535) or a range lo-hi", what, s);
      if (!dash)
        pr.end = pr.start;
      if (pr.end < pr.start)
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: port range `%s` is reversed", what, s);
      r->ports[r->n_ports++] = pr;
    }
  if (r->n_ports == 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: empty port list", what);
  return 0;
}

/* Splits "<target>[:rest]" where an IPv6 target is bracketed ("[fd00::]/8:tcp:443"). */
static int
split_target (const char *s, char **target, const char **rest)
{
  const char *end;
  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL)
        return -1;
      end = strchr (close, ':');
    }
  else
    end = strchr (s, ':');
  if (end == NULL)
    {
      *target = msb_xstrdup (s);
      *rest = NULL;
    }
  else
    {
      *target = msb_xstrndup (s, (size_t) (end - s));
      *rest = end + 1;
    }
  return 0;
}

int
msb_net_parse_rule (const char *s, msb_net_rule out[2], msb_error **err)
{
  memset (out, 0, 2 * sizeof *out);
  if (s == NULL)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "network rule: empty");
  _msb_cleanup_free_ char *what = msb_xasprintf ("network rule `%s`", s);
  const char *at = strchr (s, '@');
  if (at == NULL)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "%s: expected <allow|deny>[:egress|ingress|any]@<target>[:<protocol>[:<port>]]",
                     what);
  _msb_cleanup_free_ char *head = msb_xstrndup (s, (size_t) (at - s));
  char *colon = strchr (head, ':');
  if (colon)
    *colon = '\0';
  msb_net_rule r = { .direction = MSB_NET_EGRESS };
  if (msb_net_parse_action (head, &r.action) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: action must be allow or deny", what);
  if (colon && msb_net_parse_direction (colon + 1, &r.direction) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "%s: direction must be egress, ingress or any", what);
  _msb_cleanup_free_ char *target = NULL;
  const char *rest = NULL;
  if (split_target (at + 1, &target, &rest) < 0 || *target == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: missing or unterminated target", what);
  _msb_cleanup_free_ char *proto = NULL;
  const char *port = NULL;
  if (rest)
    {
      const char *c2 = strchr (rest, ':');
      proto = c2 ? msb_xstrndup (rest, (size_t) (c2 - rest)) : msb_xstrdup (rest);
      port = c2 ? c2 + 1 : NULL;
      if (port && strchr (port, ':'))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: too many `:` fields", what);
    }
  if (proto && msb_net_parse_protocols (proto, &r.protocols, what, err) < 0)
    return -1;
  if (port && msb_net_parse_ports (port, &r, what, err) < 0)
    return -1;
  if (strcasecmp (target, "dns") == 0)
    {
      /* Rule.allow_dns(): UDP and TCP port 53 to the gateway (each, unless narrowed). */
      if (r.n_ports && !(r.n_ports == 1 && r.ports[0].start == 53 && r.ports[0].end == 53))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: DNS is port 53", what);
      if (r.protocols & ~(MSB_NET_PROTO_UDP | MSB_NET_PROTO_TCP))
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: DNS is UDP or TCP", what);
      uint8_t protos = r.protocols ? r.protocols : MSB_NET_PROTO_UDP | MSB_NET_PROTO_TCP;
      int n = 0;
      for (uint8_t p = MSB_NET_PROTO_UDP; n < 2; p = MSB_NET_PROTO_TCP)
        {
          if (protos & p)
            {
              out[n] = r;
              out[n].dest_kind = MSB_NET_DEST_GROUP;
              out[n].group = MSB_NET_GROUP_HOST;
              out[n].protocols = p;
              out[n].n_ports = 1;
              out[n].ports[0] = (msb_net_port_range){ 53, 53 };
              n++;
            }
          if (p == MSB_NET_PROTO_TCP)
            break;
        }
      return n;
    }
  if (msb_net_parse_destination (target, &r, what, err) < 0)
    return -1;
  out[0] = r;
  return 1;
}

int
msb_net_parse_port_binding (const char *s, msb_net_port_binding *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "published port: empty");
  _msb_cleanup_free_ char *copy = msb_xstrdup (s);
  char *slash = strrchr (copy, '/');
  if (slash)
    {
      *slash = '\0';
      if (strcasecmp (slash + 1, "udp") == 0)
        out->udp = true;
      else if (strcasecmp (slash + 1, "tcp") != 0)
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "published port `%s`: protocol must be tcp or udp", s);
    }
  const char *bind = "127.0.0.1";
  char *ports = copy;
  _msb_cleanup_free_ char *bind_copy = NULL;
  if (copy[0] == '[')
    {
      char *close = strchr (copy, ']');
      if (close == NULL || close[1] != ':')
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "published port `%s`: expected [BIND]:HOST:GUEST", s);
      bind_copy = msb_xstrndup (copy, (size_t) (close - copy + 1));
      bind = bind_copy;
      ports = close + 2;
    }
  else
    {
      char *first = strchr (copy, ':');
      char *second = first ? strchr (first + 1, ':') : NULL;
      if (second)
        {
          bind_copy = msb_xstrndup (copy, (size_t) (first - copy));
          bind = bind_copy;
          ports = first + 1;
        }
    }
  char *colon = strchr (ports, ':');
  if (colon == NULL)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port `%s`: expected [BIND:]HOST:GUEST[/udp]", s);
  *colon = '\0';
  if (parse_port (ports, &out->host_port) < 0 || parse_port (colon + 1, &out->guest_port) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port `%s`: ports must be numbers from 1 to 65535", s);
  msb_net_addr a;
  if (msb_net_parse_addr (bind, &a) < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "published port `%s`: bind address `%s` is not an IP address", s, bind);
  char text[INET6_ADDRSTRLEN];
  msb_net_addr_format (&a, text, sizeof text);
  out->bind = msb_xstrdup (text);
  return 0;
}
