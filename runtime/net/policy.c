/* Policy compilation and evaluation (see policy.h). */
#include "runtime/net/policy.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void
append (msb_net_policy *p, const msb_net_rule *r)
{
  p->rules = msb_xrealloc (p->rules, (p->n_rules + 1) * sizeof *p->rules);
  msb_net_rule_copy (&p->rules[p->n_rules++], r);
  if (r->dest_kind == MSB_NET_DEST_DOMAIN || r->dest_kind == MSB_NET_DEST_SUFFIX)
    p->has_domain_rules = true;
}

static void
append_deny_names (msb_net_policy *p, char **names, bool suffix)
{
  for (; names && *names; names++)
    {
      msb_net_rule r = { .action = MSB_NET_DENY, .direction = MSB_NET_EGRESS,
                         .dest_kind = suffix ? MSB_NET_DEST_SUFFIX : MSB_NET_DEST_DOMAIN,
                         .domain = *names };
      append (p, &r);
    }
}

int
msb_net_policy_compile (const msb_config_net *cfg, msb_net_policy *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  append_deny_names (out, cfg->deny_domains, false);
  append_deny_names (out, cfg->deny_suffixes, true);
  if (cfg->has_policy)
    {
      out->default_egress = cfg->default_egress;
      out->default_ingress = cfg->default_ingress;
      for (size_t i = 0; i < cfg->n_rules; i++)
        append (out, &cfg->rules[i]);
    }
  else
    {
      msb_net_rule *rules = NULL;
      size_t n = 0;
      msb_net_profile_rules (1u << MSB_NET_GROUP_PUBLIC, &rules, &n);
      for (size_t i = 0; i < n; i++)
        {
          append (out, &rules[i]);
          msb_net_rule_clear (&rules[i]);
        }
      free (rules);
      out->default_egress = MSB_NET_DENY;
      out->default_ingress = MSB_NET_ALLOW;
    }
  return 0;
}

void
msb_net_policy_clear (msb_net_policy *p)
{
  for (size_t i = 0; i < p->n_rules; i++)
    msb_net_rule_clear (&p->rules[i]);
  free (p->rules);
  free (p->host);
  memset (p, 0, sizeof *p);
}

void
msb_net_policy_add_host (msb_net_policy *p, const msb_net_addr *a)
{
  for (size_t i = 0; i < p->n_host; i++)
    if (memcmp (&p->host[i], a, sizeof *a) == 0)
      return;
  p->host = msb_xrealloc (p->host, (p->n_host + 1) * sizeof *p->host);
  p->host[p->n_host++] = *a;
}

int
msb_net_policy_group (const msb_net_policy *p, const msb_net_addr *a)
{
  int g = msb_net_group_of_static (a);
  if (g == MSB_NET_GROUP_LOOPBACK || g == MSB_NET_GROUP_METADATA || g == MSB_NET_GROUP_MULTICAST)
    return g;
  for (size_t i = 0; i < p->n_host; i++)
    if (memcmp (&p->host[i], a, sizeof *a) == 0)
      return MSB_NET_GROUP_HOST;
  return g;
}

static bool
port_matches (const msb_net_rule *r, const msb_net_flow *f)
{
  if (r->n_ports == 0)
    return true;
  if (f->proto != MSB_NET_PROTO_TCP && f->proto != MSB_NET_PROTO_UDP)
    return false;
  for (size_t i = 0; i < r->n_ports; i++)
    if (f->port >= r->ports[i].start && f->port <= r->ports[i].end)
      return true;
  return false;
}

static bool
dest_matches (const msb_net_policy *p, const msb_net_rule *r, const msb_net_addr *a, int group,
              const msb_net_pins *pins, uint64_t now)
{
  switch (r->dest_kind)
    {
    case MSB_NET_DEST_ANY:
      return true;
    case MSB_NET_DEST_CIDR:
      return msb_net_cidr_contains (&r->cidr, a);
    case MSB_NET_DEST_GROUP:
      return r->group == group;
    case MSB_NET_DEST_DOMAIN:
    case MSB_NET_DEST_SUFFIX:
      return pins && msb_net_pins_match (pins, a, r->domain, r->dest_kind == MSB_NET_DEST_SUFFIX, now);
    default:
      return false;
    }
}

msb_net_action
msb_net_policy_decide (const msb_net_policy *p, const msb_net_flow *f, const msb_net_pins *pins,
                       uint64_t now)
{
  int group = msb_net_policy_group (p, &f->peer);
  for (size_t i = 0; i < p->n_rules; i++)
    {
      const msb_net_rule *r = &p->rules[i];
      if (!(r->direction & f->direction))
        continue;
      if (r->protocols && !(r->protocols & f->proto))
        continue;
      if (!port_matches (r, f) || !dest_matches (p, r, &f->peer, group, pins, now))
        continue;
      return (msb_net_action) r->action;
    }
  return (msb_net_action) (f->direction == MSB_NET_INGRESS ? p->default_ingress : p->default_egress);
}

static bool
names_match (const msb_net_rule *r, const char *const *names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (names[i] && msb_net_domain_matches (names[i], r->domain, r->dest_kind == MSB_NET_DEST_SUFFIX))
      return true;
  return false;
}

bool
msb_net_policy_may_allow (const msb_net_policy *p, const msb_net_addr *a, const char *const *names,
                          size_t n_names)
{
  int group = msb_net_policy_group (p, a);
  for (size_t i = 0; i < p->n_rules; i++)
    {
      const msb_net_rule *r = &p->rules[i];
      if (!(r->direction & MSB_NET_EGRESS))
        continue;
      bool match;
      if (r->dest_kind == MSB_NET_DEST_DOMAIN || r->dest_kind == MSB_NET_DEST_SUFFIX)
        match = names_match (r, names, n_names);
      else
        match = dest_matches (p, r, a, group, NULL, 0);
      if (!match)
        continue;
      if (r->action == MSB_NET_ALLOW)
        return true;
      /* A deny limited to some protocols or ports leaves the others to later rules. */
      if (r->protocols == 0 && r->n_ports == 0)
        return false;
    }
  return p->default_egress == MSB_NET_ALLOW;
}

msb_net_name_verdict
msb_net_policy_name (const msb_net_policy *p, const char *name)
{
  for (size_t i = 0; i < p->n_rules; i++)
    {
      const msb_net_rule *r = &p->rules[i];
      if (!(r->direction & MSB_NET_EGRESS)
          || (r->dest_kind != MSB_NET_DEST_DOMAIN && r->dest_kind != MSB_NET_DEST_SUFFIX))
        continue;
      if (!msb_net_domain_matches (name, r->domain, r->dest_kind == MSB_NET_DEST_SUFFIX))
        continue;
      if (r->action == MSB_NET_ALLOW)
        return MSB_NET_NAME_ALLOWED;
      if (r->protocols == 0 && r->n_ports == 0)
        return MSB_NET_NAME_DENIED;
    }
  return MSB_NET_NAME_UNDECIDED;
}
