/* image save: re-tar each distinct layer into an O_TMPFILE under cache/tmp (hashing it on
 * the way: its digest is the new diff_id and blob digest), rewrite the configs' diff_ids,
 * then stream the archive — docker or OCI layout — to the output fd. */
#include "lib/image/save.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/image/tar_writer.h"
#include "lib/json_cleanup.h"

#define CHUNK (1u << 20)
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

int
msb_image_store_config_json (msb_db *db, const char *manifest_digest, char **out,
                             msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT config_json FROM manifests WHERE digest = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, manifest_digest, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_ROW)
    return msb_fail (err, MSB_ERR_IMAGE_NOT_FOUND, "manifest %s is not in the local store",
                     manifest_digest);
  *out = msb_db_column_strdup (st, 0);
  return 0;
}

/* ---- writing to an fd while hashing ---- */

typedef struct sink
{
  int fd;
  msb_sha256 hash;
  uint64_t size;
} sink;

static int
sink_write (void *ud, const void *buf, size_t n, msb_error **err)
{
  sink *s = ud;
  if (msb_write_full (s->fd, buf, n) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write the image archive");
  msb_sha256_update (&s->hash, buf, n);
  s->size += n;
  return 0;
}

/* ---- re-tarring one layer ---- */

typedef struct link_seen
{
  dev_t dev;
  ino_t ino;
  char *path;
} link_seen;

typedef struct layer_tar
{
  msb_tar_writer *w;
  link_seen *links;
  size_t n_links;
  unsigned char *buf;
} layer_tar;

static int
compare_names (const void *x, const void *y)
{
  return strcmp (*(char *const *) x, *(char *const *) y);
}

/* Sorted names of a directory (without . and ..). */
static int
list_dir (int dfd, char ***out, size_t *n, msb_error **err)
{
  int fd = dup (dfd);
  _msb_cleanup_dir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "list a layer directory");
    }
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (count == cap)
        {
          cap = cap ? cap * 2 : 32;
          names = msb_xrealloc (names, cap * sizeof (char *));
        }
      names[count++] = msb_xstrdup (de->d_name);
    }
  if (count > 1)
    qsort (names, count, sizeof (char *), compare_names);
  *out = names;
  *n = count;
  return 0;
}

static msb_tar_entry
entry_of (const char *path, const struct stat *st, char type)
{
  return (msb_tar_entry){ .path = path, .type = type, .mode = st->st_mode, .uid = st->st_uid,
                          .gid = st->st_gid, .mtime = st->st_mtim.tv_sec };
}

static int
write_empty_file (layer_tar *t, const char *path, msb_error **err)
{
  msb_tar_entry e = { .path = path, .type = MSB_TAR_REG, .mode = 0644 };
  return msb_tar_write_header (t->w, &e, err);
}

