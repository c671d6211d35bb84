/* The layer unpacker and cache: on-disk results of crafted layers, and the hostile cases
 * (escapes, symlink tricks, hardlinks out, devices, sizes, forged digests, races). */
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "tests/unit/image/image_test_util.h"
#include "tests/unit/test.h"

static void
report (msb_error *err)
{
  if (err)
    fprintf (stderr, "  error: %s\n", msb_error_get_message (err));
}

TEST (test_unpack_gzip_layer_writes_files_dirs_links_modes_owners_mtimes)
{
  SKIP_UNLESS_ROOT ();
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_dir (&l, "./", 0755);
  layer_entry (&l, "etc/", S_IFDIR | 0750, NULL, 0, 1000, 1001, 1500000000, NULL, NULL, 0);
  layer_entry (&l, "etc/conf", S_IFREG | 0640, "hello\n", 6, 1234, 5678, 1600000000, NULL, NULL,
               0);
  layer_entry (&l, "bin/su", S_IFREG | 04755, "suid", 4, 0, 0, 1000000000, NULL, NULL, 0);
  layer_entry (&l, "tmp/", S_IFDIR | 01777, NULL, 0, 0, 0, 1000000000, NULL, NULL, 0);
  layer_symlink (&l, "etc/link", "../bin/su");
  layer_hardlink (&l, "etc/conf2", "etc/conf");
  layer_entry (&l, "ro/", S_IFDIR | 0555, NULL, 0, 0, 0, 1000000000, NULL, NULL, 0);
  layer_file (&l, "ro/inside", "x", 0444);
  layer_finish (&l, LAYER_GZIP);

  msb_error *err = NULL;
  msb_unpack_result res;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, l.blob_digest, NULL, &res, &err), 0);
  report (err);
  CHECK_EQ_STR (res.diff_id, l.diff_id);
  CHECK_EQ_STR (res.blob_digest, l.blob_digest);
  CHECK_EQ_STR (res.compression, "gzip");
  CHECK_EQ_INT (res.unpacked_bytes, 11);

  struct stat st;
  char *p = layer_file_path (&t, &l, "etc/conf");
  CHECK (lstat (p, &st) == 0 && S_ISREG (st.st_mode));
  CHECK_EQ_INT (st.st_mode & 07777, 0640);
  CHECK_EQ_INT (st.st_uid, 1234);
  CHECK_EQ_INT (st.st_gid, 5678);
  CHECK_EQ_INT (st.st_mtime, 1600000000);
  char *text = read_text (p);
  CHECK_EQ_STR (text, "hello\n");
  free (text);
  ino_t ino = st.st_ino;
  free (p);
  p = layer_file_path (&t, &l, "etc/conf2");
  CHECK (lstat (p, &st) == 0 && st.st_ino == ino && st.st_nlink == 2);
  free (p);
  p = layer_file_path (&t, &l, "etc");
  CHECK (lstat (p, &st) == 0 && S_ISDIR (st.st_mode));
  CHECK_EQ_INT (st.st_mode & 07777, 0750);
  CHECK_EQ_INT (st.st_uid, 1000);
  CHECK_EQ_INT (st.st_gid, 1001);
  CHECK_EQ_INT (st.st_mtime, 1500000000); /* applied after its content was written */
  free (p);
  p = layer_file_path (&t, &l, "bin/su");
  CHECK (lstat (p, &st) == 0 && (st.st_mode & 07777) == 04755);
  free (p);
  p = layer_file_path (&t, &l, "tmp");
  CHECK (lstat (p, &st) == 0 && (st.st_mode & 07777) == 01777);
  free (p);
  p = layer_file_path (&t, &l, "etc/link");
  char target[64] = { 0 };
  CHECK (readlink (p, target, sizeof target - 1) == 9);
  CHECK_EQ_STR (target, "../bin/su");
  free (p);
  p = layer_file_path (&t, &l, "ro");
  CHECK (lstat (p, &st) == 0 && (st.st_mode & 07777) == 0555);
  free (p);
  p = layer_file_path (&t, &l, "ro/inside");
  CHECK (lstat (p, &st) == 0 && (st.st_mode & 07777) == 0444);
  free (p);
  CHECK_EQ_INT (test_count_dir (&t, "cache/tmp"), 0);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_plain_gzip_zstd_give_one_diff_id)
{
  test_home t;
  test_home_open (&t);
  layer_compression kinds[] = { LAYER_PLAIN, LAYER_GZIP, LAYER_ZSTD };
  char first[MSB_DIGEST_STRLEN] = "";
  for (int i = 0; i < 3; i++)
    {
      layer l;
      layer_begin (&l);
      layer_file (&l, "a/b/c.txt", "content", 0644);
      layer_finish (&l, kinds[i]);
      if (i == 0)
        snprintf (first, sizeof first, "%s", l.diff_id);
      CHECK_EQ_STR (l.diff_id, first);
      msb_error *err = NULL;
      msb_unpack_result res;
      CHECK_EQ_INT (test_materialize (&t, &l, NULL, l.blob_digest, NULL, &res, &err), 0);
      report (err);
      msb_error_free (err);
      CHECK_EQ_STR (res.blob_digest, l.blob_digest);
      char *p = layer_file_path (&t, &l, "a/b/c.txt");
      char *text = read_text (p);
      CHECK_EQ_STR (text, "content");
      free (text);
      free (p);
      layer_free (&l);
    }
  CHECK_EQ_INT (test_count_dir (&t, "cache/layers"), 1);
  test_home_close (&t);
}

