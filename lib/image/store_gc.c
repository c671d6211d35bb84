/* image rm / image prune: rows in one transaction, then the directories. */
#include "lib/image/store_gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/image/store.h"

/* ---- what pins a manifest ---- */

/* Manifest digests named by $MSB_HOME/snapshots/<name>/snapshot.json (image.manifest_digest).
 * An unreadable descriptor pins nothing: snapshots are optional here. */
static char **
snapshot_pins (const msb_home *home)
{
  char **pins = msb_xcalloc (1, sizeof (char *));
  size_t n = 0;
  int fd = openat (home->root_fd, "snapshots", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return pins;
  _msb_cleanup_dir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return pins;
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _msb_cleanup_free_ char *rel = msb_xasprintf ("%s/snapshot.json", de->d_name);
      _msb_cleanup_free_ char *data = NULL;
      size_t len = 0;
      if (msb_read_file_at (dirfd (d), rel, 1u << 20, &data, &len, NULL) < 0)
        continue;
      json_t *root = json_loadb (data, len, 0, NULL);
      const char *dg
          = json_string_value (json_object_get (json_object_get (root, "image"), "manifest_digest"));
      if (dg && msb_digest_is_valid (dg))
        {
          pins = msb_xrealloc (pins, (n + 2) * sizeof (char *));
          pins[n++] = msb_xstrdup (dg);
          pins[n] = NULL;
        }
      json_decref (root);
    }
  return pins;
}

/* … and by the snapshot index (artifacts made with a dest_dir live outside
 * $MSB_HOME/snapshots). Best effort, like the scan above. */
static void
add_index_pins (msb_db *db, char ***pins)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT DISTINCT manifest_digest FROM snapshots WHERE manifest_digest"
                          " IS NOT NULL", &st, NULL) < 0)
    return;
  size_t n = 0;
  while ((*pins)[n])
    n++;
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      const char *dg = (const char *) sqlite3_column_text (st, 0);
      if (dg == NULL || !msb_digest_is_valid (dg))
        continue;
      *pins = msb_xrealloc (*pins, (n + 2) * sizeof (char *));
      (*pins)[n++] = msb_xstrdup (dg);
      (*pins)[n] = NULL;
    }
}

static bool
strv_has (char **v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

static void
strv_push (char ***v, size_t *n, const char *s)
{
  *v = msb_xrealloc (*v, (*n + 2) * sizeof (char *));
  (*v)[(*n)++] = msb_xstrdup (s);
  (*v)[*n] = NULL;
}

/* The first sandbox (by name) pinned to `manifest`, and how many there are. */
static int
sandbox_users (msb_db *db, const char *manifest, char **first, int64_t *count, msb_error **err)
{
  *first = NULL;
  *count = 0;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "SELECT MIN(name), COUNT(*) FROM sandboxes WHERE manifest_digest = ?", &st,
                      err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, manifest, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_ROW)
    return msb_db_fail (db, err, "find the sandboxes using an image");
  *first = msb_db_column_strdup (st, 0);
  *count = sqlite3_column_int64 (st, 1);
  return 0;
}

static int
exec_text (msb_db *db, const char *sql, const char *arg, const char *what, int *changes,
           msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, sql, &st, err) < 0)
    return -1;
  if (arg)
    sqlite3_bind_text (st, 1, arg, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, what);
  if (changes)
    *changes = sqlite3_changes (db->handle);
  return 0;
}

/* Column 0 of every row of `sql` (one optional text parameter). */
static int
query_strv (msb_db *db, const char *sql, const char *arg, char ***out, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  *out = msb_xcalloc (1, sizeof (char *));
  if (msb_db_prepare (db, sql, &st, err) < 0)
    return -1;
  if (arg)
    sqlite3_bind_text (st, 1, arg, -1, SQLITE_STATIC);
  size_t n = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *v = (const char *) sqlite3_column_text (st, 0);
      if (v)
        strv_push (out, &n, v);
    }
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "query the image store");
  return 0;
}

/* Deletes `manifest` (or, when NULL, every manifest) that has no reference, no sandbox and
 * no snapshot pin; then every layer row no manifest uses, whose diff_ids go to *orphans. */
