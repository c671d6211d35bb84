/* The network section of a sandbox config (API.md §1.15, §1.20) as data, and the grammar of
 * its textual forms: addresses, CIDRs, destinations, port ranges, rules (`--net-rule`) and
 * port bindings (`-p`). Pure functions of strings: no I/O, shared by the config setters, the
 * JSON reader and the runtime's network engine, which compiles an msb_config_net into its
 * policy. Must never: accept a value it cannot print back, or resolve a name. */
#ifndef MSB_LIB_NET_SPEC_H
#define MSB_LIB_NET_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum msb_net_action
{
  MSB_NET_ALLOW = 0,
  MSB_NET_DENY = 1,
} msb_net_action;

/* A bit mask: a rule for "any" applies to both. */
enum
{
  MSB_NET_EGRESS = 1,
  MSB_NET_INGRESS = 2,
  MSB_NET_ANY_DIRECTION = 3,
};

typedef enum msb_net_dest_kind
{
  MSB_NET_DEST_ANY = 0,
  MSB_NET_DEST_CIDR,
  MSB_NET_DEST_DOMAIN,
  MSB_NET_DEST_SUFFIX,
  MSB_NET_DEST_GROUP,
} msb_net_dest_kind;

/* Every address is in exactly one group (lib/net_spec.c: msb_net_group_of_static). */
typedef enum msb_net_group
{
  MSB_NET_GROUP_PUBLIC = 0,
  MSB_NET_GROUP_LOOPBACK,
  MSB_NET_GROUP_PRIVATE,
  MSB_NET_GROUP_LINK_LOCAL,
  MSB_NET_GROUP_METADATA,
  MSB_NET_GROUP_MULTICAST,
  MSB_NET_GROUP_HOST,
  MSB_NET_GROUP_COUNT,
} msb_net_group;

/* Protocol bit mask; 0 = any. */
enum
{
  MSB_NET_PROTO_TCP = 1,
  MSB_NET_PROTO_UDP = 2,
  MSB_NET_PROTO_ICMPV4 = 4,
  MSB_NET_PROTO_ICMPV6 = 8,
};

/* An IPv4 address is kept in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one comparison
 * serves both families; `prefix` counts bits of that 128-bit form. */
typedef struct msb_net_addr
{
  uint8_t b[16];
} msb_net_addr;

typedef struct msb_net_cidr
{
  msb_net_addr addr; /* host bits cleared */
  uint8_t prefix;    /* 0..128 */
} msb_net_cidr;

typedef struct msb_net_port_range
{
  uint16_t start;
  uint16_t end;
} msb_net_port_range;

#define MSB_NET_MAX_RULE_PORTS 16

typedef struct msb_net_rule
{
  uint8_t action;     /* msb_net_action */
  uint8_t direction;  /* MSB_NET_EGRESS | MSB_NET_INGRESS */
  uint8_t dest_kind;  /* msb_net_dest_kind */
  uint8_t group;      /* MSB_NET_DEST_GROUP */
  uint8_t protocols;  /* MSB_NET_PROTO_*; 0 = any */
  msb_net_cidr cidr;  /* MSB_NET_DEST_CIDR */
  char *domain;       /* DOMAIN / SUFFIX: lowercase, no trailing dot */
  size_t n_ports;     /* 0 = any */
  msb_net_port_range ports[MSB_NET_MAX_RULE_PORTS];
} msb_net_rule;

typedef struct msb_net_port_binding
{
  char *bind;         /* numeric address, canonical */
  uint16_t host_port;
  uint16_t guest_port;
  bool udp;
} msb_net_port_binding;

#define MSB_NET_DEFAULT_MAX_CONNECTIONS 256
#define MSB_NET_MAX_CONNECTIONS_LIMIT 4096
#define MSB_NET_DEFAULT_DNS_TIMEOUT_MS 5000
#define MSB_NET_MAX_RULES 1024
#define MSB_NET_MAX_PORTS 256
#define MSB_NET_MAX_NAMESERVERS 8

