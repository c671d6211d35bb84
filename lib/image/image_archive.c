/* The input of `image load`: a directory (read through RESOLVE_IN_ROOT) or a tar read in two
 * passes — the first keeps small files (manifests, configs, small blobs) in memory and
 * indexes links, the second streams the wanted big blobs straight into the unpacker, so
 * layer bytes are never copied to disk before they are unpacked. */
#include "lib/image/image_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/inroot.h"

/* Files up to this size are kept from the first pass, up to this total. */
#define SMALL_FILE_MAX (4u << 20)
#define SMALL_TOTAL_MAX (256u << 20)
#define LINK_HOPS_MAX 16
#define CHUNK (1u << 20)

typedef struct tar_file
{
  char *name;   /* normalised */
  char *link;   /* normalised target of a symlink or hardlink, else NULL */
  bool is_regular;
  int64_t size;
  unsigned char *data; /* kept content of a small file, else NULL */
} tar_file;

struct msb_image_source
{
  char *path;
  int dir_fd; /* >= 0 for a directory */
  tar_file *files;
  size_t n_files, cap_files;
};

static struct archive *
tar_reader_new (void)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    abort ();
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  return a;
}

static void
cleanup_archive (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}
#define _cleanup_archive_ __attribute__ ((cleanup (cleanup_archive)))

static int
open_tar (msb_image_source *s, struct archive *a, msb_error **err)
{
  if (archive_read_open_filename (a, s->path, CHUNK) != ARCHIVE_OK)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "read image archive `%s`: %s", s->path,
                     archive_error_string (a));
  return 0;
}

/* A symlink's target is relative to its own directory; both are confined to the tar. */
static int
link_target (struct archive_entry *e, const char *name, char **out, msb_error **err)
{
  const char *hard = archive_entry_hardlink (e);
  const char *sym = archive_entry_symlink (e);
  *out = NULL;
  if (hard)
    return msb_inroot_normalize (hard, out, err);
  if (sym == NULL)
    return 0;
  const char *slash = strrchr (name, '/');
  _msb_cleanup_free_ char *joined
      = sym[0] == '/' || slash == NULL ? msb_xstrdup (sym)
                                       : msb_xasprintf ("%.*s/%s", (int) (slash - name), name, sym);
  return msb_inroot_normalize (joined, out, err);
}

static int
keep_small (struct archive *a, tar_file *f, size_t *kept, msb_error **err)
{
  if (!f->is_regular || f->link || f->size > (int64_t) SMALL_FILE_MAX
      || *kept + (size_t) f->size > SMALL_TOTAL_MAX)
    return 0;
  f->data = msb_xmalloc ((size_t) f->size + 1);
  la_ssize_t n = archive_read_data (a, f->data, (size_t) f->size);
  if (n != (la_ssize_t) f->size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "read `%s` from image archive: %s", f->name,
                     n < 0 ? archive_error_string (a) : "truncated");
  f->data[f->size] = '\0';
  *kept += (size_t) f->size;
  return 0;
}

static int
index_tar (msb_image_source *s, msb_error **err)
{
  _cleanup_archive_ struct archive *a = tar_reader_new ();
  if (open_tar (s, a, err) < 0)
    return -1;
  size_t kept = 0;
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) >= ARCHIVE_WARN && r != ARCHIVE_EOF)
    {
      const char *raw = archive_entry_pathname (e);
      if (raw == NULL)
        raw = archive_entry_pathname_utf8 (e);
      _msb_cleanup_free_ char *name = NULL;
      if (raw == NULL || msb_inroot_normalize (raw, &name, err) < 0)
        return msb_error_prefix (err, "read image archive `%s`", s->path);
      if (s->n_files == s->cap_files)
        {
          s->cap_files = s->cap_files ? s->cap_files * 2 : 32;
          s->files = msb_xrealloc (s->files, s->cap_files * sizeof *s->files);
        }
      tar_file *f = &s->files[s->n_files++];
      *f = (tar_file){ .name = msb_steal_pointer (&name),
                       .is_regular = archive_entry_filetype (e) == AE_IFREG,
                       .size = archive_entry_size (e) };
      if (link_target (e, f->name, &f->link, err) < 0 || keep_small (a, f, &kept, err) < 0)
        return msb_error_prefix (err, "read image archive `%s`", s->path);
    }
  if (r != ARCHIVE_EOF)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "read image archive `%s`: %s", s->path,
                     archive_error_string (a));
  return 0;
}

