/* The filesystem API (msb/fs.h) against a real sandbox of the busybox image: round trips of
 * every size class up to a 200 MiB stream, listing and stat fields, error kinds, and the
 * hostile cases — path escapes, absolute symlinks aimed at host files, a symlink swapped while
 * files are copied out, a symlink planted at a copy_to_host destination. Uses only the public
 * header, like any client.
 *
 * Needs root (the ns backend). MSB_TEST_IMAGE_DIR names an OCI layout of the busybox image;
 * without it the test builds one with scripts/make-busybox-image.sh. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <msb/msb.h>

#include "tests/unit/test.h"

static msb_ctx *ctx;
static msb_sandbox *sb;
static char home[256];
static char scratch[PATH_MAX]; /* host directory for copies */

#define BIG_STREAM (200u << 20)

static void
print_err (msb_error *e)
{
  if (e)
    fprintf (stderr, "    error: %s\n", msb_error_get_message (e));
}

#define OK(call)                                                                   \
  do                                                                               \
    {                                                                              \
      msb_error *e_ = NULL;                                                        \
      int r_ = (call);                                                             \
      if (r_ < 0)                                                                  \
        print_err (e_);                                                            \
      CHECK_EQ_INT (r_, 0);                                                        \
      msb_error_free (e_);                                                         \
    }                                                                              \
  while (0)

/* `call` must fail with `kind`; its errno is stored in *errnum when errnum is not NULL. */
static void
expect_fail (int r, msb_error *e, msb_error_kind kind, int want_errno, const char *what)
{
  if (r == 0)
    fprintf (stderr, "    %s unexpectedly succeeded\n", what);
  CHECK (r < 0);
  CHECK_EQ_INT (msb_error_get_kind (e), kind);
  if (want_errno)
    {
      if (msb_error_get_errno (e) != want_errno)
        fprintf (stderr, "    %s: %s\n", what, msb_error_get_message (e));
      CHECK_EQ_INT (msb_error_get_errno (e), want_errno);
    }
  msb_error_free (e);
}

static void
pattern (uint8_t *p, size_t n, uint64_t offset)
{
  for (size_t i = 0; i < n; i++)
    {
      uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull;
      p[i] = (uint8_t) (x >> 56);
    }
}

static char *
shell_out (const char *script)
{
  msb_exec_output out;
  msb_error *e = NULL;
  if (msb_shell (sb, script, NULL, &out, &e) < 0)
    {
      print_err (e);
      msb_error_free (e);
      return strdup ("");
    }
  char *s = strndup ((char *) out.stdout_data, out.stdout_len);
  msb_exec_output_clear (&out);
  return s;
}

static char *
host_read (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  static char buf[1 << 16];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  buf[n > 0 ? n : 0] = '\0';
  return strdup (buf);
}

/* ---- round trips ---------------------------------------------------------------------- */

TEST (test_fs_round_trips_every_size)
{
  const size_t sizes[] = { 0, 1, 3u * 1024 * 1024 + 1, 17u * 1024 * 1024 + 5 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      size_t n = sizes[i];
      uint8_t *data = malloc (n + 1);
      pattern (data, n, i * 7);
      char path[64];
      snprintf (path, sizeof path, "/tmp/rt-%zu", n);
      OK (msb_fs_write (sb, path, data, n, &e_));
      uint8_t *got = NULL;
      size_t len = 0;
      OK (msb_fs_read (sb, path, &got, &len, &e_));
      CHECK_EQ_INT (len, n);
      CHECK (got && (n == 0 || memcmp (got, data, n) == 0));
      msb_fs_metadata md;
      OK (msb_fs_stat (sb, path, &md, &e_));
      CHECK_EQ_INT (md.size, n);
      free (got);
      free (data);
    }
  /* The guest sees the same bytes. */
  char *sum = shell_out ("wc -c < /tmp/rt-3145729");
  CHECK_EQ_STR (sum, "3145729\n");
  free (sum);
}