TEST (test_unpack_detects_each_compression)
{
  layer_compression kinds[] = { LAYER_PLAIN, LAYER_GZIP, LAYER_ZSTD };
  const char *names[] = { "none", "gzip", "zstd" };
  for (int i = 0; i < 3; i++)
    {
      layer l;
      layer_begin (&l);
      layer_file (&l, "f", "x", 0644);
      layer_finish (&l, kinds[i]);
      mem_src m = { l.blob.data, l.blob.len, 0, 3 };
      msb_unpack_result res;
      msb_error *err = NULL;
      CHECK_EQ_INT (msb_unpack_stream (-1, mem_src_read, &m, NULL, &res, &err), 0);
      report (err);
      CHECK_EQ_STR (res.compression, names[i]);
      CHECK_EQ_STR (res.diff_id, l.diff_id);
      CHECK_EQ_STR (res.blob_digest, l.blob_digest);
      CHECK_EQ_INT (res.compressed_bytes, l.blob.len);
      layer_free (&l);
    }
}

TEST (test_unpack_whiteout_becomes_char_0_0)
{
  SKIP_UNLESS_ROOT ();
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_dir (&l, "etc/", 0755);
  layer_file (&l, "etc/.wh.gone", "", 0644);
  layer_file (&l, ".wh..wh.plnk", "", 0644);
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  struct stat st;
  char *p = layer_file_path (&t, &l, "etc/gone");
  CHECK (lstat (p, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  free (p);
  p = layer_file_path (&t, &l, "etc/.wh.gone");
  CHECK (lstat (p, &st) < 0 && errno == ENOENT);
  free (p);
  p = layer_file_path (&t, &l, ".wh..wh.plnk");
  CHECK (lstat (p, &st) < 0 && errno == ENOENT);
  free (p);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_opaque_marker_sets_overlay_xattr)
{
  SKIP_UNLESS_ROOT ();
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_dir (&l, "var/", 0755);
  layer_dir (&l, "var/cache/", 0755);
  layer_file (&l, "var/cache/.wh..wh..opq", "", 0644);
  layer_file (&l, "var/cache/kept", "k", 0644);
  layer_finish (&l, LAYER_PLAIN);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  char *p = layer_file_path (&t, &l, "var/cache");
  char v[8] = { 0 };
  CHECK_EQ_INT (lgetxattr (p, "trusted.overlay.opaque", v, sizeof v), 1);
  CHECK_EQ_STR (v, "y");
  CHECK (lgetxattr (p, "trusted.overlay.opaque", v, sizeof v) == 1);
  free (p);
  p = layer_file_path (&t, &l, "var");
  CHECK (lgetxattr (p, "trusted.overlay.opaque", v, sizeof v) < 0);
  free (p);
  p = layer_file_path (&t, &l, "var/cache/.wh..wh..opq");
  struct stat st;
  CHECK (lstat (p, &st) < 0);
  free (p);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_tar_xattrs_are_not_restored)
{
  SKIP_UNLESS_ROOT ();
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, "d");
  archive_entry_set_mode (e, S_IFDIR | 0755);
  archive_entry_xattr_add_entry (e, "trusted.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry (e, "user.x", "1", 1);
  archive_write_header (l.a, e);
  archive_entry_free (e);
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  char *p = layer_file_path (&t, &l, "d");
  char v[8];
  CHECK (lgetxattr (p, "trusted.overlay.opaque", v, sizeof v) < 0);
  CHECK (lgetxattr (p, "user.x", v, sizeof v) < 0);
  free (p);
  layer_free (&l);
  test_home_close (&t);
}

/* After a rejected layer nothing is published and no temp dir is left. */
static void
check_nothing_left (test_home *t)
{
  CHECK_EQ_INT (test_count_dir (t, "cache/layers"), 0);
  CHECK_EQ_INT (test_count_dir (t, "cache/tmp"), 0);
  sqlite3_stmt *st = NULL;
  sqlite3_prepare_v2 (t->db.handle, "SELECT COUNT(*) FROM layers", -1, &st, NULL);
  CHECK (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) == 0);
  sqlite3_finalize (st);
}

static void
check_rejected (test_home *t, layer *l, const char *needle)
{
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (t, l, NULL, NULL, NULL, NULL, &err), -1);
  CHECK (err != NULL);
  if (err)
    {
      CHECK_EQ_INT (msb_error_get_kind (err), MSB_ERR_IMAGE_PULL_FAILED);
      if (strstr (msb_error_get_message (err), needle) == NULL)
        fprintf (stderr, "  message `%s` lacks `%s`\n", msb_error_get_message (err), needle);
      CHECK (strstr (msb_error_get_message (err), needle) != NULL);
    }
  msb_error_free (err);
  check_nothing_left (t);
}

