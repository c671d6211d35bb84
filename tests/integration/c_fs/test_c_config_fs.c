/* Config-level filesystem features through the public C API: every patch kind and the replace
 * rule, the volume API with its host-side file calls (escapes rejected), named-mount modes,
 * tmpfs and a custom init with arguments and environment. Needs root (the ns backend). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msb/msb.h>

#include "tests/unit/test.h"

static msb_ctx *ctx;
static char home[256];
static char scratch[PATH_MAX];

#define OK(call)                                                   \
  do                                                               \
    {                                                              \
      msb_error *e_ = NULL;                                        \
      int r_ = (call);                                             \
      if (r_ < 0)                                                  \
        fprintf (stderr, "    error: %s\n", msb_error_get_message (e_)); \
      CHECK_EQ_INT (r_, 0);                                        \
      msb_error_free (e_);                                         \
    }                                                              \
  while (0)

/* The public API has no msb_error_clear: free and reset. */
static void
clear (msb_error **e)
{
  msb_error_free (*e);
  *e = NULL;
}

static msb_config *
base_config (void)
{
  msb_config *cfg = msb_config_new ();
  msb_config_set_image (cfg, "local/busybox:latest", NULL);
  return cfg;
}

static char *
sh (msb_sandbox *sb, const char *script)
{
  msb_exec_output out;
  msb_error *e = NULL;
  if (msb_shell (sb, script, NULL, &out, &e) < 0)
    {
      fprintf (stderr, "    shell: %s\n", msb_error_get_message (e));
      msb_error_free (e);
      return strdup ("");
    }
  char *s = strndup ((char *) out.stdout_data, out.stdout_len);
  msb_exec_output_clear (&out);
  return s;
}

static void
drop (msb_sandbox *sb, const char *name)
{
  msb_sandbox_close (sb);
  msb_sandbox_stop (ctx, name, 5000, NULL);
  msb_sandbox_remove (ctx, name, NULL);
}

/* ---- patches ---------------------------------------------------------------------------- */

TEST (test_every_patch_kind)
{
  char host_file[PATH_MAX + 16], host_dir[PATH_MAX + 16];
  snprintf (host_file, sizeof host_file, "%s/script.sh", scratch);
  snprintf (host_dir, sizeof host_dir, "%s/tree", scratch);
  FILE *f = fopen (host_file, "w");
  fputs ("#!/bin/sh\necho from host\n", f);
  fclose (f);
  chmod (host_file, 0750);
  mkdir (host_dir, 0755);
  char sub[PATH_MAX + 32];
  snprintf (sub, sizeof sub, "%s/inner", host_dir);
  f = fopen (sub, "w");
  fputs ("inner\n", f);
  fclose (f);

  msb_config *cfg = base_config ();
  const uint8_t bytes[] = { 0, 1, 2, 0xff, 0xfe, '\n' };
  OK (msb_config_add_patch_text (cfg, "/etc/motd", "welcome\n", 0600, false, &e_));
  OK (msb_config_add_patch_text (cfg, "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", -1, true, &e_));
  OK (msb_config_add_patch_file (cfg, "/data/blob.bin", bytes, sizeof bytes, -1, false, &e_));
  OK (msb_config_add_patch_append (cfg, "/etc/group", "extra:x:4242:\n", &e_));
  OK (msb_config_add_patch_append (cfg, "/data/new.log", "first\n", &e_));
  OK (msb_config_add_patch_mkdir (cfg, "/srv/a/b", 0700, &e_));
  OK (msb_config_add_patch_mkdir (cfg, "/tmp", -1, &e_)); /* exists: idempotent */
  OK (msb_config_add_patch_remove (cfg, "/home/user", &e_));
  OK (msb_config_add_patch_remove (cfg, "/no/such/path", &e_)); /* idempotent */
  OK (msb_config_add_patch_copy_file (cfg, host_file, "/usr/local/bin/hello", -1, false, &e_));
  OK (msb_config_add_patch_copy_dir (cfg, host_dir, "/opt/tree", false, &e_));
  OK (msb_config_add_patch_symlink (cfg, "/etc/motd", "/etc/motd.link", false, &e_));
  OK (msb_config_add_patch_symlink (cfg, "/etc/group", "/bin/sh.alias", false, &e_));
  OK (msb_config_add_patch_symlink (cfg, "busybox", "/bin/ls", true, &e_)); /* replace a link */
  msb_sandbox *sb = NULL;
  OK (msb_sandbox_create (ctx, "patches", cfg, MSB_SANDBOX_REPLACE, -1, &sb, &e_));
  msb_config_free (cfg);
  if (sb == NULL)
    return;
  char *out = sh (sb, "cat /etc/motd; stat -c %a /etc/motd; wc -l < /etc/passwd;"
                      " od -An -tx1 /data/blob.bin | tr -d ' \\n'; echo;"
                      " tail -n1 /etc/group; cat /data/new.log; stat -c %a /srv/a/b;"
                      " test -e /home/user || echo user-gone; hello; stat -c %a /usr/local/bin/hello;"
                      " cat /opt/tree/inner; readlink /etc/motd.link; readlink /bin/ls");
  CHECK_EQ_STR (out, "welcome\n600\n1\n000102fffe0a\nextra:x:4242:\nfirst\n700\nuser-gone\n"
                     "from host\n750\ninner\n/etc/motd\nbusybox\n");
  free (out);
  /* The stored config keeps every patch, bytes included. */
  msb_sandbox_info *info = NULL;
  OK (msb_sandbox_get (ctx, "patches", &info, &e_));
  const char *json = info ? msb_sandbox_info_config_json (info) : "";
  CHECK (strstr (json, "\"content_base64\":\"AAEC//4K\"") != NULL);
  CHECK (strstr (json, "\"kind\":\"copy_dir\"") != NULL);
  msb_sandbox_info_free (info);
  drop (sb, "patches");
}