static int
copy_file (layer_tar *t, int dfd, const char *name, const char *path, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s` in a layer", path);
  for (;;)
    {
      ssize_t n = read (fd, t->buf, CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "read `%s` in a layer", path);
      if (n == 0)
        return 0;
      if (msb_tar_write_data (t->w, t->buf, (size_t) n, err) < 0)
        return -1;
    }
}

static const char *
hardlink_of (layer_tar *t, const struct stat *st, const char *path)
{
  for (size_t i = 0; i < t->n_links; i++)
    if (t->links[i].dev == st->st_dev && t->links[i].ino == st->st_ino)
      return t->links[i].path;
  t->links = msb_xrealloc (t->links, (t->n_links + 1) * sizeof *t->links);
  t->links[t->n_links++] = (link_seen){ st->st_dev, st->st_ino, msb_xstrdup (path) };
  return NULL;
}

static int walk (layer_tar *t, int dfd, const char *prefix, msb_error **err);

static int
write_node (layer_tar *t, int dfd, const char *name, const char *prefix, msb_error **err)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "stat `%s%s` in a layer", prefix, name);
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s%s", prefix, name);
  /* An overlay whiteout (char 0/0) is OCI's ".wh.<name>". */
  if (S_ISCHR (st.st_mode) && major (st.st_rdev) == 0 && minor (st.st_rdev) == 0)
    {
      _msb_cleanup_free_ char *wh = msb_xasprintf ("%s.wh.%s", prefix, name);
      return write_empty_file (t, wh, err);
    }
  if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISSOCK (st.st_mode))
    return 0; /* the unpacker never creates these: nothing to carry */
  if (S_ISREG (st.st_mode))
    {
      const char *first = st.st_nlink > 1 ? hardlink_of (t, &st, path) : NULL;
      msb_tar_entry e = entry_of (path, &st, first ? MSB_TAR_HARDLINK : MSB_TAR_REG);
      e.link = first;
      e.size = first ? 0 : (uint64_t) st.st_size;
      if (msb_tar_write_header (t->w, &e, err) < 0)
        return -1;
      return first ? 0 : copy_file (t, dfd, name, path, err);
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (dfd, name, target, PATH_MAX);
      if (n < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "read link `%s` in a layer", path);
      target[n] = '\0';
      msb_tar_entry e = entry_of (path, &st, MSB_TAR_SYMLINK);
      e.link = target;
      return msb_tar_write_header (t->w, &e, err);
    }
  if (S_ISFIFO (st.st_mode))
    {
      msb_tar_entry e = entry_of (path, &st, MSB_TAR_FIFO);
      return msb_tar_write_header (t->w, &e, err);
    }
  if (!S_ISDIR (st.st_mode))
    return 0;
  msb_tar_entry e = entry_of (path, &st, MSB_TAR_DIR);
  if (msb_tar_write_header (t->w, &e, err) < 0)
    return -1;
  _msb_cleanup_close_ int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s` in a layer", path);
  _msb_cleanup_free_ char *child = msb_xasprintf ("%s/", path);
  char v[2] = { 0 };
  if (fgetxattr (sub, "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y')
    {
      _msb_cleanup_free_ char *opq = msb_xasprintf ("%s.wh..wh..opq", child);
      if (write_empty_file (t, opq, err) < 0)
        return -1;
    }
  return walk (t, sub, child, err);
}

static int
walk (layer_tar *t, int dfd, const char *prefix, msb_error **err)
{
  char **names = NULL;
  size_t n = 0;
  if (list_dir (dfd, &names, &n, err) < 0)
    return -1;
  int r = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (r == 0)
        r = write_node (t, dfd, names[i], prefix, err);
      free (names[i]);
    }
  free (names);
  return r;
}

/* Tars cache/layers/<diff_id> into a new O_TMPFILE; *digest is the tar's sha256. */
static int
tar_layer (const msb_home *home, const char *diff_id, int *out_fd, char digest[MSB_DIGEST_STRLEN],
           uint64_t *size, msb_error **err)
{
  _msb_cleanup_free_ char *rel = msb_xasprintf ("cache/layers/%s", msb_digest_hex (diff_id));
  _msb_cleanup_close_ int root = openat (home->root_fd, rel,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open layer %s", diff_id);
  _msb_cleanup_free_ char *tmpdir = msb_home_path (home, "cache/tmp");
  _msb_cleanup_close_ int fd = open (tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create a temp file in `%s`", tmpdir);
  sink s = { .fd = fd };
  msb_sha256_init (&s.hash);
  msb_tar_writer w;
  msb_tar_writer_init (&w, sink_write, &s);
  layer_tar t = { .w = &w, .buf = msb_xmalloc (CHUNK) };
  int r = walk (&t, root, "", err);
  if (r == 0)
    r = msb_tar_finish (&w, err);
  for (size_t i = 0; i < t.n_links; i++)
    free (t.links[i].path);
  free (t.links);
  free (t.buf);
  msb_sha256_final (&s.hash, digest);
  if (r < 0)
    return msb_error_prefix (err, "re-tar layer %s", diff_id);
  *size = s.size;
  *out_fd = msb_steal_fd (&fd);
  return 0;
}

/* ---- the archive ---- */

typedef struct saved_layer
{
  const char *old_diff_id;
  char digest[MSB_DIGEST_STRLEN]; /* of the re-tarred tar */
  uint64_t size;
  int fd;
} saved_layer;

typedef struct saved_image
{
  const msb_image *img;
  char *config;
  char config_digest[MSB_DIGEST_STRLEN];
  size_t *layer; /* index into the saved layers, per image layer */
  char *manifest;
  char manifest_digest[MSB_DIGEST_STRLEN];
} saved_image;

static int
add_bytes (msb_tar_writer *a, const char *path, const void *data, size_t n, msb_error **err)
{
  msb_tar_entry e = { .path = path, .type = MSB_TAR_REG, .mode = 0644, .size = n };
  if (msb_tar_write_header (a, &e, err) < 0 || msb_tar_write_data (a, data, n, err) < 0)
    return msb_error_prefix (err, "write `%s`", path);
  return 0;
}

static int
add_dir (msb_tar_writer *a, const char *path, msb_error **err)
{
  msb_tar_entry e = { .path = path, .type = MSB_TAR_DIR, .mode = 0755 };
  return msb_tar_write_header (a, &e, err);
}

static int
add_fd (msb_tar_writer *a, const char *path, int fd, uint64_t size, msb_error **err)
{
  msb_tar_entry e = { .path = path, .type = MSB_TAR_REG, .mode = 0644, .size = size };
  if (msb_tar_write_header (a, &e, err) < 0)
    return -1;
  _msb_cleanup_free_ unsigned char *buf = msb_xmalloc (CHUNK);
  uint64_t left = size;
  off_t off = 0;
  while (left > 0)
    {
      ssize_t n = pread (fd, buf, left < CHUNK ? left : CHUNK, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return msb_fail_errno (err, n < 0 ? errno : EIO, MSB_ERR_IO, "read a re-tarred layer");
      if (msb_tar_write_data (a, buf, (size_t) n, err) < 0)
        return -1;
      left -= (uint64_t) n;
      off += n;
    }
  return 0;
}

/* The config with rootfs.diff_ids replaced by the re-tarred layers' digests. */
static int
rewrite_config (const char *config, saved_image *si, saved_layer *layers, msb_error **err)
{
  json_error_t jerr;
  _msb_cleanup_json_ json_t *root = json_loads (config, 0, &jerr);
  json_t *rootfs = json_object_get (root, "rootfs");
  if (!json_is_object (rootfs))
    return msb_fail (err, MSB_ERR_IO, "stored config of %s has no rootfs", si->img->reference);
  json_t *ids = json_array ();
  for (size_t i = 0; i < si->img->layer_count; i++)
    json_array_append_new (ids, json_string (layers[si->layer[i]].digest));
  json_object_set_new (rootfs, "diff_ids", ids);
  si->config = json_dumps (root, JSON_COMPACT);
  if (si->config == NULL)
    abort ();
  msb_sha256_digest (si->config, strlen (si->config), si->config_digest);
  return 0;
}

static void
build_oci_manifest (saved_image *si, saved_layer *layers)
{
  json_t *ls = json_array ();
  for (size_t i = 0; i < si->img->layer_count; i++)
    {
      saved_layer *l = &layers[si->layer[i]];
      json_array_append_new (ls, json_pack ("{s:s, s:s, s:I}", "mediaType", MT_OCI_LAYER,
                                            "digest", l->digest, "size", (json_int_t) l->size));
    }
  json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                         MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest",
                         si->config_digest, "size", (json_int_t) strlen (si->config), "layers",
                         ls);
  si->manifest = json_dumps (m, JSON_COMPACT);
  json_decref (m);
  if (si->manifest == NULL)
    abort ();
  msb_sha256_digest (si->manifest, strlen (si->manifest), si->manifest_digest);
}

static char *
blob_path (const char *digest)
{
  return msb_xasprintf ("blobs/sha256/%s", msb_digest_hex (digest));
}

static int
write_oci (msb_tar_writer *a, saved_image *imgs, size_t n, saved_layer *layers, size_t n_layers,
           msb_error **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  if (add_bytes (a, "oci-layout", layout, sizeof layout - 1, err) < 0
      || add_dir (a, "blobs", err) < 0 || add_dir (a, "blobs/sha256", err) < 0)
    return -1;
  for (size_t i = 0; i < n_layers; i++)
    {
      _msb_cleanup_free_ char *p = blob_path (layers[i].digest);
      if (add_fd (a, p, layers[i].fd, layers[i].size, err) < 0)
        return -1;
    }
  json_t *entries = json_array ();
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++)
    {
      build_oci_manifest (&imgs[i], layers);
      _msb_cleanup_free_ char *cp = blob_path (imgs[i].config_digest);
      _msb_cleanup_free_ char *mp = blob_path (imgs[i].manifest_digest);
      r = add_bytes (a, cp, imgs[i].config, strlen (imgs[i].config), err);
      if (r == 0)
        r = add_bytes (a, mp, imgs[i].manifest, strlen (imgs[i].manifest), err);
      json_array_append_new (
          entries, json_pack ("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", MT_OCI_MANIFEST,
                              "digest", imgs[i].manifest_digest, "size",
                              (json_int_t) strlen (imgs[i].manifest), "annotations",
                              "org.opencontainers.image.ref.name", imgs[i].img->reference,
                              "io.containerd.image.name", imgs[i].img->reference));
    }
  json_t *index = json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                             "manifests", entries);
  char *text = json_dumps (index, JSON_COMPACT);
  json_decref (index);
  if (r == 0)
    r = add_bytes (a, "index.json", text, strlen (text), err);
  free (text);
  return r;
}

/* docker save: RepoTags take tags only (a digest reference is not a tag). */
static json_t *
repo_tags (const char *reference)
{
  json_t *tags = json_array ();
  if (strchr (reference, '@') == NULL)
    json_array_append_new (tags, json_string (reference));
  return tags;
}

static int
write_docker (msb_tar_writer *a, saved_image *imgs, size_t n, saved_layer *layers,
              size_t n_layers, msb_error **err)
{
  for (size_t i = 0; i < n_layers; i++)
    {
      const char *hex = msb_digest_hex (layers[i].digest);
      _msb_cleanup_free_ char *dir = msb_xstrdup (hex);
      _msb_cleanup_free_ char *tar = msb_xasprintf ("%s/layer.tar", hex);
      _msb_cleanup_free_ char *ver = msb_xasprintf ("%s/VERSION", hex);
      if (add_dir (a, dir, err) < 0 || add_bytes (a, ver, "1.0", 3, err) < 0
          || add_fd (a, tar, layers[i].fd, layers[i].size, err) < 0)
        return -1;
    }
  json_t *manifest = json_array ();
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++)
    {
      saved_image *si = &imgs[i];
      _msb_cleanup_free_ char *cfg = msb_xasprintf ("%s.json", msb_digest_hex (si->config_digest));
      r = add_bytes (a, cfg, si->config, strlen (si->config), err);
      json_t *ls = json_array ();
      for (size_t k = 0; k < si->img->layer_count; k++)
        json_array_append_new (ls, json_sprintf ("%s/layer.tar",
                                                 msb_digest_hex (layers[si->layer[k]].digest)));
      json_array_append_new (manifest, json_pack ("{s:s, s:o, s:o}", "Config", cfg, "RepoTags",
                                                  repo_tags (si->img->reference), "Layers", ls));
    }
  char *text = json_dumps (manifest, JSON_COMPACT);
  json_decref (manifest);
  if (r == 0)
    r = add_bytes (a, "manifest.json", text, strlen (text), err);
  free (text);
  return r;
}

