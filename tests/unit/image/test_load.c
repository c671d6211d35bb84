/* `image load` and lookups: OCI layout directories, OCI archive tars and docker-archive tars
 * built here, the platform choice of image indexes, forged blobs, and the busybox image
 * script. */
#include <sys/wait.h>

#include "common/cleanup.h"
#include "lib/image/image_archive.h"
#include "lib/image/store.h"
#include "tests/unit/image/image_test_util.h"
#include "tests/unit/test.h"

#ifndef MSB_SOURCE_ROOT
#define MSB_SOURCE_ROOT "."
#endif

/* ---- an image's files, written out as a directory or a tar ---- */

typedef struct image_file
{
  char *path;
  msb_buf data;
  char *symlink; /* when set, the file is a symlink (tar only) */
} image_file;

typedef struct image_files
{
  image_file f[16];
  size_t n;
} image_files;

static void
files_add (image_files *fs, const char *path, const void *data, size_t len)
{
  image_file *f = &fs->f[fs->n++];
  memset (f, 0, sizeof *f);
  f->path = msb_xstrdup (path);
  msb_buf_append (&f->data, data, len);
}

static void
files_add_symlink (image_files *fs, const char *path, const char *target)
{
  image_file *f = &fs->f[fs->n++];
  memset (f, 0, sizeof *f);
  f->path = msb_xstrdup (path);
  f->symlink = msb_xstrdup (target);
}

/* Adds blobs/sha256/<hex> and returns its digest. */
static void
files_add_blob (image_files *fs, const void *data, size_t len, char digest[MSB_DIGEST_STRLEN])
{
  msb_sha256_digest (data, len, digest);
  char *path = msb_xasprintf ("blobs/sha256/%s", msb_digest_hex (digest));
  files_add (fs, path, data, len);
  free (path);
}

static image_file *
files_find (image_files *fs, const char *path)
{
  for (size_t i = 0; i < fs->n; i++)
    if (strcmp (fs->f[i].path, path) == 0)
      return &fs->f[i];
  return NULL;
}

static void
files_free (image_files *fs)
{
  for (size_t i = 0; i < fs->n; i++)
    {
      free (fs->f[i].path);
      free (fs->f[i].symlink);
      msb_buf_free (&fs->f[i].data);
    }
  fs->n = 0;
}

static void
files_write_dir (image_files *fs, const char *dir)
{
  for (size_t i = 0; i < fs->n; i++)
    {
      char *p = msb_xasprintf ("%s/%s", dir, fs->f[i].path);
      char *slash = strrchr (p, '/');
      *slash = '\0';
      msb_mkdir_p_at (AT_FDCWD, p, 0755, NULL);
      *slash = '/';
      if (fs->f[i].symlink)
        CHECK (symlink (fs->f[i].symlink, p) == 0);
      else
        CHECK (msb_write_file_atomic_at (AT_FDCWD, p, fs->f[i].data.data, fs->f[i].data.len,
                                         0644, NULL)
               == 0);
      free (p);
    }
}

static void
files_write_tar (image_files *fs, const char *tar_path)
{
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  archive_write_open_filename (a, tar_path);
  for (size_t i = 0; i < fs->n; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      archive_entry_set_pathname (e, fs->f[i].path);
      if (fs->f[i].symlink)
        {
          archive_entry_set_mode (e, S_IFLNK | 0777);
          archive_entry_set_symlink (e, fs->f[i].symlink);
        }
      else
        {
          archive_entry_set_mode (e, S_IFREG | 0644);
          archive_entry_set_size (e, (int64_t) fs->f[i].data.len);
        }
      archive_write_header (a, e);
      if (!fs->f[i].symlink)
        archive_write_data (a, fs->f[i].data.data, fs->f[i].data.len);
      archive_entry_free (e);
    }
  archive_write_close (a);
  archive_write_free (a);
}

/* ---- images ---- */

