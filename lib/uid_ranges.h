/* Host-wide claims on sandbox uid ranges (see uid_ranges.c). */
#ifndef MSB_LIB_UID_RANGES_H
#define MSB_LIB_UID_RANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "lib/home.h"

/* Slots a host has: 65,536 uids each from 2^30 up to 2^32 (runtime.h). */
#define MSB_UID_SLOTS 49152

/* The claims directory, locked while open; dir_fd < 0 when claims are off (not root, or
 * the directory cannot be made): slots are then per state root only. */
typedef struct msb_uid_ranges
{
  int dir_fd;
} msb_uid_ranges;

void msb_uid_ranges_open (msb_uid_ranges *r);
void msb_uid_ranges_close (msb_uid_ranges *r);

/* Whether `slot` may go to sandbox `name` of `home`: unclaimed, claimed by that sandbox, or
 * claimed by a sandbox whose state root or directory is gone (a stale claim). */
bool msb_uid_ranges_available (msb_uid_ranges *r, int slot, const msb_home *home, const char *name);
/* Records the claim (over a stale one). */
int msb_uid_ranges_claim (msb_uid_ranges *r, int slot, const msb_home *home, const char *name,
                          msb_error **err);
/* Drops the claim if it is this sandbox's (opens and locks the directory itself). */
void msb_uid_ranges_release (int slot, const msb_home *home, const char *name);
/* Claims `slot` for a sandbox made before claims existed, unless another sandbox holds it;
 * false (with the holder in `holder`) when one does. */
bool msb_uid_ranges_ensure (int slot, const msb_home *home, const char *name, char *holder,
                            size_t holder_len);

#endif
