/* `msb volume create|ls|inspect|rm` (aliases vol; `msb volumes` = volume ls): named volumes,
 * a thin translation to msb/volume.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_LABELS 64

static void
usage (FILE *to)
{
  fputs ("usage: msb volume create NAME [--kind dir|disk] [--size SIZE] [--quota SIZE]\n"
         "                              [--label K=V]... [-q]\n"
         "       msb volume ls [--format json] [-q]\n"
         "       msb volume inspect NAME\n"
         "       msb volume rm NAME... [-q]\n",
         to);
}

static json_t *
info_json (const msb_volume_info *v, bool detailed)
{
  char created[32];
  cli_rfc3339 (msb_volume_info_created_at (v), created, sizeof created);
  json_t *o = json_object ();
  json_object_set_new (o, "name", json_string (msb_volume_info_name (v)));
  json_object_set_new (o, "kind", json_string (msb_volume_kind_name (msb_volume_info_kind (v))));
  uint64_t quota = msb_volume_info_quota_mib (v);
  json_object_set_new (o, "quota_mib", quota ? json_integer ((json_int_t) quota) : json_null ());
  json_object_set_new (o, "used_bytes", json_integer ((json_int_t) msb_volume_info_used_bytes (v)));
  uint64_t cap = msb_volume_info_capacity_bytes (v);
  json_object_set_new (o, "capacity_bytes", cap ? json_integer ((json_int_t) cap) : json_null ());
  const char *fmt = msb_volume_info_disk_format (v), *fstype = msb_volume_info_disk_fstype (v);
  json_object_set_new (o, "disk_format", fmt ? json_string (fmt) : json_null ());
  json_object_set_new (o, "disk_fstype", fstype ? json_string (fstype) : json_null ());
  json_object_set_new (o, "created_at", json_string (created));
  if (detailed)
    {
      json_object_set_new (o, "path", json_string (msb_volume_info_path (v)));
      json_t *labels = json_loads (msb_volume_info_labels_json (v), 0, NULL);
      json_object_set_new (o, "labels", labels ? labels : json_object ());
    }
  return o;
}

static int
cmd_create (msb_ctx *ctx, int argc, char **argv)
{
  const char *name = NULL;
  bool quiet = false;
  msb_volume_opts o = { .size = sizeof o };
  const char *labels[MAX_LABELS + 1] = { 0 };
  size_t n_labels = 0;
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
      unsigned mib;
      if (strcmp (a, "-q") == 0 || strcmp (a, "--quiet") == 0)
        quiet = true;
      else if (strcmp (a, "--name") == 0 && next)
        name = argv[++i];
      else if (strcmp (a, "--kind") == 0 && next)
        {
          i++;
          if (strcmp (next, "dir") == 0 || strcmp (next, "directory") == 0)
            o.kind = MSB_VOLUME_DIR;
          else if (strcmp (next, "disk") == 0)
            o.kind = MSB_VOLUME_DISK;
          else
            return cli_failf (1, "volume create: --kind must be dir or disk, not `%s`", next);
        }
      else if ((strcmp (a, "--size") == 0 || strcmp (a, "--quota") == 0) && next)
        {
          if (cli_parse_size_mib (argv[++i], &mib) < 0)
            return cli_failf (1, "volume create: %s: invalid size `%s`", a, argv[i]);
          if (strcmp (a, "--size") == 0)
            o.size_mib = mib;
          else
            o.quota_mib = mib;
        }
      else if (strcmp (a, "--label") == 0 && next && n_labels < MAX_LABELS)
        labels[n_labels++] = argv[++i];
      else if (a[0] != '-' && name == NULL)
        name = a;
      else
        return cli_failf (1, "volume create: unexpected argument `%s`", a);
    }
  if (name == NULL)
    return cli_failf (1, "volume create: a volume name is required");
  if (o.size_mib && o.kind == MSB_VOLUME_DIR)
    o.kind = MSB_VOLUME_DISK; /* --size alone means a disk volume */
  o.labels = labels;
  msb_error *err = NULL;
  if (msb_volume_create (ctx, name, &o, NULL, &err) < 0)
    return cli_fail (err, 1);
  if (!quiet)
    printf ("%s\n", name);
  return 0;
}