static void
make_layer (layer *l, const char *marker, layer_compression c)
{
  layer_begin (l);
  layer_dir (l, "etc/", 0755);
  layer_file (l, "etc/marker", marker, 0644);
  layer_finish (l, c);
}

static char *
config_json (const char *arch, const char *marker, const char *const *diff_ids, size_t n)
{
  msb_buf ids = MSB_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    {
      char *s = msb_xasprintf ("%s\"%s\"", i ? "," : "", diff_ids[i]);
      msb_buf_append (&ids, s, strlen (s));
      free (s);
    }
  msb_buf_append_byte (&ids, 0);
  char *json = msb_xasprintf (
      "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\",\"MARK=%s\"],"
      "\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"Entrypoint\":[\"/entry\"],\"WorkingDir\":\"/work\","
      "\"User\":\"1000:1000\",\"StopSignal\":\"SIGTERM\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"}},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
      arch, marker, (char *) ids.data);
  msb_buf_free (&ids);
  return json;
}

/* Adds config, layer and manifest blobs of a one-layer image; returns the manifest digest and
 * its size. */
static void
add_oci_image (image_files *fs, layer *l, const char *arch, const char *marker,
               char manifest_digest[MSB_DIGEST_STRLEN], size_t *manifest_size)
{
  const char *ids[] = { l->diff_id };
  char *cfg = config_json (arch, marker, ids, 1);
  char cfg_digest[MSB_DIGEST_STRLEN], layer_digest[MSB_DIGEST_STRLEN];
  files_add_blob (fs, cfg, strlen (cfg), cfg_digest);
  files_add_blob (fs, l->blob.data, l->blob.len, layer_digest);
  char *manifest = msb_xasprintf (
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
      "\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
      "\"digest\":\"%s\",\"size\":%zu}]}",
      cfg_digest, strlen (cfg), layer_digest, l->blob.len);
  files_add_blob (fs, manifest, strlen (manifest), manifest_digest);
  *manifest_size = strlen (manifest);
  free (manifest);
  free (cfg);
}

