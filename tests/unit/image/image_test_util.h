/* Helpers for the image tests: a temp MSB_HOME with its database, and crafted layer tars
 * (built with libarchive's write API, plain / gzip / zstd) with their digests. */
#ifndef MSB_TEST_IMAGE_UTIL_H
#define MSB_TEST_IMAGE_UTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "lib/db.h"
#include "lib/home.h"
#include "lib/image/digest.h"
#include "lib/image/layer_cache.h"
#include "lib/image/unpack.h"

/* ---- a temp MSB_HOME ---- */

typedef struct test_home
{
  char dir[64]; /* the temp parent: holds home/ and room for canaries */
  char *root;   /* dir/home */
  msb_home home;
  msb_db db;
} test_home;

static inline void
test_home_open (test_home *t)
{
  memset (t, 0, sizeof *t);
  snprintf (t->dir, sizeof t->dir, "/tmp/msb-image-test-XXXXXX");
  if (mkdtemp (t->dir) == NULL)
    abort ();
  t->root = msb_xasprintf ("%s/home", t->dir);
  msb_error *err = NULL;
  if (msb_home_open (&t->home, t->root, &err) < 0 || msb_db_open (&t->db, &t->home, &err) < 0)
    {
      fprintf (stderr, "test home: %s\n", msb_error_get_message (err));
      abort ();
    }
}

static inline void
test_home_close (test_home *t)
{
  msb_db_close (&t->db);
  msb_home_close (&t->home);
  msb_error *err = NULL;
  msb_rm_rf_at (AT_FDCWD, t->dir, &err);
  msb_error_free (err);
  free (t->root);
}

/* Number of entries in home/<rel> (excluding . and ..). */
static inline int
test_count_dir (test_home *t, const char *rel)
{
  char *p = msb_xasprintf ("%s/%s", t->root, rel);
  int n = 0;
  DIR *d = opendir (p);
  free (p);
  if (d == NULL)
    return -1;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    n += strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
  closedir (d);
  return n;
}

/* ---- crafted layers ---- */

typedef enum
{
  LAYER_PLAIN,
  LAYER_GZIP,
  LAYER_ZSTD
} layer_compression;

typedef struct layer
{
  struct archive *a;
  msb_buf tar;                         /* the uncompressed tar */
  msb_buf blob;                        /* after finish: the (compressed) blob */
  char diff_id[MSB_DIGEST_STRLEN];     /* after finish */
  char blob_digest[MSB_DIGEST_STRLEN]; /* after finish */
} layer;

static inline la_ssize_t
layer_write_cb (struct archive *a, void *ctx, const void *buf, size_t n)
{
  msb_buf_append (ctx, buf, n);
  return (la_ssize_t) n;
}

static inline void
layer_begin (layer *l)
{
  memset (l, 0, sizeof *l);
  l->a = archive_write_new ();
  archive_write_set_format_pax_restricted (l->a);
  archive_write_set_bytes_in_last_block (l->a, 1);
  archive_write_open (l->a, &l->tar, NULL, layer_write_cb, NULL);
}

/* Adds an entry; `data` (size bytes) is written for regular files. */
static inline void
layer_entry (layer *l, const char *path, mode_t type_mode, const void *data, int64_t size,
             int64_t uid, int64_t gid, time_t mtime, const char *symlink, const char *hardlink,
             dev_t rdev)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_mode (e, type_mode);
  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  archive_entry_set_mtime (e, mtime, 0);
  if (symlink)
    archive_entry_set_symlink (e, symlink);
  if (hardlink)
    archive_entry_set_hardlink (e, hardlink);
  if (rdev)
    archive_entry_set_rdev (e, rdev);
  archive_entry_set_size (e, S_ISREG (type_mode) && !hardlink ? size : 0);
  if (archive_write_header (l->a, e) < ARCHIVE_WARN)
    {
      fprintf (stderr, "layer_entry %s: %s\n", path, archive_error_string (l->a));
      abort ();
    }
  if (data && size)
    archive_write_data (l->a, data, (size_t) size);
  archive_entry_free (e);
}

static inline void
layer_file (layer *l, const char *path, const char *content, mode_t mode)
{
  layer_entry (l, path, S_IFREG | mode, content, (int64_t) strlen (content), 0, 0, 1000000000,
               NULL, NULL, 0);
}

static inline void
layer_dir (layer *l, const char *path, mode_t mode)
{
  layer_entry (l, path, S_IFDIR | mode, NULL, 0, 0, 0, 1000000000, NULL, NULL, 0);
}

static inline void
layer_symlink (layer *l, const char *path, const char *target)
{
  layer_entry (l, path, S_IFLNK | 0777, NULL, 0, 0, 0, 1000000000, target, NULL, 0);
}

