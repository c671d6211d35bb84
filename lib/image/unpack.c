/* The one-pass pipeline: source -> archive A (decompression filters, "raw" format) -> archive
 * B (tar). The compressed bytes are hashed as A pulls them (blob digest), the decompressed
 * bytes as B pulls them from A (diff_id); whatever B leaves after the end-of-archive marker
 * is drained through both hashes so the digests cover the whole blob. Only in-process
 * decompressors are enabled: libarchive's external-program fallbacks would run helpers on
 * hostile input. */
#include "lib/image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/unpack_entry.h"

#define READ_CHUNK (1u << 20)

typedef struct pipeline
{
  msb_unpack_read_fn read;
  void *read_ctx;
  const msb_unpack_opts *opts;
  msb_unpack_result *res;
  msb_sha256 blob_hash, diff_hash;
  struct archive *raw; /* A */
  struct archive *tar; /* B */
  msb_error *src_err;  /* an error of the source, kept to report it rather than libarchive's */
  bool is_uncompressed; /* blob == tar stream: one hash serves as both digests */
} pipeline;

static void
pipeline_clear (pipeline *p)
{
  if (p->tar)
    archive_read_free (p->tar);
  if (p->raw)
    archive_read_free (p->raw);
  msb_sha256_dispose (&p->blob_hash);
  msb_sha256_dispose (&p->diff_hash);
  msb_error_free (p->src_err);
}

/* Pulls one chunk from the source through the blob hash. */
static ssize_t
source_pull (pipeline *p, const void **buf)
{
  ssize_t n = p->read (p->read_ctx, buf, &p->src_err);
  if (n <= 0)
    return n;
  msb_sha256_update (&p->blob_hash, *buf, (size_t) n);
  p->res->compressed_bytes += (uint64_t) n;
  if (p->opts->progress)
    p->opts->progress (p->opts->progress_ctx, p->res->compressed_bytes, p->opts->total_bytes);
  return n;
}

static la_ssize_t
raw_read_cb (struct archive *a, void *ctx, const void **buf)
{
  ssize_t n = source_pull (ctx, buf);
  if (n < 0)
    archive_set_error (a, EIO, "reading the layer blob failed");
  return n;
}

/* Pulls one decompressed block from A through the diff_id hash. Zero-copy: A's buffer. */
static ssize_t
raw_pull (pipeline *p, const void **buf)
{
  size_t size;
  la_int64_t off;
  int r = archive_read_data_block (p->raw, buf, &size, &off);
  if (r == ARCHIVE_EOF)
    return 0;
  if (r < ARCHIVE_WARN)
    return -1;
  if (!p->is_uncompressed)
    msb_sha256_update (&p->diff_hash, *buf, size);
  p->res->uncompressed_bytes += size;
  return (ssize_t) size;
}

static la_ssize_t
tar_read_cb (struct archive *a, void *ctx, const void **buf)
{
  pipeline *p = ctx;
  ssize_t n = raw_pull (p, buf);
  if (n < 0)
    archive_set_error (a, EIO, "%s", archive_error_string (p->raw) ? archive_error_string (p->raw)
                                                                    : "decompression failed");
  return n;
}

static int
fail_archive (pipeline *p, struct archive *a, const char *what, msb_error **err)
{
  if (p->src_err)
    {
      if (err)
        *err = msb_steal_pointer (&p->src_err);
      return msb_error_prefix (err, "%s", what);
    }
  const char *msg = a ? archive_error_string (a) : NULL;
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: %s", what, msg ? msg : "unknown error");
}

static void
record_compression (pipeline *p)
{
  const char *name = "none";
  switch (archive_filter_code (p->raw, 0))
    {
    case ARCHIVE_FILTER_GZIP:
      name = "gzip";
      break;
    case ARCHIVE_FILTER_ZSTD:
      name = "zstd";
      break;
    case ARCHIVE_FILTER_BZIP2:
      name = "bzip2";
      break;
    case ARCHIVE_FILTER_XZ:
      name = "xz";
      break;
    }
  snprintf (p->res->compression, sizeof p->res->compression, "%s", name);
  p->is_uncompressed = archive_filter_code (p->raw, 0) == ARCHIVE_FILTER_NONE;
}

static int
open_raw (pipeline *p, msb_error **err)
{
  p->raw = archive_read_new ();
  if (p->raw == NULL)
    abort ();
  archive_read_support_filter_gzip (p->raw);
  archive_read_support_filter_zstd (p->raw);
  archive_read_support_filter_bzip2 (p->raw);
  archive_read_support_filter_xz (p->raw);
  archive_read_support_format_raw (p->raw);
  struct archive_entry *e;
  if (archive_read_open (p->raw, p, NULL, raw_read_cb, NULL) != ARCHIVE_OK)
    return fail_archive (p, p->raw, "open layer blob", err);
  int r = archive_read_next_header (p->raw, &e);
  if (r == ARCHIVE_EOF)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer blob is empty");
  if (r < ARCHIVE_WARN)
    return fail_archive (p, p->raw, "open layer blob", err);
  record_compression (p);
  return 0;
}