static void
add_index (image_files *fs, const char *manifest_digest, size_t size, const char *ref_name)
{
  char *ann = ref_name ? msb_xasprintf (",\"annotations\":{\"org.opencontainers.image.ref.name\":"
                                        "\"%s\"}",
                                        ref_name)
                       : msb_xstrdup ("");
  char *index = msb_xasprintf (
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
      "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu%s}]}",
      manifest_digest, size, ann);
  files_add (fs, "index.json", index, strlen (index));
  files_add (fs, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  free (index);
  free (ann);
}

static void
check_config (const msb_image *img, const char *marker)
{
  CHECK_EQ_INT (msb_strv_len (img->config.env), 2);
  char *mark = msb_xasprintf ("MARK=%s", marker);
  if (msb_strv_len (img->config.env) == 2)
    CHECK_EQ_STR (img->config.env[1], mark);
  free (mark);
  CHECK_EQ_INT (msb_strv_len (img->config.cmd), 3);
  if (img->config.cmd)
    CHECK_EQ_STR (img->config.cmd[2], "echo hi");
  CHECK (img->config.entrypoint && strcmp (img->config.entrypoint[0], "/entry") == 0);
  CHECK_EQ_STR (img->config.working_dir, "/work");
  CHECK_EQ_STR (img->config.user, "1000:1000");
  CHECK_EQ_STR (img->config.stop_signal, "SIGTERM");
  CHECK (img->config.labels && msb_strv_len (img->config.labels) == 2);
  if (img->config.labels && msb_strv_len (img->config.labels) == 2)
    {
      CHECK_EQ_STR (img->config.labels[0], "a=1");
      CHECK_EQ_STR (img->config.labels[1], "b=2");
    }
  CHECK_EQ_STR (img->os, "linux");
  CHECK_EQ_STR (img->architecture, msb_image_host_arch ());
}

static void
check_lookup (test_home *t, const char *query, const char *canonical, const char *marker)
{
  msb_image img;
  msb_error *err = NULL;
  int rc = msb_image_store_lookup (&t->db, query, &img, &err);
  CHECK_EQ_INT (rc, 0);
  if (rc < 0)
    {
      fprintf (stderr, "  lookup %s: %s\n", query, msb_error_get_message (err));
      msb_error_free (err);
      return;
    }
  CHECK_EQ_STR (img.reference, canonical);
  check_config (&img, marker);
  CHECK (img.layer_count >= 1);
  CHECK (img.created_at > 0);
  CHECK (img.size_bytes > 0);
  /* The layer is unpacked where msb_image_layer_path says. */
  char *root = msb_image_layer_path (&t->home, img.diff_ids[img.layer_count - 1]);
  char *p = msb_xasprintf ("%s/etc/marker", root);
  char *text = read_text (p);
  CHECK_EQ_STR (text, marker);
  free (text);
  free (p);
  free (root);
  msb_image_clear (&img);
}

static int
count_images (test_home *t)
{
  msb_image *imgs = NULL;
  size_t n = 0;
  CHECK_EQ_INT (msb_image_store_list (&t->db, &imgs, &n, NULL), 0);
  msb_image_list_free (imgs, n);
  return (int) n;
}

TEST (test_load_oci_layout_dir_then_lookup_by_long_short_and_digest)
{
  test_home t;
  test_home_open (&t);
  layer l;
  make_layer (&l, "oci-dir", LAYER_GZIP);
  image_files fs = { 0 };
  char md[MSB_DIGEST_STRLEN];
  size_t msize;
  add_oci_image (&fs, &l, msb_image_host_arch (), "oci-dir", md, &msize);
  add_index (&fs, md, msize, "example.com/team/app:1.0");
  char *dir = msb_xasprintf ("%s/layout", t.dir);
  files_write_dir (&fs, dir);

  char **refs = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, dir, NULL, &refs, &err), 0);
  if (err)
    fprintf (stderr, "  %s\n", msb_error_get_message (err));
  CHECK (refs && refs[0] && refs[1] == NULL);
  if (refs)
    CHECK_EQ_STR (refs[0], "example.com/team/app:1.0");
  check_lookup (&t, "example.com/team/app:1.0", "example.com/team/app:1.0", "oci-dir");
  check_lookup (&t, md, "example.com/team/app:1.0", "oci-dir");
  char *pinned = msb_xasprintf ("example.com/team/app@%s", md);
  check_lookup (&t, pinned, "example.com/team/app:1.0", "oci-dir");
  free (pinned);

  msb_image img;
  CHECK_EQ_INT (msb_image_store_lookup (&t.db, md, &img, NULL), 0);
  CHECK_EQ_STR (img.manifest_digest, md);
  CHECK_EQ_STR (img.blob_digests[0], l.blob_digest);
  CHECK_EQ_STR (img.diff_ids[0], l.diff_id);
  CHECK_EQ_STR (img.layer_media_types[0], "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK_EQ_INT (img.compressed_sizes[0], l.blob.len);
  CHECK_EQ_STR (img.media_type, "application/vnd.oci.image.manifest.v1+json");
  msb_image_clear (&img);

  err = NULL;
  CHECK_EQ_INT (msb_image_store_lookup (&t.db, "example.com/team/app:2.0", &img, &err), -1);
  CHECK (err && msb_error_get_kind (err) == MSB_ERR_IMAGE_NOT_FOUND);
  CHECK (err && strstr (msb_error_get_message (err), "example.com/team/app:2.0"));
  msb_error_free (err);
  CHECK_EQ_INT (msb_image_store_touch (&t.db, "example.com/team/app:1.0", NULL), 0);
  CHECK_EQ_INT (msb_image_store_lookup (&t.db, "example.com/team/app:1.0", &img, NULL), 0);
  CHECK (img.last_used_at > 0);
  msb_image_clear (&img);
  CHECK_EQ_INT (count_images (&t), 1);
  msb_strv_free (refs);
  free (dir);
  files_free (&fs);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_load_oci_archive_tar_with_tag_and_bare_tag_annotation)
{
  test_home t;
  test_home_open (&t);
  layer l;
  make_layer (&l, "oci-tar", LAYER_ZSTD);
  image_files fs = { 0 };
  char md[MSB_DIGEST_STRLEN];
  size_t msize;
  add_oci_image (&fs, &l, msb_image_host_arch (), "oci-tar", md, &msize);
  add_index (&fs, md, msize, "latest"); /* a bare tag: no reference on its own */
  char *tar = msb_xasprintf ("%s/image.tar", t.dir);
  files_write_tar (&fs, tar);

  msb_error *err = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, tar, NULL, NULL, &err), -1);
  CHECK (err && msb_error_get_kind (err) == MSB_ERR_INVALID_CONFIG);
  CHECK (err && strstr (msb_error_get_message (err), "names no reference"));
  msb_error_clear (&err);
  CHECK_EQ_INT (count_images (&t), 0);

  char **refs = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, tar, "busybox-test", &refs, &err), 0);
  if (err)
    fprintf (stderr, "  %s\n", msb_error_get_message (err));
  CHECK (refs && refs[0] && strcmp (refs[0], "docker.io/library/busybox-test:latest") == 0);
  check_lookup (&t, "busybox-test", "docker.io/library/busybox-test:latest", "oci-tar");
  check_lookup (&t, "docker.io/library/busybox-test", "docker.io/library/busybox-test:latest",
                "oci-tar");
  check_lookup (&t, "docker.io/library/busybox-test:latest",
                "docker.io/library/busybox-test:latest", "oci-tar");
  msb_strv_free (refs);
  free (tar);
  files_free (&fs);
  layer_free (&l);
  test_home_close (&t);
}