static int
delete_unreferenced (msb_db *db, const char *manifest, char **pins, msb_image_gc_report *rep,
                     char ***orphans, msb_error **err)
{
  _msb_cleanup_strv_ char **candidates = NULL;
  if (query_strv (db,
                  manifest ? "SELECT digest FROM manifests WHERE digest = ?1 AND digest NOT IN "
                             "(SELECT manifest_digest FROM images) AND digest NOT IN (SELECT "
                             "manifest_digest FROM sandboxes WHERE manifest_digest IS NOT NULL)"
                           : "SELECT digest FROM manifests WHERE digest NOT IN (SELECT "
                             "manifest_digest FROM images) AND digest NOT IN (SELECT "
                             "manifest_digest FROM sandboxes WHERE manifest_digest IS NOT NULL)",
                  manifest, &candidates, err)
      < 0)
    return -1;
  for (char **m = candidates; *m; m++)
    {
      if (strv_has (pins, *m))
        continue;
      if (exec_text (db, "DELETE FROM manifest_layers WHERE manifest_digest = ?", *m,
                     "delete manifest layers", NULL, err)
              < 0
          || exec_text (db, "DELETE FROM manifests WHERE digest = ?", *m, "delete manifest", NULL,
                        err)
                 < 0)
        return -1;
      rep->manifests_removed++;
    }
  if (query_strv (db,
                  "SELECT diff_id FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM "
                  "manifest_layers)",
                  NULL, orphans, err)
      < 0)
    return -1;
  int changes = 0;
  if (exec_text (db,
                 "DELETE FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM manifest_layers)",
                 NULL, "delete layer rows", &changes, err)
      < 0)
    return -1;
  rep->layers_removed += (uint64_t) changes;
  return 0;
}

/* ---- directories ---- */

static uint64_t du_total;

static int
du_visit (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  du_total += (uint64_t) st->st_blocks * 512u;
  return 0;
}

/* Renames cache/layers/<name> into cache/tmp (atomic disappearance), counts its blocks,
 * removes it. Returns the bytes freed. */
static uint64_t
remove_layer_dir (const msb_home *home, const char *name)
{
  _msb_cleanup_free_ char *from = msb_xasprintf ("cache/layers/%s", name);
  _msb_cleanup_free_ char *to = msb_xasprintf ("cache/tmp/gc-%s.%d", name, (int) getpid ());
  msb_rm_rf_at (home->root_fd, to, NULL); /* debris of a GC that crashed with our pid */
  if (renameat (home->root_fd, from, home->root_fd, to) < 0)
    return 0;
  _msb_cleanup_free_ char *abs = msb_xasprintf ("%s/%s", home->root, to);
  du_total = 0; /* callers hold the exclusive store lock: one GC at a time per home */
  nftw (abs, du_visit, 16, FTW_PHYS | FTW_MOUNT);
  uint64_t freed = du_total;
  msb_rm_rf_at (home->root_fd, to, NULL);
  _msb_cleanup_free_ char *lock = msb_xasprintf ("cache/locks/%s.lock", name);
  unlinkat (home->root_fd, lock, 0); /* nobody else takes it: store lock held */
  return freed;
}

static void
remove_orphans (const msb_home *home, char **orphans, msb_image_gc_report *rep)
{
  for (char **o = orphans; o && *o; o++)
    if (msb_digest_is_valid (*o))
      rep->bytes_reclaimed += remove_layer_dir (home, msb_digest_hex (*o));
}

/* Layer directories without a row (a load or pull that died between publishing and
 * recording), and everything in cache/tmp (nothing is in flight: store lock held). */
