/* Image rows of the state database: lookup, list, touch and the one-transaction record. */
#include "lib/image/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/image/ref.h"

void
msb_image_clear (msb_image *img)
{
  free (img->reference);
  free (img->manifest_digest);
  free (img->config_digest);
  free (img->media_type);
  free (img->architecture);
  free (img->os);
  for (size_t i = 0; i < img->layer_count; i++)
    {
      free (img->diff_ids[i]);
      free (img->blob_digests[i]);
      free (img->layer_media_types[i]);
    }
  free (img->diff_ids);
  free (img->blob_digests);
  free (img->layer_media_types);
  free (img->compressed_sizes);
  free (img->unpacked_sizes);
  msb_image_config_clear (&img->config);
  memset (img, 0, sizeof *img);
}

void
msb_image_list_free (msb_image *imgs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    msb_image_clear (&imgs[i]);
  free (imgs);
}

#define IMAGE_COLUMNS                                                                         \
  "SELECT i.reference, i.created_at, COALESCE(i.last_used_at, 0), m.digest, m.media_type, "  \
  "m.config_digest, m.config_json, m.architecture, m.os, m.size_bytes "                       \
  "FROM images i JOIN manifests m ON m.digest = i.manifest_digest "

static int
load_layers (msb_db *db, msb_image *img, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "SELECT ml.diff_id, ml.blob_digest, ml.media_type, ml.compressed_size, "
                      "COALESCE(l.unpacked_size, 0) FROM manifest_layers ml "
                      "LEFT JOIN layers l ON l.diff_id = ml.diff_id "
                      "WHERE ml.manifest_digest = ? ORDER BY ml.position",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, img->manifest_digest, -1, SQLITE_STATIC);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      if (img->layer_count == cap)
        {
          cap = cap ? cap * 2 : 8;
          img->diff_ids = msb_xrealloc (img->diff_ids, cap * sizeof (char *));
          img->blob_digests = msb_xrealloc (img->blob_digests, cap * sizeof (char *));
          img->layer_media_types = msb_xrealloc (img->layer_media_types, cap * sizeof (char *));
          img->compressed_sizes = msb_xrealloc (img->compressed_sizes, cap * sizeof (uint64_t));
          img->unpacked_sizes = msb_xrealloc (img->unpacked_sizes, cap * sizeof (uint64_t));
        }
      size_t i = img->layer_count++;
      img->diff_ids[i] = msb_db_column_strdup (st, 0);
      img->blob_digests[i] = msb_db_column_strdup (st, 1);
      img->layer_media_types[i] = msb_db_column_strdup (st, 2);
      img->compressed_sizes[i] = (uint64_t) sqlite3_column_int64 (st, 3);
      img->unpacked_sizes[i] = (uint64_t) sqlite3_column_int64 (st, 4);
    }
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "read image layers");
  return 0;
}

/* Fills *img from a row of IMAGE_COLUMNS, then its layers and parsed config. */
static int
image_from_row (msb_db *db, sqlite3_stmt *st, msb_image *img, msb_error **err)
{
  memset (img, 0, sizeof *img);
  img->reference = msb_db_column_strdup (st, 0);
  img->created_at = sqlite3_column_int64 (st, 1);
  img->last_used_at = sqlite3_column_int64 (st, 2);
  img->manifest_digest = msb_db_column_strdup (st, 3);
  img->media_type = msb_db_column_strdup (st, 4);
  img->config_digest = msb_db_column_strdup (st, 5);
  img->architecture = msb_db_column_strdup (st, 7);
  img->os = msb_db_column_strdup (st, 8);
  img->size_bytes = (uint64_t) sqlite3_column_int64 (st, 9);
  const char *cfg = (const char *) sqlite3_column_text (st, 6);
  if (msb_image_config_parse (cfg ? cfg : "", cfg ? strlen (cfg) : 0, &img->config, NULL, NULL,
                              NULL, err)
          < 0
      || load_layers (db, img, err) < 0)
    {
      msb_image_clear (img);
      return msb_error_prefix (err, "read cached image `%s`",
                               (const char *) sqlite3_column_text (st, 0));
    }
  return 0;
}

/* Runs `sql` (the columns image_from_row reads, one text parameter); *found tells whether a
 * row came. */
static int
query_one (msb_db *db, const char *sql, const char *param, msb_image *out, bool *found,
           msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, sql, &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, param, -1, SQLITE_STATIC);
  int rc = sqlite3_step (st);
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    return image_from_row (db, st, out, err);
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "look up image");
  return 0;
}

