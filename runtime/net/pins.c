/* The pin set (see pins.h): a chained hash table keyed by address; each node is one
 * (address, name, expiry) pin. */
#include "runtime/net/pins.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define BUCKETS 1024u

typedef struct pin
{
  struct pin *next;
  msb_net_addr addr;
  uint64_t expires_ns;
  char *name;
} pin;

struct msb_net_pins
{
  pin *buckets[BUCKETS];
  size_t count;
  size_t max;
};

static unsigned
bucket_of (const msb_net_addr *a)
{
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++)
    h = (h ^ a->b[i]) * 16777619u;
  return h % BUCKETS;
}

msb_net_pins *
msb_net_pins_new (size_t max)
{
  msb_net_pins *p = msb_xcalloc (1, sizeof *p);
  p->max = max ? max : 1;
  return p;
}

static void
pin_free (pin *n)
{
  free (n->name);
  free (n);
}

void
msb_net_pins_free (msb_net_pins *p)
{
  if (p == NULL)
    return;
  for (unsigned b = 0; b < BUCKETS; b++)
    for (pin *n = p->buckets[b], *next; n; n = next)
      {
        next = n->next;
        pin_free (n);
      }
  free (p);
}

/* Drops every expired pin; when none was, the pin closest to expiring. */
static void
make_room (msb_net_pins *p, uint64_t now)
{
  size_t before = p->count;
  pin **soonest = NULL;
  for (unsigned b = 0; b < BUCKETS; b++)
    for (pin **pp = &p->buckets[b]; *pp;)
      {
        if ((*pp)->expires_ns <= now)
          {
            pin *dead = *pp;
            *pp = dead->next;
            pin_free (dead);
            p->count--;
            continue;
          }
        if (soonest == NULL || (*pp)->expires_ns < (*soonest)->expires_ns)
          soonest = pp;
        pp = &(*pp)->next;
      }
  if (p->count == before && soonest)
    {
      pin *dead = *soonest;
      *soonest = dead->next;
      pin_free (dead);
      p->count--;
    }
}

void
msb_net_pins_add (msb_net_pins *p, const msb_net_addr *addr, const char *name, uint64_t expires_ns)
{
  unsigned b = bucket_of (addr);
  for (pin *n = p->buckets[b]; n; n = n->next)
    if (memcmp (&n->addr, addr, sizeof *addr) == 0 && strcmp (n->name, name) == 0)
      {
        if (expires_ns > n->expires_ns)
          n->expires_ns = expires_ns;
        return;
      }
  if (p->count >= p->max)
    make_room (p, msb_now_mono_ns ());
  pin *n = msb_xcalloc (1, sizeof *n);
  n->addr = *addr;
  n->name = msb_xstrdup (name);
  n->expires_ns = expires_ns;
  n->next = p->buckets[b];
  p->buckets[b] = n;
  p->count++;
}

bool
msb_net_pins_match (const msb_net_pins *p, const msb_net_addr *addr, const char *domain,
                    bool suffix, uint64_t now)
{
  for (const pin *n = p->buckets[bucket_of (addr)]; n; n = n->next)
    if (n->expires_ns > now && memcmp (&n->addr, addr, sizeof *addr) == 0
        && msb_net_domain_matches (n->name, domain, suffix))
      return true;
  return false;
}

size_t
msb_net_pins_count (const msb_net_pins *p)
{
  return p->count;
}
