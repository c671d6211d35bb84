/* Publication of unpacked layers: flock, temp dir, verify, syncfs, rename(NOREPLACE). */
#include "lib/image/layer_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

char *
msb_image_layer_path (const msb_home *home, const char *diff_id)
{
  if (!msb_digest_is_valid (diff_id))
    return NULL;
  return msb_xasprintf ("%s/cache/layers/%s", home->root, msb_digest_hex (diff_id));
}

bool
msb_image_layer_is_cached (const msb_home *home, const char *diff_id)
{
  if (!msb_digest_is_valid (diff_id))
    return false;
  _msb_cleanup_free_ char *rel = msb_xasprintf ("cache/layers/%s", msb_digest_hex (diff_id));
  struct stat st;
  return fstatat (home->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

static int
open_cache_dir (const msb_home *home, const char *rel, int *out, msb_error **err)
{
  int fd = openat (home->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s/%s`", home->root, rel);
  *out = fd;
  return 0;
}

/* Two processes unpacking one layer serialise here; the second then finds it published. */
static int
lock_layer (const msb_home *home, const char *hex, int *out, msb_error **err)
{
  _msb_cleanup_free_ char *rel = msb_xasprintf ("cache/locks/%s.lock", hex);
  _msb_cleanup_close_ int fd
      = openat (home->root_fd, rel, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open layer lock `%s`", rel);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return msb_fail_errno (err, errno, MSB_ERR_IO, "lock layer `%s`", hex);
  *out = msb_steal_fd (&fd);
  return 0;
}

/* Temp dirs of this layer left by a process that died mid-unpack: we hold the layer lock,
 * so none of them is in use. */
static void
remove_stale_tmp (int tmp_fd, const char *prefix)
{
  int fd = dup (tmp_fd);
  if (fd < 0)
    return;
  _msb_cleanup_dir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return;
    }
  struct dirent *de;
  size_t plen = strlen (prefix);
  while ((de = readdir (d)) != NULL)
    if (strncmp (de->d_name, prefix, plen) == 0)
      {
        msb_error *ignored = NULL;
        msb_rm_rf_at (tmp_fd, de->d_name, &ignored);
        msb_error_free (ignored);
      }
}

int
msb_image_layer_record (msb_db *db, const char *diff_id, uint64_t size, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "INSERT INTO layers (diff_id, unpacked_size, created_at) VALUES (?, ?, ?) "
                      "ON CONFLICT (diff_id) DO UPDATE SET unpacked_size = excluded.unpacked_size "
                      "WHERE layers.unpacked_size = 0",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, diff_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) size);
  sqlite3_bind_int64 (st, 3, msb_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "record layer");
  return 0;
}

/* Unpacks into tmp/<name>, then renames it to layers/<hex>. */
static int
unpack_and_publish (int tmp_fd, int layers_fd, const char *name, const char *hex,
                    msb_unpack_read_fn read, void *read_ctx, const msb_unpack_opts *opts,
                    msb_unpack_result *res, bool *raced, msb_error **err)
{
  if (mkdirat (tmp_fd, name, 0755) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create temp layer dir `%s`", name);
  _msb_cleanup_close_ int root_fd
      = openat (tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open temp layer dir `%s`", name);
  if (msb_unpack_stream (root_fd, read, read_ctx, opts, res, err) < 0)
    return -1;
  /* A published layer must be complete after a crash: flush before the rename makes it
   * visible. One syncfs is far cheaper than an fsync per file. */
  if (syncfs (root_fd) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "sync layer `%s`", hex);
  if (renameat2 (tmp_fd, name, layers_fd, hex, RENAME_NOREPLACE) < 0)
    {
      if (errno != EEXIST && errno != ENOTEMPTY)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "publish layer `%s`", hex);
      *raced = true; /* published by a process that did not take the lock */
      return -1;
    }
  return 0;
}

static int
digest_only (const char *diff_id, msb_unpack_read_fn read, void *read_ctx,
             const msb_unpack_opts *opts, msb_unpack_result *res, msb_error **err)
{
  msb_unpack_opts o = *opts;
  o.expected_diff_id = diff_id;
  return msb_unpack_stream (-1, read, read_ctx, &o, res, err);
}

static int
materialize_locked (const msb_home *home, const char *diff_id, const char *blob_digest,
                    msb_unpack_read_fn read, void *read_ctx, const msb_unpack_opts *opts,
                    msb_unpack_result *res, bool *cached, msb_error **err)
{
  const char *hex = msb_digest_hex (diff_id);
  _msb_cleanup_close_ int layers_fd = -1;
  _msb_cleanup_close_ int tmp_fd = -1;
  if (open_cache_dir (home, "cache/layers", &layers_fd, err) < 0
      || open_cache_dir (home, "cache/tmp", &tmp_fd, err) < 0)
    return -1;
  struct stat st;
  if (fstatat (layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      *cached = true;
      if (blob_digest == NULL)
        return digest_only (diff_id, read, read_ctx, opts, res, err);
      snprintf (res->blob_digest, sizeof res->blob_digest, "%s", blob_digest);
      snprintf (res->diff_id, sizeof res->diff_id, "%s", diff_id);
      return 0;
    }
  _msb_cleanup_free_ char *prefix = msb_xasprintf ("layer-%s.", hex);
  remove_stale_tmp (tmp_fd, prefix);
  _msb_cleanup_free_ char *name = msb_xasprintf ("%s%d", prefix, (int) getpid ());
  msb_unpack_opts o = *opts;
  o.expected_diff_id = diff_id;
  o.expected_blob_digest = blob_digest;
  bool raced = false;
  if (unpack_and_publish (tmp_fd, layers_fd, name, hex, read, read_ctx, &o, res, &raced, err) < 0)
    {
      msb_error *ignored = NULL;
      msb_rm_rf_at (tmp_fd, name, &ignored);
      msb_error_free (ignored);
      if (!raced)
        return -1;
      *cached = true;
    }
  return 0;
}

int
msb_image_layer_materialize (const msb_home *home, msb_db *db, const char *diff_id,
                             const char *blob_digest, msb_unpack_read_fn read, void *read_ctx,
                             const msb_unpack_opts *opts, msb_unpack_result *res,
                             bool *was_cached, msb_error **err)
{
  static const msb_unpack_opts defaults = { .restore_owner = -1 };
  memset (res, 0, sizeof *res);
  if (msb_digest_check (diff_id, "layer diff_id", err) < 0
      || (blob_digest && msb_digest_check (blob_digest, "layer blob digest", err) < 0))
    return -1;
  bool cached = false;
  _msb_cleanup_close_ int lock_fd = -1;
  if (lock_layer (home, msb_digest_hex (diff_id), &lock_fd, err) < 0
      || materialize_locked (home, diff_id, blob_digest, read, read_ctx, opts ? opts : &defaults,
                             res, &cached, err)
             < 0)
    return msb_error_prefix (err, "materialize layer %s", diff_id);
  if (was_cached)
    *was_cached = cached;
  /* Written after the rename, so a row never names a layer that is not on disk. */
  if (db && !cached && msb_image_layer_record (db, diff_id, res->unpacked_bytes, err) < 0)
    return msb_error_prefix (err, "materialize layer %s", diff_id);
  return 0;
}