/* docker save: <hex>.json config, <id>/layer.tar layers (the second a symlink to the
 * first, as docker writes repeated layers), RepoTags. */
static void
add_docker_image (image_files *fs, layer *l, const char *repo_tag, const char *marker)
{
  const char *ids[] = { l->diff_id, l->diff_id };
  char *cfg = config_json (msb_image_host_arch (), marker, ids, 2);
  char cfg_digest[MSB_DIGEST_STRLEN];
  msb_sha256_digest (cfg, strlen (cfg), cfg_digest);
  char *cfg_path = msb_xasprintf ("%s.json", msb_digest_hex (cfg_digest));
  files_add (fs, cfg_path, cfg, strlen (cfg));
  files_add (fs, "aaa/layer.tar", l->blob.data, l->blob.len);
  files_add_symlink (fs, "bbb/layer.tar", "../aaa/layer.tar");
  char *manifest = msb_xasprintf ("[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],"
                                  "\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}]",
                                  cfg_path, repo_tag);
  files_add (fs, "manifest.json", manifest, strlen (manifest));
  free (manifest);
  free (cfg_path);
  free (cfg);
}

TEST (test_load_docker_archive_synthesises_manifest)
{
  test_home t;
  test_home_open (&t);
  layer l;
  make_layer (&l, "docker", LAYER_PLAIN);
  image_files fs = { 0 };
  add_docker_image (&fs, &l, "alpine-test:1", "docker");
  char *tar = msb_xasprintf ("%s/docker.tar", t.dir);
  files_write_tar (&fs, tar);
  char **refs = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, tar, "extra/name:v2", &refs, &err), 0);
  if (err)
    fprintf (stderr, "  %s\n", msb_error_get_message (err));
  CHECK_EQ_INT (msb_strv_len (refs), 2);
  check_lookup (&t, "alpine-test:1", "docker.io/library/alpine-test:1", "docker");
  check_lookup (&t, "docker.io/library/alpine-test:1", "docker.io/library/alpine-test:1",
                "docker");
  check_lookup (&t, "extra/name:v2", "docker.io/extra/name:v2", "docker");
  msb_image img;
  if (msb_image_store_lookup (&t.db, "alpine-test:1", &img, NULL) == 0)
    {
      CHECK_EQ_INT (img.layer_count, 2);
      CHECK_EQ_STR (img.blob_digests[0], l.diff_id); /* uncompressed: blob = diff_id */
      CHECK_EQ_STR (img.layer_media_types[1], "application/vnd.oci.image.layer.v1.tar");
      CHECK_EQ_INT (img.compressed_sizes[0], l.blob.len);
      CHECK (msb_digest_is_valid (img.manifest_digest));
      sqlite3_stmt *st = NULL;
      sqlite3_prepare_v2 (t.db.handle, "SELECT manifest_json FROM manifests WHERE digest = ?", -1,
                          &st, NULL);
      sqlite3_bind_text (st, 1, img.manifest_digest, -1, SQLITE_STATIC);
      CHECK (sqlite3_step (st) == SQLITE_ROW);
      const char *mj = (const char *) sqlite3_column_text (st, 0);
      char d[MSB_DIGEST_STRLEN];
      msb_sha256_digest (mj, strlen (mj), d);
      CHECK_EQ_STR (d, img.manifest_digest);
      sqlite3_finalize (st);
      msb_image_clear (&img);
    }
  CHECK_EQ_INT (test_count_dir (&t, "cache/layers"), 1);
  /* Loading again reuses the cached layer and changes nothing. */
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, tar, NULL, NULL, NULL), 0);
  CHECK_EQ_INT (count_images (&t), 2);
  msb_strv_free (refs);
  free (tar);
  files_free (&fs);
  layer_free (&l);
  test_home_close (&t);
}