static int
open_tar (pipeline *p, msb_error **err)
{
  p->tar = archive_read_new ();
  if (p->tar == NULL)
    abort ();
  archive_read_support_format_tar (p->tar);
  archive_read_support_format_empty (p->tar);
  if (archive_read_open (p->tar, p, NULL, tar_read_cb, NULL) != ARCHIVE_OK)
    return fail_archive (p, p->tar, "read layer tar", err);
  return 0;
}

/* Everything after the tar's end marker still belongs to both digests. */
static int
drain (pipeline *p, msb_error **err)
{
  const void *buf;
  ssize_t n;
  while ((n = raw_pull (p, &buf)) > 0)
    ;
  if (n < 0)
    return fail_archive (p, p->raw, "read layer blob", err);
  while ((n = source_pull (p, &buf)) > 0)
    ;
  if (n < 0)
    return fail_archive (p, NULL, "read layer blob", err);
  return 0;
}

static int
unpack_entries (pipeline *p, layer_unpacker *u, msb_error **err)
{
  uint64_t max_entries = p->opts->max_entries ? p->opts->max_entries
                                              : MSB_UNPACK_DEFAULT_MAX_ENTRIES;
  for (;;)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (p->tar, &e);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return fail_archive (p, p->tar, "read layer tar", err);
      if (++p->res->entries > max_entries)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer has more than %llu entries",
                         (unsigned long long) max_entries);
      if (layer_unpack_entry (u, p->tar, e, err) < 0)
        {
          /* A source failure surfaces as a libarchive error inside the entry: report it. */
          if (p->src_err)
            {
              msb_error_clear (err);
              return fail_archive (p, NULL, "read layer blob", err);
            }
          return -1;
        }
    }
}

static int
verify (const char *what, const char *expected, const char *actual, msb_error **err)
{
  if (expected == NULL || strcmp (expected, actual) == 0)
    return 0;
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s mismatch: expected %s, got %s", what,
                   expected, actual);
}

static bool
default_restore_owner (const msb_unpack_opts *o)
{
  if (o->restore_owner >= 0)
    return o->restore_owner != 0;
  return geteuid () == 0;
}

static int
run_pipeline (pipeline *p, layer_unpacker *u, int root_fd, msb_error **err)
{
  if (open_raw (p, err) < 0)
    return -1;
  if (root_fd >= 0 && (open_tar (p, err) < 0 || unpack_entries (p, u, err) < 0))
    return -1;
  if (drain (p, err) < 0)
    return -1;
  msb_sha256_final (&p->blob_hash, p->res->blob_digest);
  if (p->is_uncompressed)
    memcpy (p->res->diff_id, p->res->blob_digest, MSB_DIGEST_STRLEN);
  else
    msb_sha256_final (&p->diff_hash, p->res->diff_id);
  if (verify ("layer blob digest", p->opts->expected_blob_digest, p->res->blob_digest, err) < 0
      || verify ("layer diff_id", p->opts->expected_diff_id, p->res->diff_id, err) < 0)
    return -1;
  return root_fd >= 0 ? layer_apply_dir_meta (u, err) : 0;
}

int
msb_unpack_stream (int root_fd, msb_unpack_read_fn read, void *read_ctx,
                   const msb_unpack_opts *opts, msb_unpack_result *res, msb_error **err)
{
  static const msb_unpack_opts defaults = { .restore_owner = -1 };
  if (opts == NULL)
    opts = &defaults;
  memset (res, 0, sizeof *res);
  pipeline p = { .read = read, .read_ctx = read_ctx, .opts = opts, .res = res };
  layer_unpacker u = {
    .root_fd = root_fd,
    .restore_owner = default_restore_owner (opts),
    .max_unpacked = opts->max_unpacked_bytes ? opts->max_unpacked_bytes
                                             : MSB_UNPACK_DEFAULT_MAX_BYTES,
    .res = res,
  };
  msb_sha256_init (&p.blob_hash);
  msb_sha256_init (&p.diff_hash);
  int r = run_pipeline (&p, &u, root_fd, err);
  layer_unpacker_clear (&u);
  pipeline_clear (&p);
  return r;
}

void
msb_fd_reader_init (msb_fd_reader *r, int fd)
{
  r->fd = fd;
  r->buf = msb_xmalloc (READ_CHUNK);
}

void
msb_fd_reader_clear (msb_fd_reader *r)
{
  free (r->buf);
  r->buf = NULL;
}

ssize_t
msb_fd_reader_read (void *ctx, const void **buf, msb_error **err)
{
  msb_fd_reader *r = ctx;
  for (;;)
    {
      ssize_t n = read (r->fd, r->buf, READ_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "read layer blob");
      *buf = r->buf;
      return n;
    }
}

int
msb_unpack_fd (int root_fd, int blob_fd, const msb_unpack_opts *opts, msb_unpack_result *res,
               msb_error **err)
{
  msb_fd_reader r;
  msb_fd_reader_init (&r, blob_fd);
  int ret = msb_unpack_stream (root_fd, msb_fd_reader_read, &r, opts, res, err);
  msb_fd_reader_clear (&r);
  return ret;
}