TEST (test_unpack_dotdot_escape_rejected_and_nothing_published)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_file (&l, "ok", "fine", 0644);
  layer_file (&l, "a/../../escaped", "pwned", 0644);
  layer_finish (&l, LAYER_GZIP);
  check_rejected (&t, &l, "climbs above the layer root");
  char *outside = msb_xasprintf ("%s/escaped", t.dir);
  struct stat st;
  CHECK (lstat (outside, &st) < 0 && errno == ENOENT);
  char *outside2 = msb_xasprintf ("%s/cache/escaped", t.root);
  CHECK (lstat (outside2, &st) < 0 && errno == ENOENT);
  free (outside);
  free (outside2);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_absolute_path_confined_to_root)
{
  test_home t;
  test_home_open (&t);
  char *abs = msb_xasprintf ("%s/abs-target", t.dir);
  layer l;
  layer_begin (&l);
  layer_file (&l, abs, "inside", 0644); /* "/tmp/msb-image-test-…/abs-target" */
  layer_file (&l, "/etc/abs", "inside", 0644);
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  struct stat st;
  CHECK (lstat (abs, &st) < 0 && errno == ENOENT);
  char *p = layer_file_path (&t, &l, abs + 1);
  CHECK (lstat (p, &st) == 0 && S_ISREG (st.st_mode));
  free (p);
  p = layer_file_path (&t, &l, "etc/abs");
  CHECK (lstat (p, &st) == 0 && S_ISREG (st.st_mode));
  free (p);
  free (abs);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_write_through_symlink_lands_inside_root)
{
  test_home t;
  test_home_open (&t);
  /* A canary directory on the host that the layer aims at. */
  char *canary_dir = msb_xasprintf ("%s/canary", t.dir);
  char *canary = msb_xasprintf ("%s/passwd", canary_dir);
  mkdir (canary_dir, 0755);
  msb_write_file_atomic_at (AT_FDCWD, canary, "host\n", 5, 0644, NULL);
  layer l;
  layer_begin (&l);
  layer_dir (&l, canary_dir, 0755); /* the same path exists inside the layer */
  layer_symlink (&l, "evil", canary_dir);                   /* absolute, to the host dir */
  layer_file (&l, "evil/passwd", "layer\n", 0644);
  layer_symlink (&l, "rel", "../../../../../../../../../../"); /* climbs, relative */
  char *through_rel = msb_xasprintf ("rel%s/passwd2", canary_dir);
  layer_file (&l, through_rel, "layer2\n", 0644);
  layer_symlink (&l, "file-link", canary);                  /* a symlink to a host file… */
  layer_file (&l, "file-link", "replaced\n", 0644);         /* …is replaced, not followed */
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  char *text = read_text (canary);
  CHECK_EQ_STR (text, "host\n");
  free (text);
  char *p2 = msb_xasprintf ("%s/passwd2", canary_dir);
  struct stat st;
  CHECK (lstat (p2, &st) < 0 && errno == ENOENT);
  free (p2);
  char *inside = layer_file_path (&t, &l, canary + 1); /* <root>/tmp/…/canary/passwd */
  text = read_text (inside);
  CHECK_EQ_STR (text, "layer\n");
  free (text);
  free (inside);
  char *rel2 = msb_xasprintf ("%s/passwd2", canary_dir + 1);
  inside = layer_file_path (&t, &l, rel2);
  text = read_text (inside);
  CHECK_EQ_STR (text, "layer2\n");
  free (text);
  free (inside);
  free (rel2);
  inside = layer_file_path (&t, &l, "file-link");
  CHECK (lstat (inside, &st) == 0 && S_ISREG (st.st_mode));
  free (inside);
  free (through_rel);
  free (canary);
  free (canary_dir);
  layer_free (&l);
  test_home_close (&t);
}