/* index.json -> nested image index with another platform first, then the host's. */
TEST (test_load_index_picks_host_platform_or_fails_clearly)
{
  const char *other = strcmp (msb_image_host_arch (), "arm64") == 0 ? "amd64" : "arm64";
  for (int with_host = 1; with_host >= 0; with_host--)
    {
      test_home t;
      test_home_open (&t);
      layer foreign, native;
      make_layer (&foreign, "foreign", LAYER_GZIP);
      make_layer (&native, "native", LAYER_GZIP);
      image_files fs = { 0 };
      char fd[MSB_DIGEST_STRLEN], nd[MSB_DIGEST_STRLEN], id[MSB_DIGEST_STRLEN];
      size_t fsize, nsize;
      add_oci_image (&fs, &foreign, other, "foreign", fd, &fsize);
      add_oci_image (&fs, &native, msb_image_host_arch (), "native", nd, &nsize);
      char *idx = msb_xasprintf (
          "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
          "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
          "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}%s"
          "%s%s%zu%s%s%s]}",
          fd, fsize, other, with_host ? ",{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" : "",
          with_host ? nd : "", with_host ? "\",\"size\":" : "", with_host ? nsize : (size_t) 0,
          with_host ? ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" : "",
          with_host ? msb_image_host_arch () : "", with_host ? "\"}}" : "");
      if (!with_host)
        {
          /* drop the stray "0" the format left */
          char *z = strstr (idx, "}}0]}");
          if (z)
            memmove (z + 2, z + 3, strlen (z + 3) + 1);
        }
      files_add_blob (&fs, idx, strlen (idx), id);
      add_index (&fs, id, strlen (idx), "multi/arch:1");
      /* the top descriptor names an index */
      image_file *top = files_find (&fs, "index.json");
      char *fixed = msb_xasprintf (
          "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
          "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
          "\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi/arch:1\"}}]}",
          id, strlen (idx));
      msb_buf_reset (&top->data);
      msb_buf_append (&top->data, fixed, strlen (fixed));
      char *dir = msb_xasprintf ("%s/layout", t.dir);
      files_write_dir (&fs, dir);
      msb_error *err = NULL;
      int rc = msb_image_store_load (&t.home, &t.db, dir, NULL, NULL, &err);
      if (with_host)
        {
          CHECK_EQ_INT (rc, 0);
          if (err)
            fprintf (stderr, "  %s\n", msb_error_get_message (err));
          check_lookup (&t, "multi/arch:1", "docker.io/multi/arch:1", "native");
          CHECK_EQ_INT (test_count_dir (&t, "cache/layers"), 1);
        }
      else
        {
          CHECK_EQ_INT (rc, -1);
          CHECK (err && strstr (msb_error_get_message (err), "no manifest for linux/"));
          CHECK_EQ_INT (count_images (&t), 0);
        }
      msb_error_free (err);
      free (fixed);
      free (dir);
      free (idx);
      files_free (&fs);
      layer_free (&foreign);
      layer_free (&native);
      test_home_close (&t);
    }
}