static int
remove_debris (const msb_home *home, msb_db *db, msb_image_gc_report *rep, msb_error **err)
{
  _msb_cleanup_strv_ char **rows = NULL;
  if (query_strv (db, "SELECT diff_id FROM layers", NULL, &rows, err) < 0)
    return -1;
  int fd = openat (home->root_fd, "cache/layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _msb_cleanup_dir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  _msb_cleanup_strv_ char **dangling = msb_xcalloc (1, sizeof (char *));
  size_t n = 0;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _msb_cleanup_free_ char *id = msb_xasprintf ("sha256:%s", de->d_name);
      if (!strv_has (rows, id))
        strv_push (&dangling, &n, de->d_name);
    }
  for (char **x = dangling; *x; x++)
    {
      rep->bytes_reclaimed += remove_layer_dir (home, *x);
      rep->layers_removed++;
    }
  int tfd = openat (home->root_fd, "cache/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _msb_cleanup_dir_ DIR *t = tfd >= 0 ? fdopendir (tfd) : NULL;
  while (t && (de = readdir (t)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      msb_rm_rf_at (dirfd (t), de->d_name, NULL);
  return 0;
}

/* ---- rm ---- */

/* The references `reference` stands for, and their manifest. */
static int
resolve_refs (msb_db *db, const char *reference, char ***refs, char **manifest, msb_error **err)
{
  *refs = NULL;
  *manifest = NULL;
  if (msb_digest_is_valid (reference))
    {
      if (query_strv (db, "SELECT reference FROM images WHERE manifest_digest = ? ORDER BY 1",
                      reference, refs, err)
          < 0)
        return -1;
      if ((*refs)[0] == NULL)
        return msb_fail (err, MSB_ERR_IMAGE_NOT_FOUND, "image `%s` is not in the local store",
                         reference);
      *manifest = msb_xstrdup (reference);
      return 0;
    }
  msb_image img;
  if (msb_image_store_lookup (db, reference, &img, err) < 0)
    return -1;
  *refs = msb_xcalloc (2, sizeof (char *));
  (*refs)[0] = msb_steal_pointer (&img.reference);
  *manifest = msb_steal_pointer (&img.manifest_digest);
  msb_image_clear (&img);
  return 0;
}

static int
count_other_refs (msb_db *db, const char *manifest, char **refs, int64_t *out, msb_error **err)
{
  _msb_cleanup_strv_ char **all = NULL;
  if (query_strv (db, "SELECT reference FROM images WHERE manifest_digest = ?", manifest, &all,
                  err)
      < 0)
    return -1;
  *out = 0;
  for (char **a = all; *a; a++)
    if (!strv_has (refs, *a))
      (*out)++;
  return 0;
}

static int
remove_locked_txn (msb_db *db, const char *reference, bool force, char **pins,
                   msb_image_gc_report *rep, char ***orphans, msb_error **err)
{
  _msb_cleanup_strv_ char **refs = NULL;
  _msb_cleanup_free_ char *manifest = NULL, *user = NULL;
  int64_t others = 0, users = 0;
  if (resolve_refs (db, reference, &refs, &manifest, err) < 0
      || count_other_refs (db, manifest, refs, &others, err) < 0
      || sandbox_users (db, manifest, &user, &users, err) < 0)
    return -1;
  if (others == 0 && users > 0 && !force)
    return msb_fail (err, MSB_ERR_IMAGE_IN_USE,
                     "used by sandbox `%s`%s: remove %s first, or force the removal (the image "
                     "then stays cached for %s until %s removed)",
                     user, users > 1 ? " and others" : "", users > 1 ? "them" : "it",
                     users > 1 ? "them" : "it", users > 1 ? "they are" : "it is");
  for (char **r = refs; *r; r++)
    {
      if (exec_text (db, "DELETE FROM images WHERE reference = ?", *r, "delete image reference",
                     NULL, err)
          < 0)
        return -1;
      rep->refs_removed++;
    }
  return delete_unreferenced (db, manifest, pins, rep, orphans, err);
}

int
msb_image_store_remove (const msb_home *home, msb_db *db, const char *reference, bool force,
                        msb_image_gc_report *report, msb_error **err)
{
  msb_image_gc_report rep = { 0 };
  _msb_cleanup_strv_ char **pins = snapshot_pins (home);
  add_index_pins (db, &pins);
  _msb_cleanup_strv_ char **orphans = NULL;
  if (msb_db_begin (db, err) < 0)
    return msb_error_prefix (err, "remove image `%s`", reference);
  _msb_cleanup_txn_ msb_db *txn = db;
  if (remove_locked_txn (db, reference, force, pins, &rep, &orphans, err) < 0
      || msb_db_commit_txn (&txn, err) < 0)
    return msb_error_prefix (err, "remove image `%s`", reference);
  remove_orphans (home, orphans, &rep);
  if (report)
    *report = rep;
  return 0;
}

/* ---- prune ---- */

static int
delete_unused_refs (msb_db *db, char **pins, msb_image_gc_report *rep, msb_error **err)
{
  _msb_cleanup_strv_ char **refs = NULL;
  if (query_strv (db,
                  "SELECT reference FROM images WHERE manifest_digest NOT IN (SELECT "
                  "manifest_digest FROM sandboxes WHERE manifest_digest IS NOT NULL)",
                  NULL, &refs, err)
      < 0)
    return -1;
  for (char **r = refs; *r; r++)
    {
      _msb_cleanup_strv_ char **m = NULL;
      if (query_strv (db, "SELECT manifest_digest FROM images WHERE reference = ?", *r, &m, err)
          < 0)
        return -1;
      if (m[0] && strv_has (pins, m[0]))
        continue;
      if (exec_text (db, "DELETE FROM images WHERE reference = ?", *r, "delete image reference",
                     NULL, err)
          < 0)
        return -1;
      rep->refs_removed++;
    }
  return 0;
}

int
msb_image_store_prune (const msb_home *home, msb_db *db, msb_image_gc_report *report,
                       msb_error **err)
{
  msb_image_gc_report rep = { 0 };
  _msb_cleanup_strv_ char **pins = snapshot_pins (home);
  add_index_pins (db, &pins);
  _msb_cleanup_strv_ char **orphans = NULL;
  if (msb_db_begin (db, err) < 0)
    return msb_error_prefix (err, "prune images");
  _msb_cleanup_txn_ msb_db *txn = db;
  if (delete_unused_refs (db, pins, &rep, err) < 0
      || delete_unreferenced (db, NULL, pins, &rep, &orphans, err) < 0
      || msb_db_commit_txn (&txn, err) < 0)
    return msb_error_prefix (err, "prune images");
  remove_orphans (home, orphans, &rep);
  if (remove_debris (home, db, &rep, err) < 0)
    return msb_error_prefix (err, "prune images");
  if (report)
    *report = rep;
  return 0;
}