TEST (test_fs_streams_200_mib_both_ways)
{
  msb_fs_writer *w = NULL;
  OK (msb_fs_write_open (sb, "/tmp/big", &w, &e_));
  size_t chunk = 1u << 20;
  uint8_t *buf = malloc (chunk);
  for (uint64_t off = 0; w && off < BIG_STREAM; off += chunk)
    {
      pattern (buf, chunk, off);
      OK (msb_fs_write_chunk (w, buf, chunk, &e_));
    }
  OK (msb_fs_write_close (w, &e_));
  char *size = shell_out ("wc -c < /tmp/big");
  CHECK_EQ_INT (atoll (size), BIG_STREAM);
  free (size);

  msb_fs_reader *r = NULL;
  OK (msb_fs_read_open (sb, "/tmp/big", &r, &e_));
  uint64_t off = 0;
  bool same = true;
  const uint8_t *data;
  size_t len;
  int rc;
  msb_error *e = NULL;
  while (r && (rc = msb_fs_read_next (r, &data, &len, &e)) == 1)
    {
      CHECK (len <= 3u * 1024 * 1024);
      uint8_t *want = malloc (len);
      pattern (want, len, off);
      same = same && memcmp (want, data, len) == 0;
      free (want);
      off += len;
    }
  print_err (e);
  msb_error_free (e);
  CHECK (same);
  CHECK_EQ_INT (off, BIG_STREAM);
  msb_fs_read_close (r);
  free (buf);
  OK (msb_fs_remove (sb, "/tmp/big", &e_));
}

/* ---- metadata -------------------------------------------------------------------------- */

TEST (test_fs_list_and_stat_fields)
{
  free (shell_out ("mkdir -p /srv/l/sub && printf abc > /srv/l/a && chmod 640 /srv/l/a"
                   " && ln -s /etc/passwd /srv/l/link && touch -d @1000000000 /srv/l/a"));
  msb_fs_entry *entries = NULL;
  size_t n = 0;
  OK (msb_fs_list (sb, "/srv/l", &entries, &n, &e_));
  CHECK_EQ_INT (n, 3);
  if (n == 3)
    {
      CHECK_EQ_STR (entries[0].path, "/srv/l/a");
      CHECK_EQ_INT (entries[0].kind, MSB_FS_FILE);
      CHECK_EQ_INT (entries[0].size, 3);
      CHECK_EQ_INT (entries[0].mode & 07777, 0640);
      CHECK (S_ISREG (entries[0].mode));
      CHECK_EQ_INT (entries[0].modified_ms, 1000000000000ll);
      CHECK_EQ_INT (entries[0].uid, 0);
      CHECK_EQ_STR (entries[1].path, "/srv/l/link");
      CHECK_EQ_INT (entries[1].kind, MSB_FS_SYMLINK);
      CHECK_EQ_STR (entries[2].path, "/srv/l/sub");
      CHECK_EQ_INT (entries[2].kind, MSB_FS_DIRECTORY);
    }
  msb_fs_entries_free (entries, n);

  msb_fs_metadata md;
  OK (msb_fs_stat (sb, "/srv/l/link", &md, &e_));
  CHECK_EQ_INT (md.kind, MSB_FS_FILE); /* followed */
  OK (msb_fs_lstat (sb, "/srv/l/link", &md, &e_));
  CHECK_EQ_INT (md.kind, MSB_FS_SYMLINK);
  OK (msb_fs_stat (sb, "/srv/l/a", &md, &e_));
  CHECK (!md.readonly);
  CHECK (md.modified_ms == 1000000000000ll && md.created_ms == -1);
  free (shell_out ("chmod 444 /srv/l/a"));
  OK (msb_fs_stat (sb, "/srv/l/a", &md, &e_));
  CHECK (md.readonly);
  bool exists = true;
  OK (msb_fs_exists (sb, "/srv/l/nope", &exists, &e_));
  CHECK (!exists);
  OK (msb_fs_exists (sb, "/srv/l/sub", &exists, &e_));
  CHECK (exists);

  /* A directory too large for one List reply is read in pages. */
  free (shell_out ("mkdir /srv/many && cd /srv/many && i=0; while [ $i -lt 30000 ]; do"
                   " : > f$i; i=$((i+1)); done"));
  OK (msb_fs_list (sb, "/srv/many", &entries, &n, &e_));
  CHECK_EQ_INT (n, 30000);
  msb_fs_entries_free (entries, n);
  OK (msb_fs_remove_dir (sb, "/srv/many", &e_));
}