/* A zeroed msb_config_net is the default: networking on, public-only, host resolvers. */
typedef struct msb_config_net
{
  bool disabled;          /* --no-net / "enabled": false */
  bool has_policy;        /* false = the default public-only policy */
  uint8_t default_egress; /* msb_net_action */
  uint8_t default_ingress;
  msb_net_rule *rules;    /* custom rules first (n_custom), then the preset's */
  size_t n_rules;
  size_t n_custom;
  msb_net_port_binding *ports;
  size_t n_ports;
  char **deny_domains;    /* NULL-terminated or NULL */
  char **deny_suffixes;
  bool has_dns;
  bool no_rebind_protection;
  char **nameservers;     /* "ip" / "ip:port" / "[ip6]:port" */
  unsigned dns_timeout_ms; /* 0 = default */
  unsigned max_connections; /* 0 = default */
  char *ipv4_pool;        /* NULL = 172.16.0.0/12 */
  char *ipv6_pool;
} msb_config_net;

void msb_config_net_clear (msb_config_net *n);
void msb_config_net_copy (msb_config_net *dst, const msb_config_net *src);
void msb_net_rule_clear (msb_net_rule *r);
void msb_net_rule_copy (msb_net_rule *dst, const msb_net_rule *src);

/* The rules of the default public-only policy / of NetworkPolicy.from_profiles (groups as a
 * bit mask of 1 << msb_net_group): DNS to the gateway, then one allow per group. Appends
 * to *rules (n updated); default egress deny, ingress allow. */
void msb_net_profile_rules (unsigned groups, msb_net_rule **rules, size_t *n);

/* ---- parsing (each returns -1 with MSB_ERR_INVALID_ARGUMENT and a message naming `what`) -- */

/* "1.2.3.4", "::1", "[::1]". */
int msb_net_parse_addr (const char *s, msb_net_addr *out);
/* "1.2.3.4", "1.2.3.0/24", "[fd00::]/8", "fd00::/8": a plain address is a /32 or /128.
 * Returns -1 on anything else (no error object: callers phrase it). */
int msb_net_parse_cidr (const char *s, msb_net_cidr *out);
/* A DNS name (labels of letters, digits, '-', '_', 1..63 bytes, ≤ 253 in all), normalised:
 * lowercase, trailing dot removed. NULL when invalid. */
char *msb_net_normalize_domain (const char *s);
/* Group names: public private loopback link-local|link_local metadata|meta multicast host. */
int msb_net_parse_group (const char *s);
const char *msb_net_group_name (int group); /* the JSON spelling (link_local) */
/* A destination string into rule->dest_kind/cidr/domain/group. "any" is any. */
int msb_net_parse_destination (const char *s, msb_net_rule *rule, const char *what,
                               msb_error **err);
/* "tcp", "udp", "icmpv4", "icmpv6", "icmp", "any", comma lists → mask. */
int msb_net_parse_protocols (const char *s, uint8_t *mask, const char *what, msb_error **err);
/* "80", "8000-8100", "any", comma lists. */
int msb_net_parse_ports (const char *s, msb_net_rule *rule, const char *what, msb_error **err);
/* The CLI rule grammar; may produce two rules (target `dns`): returns how many (1 or 2). */
int msb_net_parse_rule (const char *s, msb_net_rule out[2], msb_error **err);
/* `[BIND:]HOST:GUEST[/udp|/tcp]`. */
int msb_net_parse_port_binding (const char *s, msb_net_port_binding *out, msb_error **err);
/* "allow"/"deny", "egress"/"ingress"/"any". */
int msb_net_parse_action (const char *s, uint8_t *out);
int msb_net_parse_direction (const char *s, uint8_t *out);

/* ---- printing ---- */
/* "1.2.3.4" or "fd00::1" (no brackets). `out` ≥ 46 bytes. */
void msb_net_addr_format (const msb_net_addr *a, char *out, size_t n);
/* "1.2.3.0/24" (IPv4 prefixes are printed for the IPv4 part). `out` ≥ 50 bytes. */
void msb_net_cidr_format (const msb_net_cidr *c, char *out, size_t n);

/* ---- addresses ---- */
bool msb_net_addr_is_v4 (const msb_net_addr *a);
void msb_net_addr_from_v4 (msb_net_addr *a, uint32_t be);
uint32_t msb_net_addr_v4 (const msb_net_addr *a); /* network byte order */
bool msb_net_cidr_contains (const msb_net_cidr *c, const msb_net_addr *a);
/* The group of `a` from its address alone (never HOST: that needs the runtime's addresses). */
int msb_net_group_of_static (const msb_net_addr *a);

/* Does `name` (normalised) equal `domain`, or — for a suffix — end in ".domain"? */
bool msb_net_domain_matches (const char *name, const char *domain, bool suffix);

#endif
