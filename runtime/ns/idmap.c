/* User namespaces that only describe an id mapping, for idmapped mounts of volumes: the
 * sandbox's own namespace maps 0..65535 to its uid range; a volume needs a different picture
 * (a named volume's range, or a bind directory's owner for the sandbox's root). The namespace
 * itself comes from userns.c; this file builds and checks the maps.
 *
 * Must never: map anything to or from host uid or gid 0 — the callers build the maps, this
 * file refuses such a map outright, so an idmapped mount can never produce a root-owned
 * file. */
#include <stdio.h>

#include "common/util.h"
#include "runtime/ns/ns.h"
#include "runtime/ns/volumes.h"

/* "inside outside count" lines. In a mount's id mapping "inside" is the id stored on disk and
 * "outside" the id processes see, so a range whose inside starts at 0 would let a sandbox
 * write files owned by the host's root: refused, as is making host-root files visible. */
static int
map_text (const msb_ns_idmap_range *r, size_t n, char *buf, size_t len, msb_error **err)
{
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    {
      if (r[i].inside == 0 || r[i].outside == 0 || r[i].count == 0)
        return msb_fail (err, MSB_ERR_GENERIC, "refusing an id mapping onto the host's root");
      int w = snprintf (buf + off, len - off, "%u %u %u\n", r[i].inside, r[i].outside, r[i].count);
      if (w < 0 || (size_t) w >= len - off)
        return msb_fail (err, MSB_ERR_GENERIC, "id mapping too long");
      off += (size_t) w;
    }
  return 0;
}

int
msb_ns_idmap_userns (const msb_ns_idmap *map, int *out_fd, msb_error **err)
{
  char uids[256], gids[256];
  if (map_text (map->uid, map->n_uid, uids, sizeof uids, err) < 0
      || map_text (map->gid, map->n_gid, gids, sizeof gids, err) < 0)
    return -1;
  if (msb_ns_userns_from_maps (uids, gids, out_fd, err) < 0)
    return msb_error_prefix (err, "create the id mapping of a volume");
  return 0;
}