TEST (test_fs_tree_operations)
{
  OK (msb_fs_mkdir (sb, "/opt/x/y/z", &e_));
  OK (msb_fs_mkdir (sb, "/opt/x/y/z", &e_)); /* idempotent */
  OK (msb_fs_write (sb, "/opt/x/y/z/f", "hello", 5, &e_));
  OK (msb_fs_symlink (sb, "z/f", "/opt/x/y/rel", &e_));
  char *s = NULL;
  OK (msb_fs_readlink (sb, "/opt/x/y/rel", &s, &e_));
  CHECK_EQ_STR (s, "z/f");
  free (s);
  OK (msb_fs_realpath (sb, "/opt/x/y/rel", &s, &e_));
  CHECK_EQ_STR (s, "/opt/x/y/z/f");
  free (s);
  OK (msb_fs_copy (sb, "/opt/x", "/opt/copy", &e_));
  char *got = shell_out ("cat /opt/copy/y/rel; echo; readlink /opt/copy/y/rel");
  CHECK_EQ_STR (got, "hello\nz/f\n");
  free (got);
  OK (msb_fs_rename (sb, "/opt/copy", "/opt/moved", &e_));
  OK (msb_fs_copy (sb, "/opt/x/y/z/f", "/opt/f2", &e_));
  OK (msb_fs_remove (sb, "/opt/f2", &e_));
  OK (msb_fs_remove_dir (sb, "/opt/moved", &e_));
  bool exists = true;
  OK (msb_fs_exists (sb, "/opt/moved", &exists, &e_));
  CHECK (!exists);
}

TEST (test_fs_errors_have_the_right_kind)
{
  msb_error *e = NULL;
  uint8_t *data = NULL;
  size_t len;
  int r = msb_fs_read (sb, "/no/such/file", &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "read missing");
  e = NULL;
  r = msb_fs_read (sb, "/etc", &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, EISDIR, "read a directory");
  e = NULL;
  msb_fs_metadata md;
  r = msb_fs_stat (sb, "/missing", &md, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "stat missing");
  e = NULL;
  r = msb_fs_write (sb, "/missing-dir/f", "x", 1, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "write without parent");
  e = NULL;
  r = msb_fs_remove (sb, "/etc", &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, EISDIR, "remove a directory");
  e = NULL;
  /* Root of the sandbox cannot read a 0400 file of the host's root (unmapped in the sandbox,
   * so no DAC override applies): sysfs has plenty. */
  char *secret = shell_out ("find /sys/kernel -maxdepth 3 -type f -perm 0400 | head -n 1");
  secret[strcspn (secret, "\n")] = '\0';
  CHECK (*secret == '/');
  r = msb_fs_read (sb, secret, &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, EACCES, "read a host-root 0400 file");
  free (secret);
  e = NULL;
  r = msb_fs_write (sb, "/proc/sys/kernel/hostname", "x", 1, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, EROFS, "write a read-only mount");
  e = NULL;
  r = msb_fs_copy_from_host (sb, "/nonexistent-host-file", "/tmp/x", &e);
  expect_fail (r, e, MSB_ERR_IO, ENOENT, "copy a missing host file");
  e = NULL;
  r = msb_fs_copy_from_host (sb, "/etc", "/tmp/x", &e);
  expect_fail (r, e, MSB_ERR_IO, EISDIR, "copy a host directory");
}

/* ---- hostile paths ---------------------------------------------------------------------- */