/* With no such directory in the layer, going through the link fails (as GNU tar does)
 * rather than creating anything on the host. */
TEST (test_unpack_write_through_dangling_symlink_rejected)
{
  test_home t;
  test_home_open (&t);
  char *canary_dir = msb_xasprintf ("%s/canary", t.dir);
  mkdir (canary_dir, 0755);
  layer l;
  layer_begin (&l);
  layer_symlink (&l, "evil", canary_dir);
  layer_file (&l, "evil/planted", "layer\n", 0644);
  layer_finish (&l, LAYER_GZIP);
  check_rejected (&t, &l, "open directory `evil` in layer");
  char *planted = msb_xasprintf ("%s/planted", canary_dir);
  struct stat st;
  CHECK (lstat (planted, &st) < 0 && errno == ENOENT);
  free (planted);
  free (canary_dir);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_hardlink_to_outside_path_rejected)
{
  test_home t;
  test_home_open (&t);
  const char *targets[] = { "/etc/passwd", "../../../../etc/passwd", "missing" };
  const char *needles[] = { "is not in the layer", "climbs above", "is not in the layer" };
  for (int i = 0; i < 3; i++)
    {
      layer l;
      layer_begin (&l);
      layer_file (&l, "x", "x", 0644);
      layer_hardlink (&l, "stolen", targets[i]);
      layer_finish (&l, LAYER_GZIP);
      check_rejected (&t, &l, needles[i]);
      layer_free (&l);
    }
  /* Through a symlink pointing out of the root: still resolved in-root. */
  layer l;
  layer_begin (&l);
  layer_symlink (&l, "etc", "/etc");
  layer_hardlink (&l, "stolen", "etc/passwd");
  layer_finish (&l, LAYER_GZIP);
  check_rejected (&t, &l, "is not in the layer");
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_device_nodes_skipped_fifos_created)
{
  SKIP_UNLESS_ROOT ();
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_entry (&l, "dev/null", S_IFCHR | 0666, NULL, 0, 0, 0, 0, NULL, NULL, makedev (1, 3));
  layer_entry (&l, "dev/sda", S_IFBLK | 0660, NULL, 0, 0, 0, 0, NULL, NULL, makedev (8, 0));
  layer_entry (&l, "run/fifo", S_IFIFO | 0620, NULL, 0, 0, 0, 0, NULL, NULL, 0);
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  msb_unpack_result res;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, &res, &err), 0);
  report (err);
  CHECK_EQ_INT (res.devices_skipped, 2);
  struct stat st;
  char *p = layer_file_path (&t, &l, "dev/null");
  CHECK (lstat (p, &st) < 0 && errno == ENOENT);
  free (p);
  p = layer_file_path (&t, &l, "dev/sda");
  CHECK (lstat (p, &st) < 0 && errno == ENOENT);
  free (p);
  p = layer_file_path (&t, &l, "run/fifo");
  CHECK (lstat (p, &st) == 0 && S_ISFIFO (st.st_mode) && (st.st_mode & 0777) == 0620);
  free (p);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_absurd_sizes_rejected)
{
  test_home t;
  test_home_open (&t);
  /* A header claiming 1 PiB (with no data behind it). */
  layer l;
  layer_begin (&l);
  layer_file (&l, "small", "x", 0644);
  layer_file (&l, "huge", "y", 0644);
  layer_close_tar (&l);
  layer_patch_size (&l, "huge", (uint64_t) 1 << 50);
  layer_compress (&l, LAYER_GZIP);
  check_rejected (&t, &l, "exceeds the unpacked layer limit"); /* default: 64 GiB */
  msb_unpack_opts unlimited = { .restore_owner = -1, .max_unpacked_bytes = UINT64_MAX };
  msb_error *e1 = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, &unlimited, NULL, &e1), -1);
  CHECK (e1 && strstr (msb_error_get_message (e1), "larger than the free space"));
  msb_error_free (e1);
  check_nothing_left (&t);
  layer_free (&l);

  /* A configurable per-layer limit. */
  layer_begin (&l);
  char big[3000];
  memset (big, 'a', sizeof big);
  layer_entry (&l, "a", S_IFREG | 0644, big, 2000, 0, 0, 0, NULL, NULL, 0);
  layer_entry (&l, "b", S_IFREG | 0644, big, 2000, 0, 0, 0, NULL, NULL, 0);
  layer_finish (&l, LAYER_GZIP);
  msb_unpack_opts opts = { .restore_owner = -1, .max_unpacked_bytes = 3000 };
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, &opts, NULL, &err), -1);
  CHECK (err && strstr (msb_error_get_message (err), "exceeds the unpacked layer limit"));
  msb_error_free (err);
  check_nothing_left (&t);
  layer_free (&l);

  /* Over-long symlink target and path. */
  layer_begin (&l);
  char *longname = msb_xmalloc (5000);
  memset (longname, 'b', 4999);
  longname[4999] = '\0';
  for (int i = 200; i < 4999; i += 200)
    longname[i] = '/';
  layer_symlink (&l, "s", longname);
  layer_finish (&l, LAYER_GZIP);
  check_rejected (&t, &l, "target longer than PATH_MAX");
  layer_free (&l);
  layer_begin (&l);
  layer_file (&l, longname, "x", 0644);
  layer_finish (&l, LAYER_GZIP);
  check_rejected (&t, &l, "exceeds PATH_MAX");
  layer_free (&l);
  free (longname);
  test_home_close (&t);
}