static int
prepare_layers (const msb_home *home, saved_image *imgs, size_t n, saved_layer **out,
                size_t *n_out, msb_error **err)
{
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += imgs[i].img->layer_count;
  saved_layer *layers = msb_xcalloc (total ? total : 1, sizeof *layers);
  size_t count = 0;
  *out = layers;
  for (size_t i = 0; i < n; i++)
    {
      imgs[i].layer = msb_xcalloc (imgs[i].img->layer_count + 1, sizeof (size_t));
      for (size_t k = 0; k < imgs[i].img->layer_count; k++)
        {
          const char *id = imgs[i].img->diff_ids[k];
          size_t j = 0;
          while (j < count && strcmp (layers[j].old_diff_id, id) != 0)
            j++;
          if (j == count)
            {
              layers[j].old_diff_id = id;
              layers[j].fd = -1;
              if (tar_layer (home, id, &layers[j].fd, layers[j].digest, &layers[j].size, err) < 0)
                {
                  *n_out = count;
                  return -1;
                }
              count++;
            }
          imgs[i].layer[k] = j;
        }
    }
  *n_out = count;
  return 0;
}

int
msb_image_store_save (const msb_home *home, const msb_image *imgs, const char *const *configs,
                      size_t n, msb_save_format format, int out_fd, msb_error **err)
{
  saved_image *si = msb_xcalloc (n ? n : 1, sizeof *si);
  for (size_t i = 0; i < n; i++)
    si[i].img = &imgs[i];
  saved_layer *layers = NULL;
  size_t n_layers = 0;
  int r = prepare_layers (home, si, n, &layers, &n_layers, err);
  for (size_t i = 0; i < n && r == 0; i++)
    r = rewrite_config (configs[i], &si[i], layers, err);
  if (r == 0)
    {
      sink s = { .fd = out_fd };
      msb_sha256_init (&s.hash);
      msb_tar_writer w;
      msb_tar_writer_init (&w, sink_write, &s);
      r = format == MSB_SAVE_OCI ? write_oci (&w, si, n, layers, n_layers, err)
                                 : write_docker (&w, si, n, layers, n_layers, err);
      if (r == 0)
        r = msb_tar_finish (&w, err);
      msb_sha256_dispose (&s.hash);
    }
  for (size_t i = 0; i < n_layers; i++)
    if (layers[i].fd >= 0)
      close (layers[i].fd);
  free (layers);
  for (size_t i = 0; i < n; i++)
    {
      free (si[i].config);
      free (si[i].layer);
      free (si[i].manifest);
    }
  free (si);
  return r;
}