TEST (test_fs_path_escapes_never_reach_host_files)
{
  char *host_passwd = host_read ("/etc/passwd");
  /* ".." stops at the sandbox root: this is the image's passwd, not the host's. */
  uint8_t *data = NULL;
  size_t len = 0;
  OK (msb_fs_read (sb, "/../../../../etc/passwd", &data, &len, &e_));
  CHECK (data && strstr ((char *) data, "user:x:1000") && strcmp ((char *) data, host_passwd) != 0);
  free (data);
  data = NULL;
  msb_error *e = NULL;
  int r = msb_fs_read (sb, "../../etc/shadow", &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "read ../../etc/shadow (the image has none)");
  /* Absolute symlinks made by the sandbox point into the sandbox. */
  free (shell_out ("ln -sf /etc/shadow /tmp/to-shadow; ln -sf /etc /tmp/to-etc;"
                   " ln -sf /proc/1/root/etc/passwd /tmp/magic"));
  e = NULL;
  r = msb_fs_read (sb, "/tmp/to-shadow", &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "read a link to /etc/shadow");
  OK (msb_fs_read (sb, "/tmp/to-etc/passwd", &data, &len, &e_));
  CHECK (data && strcmp ((char *) data, host_passwd) != 0);
  free (data);
  e = NULL;
  r = msb_fs_read (sb, "/tmp/magic", &data, &len, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, 0, "read through a /proc magic link");
  /* Writing through the links lands in the sandbox. */
  OK (msb_fs_write (sb, "/tmp/to-etc/msb-test", "x", 1, &e_));
  CHECK (access ("/etc/msb-test", F_OK) != 0);
  /* copy_to_host of a link to an absolute path copies the sandbox's file. */
  char dst[PATH_MAX + 16];
  snprintf (dst, sizeof dst, "%s/passwd-copy", scratch);
  free (shell_out ("ln -sf /etc/passwd /tmp/to-passwd"));
  OK (msb_fs_copy_to_host (sb, "/tmp/to-passwd", dst, &e_));
  char *copied = host_read (dst);
  CHECK (copied && strstr (copied, "user:x:1000") && strcmp (copied, host_passwd) != 0);
  free (copied);
  free (host_passwd);
}

