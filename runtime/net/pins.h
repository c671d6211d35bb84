/* The DNS pin set of one sandbox: which names this sandbox itself resolved to which
 * addresses, and until when. Domain rules match a connection only through it, so a sandbox
 * can reach an address by name only after asking for that name. Bounded: at most `max`
 * pins; when full, expired pins go first, then the one closest to expiring. Owned by the
 * engine thread; not thread-safe. */
#ifndef MSB_RUNTIME_NET_PINS_H
#define MSB_RUNTIME_NET_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net_spec.h"

typedef struct msb_net_pins msb_net_pins;

msb_net_pins *msb_net_pins_new (size_t max);
void msb_net_pins_free (msb_net_pins *p);
/* Pins `name` (normalised) to `addr` until `expires_ns` (CLOCK_MONOTONIC); a pin already
 * there is extended. */
void msb_net_pins_add (msb_net_pins *p, const msb_net_addr *addr, const char *name,
                       uint64_t expires_ns);
/* Is some unexpired name pinned to `addr` equal to `domain` (or under it, for a suffix)? */
bool msb_net_pins_match (const msb_net_pins *p, const msb_net_addr *addr, const char *domain,
                         bool suffix, uint64_t now_ns);
size_t msb_net_pins_count (const msb_net_pins *p);

#endif