static inline void
layer_hardlink (layer *l, const char *path, const char *target)
{
  layer_entry (l, path, S_IFREG | 0644, NULL, 0, 0, 0, 1000000000, NULL, target, 0);
}

static inline void
compress_into (const msb_buf *in, layer_compression c, msb_buf *out)
{
  if (c == LAYER_PLAIN)
    {
      msb_buf_append (out, in->data, in->len);
      return;
    }
  struct archive *a = archive_write_new ();
  if (c == LAYER_GZIP)
    archive_write_add_filter_gzip (a);
  else
    archive_write_add_filter_zstd (a);
  archive_write_set_format_raw (a);
  archive_write_set_bytes_in_last_block (a, 1);
  archive_write_open (a, out, NULL, layer_write_cb, NULL);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, "data");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_write_header (a, e);
  archive_write_data (a, in->data, in->len);
  archive_entry_free (e);
  archive_write_close (a);
  archive_write_free (a);
}

/* Ends the tar (so a test may patch its bytes before layer_compress). */
static inline void
layer_close_tar (layer *l)
{
  archive_write_close (l->a);
  archive_write_free (l->a);
  l->a = NULL;
}

/* Sets the size field of the ustar header of `name` to `size` (base-256, as GNU tar writes
 * big sizes) and fixes the checksum: a header can claim a size no data backs. */
static inline void
layer_patch_size (layer *l, const char *name, uint64_t size)
{
  for (size_t off = 0; off + 512 <= l->tar.len; off += 512)
    {
      unsigned char *h = l->tar.data + off;
      if (strcmp ((char *) h, name) != 0 || memcmp (h + 257, "ustar", 5) != 0)
        continue;
      memset (h + 124, 0, 12);
      h[124] = 0x80;
      for (int i = 0; i < 8; i++)
        h[135 - i] = (unsigned char) (size >> (8 * i));
      memset (h + 148, ' ', 8);
      unsigned sum = 0;
      for (int i = 0; i < 512; i++)
        sum += h[i];
      snprintf ((char *) h + 148, 8, "%06o", sum);
      h[155] = ' ';
      return;
    }
  abort ();
}

/* Compresses the closed tar and computes both digests. */
static inline void
layer_compress (layer *l, layer_compression c)
{
  compress_into (&l->tar, c, &l->blob);
  msb_sha256_digest (l->tar.data, l->tar.len, l->diff_id);
  msb_sha256_digest (l->blob.data, l->blob.len, l->blob_digest);
}

static inline void
layer_finish (layer *l, layer_compression c)
{
  layer_close_tar (l);
  layer_compress (l, c);
}

static inline void
layer_free (layer *l)
{
  if (l->a)
    archive_write_free (l->a);
  msb_buf_free (&l->tar);
  msb_buf_free (&l->blob);
}

typedef struct mem_src
{
  const void *data;
  size_t len, off, chunk;
} mem_src;

/* Hands out the blob in small chunks, so the pipeline sees many callbacks. */
static inline ssize_t
mem_src_read (void *ctx, const void **buf, msb_error **err)
{
  mem_src *m = ctx;
  size_t n = m->len - m->off;
  if (n > m->chunk)
    n = m->chunk;
  *buf = (const char *) m->data + m->off;
  m->off += n;
  return (ssize_t) n;
}

/* Materializes `l` into the test cache; the expected digests are the layer's own unless
 * overridden. */
static inline int
test_materialize (test_home *t, layer *l, const char *diff_id, const char *blob_digest,
                  const msb_unpack_opts *opts, msb_unpack_result *res, msb_error **err)
{
  mem_src m = { l->blob.data, l->blob.len, 0, 7000 };
  msb_unpack_result local;
  return msb_image_layer_materialize (&t->home, &t->db, diff_id ? diff_id : l->diff_id,
                                      blob_digest, mem_src_read, &m, opts, res ? res : &local,
                                      NULL, err);
}

/* "<home>/cache/layers/<hex>/<rel>", newly allocated. */
static inline char *
layer_file_path (test_home *t, const layer *l, const char *rel)
{
  return msb_xasprintf ("%s/cache/layers/%s/%s", t->root, msb_digest_hex (l->diff_id), rel);
}

static inline char *
read_text (const char *path)
{
  char *data = NULL;
  if (msb_read_file_at (AT_FDCWD, path, 1 << 20, &data, NULL, NULL) < 0)
    return NULL;
  return data;
}

#define SKIP_UNLESS_ROOT()                                       \
  do                                                             \
    {                                                            \
      if (geteuid () != 0)                                       \
        {                                                        \
          printf ("# skipped %s: needs root\n", __func__);      \
          return;                                                \
        }                                                        \
    }                                                            \
  while (0)

#endif