TEST (test_load_forged_blobs_rejected_and_db_unchanged)
{
  for (int which = 0; which < 3; which++)
    {
      test_home t;
      test_home_open (&t);
      layer l;
      make_layer (&l, "forged", LAYER_GZIP);
      image_files fs = { 0 };
      char md[MSB_DIGEST_STRLEN];
      size_t msize;
      add_oci_image (&fs, &l, msb_image_host_arch (), "forged", md, &msize);
      add_index (&fs, md, msize, "forged/img:1");
      const char *needle = NULL;
      /* 0: a config whose bytes do not match its digest; 1: a layer blob swapped for
       * another; 2: a layer whose content does not match the config's diff_id. */
      for (size_t i = 0; i < fs.n; i++)
        {
          image_file *f = &fs.f[i];
          if (strncmp (f->path, "blobs/", 6) != 0)
            continue;
          bool is_cfg = memmem (f->data.data, f->data.len, "\"rootfs\"", 8) != NULL
                        && f->data.len < 4096;
          bool is_layer = f->data.len == l.blob.len && memcmp (f->data.data, l.blob.data, 4) == 0;
          if (which == 0 && is_cfg)
            {
              f->data.data[f->data.len - 3] = ' ';
              needle = "digest mismatch";
            }
          if ((which == 1 || which == 2) && is_layer)
            {
              layer other;
              make_layer (&other, "other!", LAYER_GZIP);
              msb_buf_reset (&f->data);
              msb_buf_append (&f->data, other.blob.data, other.blob.len);
              if (which == 2)
                {
                  /* rename the blob to its real digest and point the manifest at it: only
                   * the diff_id check can catch it now */
                  needle = "diff_id mismatch";
                  files_free (&fs);
                  add_oci_image (&fs, &other, msb_image_host_arch (), "forged", md, &msize);
                  /* the config still lists l's diff_id: rebuild with it */
                  files_free (&fs);
                  const char *ids[] = { l.diff_id };
                  char *cfg = config_json (msb_image_host_arch (), "forged", ids, 1);
                  char cd[MSB_DIGEST_STRLEN], ld[MSB_DIGEST_STRLEN];
                  files_add_blob (&fs, cfg, strlen (cfg), cd);
                  files_add_blob (&fs, other.blob.data, other.blob.len, ld);
                  char *m = msb_xasprintf (
                      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
                      "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
                      "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                      "\"digest\":\"%s\",\"size\":%zu}]}",
                      cd, strlen (cfg), ld, other.blob.len);
                  files_add_blob (&fs, m, strlen (m), md);
                  add_index (&fs, md, strlen (m), "forged/img:1");
                  free (m);
                  free (cfg);
                }
              else
                needle = "blob digest mismatch";
              layer_free (&other);
              break;
            }
        }
      char *dir = msb_xasprintf ("%s/layout", t.dir);
      files_write_dir (&fs, dir);
      msb_error *err = NULL;
      CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, dir, NULL, NULL, &err), -1);
      CHECK (err && msb_error_get_kind (err) == MSB_ERR_IMAGE_PULL_FAILED);
      if (err && needle && !strstr (msb_error_get_message (err), needle))
        fprintf (stderr, "  case %d: `%s` lacks `%s`\n", which, msb_error_get_message (err),
                 needle);
      CHECK (err && needle && strstr (msb_error_get_message (err), needle));
      msb_error_free (err);
      CHECK_EQ_INT (count_images (&t), 0);
      CHECK_EQ_INT (test_count_dir (&t, "cache/layers"), 0);
      CHECK_EQ_INT (test_count_dir (&t, "cache/tmp"), 0);
      free (dir);
      files_free (&fs);
      layer_free (&l);
      test_home_close (&t);
    }
}

