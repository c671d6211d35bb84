/* The volume, patch, script, init and upper-size parts of a sandbox config: validation by the
 * setters, and the §1.20 JSON round trip (what the runtime reads back is what was set). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "lib/config.h"
#include "tests/unit/test.h"

static msb_config *
round_trip (const msb_config *c, char **json_out)
{
  char *json = msb_config_to_json (c);
  msb_config *back = NULL;
  msb_error *e = NULL;
  CHECK (msb_config_from_json (json, &back, &e) == 0);
  msb_error_free (e);
  if (json_out)
    *json_out = json;
  else
    free (json);
  return back;
}

TEST (test_mounts_round_trip)
{
  msb_config *c = msb_config_new ();
  CHECK (msb_config_add_bind_mount (c, "/tmp", "/data//x/", MSB_MOUNT_READONLY | MSB_MOUNT_NOEXEC, NULL) == 0);
  msb_named_mount_opts o = { .size = sizeof o, .mode = MSB_NAMED_ENSURE_EXISTS, .kind = MSB_VOLUME_DISK,
                             .size_mib = 64, .flags = MSB_MOUNT_NOSUID };
  CHECK (msb_config_add_named_mount (c, "cache", "/cache", &o, NULL) == 0);
  CHECK (msb_config_add_tmpfs_mount (c, "/scratch", 16, MSB_MOUNT_NODEV, NULL) == 0);
  char *json = NULL;
  msb_config *b = round_trip (c, &json);
  CHECK (strstr (json, "\"mounts\":[{\"kind\":\"bind\",\"guest\":\"/data/x\",\"bind\":\"/tmp\"") != NULL);
  CHECK_EQ_INT (b->files.n_mounts, 3);
  if (b->files.n_mounts == 3)
    {
      CHECK_EQ_STR (b->files.mounts[0].target, "/data/x");
      CHECK_EQ_INT (b->files.mounts[0].flags, MSB_MOUNT_READONLY | MSB_MOUNT_NOEXEC);
      CHECK_EQ_STR (b->files.mounts[1].source, "cache");
      CHECK_EQ_INT (b->files.mounts[1].named_mode, MSB_NAMED_ENSURE_EXISTS);
      CHECK_EQ_INT (b->files.mounts[1].named_kind, MSB_VOLUME_DISK);
      CHECK_EQ_INT (b->files.mounts[1].size_mib, 64);
      CHECK_EQ_INT (b->files.mounts[2].kind, MSB_MOUNT_KIND_TMPFS);
      CHECK_EQ_INT (b->files.mounts[2].size_mib, 16);
    }
  /* A copy is deep. */
  msb_config *copy = msb_config_copy (b);
  msb_config_free (b);
  CHECK_EQ_STR (copy->files.mounts[1].source, "cache");
  msb_config_free (copy);
  free (json);
  msb_config_free (c);
}

TEST (test_patches_round_trip_with_binary_content)
{
  msb_config *c = msb_config_new ();
  const uint8_t bin[] = { 0, 0xff, 'a', 0x80 };
  CHECK (msb_config_add_patch_text (c, "/etc/motd", "hi\n", 0600, true, NULL) == 0);
  CHECK (msb_config_add_patch_file (c, "/bin.dat", bin, sizeof bin, -1, false, NULL) == 0);
  CHECK (msb_config_add_patch_append (c, "/log", "\xff not utf-8", NULL) == 0);
  CHECK (msb_config_add_patch_mkdir (c, "/d", 0700, NULL) == 0);
  CHECK (msb_config_add_patch_remove (c, "/gone", NULL) == 0);
  CHECK (msb_config_add_patch_symlink (c, "../t", "/l", true, NULL) == 0);
  CHECK (msb_config_add_patch_copy_file (c, "/etc/hostname", "/h", 0644, false, NULL) == 0
         || access ("/etc/hostname", F_OK) != 0);
  msb_config *b = round_trip (c, NULL);
  CHECK (b->files.n_patches == c->files.n_patches);
  for (size_t i = 0; i < b->files.n_patches && i < c->files.n_patches; i++)
    {
      const msb_patch_spec *x = &c->files.patches[i], *y = &b->files.patches[i];
      CHECK_EQ_INT (x->kind, y->kind);
      CHECK_EQ_STR (x->path, y->path);
      CHECK (x->src == y->src || (x->src && y->src && strcmp (x->src, y->src) == 0));
      CHECK_EQ_INT (x->content_len, y->content_len);
      CHECK (x->content_len == 0 || memcmp (x->content, y->content, x->content_len) == 0);
      CHECK_EQ_INT (x->mode, y->mode);
      CHECK_EQ_INT (x->replace, y->replace);
    }
  msb_config_free (b);
  msb_config_free (c);
}

