/* The compiled network policy of one sandbox and its evaluation: first matching rule per
 * direction wins, else that direction's default. Compiled once from the config (deny_domains
 * prepended, the public-only preset when the config has no policy) and never changed while
 * the sandbox runs: nothing the guest sends reaches it. Pure evaluation, no I/O. */
#ifndef MSB_RUNTIME_NET_POLICY_H
#define MSB_RUNTIME_NET_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/net_spec.h"
#include "runtime/net/pins.h"

typedef struct msb_net_policy
{
  uint8_t default_egress;
  uint8_t default_ingress;
  msb_net_rule *rules;
  size_t n_rules;
  bool has_domain_rules;
  /* The host group: the gateway first, then the host's own addresses (all of them). */
  msb_net_addr *host;
  size_t n_host;
} msb_net_policy;

/* One connection (or datagram) to judge: `peer` is the remote end (the destination for
 * egress, the source for ingress); `proto` one MSB_NET_PROTO_*; `port` the remote port for
 * egress, the sandbox's port for ingress (0 for ICMP). */
typedef struct msb_net_flow
{
  uint8_t direction;
  uint8_t proto;
  uint16_t port;
  msb_net_addr peer;
} msb_net_flow;

int msb_net_policy_compile (const msb_config_net *cfg, msb_net_policy *out, msb_error **err);
void msb_net_policy_clear (msb_net_policy *p);
/* Adds an address to the host group. */
void msb_net_policy_add_host (msb_net_policy *p, const msb_net_addr *a);

/* The group of `a` (host addresses are HOST unless they are loopback). */
int msb_net_policy_group (const msb_net_policy *p, const msb_net_addr *a);

/* The verdict for a flow; domain rules consult `pins` at `now_ns`. */
msb_net_action msb_net_policy_decide (const msb_net_policy *p, const msb_net_flow *f,
                                      const msb_net_pins *pins, uint64_t now_ns);

/* Could the sandbox reach `a` at all — by some protocol or port — when it knows it as one
 * of `names`? (DNS answers: rebind protection and denied names.) */
bool msb_net_policy_may_allow (const msb_net_policy *p, const msb_net_addr *a,
                               const char *const *names, size_t n_names);

typedef enum msb_net_name_verdict
{
  MSB_NET_NAME_UNDECIDED = 0,
  MSB_NET_NAME_ALLOWED,
  MSB_NET_NAME_DENIED,
} msb_net_name_verdict;

/* What the egress rules say about a name itself: the first domain rule naming it decides
 * (a deny only when it covers every protocol and port). */
msb_net_name_verdict msb_net_policy_name (const msb_net_policy *p, const char *name);

#endif