TEST (test_unpack_wrong_digests_rejected_and_nothing_left)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_file (&l, "f", "content", 0644);
  layer_finish (&l, LAYER_GZIP);
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, wrong, l.blob_digest, NULL, NULL, &err), -1);
  CHECK (err && strstr (msb_error_get_message (err), "diff_id mismatch"));
  msb_error_clear (&err);
  check_nothing_left (&t);
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, wrong, NULL, NULL, &err), -1);
  CHECK (err && strstr (msb_error_get_message (err), "blob digest mismatch"));
  msb_error_clear (&err);
  check_nothing_left (&t);
  /* Not a tar at all. */
  msb_buf_reset (&l.blob);
  msb_buf_append (&l.blob, "this is not a tar archive, not even close to one........", 56);
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), -1);
  CHECK (err != NULL);
  msb_error_clear (&err);
  check_nothing_left (&t);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_truncated_layer_rejected)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  char big[20000];
  memset (big, 'z', sizeof big);
  layer_entry (&l, "f", S_IFREG | 0644, big, sizeof big, 0, 0, 0, NULL, NULL, 0);
  layer_finish (&l, LAYER_PLAIN);
  l.blob.len = 8192; /* cut inside the file's data */
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), -1);
  CHECK (err != NULL);
  msb_error_free (err);
  check_nothing_left (&t);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_later_entry_replaces_earlier)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_file (&l, "p", "file", 0644);
  layer_dir (&l, "p/", 0755); /* a directory replaces the file */
  layer_file (&l, "p/q", "q", 0644);
  layer_dir (&l, "d/", 0755);
  layer_file (&l, "d/x", "x", 0644);
  layer_file (&l, "d", "now a file", 0644); /* a file replaces the directory */
  layer_dir (&l, "p/", 0700);               /* an existing dir is kept, its mode updated */
  layer_finish (&l, LAYER_GZIP);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  struct stat st;
  char *p = layer_file_path (&t, &l, "p/q");
  CHECK (lstat (p, &st) == 0 && S_ISREG (st.st_mode));
  free (p);
  p = layer_file_path (&t, &l, "p");
  CHECK (lstat (p, &st) == 0 && (st.st_mode & 0777) == 0700);
  free (p);
  p = layer_file_path (&t, &l, "d");
  char *text = read_text (p);
  CHECK_EQ_STR (text, "now a file");
  free (text);
  free (p);
  layer_free (&l);
  test_home_close (&t);
}