TEST (test_replace_rule_fails_the_create_and_leaves_nothing)
{
  static const struct
  {
    const char *what;
    int kind;
  } cases[] = { { "text", 0 }, { "symlink", 1 }, { "copy_dir", 2 } };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_config *cfg = base_config ();
      if (cases[i].kind == 0)
        OK (msb_config_add_patch_text (cfg, "/etc/passwd", "x\n", -1, false, &e_));
      else if (cases[i].kind == 1)
        OK (msb_config_add_patch_symlink (cfg, "/x", "/bin/sh", false, &e_));
      else
        OK (msb_config_add_patch_copy_dir (cfg, scratch, "/etc", false, &e_));
      msb_sandbox *sb = NULL;
      msb_error *e = NULL;
      int r = msb_sandbox_create (ctx, "refused", cfg, 0, -1, &sb, &e);
      msb_config_free (cfg);
      CHECK (r < 0);
      const char *text = e ? msb_error_get_message (e) : NULL;
      const char *msg = text ? text : "";
      if (strstr (msg, "patch 1 (") == NULL || strstr (msg, "already exists") == NULL)
        fprintf (stderr, "    %s: %s\n", cases[i].what, msg);
      CHECK (strstr (msg, "patch 1 (") != NULL && strstr (msg, cases[i].what) != NULL);
      CHECK (strstr (msg, "already exists") != NULL);
      msb_error_free (e);
      msb_sandbox_info *info = NULL;
      e = NULL;
      CHECK (msb_sandbox_get (ctx, "refused", &info, &e) < 0);
      CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_SANDBOX_NOT_FOUND);
      msb_error_free (e);
      char dir[512];
      snprintf (dir, sizeof dir, "%s/home/sandboxes/refused", home);
      CHECK (access (dir, F_OK) != 0);
    }
}