int
msb_image_source_open (const char *path, msb_image_source **out, msb_error **err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open image archive `%s`", path);
  msb_image_source *s = msb_xcalloc (1, sizeof *s);
  s->path = msb_xstrdup (path);
  s->dir_fd = -1;
  if (S_ISDIR (st.st_mode))
    {
      s->dir_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (s->dir_fd < 0)
        {
          msb_fail_errno (err, errno, MSB_ERR_IO, "open image layout `%s`", path);
          msb_image_source_free (s);
          return -1;
        }
    }
  else if (index_tar (s, err) < 0)
    {
      msb_image_source_free (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
msb_image_source_free (msb_image_source *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n_files; i++)
    {
      free (s->files[i].name);
      free (s->files[i].link);
      free (s->files[i].data);
    }
  free (s->files);
  if (s->dir_fd >= 0)
    close (s->dir_fd);
  free (s->path);
  free (s);
}

/* The last entry of that name wins, as when a tar is extracted. */
static tar_file *
find_entry (msb_image_source *s, const char *name)
{
  for (size_t i = s->n_files; i-- > 0;)
    if (strcmp (s->files[i].name, name) == 0)
      return &s->files[i];
  return NULL;
}

/* Follows links inside the tar to the regular file that holds the content. */
static tar_file *
find_file (msb_image_source *s, const char *path)
{
  _msb_cleanup_free_ char *name = NULL;
  if (msb_inroot_normalize (path, &name, NULL) < 0)
    return NULL;
  tar_file *f = find_entry (s, name);
  for (int hops = 0; f && f->link && hops < LINK_HOPS_MAX; hops++)
    f = find_entry (s, f->link);
  return f && f->is_regular && !f->link ? f : NULL;
}

/* Opens a regular file of a layout directory; O_NONBLOCK so a planted fifo cannot hang us. */
static int
dir_open (msb_image_source *s, const char *path, msb_error **err)
{
  _msb_cleanup_free_ char *name = NULL;
  if (msb_inroot_normalize (path, &name, err) < 0)
    return -1;
  _msb_cleanup_close_ int fd = msb_inroot_open (s->dir_fd, name, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IMAGE_PULL_FAILED, "open `%s` in `%s`", path,
                           s->path);
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "`%s` in `%s` is not a regular file", path,
                     s->path);
  return msb_steal_fd (&fd);
}

bool
msb_image_source_has (msb_image_source *s, const char *path)
{
  if (s->dir_fd < 0)
    return find_file (s, path) != NULL;
  int fd = dir_open (s, path, NULL);
  if (fd >= 0)
    close (fd);
  return fd >= 0;
}

int
msb_image_source_read (msb_image_source *s, const char *path, size_t max, char **out,
                       size_t *out_len, msb_error **err)
{
  if (s->dir_fd >= 0)
    {
      _msb_cleanup_close_ int fd = dir_open (s, path, err);
      if (fd < 0)
        return -1;
      if (msb_read_fd_all (fd, max, out, out_len) < 0)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "read `%s` in `%s`: unreadable or larger than %zu bytes", path, s->path,
                         max);
      return 0;
    }
  tar_file *f = find_file (s, path);
  if (f == NULL)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "`%s` is missing from image archive `%s`",
                     path, s->path);
  if (f->data == NULL || (size_t) f->size > max)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "`%s` in image archive `%s` is too large",
                     path, s->path);
  *out = msb_xmalloc ((size_t) f->size + 1);
  memcpy (*out, f->data, (size_t) f->size + 1);
  if (out_len)
    *out_len = (size_t) f->size;
  return 0;
}

/* ---- streaming ---- */

