/* msb — a sandbox's network (API.md §1.15): egress policy, DNS, published ports.
 *
 * Every sandbox gets a user-space network owned by its runtime process: an `eth0` with a /30
 * from 172.16.0.0/12 (gateway .1, sandbox .2, MTU 1500) whose frames pass the msb policy
 * filter and DNS interceptor before libslirp re-originates them from host sockets. Nothing on
 * the host changes (firewall, routes, sysctls). Without any of the calls below a sandbox gets
 * the default "public-only" policy: DNS through the gateway and the public internet are
 * allowed; private ranges (RFC 1918, CGNAT 100.64/10, ULA fc00::/7), loopback, link-local,
 * the cloud metadata address, multicast and the host itself are not.
 *
 * Policy model (NetworkPolicy): an ordered list of rules plus a default action per direction;
 * the first rule that matches a connection decides, else the default. A rule has
 *   action       "allow" | "deny"
 *   direction    "egress" (default) | "ingress" | "any"
 *   destination  "any", an IP ("10.0.0.1", "[fd00::1]"), a CIDR ("10.0.0.0/8"), a domain
 *                ("pypi.org"), a domain suffix ("*.example.com" or "suffix=example.com": the
 *                name itself and every name below it) or a group: "public", "private",
 *                "loopback", "link-local", "metadata" (alias "meta"), "multicast", "host"
 *   protocols    any of "tcp", "udp", "icmpv4", "icmpv6" ("icmp" = both); none = any
 *   ports        "80", "8000-8100"; none = any
 * A domain rule matches only addresses this sandbox itself resolved to that name (and not
 * yet expired), so a name cannot be borrowed through an address some other client resolved.
 * Groups: every address is in exactly one — metadata (169.254.169.254), host (the gateway and
 * the host's own addresses), loopback (127/8, ::1, 0.0.0.0/8), link-local (169.254/16,
 * fe80::/10), private, multicast (224/4, ff00::/8, broadcast) — and public is the rest.
 *
 * Validation errors are MSB_ERR_INVALID_ARGUMENT (Python: ValueError) and name the option,
 * e.g. "network rule `allow@10.0.0.0/33`: `10.0.0.0/33` is not an IP, CIDR, domain or group".
 * A published port that is already taken fails the create with MSB_ERR_INVALID_CONFIG naming
 * the port. Like every msb_config call these are not thread-safe on one config.
 */
#ifndef MSB_NETWORK_H
#define MSB_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include <msb/config.h>
#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

/* Replaces the whole network section with `json`, the `network` object of the stored config
 * (API.md §1.20) — the form a binding builds from Network(...):
 *   {"enabled": true,
 *    "ports": [{"host_port": 8080, "guest_port": 80, "protocol": "tcp", "host_bind": "127.0.0.1"}],
 *    "policy": {"default_egress": "deny", "default_ingress": "allow",
 *               "rules": [{"action": "allow", "direction": "egress",
 *                          "destination": "any" | {"cidr": "10.0.0.0/8"} | {"domain": "x.org"}
 *                                         | {"domain_suffix": "x.org"} | {"group": "host"},
 *                          "protocols": ["tcp"], "ports": [{"start": 443, "end": 443}]}]},
 *    "deny_domains": ["evil.example"], "deny_domain_suffixes": ["ads.example"],
 *    "dns": {"rebind_protection": true, "nameservers": ["192.0.2.53", "192.0.2.54:5353"],
 *            "query_timeout_ms": 5000},
 *    "max_connections": 256, "ipv4_pool": "172.16.0.0/12"}
 * Every key is optional: no "policy" = public-only, no "dns" = the host's resolvers
 * (/etc/resolv.conf), "enabled": false = no network at all (only loopback). Unknown keys
 * ("tls", "rate_limiter", …) are ignored. `ip` destinations are written {"cidr": "x/32"}. */
int msb_config_set_network_json (msb_config *cfg, const char *json, msb_error **err);
/* The network section in that form (the caller frees it with free()). */
char *msb_config_get_network_json (const msb_config *cfg);

/* Networking on (default) or off (`--no-net`: the sandbox has loopback only; published ports
 * are then an error at create). */
int msb_config_set_network_enabled (msb_config *cfg, bool enabled, msb_error **err);

/* Replaces the policy's preset part (the rules added with msb_config_add_network_rule stay,
 * ahead of it):
 *   "public-only"  the default (Network.public_only())
 *   "none"         deny everything in both directions (Network.none())
 *   "allow-all"    allow everything, host and LAN included (Network.allow_all(); "all")
 *   "public,private,host"  NetworkPolicy.from_profiles(...): DNS to the gateway plus one allow
 *                  rule per listed group, everything else denied */
int msb_config_set_network_policy (msb_config *cfg, const char *preset, msb_error **err);

/* Default action ("allow" | "deny") of a direction ("egress" | "ingress") when no rule
 * matches (NetworkPolicy.default_egress / default_ingress). */
int msb_config_set_network_default (msb_config *cfg, const char *direction, const char *action,
                                    msb_error **err);

/* Adds one rule written in the CLI grammar (API.md §2 `--net-rule`):
 *   <allow|deny>[:egress|ingress|any]@<target>[:<tcp|udp|icmpv4|icmpv6|any>[:<port|lo-hi|any>]]
 * Target: a destination as above, or "dns" (UDP and TCP port 53 to the host = Rule.allow_dns()).
 * Rules added here are evaluated in the order added, before the preset's rules, so
 * "deny@203.0.113.7" narrows the default public-only policy. */
int msb_config_add_network_rule (msb_config *cfg, const char *rule, msb_error **err);

/* The same rule from its parts (Rule(action, direction, destination, protocol, port)):
 * `direction` NULL = egress; `destination` NULL = any; `protocol` NULL = any, else one name
 * or a comma list; `ports` NULL = any, else "N", "lo-hi" or a comma list of those. */
int msb_config_add_network_rule_parts (msb_config *cfg, const char *action, const char *direction,
                                       const char *destination, const char *protocol,
                                       const char *ports, msb_error **err);

/* Prepends a deny rule for a name (Network.deny_domains) or for a name and everything under
 * it (deny_domain_suffixes). Denied names resolve to NXDOMAIN. */
int msb_config_add_network_deny_domain (msb_config *cfg, const char *name, bool suffix,
                                        msb_error **err);

/* Publishes guest port `guest_port` on host `bind`:`host_port` (PortBinding). `bind` NULL =
 * "127.0.0.1"; `protocol` NULL = "tcp", else "tcp" | "udp". */
int msb_config_add_network_port (msb_config *cfg, const char *bind, unsigned host_port,
                                 unsigned guest_port, const char *protocol, msb_error **err);
/* The same in the CLI form `[BIND:]HOST:GUEST[/udp]` (`-p`), BIND an IPv4 or [IPv6] address. */
int msb_config_add_network_port_string (msb_config *cfg, const char *spec, msb_error **err);

/* DnsConfig: rebind protection (default on: answers naming private, loopback, link-local or
 * metadata addresses become NXDOMAIN unless a rule allows the address), the upstream
 * resolvers ("IP" or "IP:PORT", "[IPv6]:PORT"; NULL or empty = the host's /etc/resolv.conf)
 * and the per-query timeout (0 = 5000 ms). */
int msb_config_set_network_dns (msb_config *cfg, bool rebind_protection,
                                const char *const *nameservers, unsigned query_timeout_ms,
                                msb_error **err);

/* Concurrent connections the sandbox may hold open through the network (1..4096, default
 * 256); new TCP connections beyond it are refused. */
int msb_config_set_network_max_connections (msb_config *cfg, unsigned max, msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