TEST (test_patch_paths_are_validated)
{
  msb_config *cfg = base_config ();
  msb_error *e = NULL;
  CHECK (msb_config_add_patch_text (cfg, "relative", "x", -1, false, &e) < 0);
  CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_INVALID_CONFIG);
  clear (&e);
  CHECK (msb_config_add_patch_text (cfg, "/etc/../../x", "x", -1, false, &e) < 0);
  clear (&e);
  CHECK (msb_config_add_patch_remove (cfg, "/", &e) < 0);
  clear (&e);
  CHECK (msb_config_add_patch_text (cfg, "/proc/sys/x", "x", -1, false, &e) < 0);
  clear (&e);
  CHECK (msb_config_add_patch_copy_file (cfg, "/definitely/missing", "/x", -1, false, &e) < 0);
  clear (&e);
  CHECK (msb_config_add_bind_mount (cfg, "/etc/passwd", "/x", 0, &e) < 0); /* not a directory */
  clear (&e);
  CHECK (msb_config_add_tmpfs_mount (cfg, "/.msb/x", 0, 0, &e) < 0);
  clear (&e);
  OK (msb_config_add_tmpfs_mount (cfg, "/t", 1, 0, &e_));
  CHECK (msb_config_add_tmpfs_mount (cfg, "//t/", 1, 0, &e) < 0); /* the same target */
  clear (&e);
  CHECK (msb_config_set_upper_size_mib (cfg, 4, &e) < 0);
  clear (&e);
  CHECK (msb_config_set_init (cfg, "relative/init", NULL, NULL, &e) < 0);
  clear (&e);
  CHECK (msb_config_set_script (cfg, "a/b", "x", &e) < 0);
  msb_error_free (e);
  msb_config_free (cfg);
}

/* ---- volumes ---------------------------------------------------------------------------- */

TEST (test_volume_api_and_host_files)
{
  msb_volume_opts o = { .size = sizeof o, .quota_mib = 16 };
  const char *labels[] = { "team=fs", NULL };
  o.labels = labels;
  msb_volume_info *v = NULL;
  OK (msb_volume_create (ctx, "capi", &o, &v, &e_));
  if (v == NULL)
    return;
  CHECK_EQ_INT (msb_volume_info_kind (v), MSB_VOLUME_DIR);
  CHECK_EQ_INT (msb_volume_info_quota_mib (v), 16);
  CHECK_EQ_STR (msb_volume_info_labels_json (v), "{\"team\":\"fs\"}");
  CHECK (msb_volume_info_disk_format (v) == NULL);
  char *vpath = strdup (msb_volume_info_path (v));
  msb_volume_info_free (v);
  msb_error *e = NULL;
  CHECK (msb_volume_create (ctx, "capi", NULL, NULL, &e) < 0);
  clear (&e);

  /* Host-side files. */
  OK (msb_volume_fs_mkdir (ctx, "capi", "a/b", &e_));
  OK (msb_volume_fs_write (ctx, "capi", "a/b/f.txt", "hello", 5, &e_));
  uint8_t *data = NULL;
  size_t len = 0;
  OK (msb_volume_fs_read (ctx, "capi", "/a/b/f.txt", &data, &len, &e_));
  CHECK (len == 5 && memcmp (data, "hello", 5) == 0);
  free (data);
  OK (msb_volume_fs_copy (ctx, "capi", "a", "a2", &e_));
  OK (msb_volume_fs_rename (ctx, "capi", "a2/b/f.txt", "a2/g.txt", &e_));
  msb_fs_entry *entries = NULL;
  size_t n = 0;
  OK (msb_volume_fs_list (ctx, "capi", "a2", &entries, &n, &e_));
  CHECK_EQ_INT (n, 2);
  if (n == 2)
    {
      CHECK_EQ_STR (entries[0].path, "a2/b");
      CHECK_EQ_STR (entries[1].path, "a2/g.txt");
      CHECK_EQ_INT (entries[1].uid, 0); /* the volume's root, as a sandbox sees it */
    }
  msb_fs_entries_free (entries, n);
  msb_fs_metadata md;
  OK (msb_volume_fs_stat (ctx, "capi", "a2/g.txt", &md, &e_));
  CHECK (md.kind == MSB_FS_FILE && md.size == 5);
  bool exists = true;
  OK (msb_volume_fs_exists (ctx, "capi", "nope", &exists, &e_));
  CHECK (!exists);

  /* Escapes are rejected; nothing outside the volume is read or written. */
  char link[PATH_MAX + 16];
  snprintf (link, sizeof link, "%s/evil", vpath);
  CHECK (symlink ("/etc", link) == 0);
  snprintf (link, sizeof link, "%s/rel-evil", vpath);
  CHECK (symlink ("../../../../../../../etc", link) == 0);
  const char *escapes[] = { "../../etc/passwd", "evil/passwd", "rel-evil/passwd", "a/../../x" };
  for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
    {
      e = NULL;
      CHECK (msb_volume_fs_read (ctx, "capi", escapes[i], &data, &len, &e) < 0);
      CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_FILESYSTEM);
      clear (&e);
      CHECK (msb_volume_fs_write (ctx, "capi", escapes[i], "x", 1, &e) < 0);
      clear (&e);
    }
  CHECK (msb_volume_fs_mkdir (ctx, "capi", "evil/made", &e) < 0);
  clear (&e);
  CHECK (access ("/etc/made", F_OK) != 0);
  CHECK (msb_volume_fs_remove_file (ctx, "capi", "evil", &e) == 0); /* the link itself */
  CHECK (access ("/etc/passwd", F_OK) == 0);

  /* A sandbox sees the host's writes with the right owner, and the other way round. */
  msb_config *cfg = base_config ();
  OK (msb_config_add_named_mount (cfg, "capi", "/vol", NULL, &e_));
  msb_sandbox *sb = NULL;
  OK (msb_sandbox_create (ctx, "vol-user", cfg, MSB_SANDBOX_REPLACE, -1, &sb, &e_));
  msb_config_free (cfg);
  if (sb)
    {
      char *out = sh (sb, "cat /vol/a2/g.txt; echo; stat -c '%u %g' /vol/a2/g.txt; echo sb > /vol/from-sb");
      CHECK_EQ_STR (out, "hello\n0 0\n");
      free (out);
      OK (msb_volume_fs_read (ctx, "capi", "from-sb", &data, &len, &e_));
      CHECK (len == 3);
      free (data);
      e = NULL;
      CHECK (msb_volume_remove (ctx, "capi", &e) < 0); /* in use */
      CHECK (e && strstr (msb_error_get_message (e), "vol-user") != NULL);
      clear (&e);
      drop (sb, "vol-user");
    }
  OK (msb_volume_fs_remove_dir (ctx, "capi", "a2", &e_));
  OK (msb_volume_remove (ctx, "capi", &e_));
  e = NULL;
  CHECK (msb_volume_get (ctx, "capi", &v, &e) < 0);
  CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_VOLUME_NOT_FOUND);
  msb_error_free (e);
  CHECK (access (vpath, F_OK) != 0);
  free (vpath);
}