TEST (test_load_busybox_script_image)
{
  if (access ("/bin/busybox", X_OK) != 0)
    {
      printf ("# skipped: no /bin/busybox\n");
      return;
    }
  test_home t;
  test_home_open (&t);
  char *out = msb_xasprintf ("%s/busybox", t.dir);
  char *cmd = msb_xasprintf ("sh '%s/scripts/make-busybox-image.sh' '%s' >/dev/null",
                             MSB_SOURCE_ROOT, out);
  CHECK_EQ_INT (system (cmd), 0);
  char **refs = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, out, "local/busybox:latest", &refs, &err),
                0);
  if (err)
    fprintf (stderr, "  %s\n", msb_error_get_message (err));
  CHECK (refs && refs[0] && strcmp (refs[0], "docker.io/local/busybox:latest") == 0
         && refs[1] == NULL);
  msb_image img;
  CHECK_EQ_INT (msb_image_store_lookup (&t.db, "local/busybox", &img, NULL), 0);
  CHECK (img.config.cmd && strcmp (img.config.cmd[0], "/bin/sh") == 0);
  CHECK_EQ_STR (img.config.working_dir, "/");
  CHECK (img.config.env[0] && strncmp (img.config.env[0], "PATH=", 5) == 0);
  CHECK_EQ_INT (img.layer_count, 1);
  char *root = msb_image_layer_path (&t.home, img.diff_ids[0]);
  char *sh = msb_xasprintf ("%s/bin/sh", root);
  char target[64] = { 0 };
  CHECK (readlink (sh, target, sizeof target - 1) > 0);
  CHECK_EQ_STR (target, "/bin/busybox");
  char *home = msb_xasprintf ("%s/home/user", root);
  struct stat st;
  CHECK (stat (home, &st) == 0);
  if (geteuid () == 0)
    CHECK_EQ_INT (st.st_uid, 1000);
  char *tmp = msb_xasprintf ("%s/tmp", root);
  CHECK (stat (tmp, &st) == 0 && (st.st_mode & 07777) == 01777);
  free (tmp);
  free (home);
  free (sh);
  free (root);
  msb_image_clear (&img);
  msb_strv_free (refs);
  free (cmd);
  free (out);
  test_home_close (&t);
}

TEST (test_load_missing_or_foreign_input_fails_clearly)
{
  test_home t;
  test_home_open (&t);
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, "/nonexistent/x.tar", NULL, NULL, &err), -1);
  CHECK (err && strstr (msb_error_get_message (err), "/nonexistent/x.tar"));
  msb_error_clear (&err);
  CHECK_EQ_INT (msb_image_store_load (&t.home, &t.db, t.dir, NULL, NULL, &err), -1);
  CHECK (err && strstr (msb_error_get_message (err), "neither an OCI image layout"));
  msb_error_free (err);
  test_home_close (&t);
}

TEST_MAIN (TEST_ENTRY (test_load_oci_layout_dir_then_lookup_by_long_short_and_digest),
           TEST_ENTRY (test_load_oci_archive_tar_with_tag_and_bare_tag_annotation),
           TEST_ENTRY (test_load_docker_archive_synthesises_manifest),
           TEST_ENTRY (test_load_index_picks_host_platform_or_fails_clearly),
           TEST_ENTRY (test_load_forged_blobs_rejected_and_db_unchanged),
           TEST_ENTRY (test_load_busybox_script_image),
           TEST_ENTRY (test_load_missing_or_foreign_input_fails_clearly))