/* A manifest without a reference; its digest stands in for the reference. */
static int
query_manifest (msb_db *db, const char *digest, msb_image *out, bool *found, msb_error **err)
{
  return query_one (db,
                    "SELECT m.digest, m.created_at, 0, m.digest, m.media_type, m.config_digest, "
                    "m.config_json, m.architecture, m.os, m.size_bytes FROM manifests m "
                    "WHERE m.digest = ?",
                    digest, out, found, err);
}

/* `repo@sha256:x` when only `repo:tag` was stored with manifest x. */
static int
query_pinned (msb_db *db, const msb_image_ref *r, msb_image *out, bool *found, msb_error **err)
{
  _msb_cleanup_free_ char *pattern = msb_xasprintf ("%s/%s", r->registry, r->repository);
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  *found = false;
  if (msb_db_prepare (db, IMAGE_COLUMNS "WHERE i.manifest_digest = ? ORDER BY i.reference", &st,
                      err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, r->digest, -1, SQLITE_STATIC);
  size_t plen = strlen (pattern);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *ref = (const char *) sqlite3_column_text (st, 0);
      if (ref && strncmp (ref, pattern, plen) == 0 && (ref[plen] == ':' || ref[plen] == '@'))
        {
          *found = true;
          return image_from_row (db, st, out, err);
        }
    }
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "look up image");
  return 0;
}

int
msb_image_store_lookup (msb_db *db, const char *reference_or_digest, msb_image *out,
                        msb_error **err)
{
  bool found = false;
  const char *q = reference_or_digest ? reference_or_digest : "";
  if (msb_digest_is_valid (q))
    {
      if (query_one (db, IMAGE_COLUMNS "WHERE i.manifest_digest = ? ORDER BY i.reference LIMIT 1",
                     q, out, &found, err)
          < 0)
        return -1;
      /* A manifest no reference names any more (its tag moved on) stays reachable by digest
       * while it is cached: sandboxes pinned to it must still start. */
      if (!found && query_manifest (db, q, out, &found, err) < 0)
        return -1;
    }
  else
    {
      _msb_cleanup_image_ref_ msb_image_ref r = { 0 };
      if (msb_image_ref_parse (q, &r, err) < 0)
        return -1;
      _msb_cleanup_free_ char *canonical = msb_image_ref_canonical (&r);
      if (query_one (db, IMAGE_COLUMNS "WHERE i.reference = ?", canonical, out, &found, err) < 0)
        return -1;
      if (!found && r.digest && query_pinned (db, &r, out, &found, err) < 0)
        return -1;
      /* A digest names content: a pinned reference whose repository no longer tags that
       * manifest (the tag moved on) still finds it while it is cached, so what is pinned to
       * it (sandboxes, snapshots) still boots. */
      if (!found && r.digest && query_manifest (db, r.digest, out, &found, err) < 0)
        return -1;
    }
  if (!found)
    return msb_fail (err, MSB_ERR_IMAGE_NOT_FOUND, "image `%s` is not in the local store", q);
  return 0;
}

int
msb_image_store_list (msb_db *db, msb_image **out, size_t *n, msb_error **err)
{
  *out = NULL;
  *n = 0;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, IMAGE_COLUMNS "ORDER BY i.reference", &st, err) < 0)
    return -1;
  msb_image *imgs = NULL;
  size_t count = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      if (count == cap)
        {
          cap = cap ? cap * 2 : 8;
          imgs = msb_xrealloc (imgs, cap * sizeof *imgs);
        }
      if (image_from_row (db, st, &imgs[count], err) < 0)
        {
          msb_image_list_free (imgs, count);
          return -1;
        }
      count++;
    }
  if (rc != SQLITE_DONE)
    {
      msb_image_list_free (imgs, count);
      return msb_db_fail (db, err, "list images");
    }
  *out = imgs;
  *n = count;
  return 0;
}

int
msb_image_store_touch (msb_db *db, const char *reference, msb_error **err)
{
  _msb_cleanup_free_ char *canonical = NULL;
  if (msb_image_ref_canonicalize (reference, &canonical, err) < 0)
    return -1;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "UPDATE images SET last_used_at = ? WHERE reference = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, msb_now_ms ());
  sqlite3_bind_text (st, 2, canonical, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "touch image");
  if (sqlite3_changes (db->handle) == 0)
    return msb_fail (err, MSB_ERR_IMAGE_NOT_FOUND, "image `%s` is not in the local store",
                     reference);
  return 0;
}