/* Two processes unpacking one layer at once: both succeed, exactly one unpacks. */
TEST (test_unpack_concurrent_same_layer_unpacked_once)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  static char big[4 << 20];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char) (i * 7 + i / 4096);
  for (int i = 0; i < 8; i++)
    {
      char name[16];
      snprintf (name, sizeof name, "f%d", i);
      layer_entry (&l, name, S_IFREG | 0644, big, sizeof big, 0, 0, 0, NULL, NULL, 0);
    }
  layer_finish (&l, LAYER_GZIP);
  pid_t pids[2];
  for (int i = 0; i < 2; i++)
    {
      pids[i] = fork ();
      if (pids[i] == 0)
        {
          msb_home h;
          msb_db db;
          msb_error *err = NULL;
          if (msb_home_open (&h, t.root, &err) < 0 || msb_db_open (&db, &h, &err) < 0)
            _exit (3);
          mem_src m = { l.blob.data, l.blob.len, 0, 65536 };
          msb_unpack_result res;
          bool cached = false;
          int rc = msb_image_layer_materialize (&h, &db, l.diff_id, l.blob_digest, mem_src_read,
                                                &m, NULL, &res, &cached, &err);
          if (rc < 0)
            fprintf (stderr, "child: %s\n", msb_error_get_message (err));
          _exit (rc < 0 ? 2 : cached ? 1 : 0);
        }
    }
  int codes[2];
  for (int i = 0; i < 2; i++)
    {
      int status = 0;
      waitpid (pids[i], &status, 0);
      codes[i] = WIFEXITED (status) ? WEXITSTATUS (status) : 99;
    }
  CHECK ((codes[0] == 0 && codes[1] == 1) || (codes[0] == 1 && codes[1] == 0));
  CHECK_EQ_INT (test_count_dir (&t, "cache/layers"), 1);
  CHECK_EQ_INT (test_count_dir (&t, "cache/tmp"), 0);
  sqlite3_stmt *st = NULL;
  sqlite3_prepare_v2 (t.db.handle, "SELECT unpacked_size FROM layers", -1, &st, NULL);
  CHECK (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int64 (st, 0) == 8 * (int64_t) sizeof big);
  sqlite3_finalize (st);
  layer_free (&l);
  test_home_close (&t);
}

