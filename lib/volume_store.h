/* Named volumes in the state root: their rows in the `volumes` table and their storage under
 * volumes/<name>/ (contents of a directory volume, or disk.raw of a disk volume). Shared by
 * the public volume API (volume.c), sandbox create (named mounts with create modes) and the
 * runtime (which mounts them).
 *
 * Ownership on the host: a volume's root and everything a sandbox's root writes into it
 * belong to MSB_VOLUME_UID_BASE; sandbox uid N is MSB_VOLUME_UID_BASE + N. Sandboxes see
 * these through an idmapped mount, so every sandbox sees the same owners, and no volume file
 * is ever owned by a host uid outside this unprivileged range. */
#ifndef MSB_LIB_VOLUME_STORE_H
#define MSB_LIB_VOLUME_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <msb/volume.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"

/* 65536 host ids just below the first sandbox slot (runtime.h MSB_UID_BASE_DEFAULT). */
#define MSB_VOLUME_UID_BASE 0x3FFF0000u

typedef struct msb_volume_row
{
  char *name;
  msb_volume_kind kind;
  uint64_t quota_mib; /* directory volumes, 0 = none */
  uint64_t size_mib;  /* disk volumes */
  char *labels_json;
  int64_t created_at;
} msb_volume_row;

void msb_volume_row_clear (msb_volume_row *row);

/* MSB_ERR_VOLUME_NOT_FOUND when absent. */
int msb_volume_row_get (msb_db *db, const char *name, msb_volume_row *out, msb_error **err);
int msb_volume_rows_list (msb_db *db, msb_volume_row **out, size_t *n, msb_error **err);
/* Fails with MSB_ERR_GENERIC when the name is taken. */
int msb_volume_row_insert (msb_db *db, const msb_volume_row *row, msb_error **err);
int msb_volume_row_delete (msb_db *db, const char *name, msb_error **err);

/* "volumes/<name>". */
char *msb_volume_dir_rel (const char *name);

/* Creates the storage of a volume whose row exists (debris of an earlier one is removed). */
int msb_volume_storage_create (const msb_home *home, const msb_volume_row *row, msb_error **err);
int msb_volume_storage_remove (const msb_home *home, const char *name, msb_error **err);
/* Allocated bytes of the storage on the host. */
uint64_t msb_volume_used_bytes (const msb_home *home, const msb_volume_row *row);

/* Creates a volume (row + storage). `labels_json` may be NULL. */
int msb_volume_create_in (msb_db *db, const msb_home *home, const char *name, msb_volume_kind kind,
                          uint64_t size_mib, uint64_t quota_mib, const char *labels_json,
                          msb_error **err);

#endif