TEST (test_named_mount_modes)
{
  msb_config *cfg = base_config ();
  OK (msb_config_add_named_mount (cfg, "absent", "/v", NULL, &e_));
  msb_sandbox *sb = NULL;
  msb_error *e = NULL;
  CHECK (msb_sandbox_create (ctx, "modes", cfg, 0, -1, &sb, &e) < 0);
  CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_VOLUME_NOT_FOUND);
  clear (&e);
  msb_config_free (cfg);

  cfg = base_config ();
  msb_named_mount_opts o = { .size = sizeof o, .mode = MSB_NAMED_CREATE, .kind = MSB_VOLUME_DISK,
                             .size_mib = 16 };
  OK (msb_config_add_named_mount (cfg, "made-disk", "/d", &o, &e_));
  OK (msb_sandbox_create (ctx, "modes", cfg, 0, -1, &sb, &e_));
  if (sb)
    {
      char *out = sh (sb, "df -m /d | tail -n1 | awk '{print ($2 > 8)}'");
      CHECK_EQ_STR (out, "1\n");
      free (out);
      drop (sb, "modes");
    }
  /* Mode `create` refuses an existing volume. */
  CHECK (msb_sandbox_create (ctx, "modes2", cfg, 0, -1, &sb, &e) < 0);
  CHECK (e && strstr (msb_error_get_message (e), "already exists") != NULL);
  clear (&e);
  msb_config_free (cfg);
  msb_volume_info *v = NULL;
  OK (msb_volume_get (ctx, "made-disk", &v, &e_));
  CHECK (v && msb_volume_info_kind (v) == MSB_VOLUME_DISK);
  CHECK (v && msb_volume_info_capacity_bytes (v) == 16u << 20);
  msb_volume_info_free (v);
  e = NULL;
  uint8_t *data;
  size_t len;
  CHECK (msb_volume_fs_read (ctx, "made-disk", "x", &data, &len, &e) < 0);
  CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_UNSUPPORTED);
  msb_error_free (e);
  OK (msb_volume_remove (ctx, "made-disk", &e_));

  /* A failed create removes the volumes it created. */
  cfg = base_config ();
  msb_named_mount_opts ens = { .size = sizeof ens, .mode = MSB_NAMED_ENSURE_EXISTS };
  OK (msb_config_add_named_mount (cfg, "transient", "/t", &ens, &e_));
  OK (msb_config_add_patch_text (cfg, "/etc/passwd", "x", -1, false, &e_));
  e = NULL;
  CHECK (msb_sandbox_create (ctx, "modes3", cfg, 0, -1, &sb, &e) < 0);
  clear (&e);
  CHECK (msb_volume_get (ctx, "transient", &v, &e) < 0);
  msb_error_free (e);
  msb_config_free (cfg);
}

