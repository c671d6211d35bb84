/* The layer unpacker: one pass over a (gzip / zstd / uncompressed) layer blob that computes
 * the blob digest and the diff_id while it writes the tar's entries under a root directory
 * fd. Layers are hostile input: every path is confined to the root (see inroot.h), device
 * nodes are never created, xattrs from the tar are never restored (a layer must not plant
 * overlay.* or security.* attributes), and sizes are bounded.
 *
 * This file knows nothing of MSB_HOME, locks or the database (layer_cache.h publishes into
 * the cache); it must never write outside the root it is given. */
#ifndef MSB_LIB_IMAGE_UNPACK_H
#define MSB_LIB_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "lib/image/digest.h"

#define MSB_UNPACK_DEFAULT_MAX_BYTES (64ull << 30) /* 64 GiB unpacked per layer */
#define MSB_UNPACK_DEFAULT_MAX_ENTRIES (8u << 20)  /* 8 Mi entries per layer */

/* Supplies the next chunk of the compressed blob: sets *buf and returns its length, 0 at
 * the end, or -1 with *err set. The chunk stays valid until the next call. */
typedef ssize_t (*msb_unpack_read_fn) (void *ctx, const void **buf, msb_error **err);

/* Called after each chunk of the compressed blob is read (for layer_materialize_progress). */
typedef void (*msb_unpack_progress_fn) (void *ctx, uint64_t bytes_read, uint64_t total_bytes);

typedef struct msb_unpack_opts
{
  const char *expected_blob_digest; /* verified when not NULL */
  const char *expected_diff_id;     /* verified when not NULL */
  uint64_t max_unpacked_bytes;      /* 0 = MSB_UNPACK_DEFAULT_MAX_BYTES */
  uint64_t max_entries;             /* 0 = MSB_UNPACK_DEFAULT_MAX_ENTRIES */
  int restore_owner;                /* <0 = when running as root (default), 0 = never, 1 = always */
  msb_unpack_progress_fn progress;
  void *progress_ctx;
  uint64_t total_bytes; /* size of the compressed blob for progress, 0 if unknown */
} msb_unpack_opts;

typedef struct msb_unpack_result
{
  char blob_digest[MSB_DIGEST_STRLEN]; /* sha256 of the bytes read */
  char diff_id[MSB_DIGEST_STRLEN];     /* sha256 of the uncompressed tar stream */
  uint64_t compressed_bytes;
  uint64_t uncompressed_bytes;
  uint64_t unpacked_bytes; /* sum of regular file sizes written */
  uint64_t entries;
  uint64_t devices_skipped; /* char/block nodes that are not whiteouts: never created */
  uint64_t others_skipped;  /* sockets, unknown types, aufs ".wh..wh." metadata */
  char compression[8];      /* "none", "gzip", "zstd", "bzip2", "xz" */
} msb_unpack_result;

/* Unpacks the blob from `read` under `root_fd` (an O_RDONLY|O_DIRECTORY fd of an empty
 * directory) or, when root_fd < 0, only computes the digests. Digests are checked against
 * opts before directory metadata is applied. On failure the root may hold partial content:
 * the caller removes it. `opts` may be NULL. Errors are MSB_ERR_IMAGE_PULL_FAILED (a bad
 * layer) or MSB_ERR_IO (the host failed). */
int msb_unpack_stream (int root_fd, msb_unpack_read_fn read, void *read_ctx,
                       const msb_unpack_opts *opts, msb_unpack_result *res, msb_error **err);

/* The same, reading the blob from `blob_fd` until EOF. */
int msb_unpack_fd (int root_fd, int blob_fd, const msb_unpack_opts *opts, msb_unpack_result *res,
                   msb_error **err);

/* A reader over an fd, for msb_unpack_stream. */
typedef struct msb_fd_reader
{
  int fd;
  unsigned char *buf;
} msb_fd_reader;
void msb_fd_reader_init (msb_fd_reader *r, int fd);
void msb_fd_reader_clear (msb_fd_reader *r);
ssize_t msb_fd_reader_read (void *ctx, const void **buf, msb_error **err);

#endif
