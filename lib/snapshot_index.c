/* Rows of the snapshot index (see snapshot_index.h). Availability is not stored: it is
 * whether the artifact's descriptor is there when the row is read. */
#include "lib/snapshot_index.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/snapshot_descriptor.h"

#define COLUMNS                                                                                    \
  "SELECT path, digest, name, parent_digest, scope, image_ref, manifest_digest, state_kind,"       \
  " format, fstype, size_bytes, source_sandbox, labels_json, created_at FROM snapshots "

void
msb_snapshot_info_clear (struct msb_snapshot_info *i)
{
  free (i->path);
  free (i->digest);
  free (i->name);
  free (i->parent_digest);
  free (i->scope);
  free (i->image_ref);
  free (i->manifest_digest);
  free (i->state_kind);
  free (i->format);
  free (i->fstype);
  free (i->source_sandbox);
  free (i->labels_json);
  memset (i, 0, sizeof *i);
}

static void
read_row (sqlite3_stmt *st, struct msb_snapshot_info *i)
{
  memset (i, 0, sizeof *i);
  i->path = msb_db_column_strdup (st, 0);
  i->digest = msb_db_column_strdup (st, 1);
  i->name = msb_db_column_strdup (st, 2);
  i->parent_digest = msb_db_column_strdup (st, 3);
  i->scope = msb_db_column_strdup (st, 4);
  i->image_ref = msb_db_column_strdup (st, 5);
  i->manifest_digest = msb_db_column_strdup (st, 6);
  i->state_kind = msb_db_column_strdup (st, 7);
  i->format = msb_db_column_strdup (st, 8);
  i->fstype = msb_db_column_strdup (st, 9);
  i->size_bytes = (uint64_t) sqlite3_column_int64 (st, 10);
  i->source_sandbox = msb_db_column_strdup (st, 11);
  i->labels_json = msb_db_column_strdup (st, 12);
  i->created_at = sqlite3_column_int64 (st, 13);
  _msb_cleanup_free_ char *desc = msb_xasprintf ("%s/" MSB_SNAPSHOT_DESCRIPTOR, i->path);
  i->available = access (desc, F_OK) == 0;
}

static void
bind_str (sqlite3_stmt *st, int col, const char *s)
{
  if (s)
    sqlite3_bind_text (st, col, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, col);
}

int
msb_snapshot_index_put (msb_db *db, const char *path, const char *name, const char *digest,
                        const json_t *desc, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "INSERT OR REPLACE INTO snapshots (path, digest, name, parent_digest, scope,"
                      " image_ref, manifest_digest, state_kind, format, fstype, size_bytes,"
                      " source_sandbox, labels_json, created_at, indexed_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                      &st, err)
      < 0)
    return -1;
  json_t *labels = json_object_get (desc, "labels");
  _msb_cleanup_free_ char *labels_text = json_dumps (
      json_is_object (labels) ? labels : json_object (), JSON_COMPACT | JSON_SORT_KEYS);
  bind_str (st, 1, path);
  bind_str (st, 2, digest);
  bind_str (st, 3, name);
  bind_str (st, 4, msb_snapshot_desc_str (desc, "parent"));
  bind_str (st, 5, msb_snapshot_desc_str (desc, "scope"));
  bind_str (st, 6, msb_snapshot_desc_str (desc, "image.ref"));
  bind_str (st, 7, msb_snapshot_desc_str (desc, "image.manifest_digest"));
  bind_str (st, 8, msb_snapshot_desc_str (desc, "state.kind"));
  bind_str (st, 9, msb_snapshot_desc_str (desc, "state.format"));
  bind_str (st, 10, msb_snapshot_desc_str (desc, "state.fstype"));
  sqlite3_bind_int64 (st, 11, (sqlite3_int64) msb_snapshot_desc_upper_size (desc));
  bind_str (st, 12, msb_snapshot_desc_str (desc, "source_sandbox"));
  bind_str (st, 13, labels_text ? labels_text : "{}");
  sqlite3_bind_int64 (st, 14, msb_snapshot_desc_created_ms (desc));
  sqlite3_bind_int64 (st, 15, msb_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "index snapshot");
  return 0;
}

int
msb_snapshot_index_delete (msb_db *db, const char *path, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "DELETE FROM snapshots WHERE path = ?1", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, path, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "remove snapshot from the index");
  return 0;
}

int
msb_snapshot_index_find (msb_db *db, const char *key, const char *prefer_path,
                         struct msb_snapshot_info *out, bool *found, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  bool by_digest = strncmp (key, "sha256:", 7) == 0;
  const char *sql = by_digest ? COLUMNS "WHERE digest = ?1 ORDER BY created_at DESC LIMIT 1"
                              : COLUMNS "WHERE name = ?1 ORDER BY (path = ?2) DESC,"
                                        " created_at DESC LIMIT 1";
  if (msb_db_prepare (db, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
  if (!by_digest)
    bind_str (st, 2, prefer_path ? prefer_path : "");
  int rc = sqlite3_step (st);
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    read_row (st, out);
  else if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "look up snapshot");
  return 0;
}

int
msb_snapshot_index_list (msb_db *db, struct msb_snapshot_info **out, size_t *n, msb_error **err)
{
  *out = NULL;
  *n = 0;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, COLUMNS "ORDER BY created_at DESC, name", &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      *out = msb_xrealloc (*out, (*n + 1) * sizeof **out);
      read_row (st, &(*out)[(*n)++]);
    }
  if (rc != SQLITE_DONE)
    {
      for (size_t i = 0; i < *n; i++)
        msb_snapshot_info_clear (&(*out)[i]);
      free (*out);
      *out = NULL;
      *n = 0;
      return msb_db_fail (db, err, "list snapshots");
    }
  return 0;
}
