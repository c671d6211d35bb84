/* The snapshot index (table `snapshots`, migration 3): one row per known artifact directory,
 * keyed by its absolute path, with the descriptor fields lookups and listings need. The
 * artifacts are the truth; a row is a cache of its descriptor (msb_snapshot_reindex rebuilds
 * them). The caller holds the context's database lock. */
#ifndef MSB_LIB_SNAPSHOT_INDEX_H
#define MSB_LIB_SNAPSHOT_INDEX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/db.h"

struct msb_snapshot_info
{
  char *path;
  char *digest;
  char *name;
  char *parent_digest;
  char *scope;
  char *image_ref;
  char *manifest_digest;
  char *state_kind;
  char *format;
  char *fstype;
  char *source_sandbox;
  char *labels_json;
  uint64_t size_bytes;
  int64_t created_at;
  bool available;
};

/* Inserts or replaces the row of the artifact at `path`. */
int msb_snapshot_index_put (msb_db *db, const char *path, const char *name, const char *digest,
                            const json_t *desc, msb_error **err);
/* Deletes the row of `path` (none is fine). */
int msb_snapshot_index_delete (msb_db *db, const char *path, msb_error **err);
/* By digest ("sha256:…") or name; `prefer_path` (may be NULL) wins among rows of one name,
 * else the newest. *found false when there is none. */
int msb_snapshot_index_find (msb_db *db, const char *name_or_digest, const char *prefer_path,
                             struct msb_snapshot_info *out, bool *found, msb_error **err);
/* Every row, newest first. */
int msb_snapshot_index_list (msb_db *db, struct msb_snapshot_info **out, size_t *n,
                             msb_error **err);

void msb_snapshot_info_clear (struct msb_snapshot_info *info);

#endif