typedef struct mem_reader
{
  const void *data;
  size_t len;
  bool done;
} mem_reader;

static ssize_t
mem_read (void *ctx, const void **buf, msb_error **err)
{
  mem_reader *m = ctx;
  if (m->done)
    return 0;
  m->done = true;
  *buf = m->data;
  return (ssize_t) m->len;
}

typedef struct entry_reader
{
  struct archive *a;
  unsigned char *buf;
} entry_reader;

static ssize_t
entry_read (void *ctx, const void **buf, msb_error **err)
{
  entry_reader *r = ctx;
  la_ssize_t n = archive_read_data (r->a, r->buf, CHUNK);
  if (n < 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "read image archive: %s",
                     archive_error_string (r->a));
  *buf = r->buf;
  return n;
}

static int
stream_dir (msb_image_source *s, const char *const *paths, size_t n, msb_image_blob_fn fn,
            void *ctx, msb_error **err)
{
  for (size_t i = 0; i < n; i++)
    {
      _msb_cleanup_close_ int fd = dir_open (s, paths[i], err);
      if (fd < 0)
        return -1;
      msb_fd_reader r;
      msb_fd_reader_init (&r, fd);
      int rc = fn (ctx, i, msb_fd_reader_read, &r, err);
      msb_fd_reader_clear (&r);
      if (rc < 0)
        return -1;
    }
  return 0;
}

/* Second pass over the tar for the files the first pass did not keep. */
static int
stream_tar_pass (msb_image_source *s, tar_file **want, size_t n, size_t remaining,
                 msb_image_blob_fn fn, void *ctx, msb_error **err)
{
  _cleanup_archive_ struct archive *a = tar_reader_new ();
  if (open_tar (s, a, err) < 0)
    return -1;
  entry_reader r = { .a = a, .buf = msb_xmalloc (CHUNK) };
  struct archive_entry *e;
  int rc = 0, ar;
  size_t idx = 0; /* entries come in the same order as in the first pass */
  while (remaining > 0 && (ar = archive_read_next_header (a, &e)) >= ARCHIVE_WARN
         && ar != ARCHIVE_EOF)
    {
      tar_file *f = idx < s->n_files ? &s->files[idx++] : NULL;
      for (size_t i = 0; f && i < n && rc == 0; i++)
        if (want[i] == f)
          {
            rc = fn (ctx, i, entry_read, &r, err);
            remaining--;
            break;
          }
      if (rc < 0)
        break;
    }
  free (r.buf);
  if (rc == 0 && remaining > 0)
    rc = msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "image archive `%s` changed while reading it",
                   s->path);
  return rc;
}

static int
stream_tar (msb_image_source *s, const char *const *paths, size_t n, msb_image_blob_fn fn,
            void *ctx, msb_error **err)
{
  _msb_cleanup_free_ tar_file **want = msb_xcalloc (n ? n : 1, sizeof *want);
  size_t remaining = 0;
  for (size_t i = 0; i < n; i++)
    {
      want[i] = find_file (s, paths[i]);
      if (want[i] == NULL)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "`%s` is missing from image archive `%s`", paths[i], s->path);
      for (size_t j = 0; j < i; j++)
        if (want[j] == want[i])
          return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                           "image archive `%s` uses `%s` for two different layers", s->path,
                           paths[i]);
    }
  for (size_t i = 0; i < n; i++)
    {
      if (want[i]->data == NULL)
        {
          remaining++;
          continue;
        }
      mem_reader m = { .data = want[i]->data, .len = (size_t) want[i]->size };
      if (fn (ctx, i, mem_read, &m, err) < 0)
        return -1;
      want[i] = NULL;
    }
  return remaining ? stream_tar_pass (s, want, n, remaining, fn, ctx, err) : 0;
}

int
msb_image_source_stream (msb_image_source *s, const char *const *paths, size_t n,
                         msb_image_blob_fn fn, void *ctx, msb_error **err)
{
  if (s->dir_fd >= 0)
    return stream_dir (s, paths, n, fn, ctx, err);
  return stream_tar (s, paths, n, fn, ctx, err);
}
