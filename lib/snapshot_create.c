/* msb_snapshot_create: a stopped sandbox's writable layer → a snapshot artifact.
 *
 * Under the source sandbox's lifecycle lock (it cannot start meanwhile), the layer is copied
 * into a fresh sparse ext4 image inside a temporary directory next to the destination, with
 * owners rebased to the sandbox's own view (root = 0); the descriptor is written beside it and
 * the directory renamed into place, so an artifact is complete or absent. A copy rather than
 * `mke2fs -d`: mke2fs cannot rebase owners, file capabilities or ACLs, and it cannot read a
 * layer that lives in an image (size-limited uppers).
 *
 * A size-limited layer already is an ext4 image: it is cloned instead — the kernel copies the
 * file (a reflink where the filesystem can), then the owners are rebased in place — which
 * costs metadata, not data (measured ~6x faster than copying 100 MiB file by file).
 *
 * Image size: a size-limited layer keeps its limit (the snapshot is the same disk); a
 * directory layer gets room for what it holds plus a quarter, at least 512 MiB (ext4 below
 * that uses 1 KiB blocks and 128-byte inodes, too small for in-inode overlay xattrs). The file
 * is sparse: the host stores what was written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/image/digest.h"
#include "lib/sandbox_locked.h"
#include "lib/snapshot_artifact.h"
#include "lib/snapshot_descriptor.h"
#include "lib/snapshot_index.h"
#include "lib/snapshot_layer.h"
#include "runtime/runtime.h"

#define MIN_IMAGE_MIB 512u

typedef struct create_job
{
  const char *name;
  msb_snapshot_opts o;
  json_t *labels;
  char *parent; /* absolute directory the artifact goes in */
  char *path;   /* parent/name */
  msb_snapshot *result;
} create_job;

static uint64_t
image_size_mib (uint64_t bytes, uint64_t inodes)
{
  uint64_t need = bytes + bytes / 4 + inodes * (4096 + 512) + (64ull << 20);
  uint64_t mib = (need + (1u << 20) - 1) >> 20;
  return mib < MIN_IMAGE_MIB ? MIN_IMAGE_MIB : mib;
}

/* "sha256:<hex>" of a whole file. */
static int
file_digest (int dir, const char *name, char out[MSB_DIGEST_STRLEN], msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", name);
  _msb_cleanup_free_ char *buf = msb_xmalloc (1u << 20);
  msb_sha256 h;
  msb_sha256_init (&h);
  for (;;)
    {
      ssize_t n = read (fd, buf, 1u << 20);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          msb_sha256_dispose (&h);
          return msb_fail_errno (err, errno, MSB_ERR_IO, "read `%s`", name);
        }
      if (n == 0)
        break;
      msb_sha256_update (&h, buf, (size_t) n);
    }
  msb_sha256_final (&h, out);
  return 0;
}

int
msb_snapshot_file_digest (int dir, const char *name, char out[MSB_DIGEST_STRLEN], msb_error **err)
{
  return file_digest (dir, name, out, err);
}

static int
write_descriptor (int dir, const json_t *desc, msb_error **err)
{
  _msb_cleanup_free_ char *text = json_dumps (desc, JSON_INDENT (2) | JSON_SORT_KEYS);
  if (text == NULL)
    abort ();
  _msb_cleanup_free_ char *line = msb_xasprintf ("%s\n", text);
  return msb_write_file_atomic_at (dir, MSB_SNAPSHOT_DESCRIPTOR, line, strlen (line), 0644, err);
}