TEST (test_init_scripts_and_upper_round_trip)
{
  msb_config *c = msb_config_new ();
  const char *args[] = { "--flag", NULL };
  const char *env[] = { "A=1", "B=two=2", NULL };
  CHECK (msb_config_set_init (c, "/sbin/init", args, env, NULL) == 0);
  CHECK (msb_config_set_script (c, "hello", "#!/bin/sh\necho hi\n", NULL) == 0);
  CHECK (msb_config_set_upper_size_mib (c, 256, NULL) == 0);
  char *json = NULL;
  msb_config *b = round_trip (c, &json);
  CHECK (strstr (json, "\"root_disk\":{\"kind\":\"managed\",\"size_mib\":256}") != NULL);
  CHECK (strstr (json, "\"init\":{\"cmd\":\"/sbin/init\",\"args\":[\"--flag\"],\"env\":{\"A\":\"1\",\"B\":\"two=2\"}}") != NULL);
  CHECK_EQ_STR (b->files.init_cmd, "/sbin/init");
  CHECK (b->files.init_args && b->files.init_args[0] && strcmp (b->files.init_args[0], "--flag") == 0);
  CHECK_EQ_STR (msb_kvlist_get (&b->files.init_env, "B"), "two=2");
  CHECK_EQ_INT (b->files.upper_size_mib, 256);
  CHECK_EQ_STR (msb_kvlist_get (&b->scripts, "hello"), "#!/bin/sh\necho hi\n");
  free (json);
  msb_config_free (b);
  /* Cleared again. */
  CHECK (msb_config_set_init (c, NULL, NULL, NULL, NULL) == 0);
  json = msb_config_to_json (c);
  CHECK (strstr (json, "\"init\":null") != NULL);
  free (json);
  msb_config_free (c);
}

TEST (test_setters_refuse_what_could_escape)
{
  msb_config *c = msb_config_new ();
  msb_error *e = NULL;
  const char *bad_guest[] = { "rel", "/a/../b", "/a/./b", "/proc", "/sys/x", "/.msb/scripts", "/",
                              "/x\n" };
  for (size_t i = 0; i < sizeof bad_guest / sizeof bad_guest[0]; i++)
    {
      CHECK (msb_config_add_tmpfs_mount (c, bad_guest[i], 0, 0, &e) < 0);
      CHECK_EQ_INT (msb_error_get_kind (e), MSB_ERR_INVALID_CONFIG);
      msb_error_clear (&e);
    }
  CHECK (msb_config_add_patch_mkdir (c, "/", -1, NULL) == 0); /* mkdir / is a no-op */
  CHECK (msb_config_add_patch_remove (c, "/", &e) < 0);
  msb_error_clear (&e);
  CHECK (msb_config_add_patch_text (c, "/x", "y", 010000, false, &e) < 0);
  msb_error_clear (&e);
  const char *bad_names[] = { "", ".", "..", "a/b", "x\ty" };
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    {
      CHECK (msb_config_add_named_mount (c, bad_names[i], "/v", NULL, &e) < 0);
      msb_error_clear (&e);
      CHECK (msb_config_set_script (c, bad_names[i], "x", &e) < 0);
      msb_error_clear (&e);
    }
  msb_named_mount_opts o = { .size = sizeof o, .mode = MSB_NAMED_CREATE, .kind = MSB_VOLUME_DISK };
  CHECK (msb_config_add_named_mount (c, "nosize", "/v", &o, &e) < 0); /* a disk needs a size */
  msb_error_clear (&e);
  CHECK (msb_config_add_bind_mount (c, "/definitely/not/here", "/v", 0, &e) < 0);
  msb_error_clear (&e);
  CHECK (msb_config_add_bind_mount (c, "/tmp", "/v", 1u << 9, &e) < 0); /* unknown flag */
  msb_error_clear (&e);
  CHECK (msb_config_set_init (c, "init", NULL, NULL, &e) < 0);
  msb_error_clear (&e);
  const char *bad_env[] = { "NOEQUALS", NULL };
  CHECK (msb_config_set_init (c, "/init", NULL, bad_env, &e) < 0);
  msb_error_clear (&e);
  CHECK (msb_config_set_upper_size_mib (c, 8, &e) < 0);
  msb_error_free (e);
  msb_config_free (c);
}

TEST_MAIN (TEST_ENTRY (test_mounts_round_trip), TEST_ENTRY (test_patches_round_trip_with_binary_content),
           TEST_ENTRY (test_init_scripts_and_upper_round_trip),
           TEST_ENTRY (test_setters_refuse_what_could_escape))