/* ---- init -------------------------------------------------------------------------------- */

TEST (test_init_gets_its_arguments_and_environment)
{
  char init_src[PATH_MAX], init_bin[PATH_MAX + 16];
  snprintf (init_src, sizeof init_src, "%s/tests/integration/fs/tiny_init.c", MSB_SOURCE_ROOT);
  snprintf (init_bin, sizeof init_bin, "%s/tiny-init", scratch);
  char cmd[PATH_MAX * 3];
  snprintf (cmd, sizeof cmd, "cc -static -O2 -o '%s' '%s' 2>/dev/null", init_bin, init_src);
  if (system (cmd) != 0)
    {
      printf ("# skipped: cannot build a static init\n");
      return;
    }
  msb_config *cfg = base_config ();
  OK (msb_config_add_patch_copy_file (cfg, init_bin, "/sbin/tiny-init", 0755, false, &e_));
  const char *args[] = { "first-arg", NULL };
  const char *env[] = { "INIT_MARK=marked", NULL };
  OK (msb_config_set_init (cfg, "/sbin/tiny-init", args, env, &e_));
  msb_sandbox *sb = NULL;
  OK (msb_sandbox_create (ctx, "init-args", cfg, 0, -1, &sb, &e_));
  msb_config_free (cfg);
  if (sb == NULL)
    return;
  char *out = sh (sb, "cat /tmp/init-pid");
  CHECK_EQ_STR (out, "1 first-arg marked\n");
  free (out);
  drop (sb, "init-args");
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

int
main (int argc, char **argv)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP the ns backend needs root\n");
      return 77;
    }
  snprintf (home, sizeof home, "/tmp/msb-c-cfg-%d", (int) getpid ());
  snprintf (scratch, sizeof scratch, "%s/scratch", home);
  mkdir (home, 0700);
  mkdir (scratch, 0755);
  const char *image = getenv ("MSB_TEST_IMAGE_DIR");
  char built[PATH_MAX];
  if (image == NULL || *image == '\0')
    {
      snprintf (built, sizeof built, "%s/image", home);
      char cmd[PATH_MAX * 2 + 64];
      snprintf (cmd, sizeof cmd, "sh '%s/scripts/make-busybox-image.sh' '%s' >/dev/null",
                MSB_SOURCE_ROOT, built);
      if (system (cmd) != 0)
        return 1;
      image = built;
    }
  char state[PATH_MAX];
  snprintf (state, sizeof state, "%s/home", home);
  msb_error *e = NULL;
  if (msb_ctx_open (&ctx, state, &e) < 0 || msb_image_load (ctx, image, "local/busybox:latest", NULL, &e) < 0)
    {
      fprintf (stderr, "setup: %s\n", msb_error_get_message (e));
      return 1;
    }
  static const msb_test_case cases[] = {
    TEST_ENTRY (test_every_patch_kind),
    TEST_ENTRY (test_replace_rule_fails_the_create_and_leaves_nothing),
    TEST_ENTRY (test_patch_paths_are_validated),
    TEST_ENTRY (test_volume_api_and_host_files),
    TEST_ENTRY (test_named_mount_modes),
    TEST_ENTRY (test_init_gets_its_arguments_and_environment),
  };
  int r = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  msb_ctx_close (ctx);
  nftw (home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return r;
}