TEST (test_unpack_stale_temp_dir_of_dead_process_removed)
{
  test_home t;
  test_home_open (&t);
  layer l;
  layer_begin (&l);
  layer_file (&l, "f", "x", 0644);
  layer_finish (&l, LAYER_GZIP);
  char *stale = msb_xasprintf ("%s/cache/tmp/layer-%s.99999999", t.root, msb_digest_hex (l.diff_id));
  mkdir (stale, 0755);
  msb_error *err = NULL;
  CHECK_EQ_INT (test_materialize (&t, &l, NULL, NULL, NULL, NULL, &err), 0);
  report (err);
  CHECK_EQ_INT (test_count_dir (&t, "cache/tmp"), 0);
  free (stale);
  layer_free (&l);
  test_home_close (&t);
}

typedef struct progress_seen
{
  uint64_t last, total;
  int calls;
} progress_seen;

static void
record_progress (void *ctx, uint64_t done, uint64_t total)
{
  progress_seen *seen = ctx;
  seen->last = done;
  seen->total = total;
  seen->calls++;
}

TEST (test_unpack_progress_reports_compressed_bytes)
{
  layer l;
  layer_begin (&l);
  static char big[1 << 20];
  memset (big, 'q', sizeof big);
  layer_entry (&l, "f", S_IFREG | 0644, big, sizeof big, 0, 0, 0, NULL, NULL, 0);
  layer_finish (&l, LAYER_PLAIN);
  progress_seen seen = { 0, 0, 0 };
  msb_unpack_opts opts = { .restore_owner = -1, .progress = record_progress, .progress_ctx = &seen, .total_bytes = l.blob.len };
  mem_src m = { l.blob.data, l.blob.len, 0, 65536 };
  msb_unpack_result res;
  CHECK_EQ_INT (msb_unpack_stream (-1, mem_src_read, &m, &opts, &res, NULL), 0);
  CHECK (seen.calls > 10);
  CHECK_EQ_INT (seen.last, l.blob.len);
  CHECK_EQ_INT (seen.total, l.blob.len);
  layer_free (&l);
}

TEST_MAIN (TEST_ENTRY (test_unpack_gzip_layer_writes_files_dirs_links_modes_owners_mtimes),
           TEST_ENTRY (test_unpack_plain_gzip_zstd_give_one_diff_id),
           TEST_ENTRY (test_unpack_detects_each_compression),
           TEST_ENTRY (test_unpack_whiteout_becomes_char_0_0),
           TEST_ENTRY (test_unpack_opaque_marker_sets_overlay_xattr),
           TEST_ENTRY (test_unpack_tar_xattrs_are_not_restored),
           TEST_ENTRY (test_unpack_dotdot_escape_rejected_and_nothing_published),
           TEST_ENTRY (test_unpack_absolute_path_confined_to_root),
           TEST_ENTRY (test_unpack_write_through_symlink_lands_inside_root),
           TEST_ENTRY (test_unpack_write_through_dangling_symlink_rejected),
           TEST_ENTRY (test_unpack_hardlink_to_outside_path_rejected),
           TEST_ENTRY (test_unpack_device_nodes_skipped_fifos_created),
           TEST_ENTRY (test_unpack_absurd_sizes_rejected),
           TEST_ENTRY (test_unpack_wrong_digests_rejected_and_nothing_left),
           TEST_ENTRY (test_unpack_truncated_layer_rejected),
           TEST_ENTRY (test_unpack_later_entry_replaces_earlier),
           TEST_ENTRY (test_unpack_concurrent_same_layer_unpacked_once),
           TEST_ENTRY (test_unpack_stale_temp_dir_of_dead_process_removed),
           TEST_ENTRY (test_unpack_progress_reports_compressed_bytes))