TEST (test_fs_copy_to_host_never_follows_a_planted_symlink)
{
  char victim[PATH_MAX + 16], planted[PATH_MAX + 16];
  snprintf (victim, sizeof victim, "%s/victim", scratch);
  snprintf (planted, sizeof planted, "%s/planted", scratch);
  int fd = open (victim, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  CHECK (write (fd, "precious", 8) == 8);
  close (fd);
  CHECK (symlink (victim, planted) == 0);
  OK (msb_fs_write (sb, "/tmp/payload", "evil", 4, &e_));
  msb_error *e = NULL;
  int r = msb_fs_copy_to_host (sb, "/tmp/payload", planted, &e);
  expect_fail (r, e, MSB_ERR_IO, ELOOP, "copy onto a planted symlink");
  char *v = host_read (victim);
  CHECK_EQ_STR (v, "precious");
  free (v);
  /* A missing sandbox file does not clobber the destination either. */
  e = NULL;
  r = msb_fs_copy_to_host (sb, "/tmp/does-not-exist", victim, &e);
  expect_fail (r, e, MSB_ERR_FILESYSTEM, ENOENT, "copy a missing file out");
  v = host_read (victim);
  CHECK_EQ_STR (v, "precious");
  free (v);
}

TEST (test_fs_symlink_swapped_during_copies_stays_in_sandbox)
{
  char *host_passwd = host_read ("/etc/passwd");
  /* A guest loop flips /tmp/swap between a file and a link to /etc/passwd (absolute: on the
   * host it would name the host's passwd) while the host copies it out again and again. */
  msb_exec *loop = NULL;
  const char *args[] = { "-c",
                         "mkdir -p /tmp/sw; while :; do echo plain > /tmp/sw/n; mv -f /tmp/sw/n /tmp/swap;"
                         " ln -sfn /etc/passwd /tmp/swap; done",
                         NULL };
  OK (msb_exec_start (sb, "/bin/sh", args, NULL, &loop, &e_));
  int plain = 0, linked = 0, bad = 0;
  char dst[PATH_MAX + 16];
  snprintf (dst, sizeof dst, "%s/swapped", scratch);
  for (int i = 0; i < 300; i++)
    {
      msb_error *e = NULL;
      if (msb_fs_copy_to_host (sb, "/tmp/swap", dst, &e) < 0)
        {
          msb_error_free (e);
          continue;
        }
      char *got = host_read (dst);
      if (got && strcmp (got, "plain\n") == 0)
        plain++;
      else if (got && strstr (got, "user:x:1000") && strcmp (got, host_passwd) != 0)
        linked++;
      else
        bad++;
      free (got);
      struct stat st;
      CHECK (lstat (dst, &st) == 0 && S_ISREG (st.st_mode));
    }
  /* Inside the guest, a tree copy racing the same loop never copies through the link. */
  for (int i = 0; i < 20; i++)
    {
      msb_error *e = NULL;
      if (msb_fs_copy (sb, "/tmp/sw", "/tmp/swcopy", &e) < 0)
        msb_error_free (e);
    }
  msb_exec_free (loop);
  CHECK_EQ_INT (bad, 0);
  CHECK (plain + linked > 0);
  fprintf (stderr, "    %d plain, %d through the link, never the host's file\n", plain, linked);
  free (host_passwd);
}

TEST (test_fs_works_beside_exec)
{
  /* A command streams output while files move in both directions. */
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done", NULL };
  OK (msb_exec_start (sb, "/bin/sh", args, NULL, &ex, &e_));
  uint8_t *blob = malloc (8u << 20);
  pattern (blob, 8u << 20, 99);
  OK (msb_fs_write (sb, "/tmp/side", blob, 8u << 20, &e_));
  uint8_t *back = NULL;
  size_t len = 0;
  OK (msb_fs_read (sb, "/tmp/side", &back, &len, &e_));
  CHECK (len == 8u << 20 && memcmp (back, blob, len) == 0);
  free (back);
  free (blob);
  msb_exec_event ev;
  size_t out = 0;
  int code = -2;
  msb_error *e = NULL;
  while (msb_exec_next (ex, &ev, 10000, &e) == 1)
    {
      if (ev.type == MSB_EXEC_EVENT_STDOUT)
        out += ev.len;
      if (ev.type == MSB_EXEC_EVENT_EXITED)
        code = ev.code;
    }
  msb_error_free (e);
  CHECK_EQ_INT (code, 0);
  CHECK (out > 10000);
  msb_exec_free (ex);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (path);
}

static int
setup (void)
{
  snprintf (home, sizeof home, "/tmp/msb-c-fs-%d", (int) getpid ());
  snprintf (scratch, sizeof scratch, "%s/scratch", home);
  mkdir (home, 0700);
  mkdir (scratch, 0700);
  const char *image = getenv ("MSB_TEST_IMAGE_DIR");
  char built[PATH_MAX + 16];
  if (image == NULL || *image == '\0')
    {
      snprintf (built, sizeof built, "%s/image", home);
      char cmd[PATH_MAX * 2 + 64];
      snprintf (cmd, sizeof cmd, "sh '%s/scripts/make-busybox-image.sh' '%s' >/dev/null",
                MSB_SOURCE_ROOT, built);
      if (system (cmd) != 0)
        return -1;
      image = built;
    }
  msb_error *e = NULL;
  char state[PATH_MAX + 16];
  snprintf (state, sizeof state, "%s/home", home);
  if (msb_ctx_open (&ctx, state, &e) < 0 || msb_image_load (ctx, image, "local/busybox:latest", NULL, &e) < 0)
    {
      print_err (e);
      return -1;
    }
  msb_config *cfg = msb_config_new ();
  msb_config_set_image (cfg, "local/busybox:latest", NULL);
  int r = msb_sandbox_create (ctx, "c-fs", cfg, MSB_SANDBOX_REPLACE, -1, &sb, &e);
  msb_config_free (cfg);
  if (r < 0)
    print_err (e);
  msb_error_free (e);
  return r;
}

static void
teardown (void)
{
  msb_sandbox_close (sb);
  msb_sandbox_stop (ctx, "c-fs", 5000, NULL);
  msb_sandbox_remove (ctx, "c-fs", NULL);
  msb_ctx_close (ctx);
  nftw (home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main (int argc, char **argv)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP the ns backend needs root\n");
      return 77;
    }
  if (setup () < 0)
    {
      fprintf (stderr, "setup failed\n");
      teardown ();
      return 1;
    }
  static const msb_test_case cases[] = {
    TEST_ENTRY (test_fs_round_trips_every_size),
    TEST_ENTRY (test_fs_streams_200_mib_both_ways),
    TEST_ENTRY (test_fs_list_and_stat_fields),
    TEST_ENTRY (test_fs_tree_operations),
    TEST_ENTRY (test_fs_errors_have_the_right_kind),
    TEST_ENTRY (test_fs_path_escapes_never_reach_host_files),
    TEST_ENTRY (test_fs_copy_to_host_never_follows_a_planted_symlink),
    TEST_ENTRY (test_fs_symlink_swapped_during_copies_stays_in_sandbox),
    TEST_ENTRY (test_fs_works_beside_exec),
  };
  int r = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  teardown ();
  return r;
}