/* Prepares, binds the given texts / integers in order (NULL text = SQL NULL), steps once. */
static int
exec_row (msb_db *db, const char *sql, const char *what, int ntext, const char *const *texts,
          int nint, const int64_t *ints, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, sql, &st, err) < 0)
    return -1;
  for (int i = 0; i < ntext; i++)
    sqlite3_bind_text (st, i + 1, texts[i], -1, SQLITE_STATIC);
  for (int i = 0; i < nint; i++)
    sqlite3_bind_int64 (st, ntext + i + 1, ints[i]);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, what);
  return 0;
}

static int
record_layers (msb_db *db, const msb_image_record *r, int64_t now, msb_error **err)
{
  for (size_t i = 0; i < r->layer_count; i++)
    {
      const char *lt[] = { r->diff_ids[i] };
      int64_t li[] = { r->unpacked_sizes ? (int64_t) r->unpacked_sizes[i] : 0, now };
      const char *mt[] = { r->manifest_digest, r->diff_ids[i], r->blob_digests[i],
                           r->layer_media_types[i] };
      int64_t mi[] = { (int64_t) i, (int64_t) r->compressed_sizes[i] };
      if (exec_row (db,
                    "INSERT INTO layers (diff_id, unpacked_size, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (diff_id) DO UPDATE SET unpacked_size = excluded.unpacked_size "
                    "WHERE layers.unpacked_size = 0",
                    "record layer", 1, lt, 2, li, err)
              < 0
          || exec_row (db,
                       "INSERT OR IGNORE INTO manifest_layers (manifest_digest, diff_id, "
                       "blob_digest, media_type, position, compressed_size) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       "record manifest layer", 4, mt, 2, mi, err)
                 < 0)
        return -1;
    }
  return 0;
}

static int
record_one (msb_db *db, const msb_image_record *r, int64_t now, msb_error **err)
{
  msb_image_config cfg;
  _msb_cleanup_free_ char *arch = NULL, *os = NULL;
  if (msb_image_config_parse (r->config_json, strlen (r->config_json), &cfg, &arch, &os, NULL,
                              err)
      < 0)
    return -1;
  msb_image_config_clear (&cfg);
  const char *mt[] = { r->manifest_digest, r->media_type, r->manifest_json, r->config_digest,
                       r->config_json, arch, os };
  const char *st[] = { r->manifest_digest };
  if (exec_row (db,
                "INSERT INTO manifests (digest, media_type, manifest_json, config_digest, "
                "config_json, architecture, os, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (digest) DO NOTHING",
                "record manifest", 7, mt, 1, &now, err)
          < 0
      || record_layers (db, r, now, err) < 0
      || exec_row (db,
                   "UPDATE manifests SET size_bytes = (SELECT COALESCE(SUM(l.unpacked_size), 0) "
                   "FROM manifest_layers ml JOIN layers l ON l.diff_id = ml.diff_id "
                   "WHERE ml.manifest_digest = ?1) WHERE digest = ?1",
                   "record image size", 1, st, 0, NULL, err)
             < 0)
    return -1;
  for (size_t i = 0; i < r->reference_count; i++)
    {
      const char *it[] = { r->references[i], r->manifest_digest };
      if (exec_row (db,
                    "INSERT INTO images (reference, manifest_digest, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (reference) DO UPDATE SET manifest_digest = "
                    "excluded.manifest_digest, created_at = excluded.created_at "
                    "WHERE images.manifest_digest != excluded.manifest_digest",
                    "record image reference", 2, it, 1, &now, err)
          < 0)
        return -1;
    }
  return 0;
}

int
msb_image_store_record (msb_db *db, const msb_image_record *recs, size_t n, msb_error **err)
{
  int64_t now = msb_now_ms ();
  if (msb_db_begin (db, err) < 0)
    return msb_error_prefix (err, "record image");
  for (size_t i = 0; i < n; i++)
    if (record_one (db, &recs[i], now, err) < 0)
      {
        msb_db_rollback (db);
        return msb_error_prefix (err, "record image %s", recs[i].manifest_digest);
      }
  if (msb_db_commit (db, err) < 0)
    {
      msb_db_rollback (db);
      return msb_error_prefix (err, "record image");
    }
  return 0;
}
