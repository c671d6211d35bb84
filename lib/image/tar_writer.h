/* A small tar writer (POSIX ustar, with pax extended headers for what ustar cannot hold:
 * long names and link targets, sizes of 8 GiB and more, large ids). Used by `image save`.
 * libmsb links libarchive statically for its reader only: libarchive's writer pulls every
 * format in, libxml2 with them, and dynamic loading time on every msb start.
 *
 * Deterministic: the same entries give the same bytes (no user or group names, no atime). */
#ifndef MSB_LIB_IMAGE_TAR_WRITER_H
#define MSB_LIB_IMAGE_TAR_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Receives the output; returns 0 or -1 with *err set. */
typedef int (*msb_tar_write_fn) (void *ctx, const void *buf, size_t n, msb_error **err);

typedef struct msb_tar_writer
{
  msb_tar_write_fn write;
  void *ctx;
  uint64_t pending; /* data bytes the current entry still expects */
  uint64_t entry_size;
} msb_tar_writer;

enum
{
  MSB_TAR_REG = '0',
  MSB_TAR_HARDLINK = '1',
  MSB_TAR_SYMLINK = '2',
  MSB_TAR_CHR = '3',
  MSB_TAR_DIR = '5',
  MSB_TAR_FIFO = '6',
};

typedef struct msb_tar_entry
{
  const char *path; /* relative; a directory may end with '/' */
  char type;        /* MSB_TAR_* */
  mode_t mode;      /* permission bits (and setuid/setgid/sticky) */
  uint64_t uid, gid;
  int64_t mtime; /* seconds since the epoch */
  uint64_t size; /* regular files only */
  const char *link; /* hardlink or symlink target, else NULL */
} msb_tar_entry;

void msb_tar_writer_init (msb_tar_writer *w, msb_tar_write_fn write, void *ctx);

/* Header of the next entry; a regular file's `size` bytes must follow through
 * msb_tar_write_data before the next header. */
int msb_tar_write_header (msb_tar_writer *w, const msb_tar_entry *e, msb_error **err);
int msb_tar_write_data (msb_tar_writer *w, const void *buf, size_t n, msb_error **err);

/* The end-of-archive marker (two zero blocks). */
int msb_tar_finish (msb_tar_writer *w, msb_error **err);

#endif