static int
snapshot_locked (msb_ctx *ctx, const msb_sandbox_row *row, bool live, void *data, msb_error **err)
{
  create_job *j = data;
  if (live)
    return msb_fail (err, MSB_ERR_SANDBOX_STILL_RUNNING,
                     "sandbox `%s` is running: stop it before taking a snapshot", row->name);
  msb_config *cfg = NULL;
  if (msb_config_from_json (row->config_json, &cfg, err) < 0)
    return -1;
  unsigned limit = cfg->files.upper_size_mib;
  msb_config_free (cfg);

  _msb_cleanup_free_ char *rel = msb_sandbox_dir_rel (row->name);
  _msb_cleanup_close_ int sandbox_dir
      = openat (ctx->home.root_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sandbox_dir < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s/%s`", ctx->home.root, rel);
  /* A layer on an image is cloned (the kernel copies the file, owners are rebased in place);
   * a directory layer is copied into a new image. */
  struct stat image_st;
  bool is_image = limit
                  && fstatat (sandbox_dir, MSB_SNAPSHOT_UPPER, &image_st, AT_SYMLINK_NOFOLLOW) == 0
                  && S_ISREG (image_st.st_mode);
  _msb_cleanup_layer_src_ msb_layer_src src = MSB_LAYER_SRC_INIT;
  if (!is_image && msb_layer_open_sandbox (sandbox_dir, 0, &src, err) < 0)
    return msb_error_prefix (err, "read the writable layer of sandbox `%s`", row->name);
  uint64_t bytes = 0, inodes = 0;
  if (src.dir >= 0 && msb_layer_usage (src.dir, &bytes, &inodes, err) < 0)
    return msb_error_prefix (err, "measure the writable layer of sandbox `%s`", row->name);
  uint64_t size_mib = image_size_mib (bytes, inodes);

  /* Build in a temporary directory beside the destination, so the rename is atomic. */
  if (msb_mkdir_p_at (AT_FDCWD, j->parent, 0755, err) < 0)
    return msb_error_prefix (err, "create `%s`", j->parent);
  _msb_cleanup_close_ int parent = open (j->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", j->parent);
  if (!j->o.force && faccessat (parent, j->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return msb_fail (err, MSB_ERR_GENERIC, "snapshot `%s` already exists at `%s` (use force)",
                     j->name, j->path);
  unsigned char rnd[4] = { 0 };
  (void) !getrandom (rnd, sizeof rnd, 0);
  _msb_cleanup_free_ char *tmp_name = msb_xasprintf (
      ".%s.tmp-%d-%02x%02x%02x%02x", j->name, (int) getpid (), rnd[0], rnd[1], rnd[2], rnd[3]);
  if (mkdirat (parent, tmp_name, 0755) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/%s`", j->parent, tmp_name);
  int r = 0;
  {
    _msb_cleanup_close_ int tmp = openat (parent, tmp_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    msb_layer_copy copy = { .src_base = msb_uid_base_for_slot (row->uid_slot), .dst_base = 0 };
    char integrity[MSB_DIGEST_STRLEN];
    struct stat st;
    if (tmp < 0)
      r = msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s/%s`", j->parent, tmp_name);
    if (r == 0 && is_image
        && msb_layer_clone_image (sandbox_dir, MSB_SNAPSHOT_UPPER, tmp, MSB_SNAPSHOT_UPPER, 0,
                                  &copy, err)
               < 0)
      r = msb_error_prefix (err, "copy the sandbox's " MSB_SNAPSHOT_UPPER);
    if (r == 0 && !is_image
        && msb_layer_write_image (tmp, MSB_SNAPSHOT_UPPER, size_mib, inodes * 2 + 4096, &src, &copy,
                                  err)
               < 0)
      r = msb_error_prefix (err, "write " MSB_SNAPSHOT_UPPER);
    msb_layer_src_close (&src); /* before anything else: the source image is unmounted */
    if (r == 0 && fstatat (tmp, MSB_SNAPSHOT_UPPER, &st, 0) < 0)
      r = msb_fail_errno (err, errno, MSB_ERR_IO, "stat " MSB_SNAPSHOT_UPPER);
    if (r == 0 && j->o.record_integrity
        && file_digest (tmp, MSB_SNAPSHOT_UPPER, integrity, err) < 0)
      r = -1;
    if (r == 0)
      {
        msb_snapshot_desc_fields f = {
          .created_at_ms = msb_now_ms (),
          .image_ref = row->image_ref,
          .manifest_digest = row->manifest_digest,
          .source_sandbox = row->name,
          .upper_size_bytes = (uint64_t) st.st_size,
          .upper_integrity = j->o.record_integrity ? integrity : NULL,
          .labels = j->labels,
          .upper_limit_mib = limit,
        };
        json_t *desc = msb_snapshot_desc_build (&f);
        r = write_descriptor (tmp, desc, err);
        json_decref (desc);
      }
    if (r == 0 && fsync (tmp) < 0)
      r = msb_fail_errno (err, errno, MSB_ERR_IO, "sync `%s/%s`", j->parent, tmp_name);
  }
  /* Publish: without force never over an existing artifact (another create may have won the
   * race); with force the old one is moved aside first and deleted once the new one is in. */
  _msb_cleanup_free_ char *old_name = NULL;
  if (r == 0 && j->o.force && faccessat (parent, j->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      old_name = msb_xasprintf ("%s.old", tmp_name);
      if (renameat (parent, j->name, parent, old_name) < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_IO, "move the old artifact `%s` aside", j->path);
    }
  if (r == 0 && renameat2 (parent, tmp_name, parent, j->name, RENAME_NOREPLACE) < 0)
    r = errno == EEXIST ? msb_fail (err, MSB_ERR_GENERIC, "snapshot `%s` already exists at `%s`",
                                    j->name, j->path)
                        : msb_fail_errno (err, errno, MSB_ERR_IO, "publish `%s`", j->path);
  if (r < 0)
    {
      if (old_name)
        renameat (parent, old_name, parent, j->name);
      msb_rm_rf_at (parent, tmp_name, NULL);
      return msb_error_prefix (err, "snapshot sandbox `%s`", row->name);
    }
  if (old_name)
    msb_rm_rf_at (parent, old_name, NULL);
  fsync (parent);
  if (msb_snapshot_load (j->path, &j->result, err) < 0)
    return -1;
  MSB_WITH_DB (ctx)
  r = msb_snapshot_index_put (&ctx->db, j->result->path, j->result->name, j->result->digest,
                              j->result->desc, err);
  return r;
}

static int
parse_labels (const char *const *labels, json_t **out, msb_error **err)
{
  json_t *o = json_object ();
  for (size_t i = 0; labels && labels[i]; i++)
    {
      const char *eq = strchr (labels[i], '=');
      _msb_cleanup_free_ char *key
          = eq ? msb_xstrndup (labels[i], (size_t) (eq - labels[i])) : msb_xstrdup (labels[i]);
      if (*key == '\0')
        {
          json_decref (o);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot label `%s`: expected K=V",
                           labels[i]);
        }
      json_t *v = json_string (eq ? eq + 1 : "");
      if (v == NULL)
        {
          json_decref (o);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot label `%s` is not UTF-8",
                           labels[i]);
        }
      json_object_set_new (o, key, v);
    }
  *out = o;
  return 0;
}

int
msb_snapshot_create (msb_ctx *ctx, const char *name, const char *from_sandbox,
                     const msb_snapshot_opts *opts, msb_snapshot **out, msb_error **err)
{
  create_job j = { .name = name };
  if (opts)
    memcpy (&j.o, opts, opts->size < sizeof j.o ? opts->size : sizeof j.o);
  if (j.o.resumable)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "snapshot `%s`: resumable (memory) snapshots are not supported by any backend "
                     "of this build; take a disk snapshot of the stopped sandbox",
                     name ? name : "");
  if (msb_snapshot_name_validate (name, err) < 0)
    return -1;
  if (from_sandbox == NULL || *from_sandbox == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "snapshot `%s`: a source sandbox is required",
                     name);
  if (parse_labels (j.o.labels, &j.labels, err) < 0)
    return -1;
  if (j.o.dest_dir && *j.o.dest_dir)
    {
      bool is_path = false;
      /* A dest_dir is always a directory path, even without a '/'. */
      _msb_cleanup_free_ char *spelled
          = strchr (j.o.dest_dir, '/') || j.o.dest_dir[0] == '.' || j.o.dest_dir[0] == '~'
                ? msb_xstrdup (j.o.dest_dir)
                : msb_xasprintf ("./%s", j.o.dest_dir);
      if (msb_snapshot_resolve (ctx, spelled, &j.parent, &is_path, err) < 0)
        {
          json_decref (j.labels);
          return -1;
        }
    }
  else
    j.parent = msb_snapshot_home_dir (ctx);
  j.path = msb_xasprintf ("%s/%s", j.parent, name);
  int r = msb_sandbox_with_lock (ctx, from_sandbox, snapshot_locked, &j, err);
  json_decref (j.labels);
  free (j.parent);
  free (j.path);
  if (r < 0)
    {
      msb_snapshot_free (j.result);
      return msb_error_prefix (err, "create snapshot `%s`", name);
    }
  if (out)
    *out = j.result;
  else
    msb_snapshot_free (j.result);
  return 0;
}
