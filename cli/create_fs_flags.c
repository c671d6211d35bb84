/* The create flags that shape a sandbox's filesystem and first process (API.md §2):
 *   -v, --volume SRC:DST[:OPTS]   SRC starting with '/' or '.' is a host directory, anything
 *                                 else a named volume (created when missing); OPTS is a comma
 *                                 list of ro, rw, noexec, nosuid, nodev
 *   --tmpfs PATH[:SIZE|:OPTS]     SIZE like 64M; OPTS: size=64M, ro, noexec, nosuid
 *   --script NAME=BODY            /.msb/scripts/NAME
 *   --init auto|PATH              a custom init as PID 1
 *   --root-disk SIZE              bound the writable layer (also --upper-size)
 *   --from-snapshot NAME|PATH     boot from a disk snapshot (its image and writable layer)
 *   --copy, --copy-file, --copy-dir HOST:GUEST, --mkdir PATH, --rm PATH   patches
 * Each is a thin translation to an msb_config setter; errors name the flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static const char help[] =
    "  -v, --volume SRC:DST[:OPTS]  mount a host directory (SRC starts with / or .) or a named\n"
    "                             volume (created when missing); OPTS: ro,noexec,nosuid,nodev\n"
    "      --mount-dir DIR:DST[:OPTS], --mount-named VOLUME:DST[:OPTS]   the same, explicitly\n"
    "      --tmpfs PATH[:SIZE]    mount a tmpfs (SIZE like 64M; or OPTS size=64M,ro,noexec)\n"
    "      --script NAME=BODY     add /.msb/scripts/NAME (on PATH in the sandbox)\n"
    "      --init auto|PATH       run a custom init as PID 1 after the agent's setup\n"
    "      --root-disk SIZE       bound the writable layer to SIZE (ENOSPC inside beyond it)\n"
    "      --from-snapshot NAME|PATH  boot from a disk snapshot instead of IMAGE\n"
    "      --copy HOST:GUEST      patch: copy a host file or directory into the sandbox\n"
    "      --copy-file HOST:GUEST, --copy-dir HOST:GUEST   the same, for one kind only\n"
    "      --mkdir PATH           patch: create a directory\n"
    "      --rm PATH              patch: remove a path of the image\n";

const char *
cli_create_fs_flags_help (void)
{
  return help;
}

/* Mount options "ro,noexec,…" into MSB_MOUNT_* flags; -1 on an unknown one. */
static int
mount_flags (const char *opts, unsigned *flags, unsigned long long *size_mib)
{
  char *copy = strdup (opts ? opts : "");
  char *save = NULL;
  int r = 0;
  for (char *o = strtok_r (copy, ",", &save); o && r == 0; o = strtok_r (NULL, ",", &save))
    {
      unsigned mib;
      if (strcmp (o, "ro") == 0 || strcmp (o, "readonly") == 0)
        *flags |= MSB_MOUNT_READONLY;
      else if (strcmp (o, "rw") == 0)
        *flags &= ~(unsigned) MSB_MOUNT_READONLY;
      else if (strcmp (o, "noexec") == 0)
        *flags |= MSB_MOUNT_NOEXEC;
      else if (strcmp (o, "nosuid") == 0)
        *flags |= MSB_MOUNT_NOSUID;
      else if (strcmp (o, "nodev") == 0)
        *flags |= MSB_MOUNT_NODEV;
      else if (strcmp (o, "exec") == 0 || strcmp (o, "suid") == 0 || strcmp (o, "dev") == 0)
        ;
      else if (size_mib && strncmp (o, "size=", 5) == 0 && cli_parse_size_mib (o + 5, &mib) == 0)
        *size_mib = mib;
      else if (size_mib && cli_parse_size_mib (o, &mib) == 0)
        *size_mib = mib;
      else
        r = -1;
    }
  free (copy);
  return r;
}

static int
volume_flag (msb_config *cfg, const char *flag, const char *v)
{
  char *spec = strdup (v);
  char *opts = NULL;
  char *last = strrchr (spec, ':');
  if (last && last[1] != '/')
    {
      *last = '\0';
      opts = last + 1;
      last = strrchr (spec, ':');
    }
  if (last == NULL || last == spec || last[1] != '/')
    {
      free (spec);
      return cli_flag_bad_value (flag, v, "expected SRC:DST[:OPTS] with an absolute DST");
    }
  *last = '\0';
  const char *src = spec, *dst = last + 1;
  unsigned flags = 0;
  if (mount_flags (opts, &flags, NULL) < 0)
    {
      free (spec);
      return cli_flag_bad_value (flag, v, "options are ro, rw, noexec, nosuid, nodev");
    }
  msb_error *err = NULL;
  if (src[0] == '/' || src[0] == '.')
    msb_config_add_bind_mount (cfg, src, dst, flags, &err);
  else
    {
      msb_named_mount_opts o = { .size = sizeof o, .flags = flags, .mode = MSB_NAMED_ENSURE_EXISTS };
      msb_config_add_named_mount (cfg, src, dst, &o, &err);
    }
  free (spec);
  return cli_flag_applied (err);
}