static int
cmd_ls (msb_ctx *ctx, int argc, char **argv)
{
  bool json = false, quiet = false;
  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
      quiet = true;
    else if (cli_is_format_json (argc, argv, &i))
      json = true;
    else
      return cli_failf (1, "volume ls: unexpected argument `%s`", argv[i]);
  msb_volume_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_volume_list (ctx, &list, &n, &err) < 0)
    return cli_fail (err, 1);
  if (json)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, info_json (list[i], false));
      cli_print_json (a, false);
      json_decref (a);
    }
  else if (quiet)
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", msb_volume_info_name (list[i]));
  else
    {
      printf ("%-24s %-5s %10s %10s  %s\n", "NAME", "KIND", "USED", "CAPACITY", "CREATED");
      for (size_t i = 0; i < n; i++)
        {
          char used[16], cap[16] = "-", created[32];
          cli_human_size (msb_volume_info_used_bytes (list[i]), used, sizeof used);
          if (msb_volume_info_capacity_bytes (list[i]))
            cli_human_size (msb_volume_info_capacity_bytes (list[i]), cap, sizeof cap);
          cli_rfc3339 (msb_volume_info_created_at (list[i]), created, sizeof created);
          printf ("%-24s %-5s %10s %10s  %s\n", msb_volume_info_name (list[i]),
                  msb_volume_kind_name (msb_volume_info_kind (list[i])), used, cap, created);
        }
    }
  msb_volume_info_list_free (list, n);
  return 0;
}

static int
cmd_inspect (msb_ctx *ctx, int argc, char **argv)
{
  int status = 0;
  int names = 0;
  for (int i = 2; i < argc; i++)
    {
      if (argv[i][0] == '-')
        {
          if (strcmp (argv[i], "--format") == 0)
            i++;
          continue;
        }
      names++;
      msb_volume_info *v = NULL;
      msb_error *err = NULL;
      if (msb_volume_get (ctx, argv[i], &v, &err) < 0)
        {
          status = cli_fail (err, 1);
          continue;
        }
      json_t *o = info_json (v, true);
      cli_print_json (o, false);
      json_decref (o);
      msb_volume_info_free (v);
    }
  return names ? status : cli_failf (1, "volume inspect: a volume name is required");
}

static int
remove_one (msb_ctx *ctx, const char *name, void *data, msb_error **err)
{
  return msb_volume_remove (ctx, name, err);
}

static int
cmd_rm (msb_ctx *ctx, int argc, char **argv)
{
  bool is_quiet = cli_has_flag (argc, argv, "-q", "--quiet");
  int status = cli_each_name (ctx, argc, argv, 2, remove_one, NULL, !is_quiet);
  return status >= 0 ? status : cli_failf (1, "volume rm: a volume name is required");
}

int
cli_volume (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 1 : 0;
    }
  const char *sub = argv[1];
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int r;
  if (strcmp (sub, "create") == 0)
    r = cmd_create (ctx, argc, argv);
  else if (strcmp (sub, "ls") == 0 || strcmp (sub, "list") == 0)
    r = cmd_ls (ctx, argc, argv);
  else if (strcmp (sub, "inspect") == 0)
    r = cmd_inspect (ctx, argc, argv);
  else if (strcmp (sub, "rm") == 0 || strcmp (sub, "remove") == 0)
    r = cmd_rm (ctx, argc, argv);
  else
    {
      usage (stderr);
      r = cli_failf (1, "volume: unknown subcommand `%s`", sub);
    }
  msb_ctx_close (ctx);
  return r;
}