static int
tmpfs_flag (msb_config *cfg, const char *flag, const char *v)
{
  char *spec = strdup (v);
  char *colon = strchr (spec, ':');
  unsigned flags = 0;
  unsigned long long size = 0;
  if (colon)
    *colon = '\0';
  if (colon && mount_flags (colon + 1, &flags, &size) < 0)
    {
      free (spec);
      return cli_flag_bad_value (flag, v,
                                 "expected PATH[:SIZE] or PATH:size=SIZE,ro,noexec,nosuid");
    }
  msb_error *err = NULL;
  msb_config_add_tmpfs_mount (cfg, spec, size, flags, &err);
  free (spec);
  return cli_flag_applied (err);
}

/* "HOST:GUEST": the last ':' followed by '/' splits them. */
static int
split_copy (const char *v, char **host, const char **guest)
{
  const char *colon = NULL;
  for (const char *p = v; (p = strchr (p, ':')) != NULL; p++)
    if (p[1] == '/')
      colon = p;
  if (colon == NULL || colon == v)
    return -1;
  *host = strndup (v, (size_t) (colon - v));
  *guest = colon + 1;
  return 0;
}

static int
copy_flag (msb_config *cfg, const char *flag, const char *v, int kind)
{
  char *host = NULL;
  const char *guest = NULL;
  if (split_copy (v, &host, &guest) < 0)
    return cli_flag_bad_value (flag, v, "expected HOST:GUEST with an absolute GUEST path");
  struct stat st;
  if (kind == 0)
    kind = stat (host, &st) == 0 && S_ISDIR (st.st_mode) ? 2 : 1;
  msb_error *err = NULL;
  if (kind == 2)
    msb_config_add_patch_copy_dir (cfg, host, guest, false, &err);
  else
    msb_config_add_patch_copy_file (cfg, host, guest, -1, false, &err);
  free (host);
  return cli_flag_applied (err);
}

int
cli_create_fs_flag (cli_create_opts *o, int argc, char **argv, int *i)
{
  bool m;
  const char *flag = argv[*i];
  const char *v;
  msb_error *err = NULL;
  if ((v = cli_flag_value (argc, argv, i, "-v", "--volume", &m)), m)
    return v ? volume_flag (o->cfg, flag, v) : cli_flag_bad_value (flag, v, "a value is required");
  /* API.md's explicit spellings of -v: a host directory, or a named volume. */
  if ((v = cli_flag_value (argc, argv, i, NULL, "--mount-dir", &m)), m)
    return v && (v[0] == '/' || v[0] == '.')
               ? volume_flag (o->cfg, flag, v)
               : cli_flag_bad_value (flag, v, "expected HOST_DIR:GUEST[:OPTS], HOST_DIR absolute "
                                              "or starting with .");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--mount-named", &m)), m)
    return v && v[0] != '/' && v[0] != '.' && v[0] != ':'
               ? volume_flag (o->cfg, flag, v)
               : cli_flag_bad_value (flag, v, "expected VOLUME:GUEST[:OPTS]");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--tmpfs", &m)), m)
    return v ? tmpfs_flag (o->cfg, flag, v) : cli_flag_bad_value (flag, v, "a value is required");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--script", &m)), m)
    {
      const char *eq = v ? strchr (v, '=') : NULL;
      if (eq == NULL)
        return cli_flag_bad_value (flag, v, "expected NAME=BODY");
      char *name = strndup (v, (size_t) (eq - v));
      msb_config_set_script (o->cfg, name, eq + 1, &err);
      free (name);
      return cli_flag_applied (err);
    }
  if ((v = cli_flag_value (argc, argv, i, NULL, "--init", &m)), m)
    {
      if (v == NULL)
        return cli_flag_bad_value (flag, v, "expected auto or an absolute path");
      msb_config_set_init (o->cfg, v, NULL, NULL, &err);
      return cli_flag_applied (err);
    }
  if (((v = cli_flag_value (argc, argv, i, NULL, "--root-disk", &m)), m)
      || ((v = cli_flag_value (argc, argv, i, NULL, "--upper-size", &m)), m))
    {
      unsigned mib;
      if (v == NULL || cli_parse_size_mib (v, &mib) < 0)
        return cli_flag_bad_value (flag, v, "expected a size such as 512M or 8G");
      msb_config_set_upper_size_mib (o->cfg, mib, &err);
      return cli_flag_applied (err);
    }
  if ((v = cli_flag_value (argc, argv, i, NULL, "--from-snapshot", &m)), m)
    return v ? (o->from_snapshot = v, 1)
             : cli_flag_bad_value (flag, v, "a snapshot name or path is required");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--copy", &m)), m)
    return v ? copy_flag (o->cfg, flag, v, 0) : cli_flag_bad_value (flag, v, "a value is required");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--copy-file", &m)), m)
    return v ? copy_flag (o->cfg, flag, v, 1) : cli_flag_bad_value (flag, v, "a value is required");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--copy-dir", &m)), m)
    return v ? copy_flag (o->cfg, flag, v, 2) : cli_flag_bad_value (flag, v, "a value is required");
  if ((v = cli_flag_value (argc, argv, i, NULL, "--mkdir", &m)), m)
    return msb_config_add_patch_mkdir (o->cfg, v, -1, &err), cli_flag_applied (err);
  if ((v = cli_flag_value (argc, argv, i, NULL, "--rm", &m)), m)
    return msb_config_add_patch_remove (o->cfg, v, &err), cli_flag_applied (err);
  return 0;
}
