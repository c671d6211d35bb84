/* `msb snapshot create|ls|inspect|verify|rm|reindex|save|load` (alias snap; `msb snapshots` =
 * snapshot ls): disk snapshots, a thin translation to msb/snapshot.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_LABELS 64

static void
usage (FILE *to)
{
  fputs ("usage: msb snapshot create NAME --from SANDBOX [--dest-dir DIR] [--label K=V]...\n"
         "                               [-f|--force] [--integrity] [-q]\n"
         "       msb snapshot ls [--format json] [-q]\n"
         "       msb snapshot inspect SNAP [--verify]\n"
         "       msb snapshot verify SNAP [--format json]\n"
         "       msb snapshot rm SNAP... [-f|--force] [-q]\n"
         "       msb snapshot reindex [DIR] [-q]\n"
         "SNAP is a name in $MSB_HOME/snapshots or an artifact directory (a path with '/').\n",
         to);
}

static bool
is_flag (const char *a, const char *s, const char *l)
{
  return (s && strcmp (a, s) == 0) || (l && strcmp (a, l) == 0);
}

static json_t *
str_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static json_t *
info_json (const msb_snapshot_info *s)
{
  char created[32];
  cli_rfc3339 (msb_snapshot_info_created_at (s), created, sizeof created);
  json_t *labels = json_loads (msb_snapshot_info_labels_json (s), 0, NULL);
  json_t *o = json_object ();
  json_object_set_new (o, "name", str_or_null (msb_snapshot_info_name (s)));
  json_object_set_new (o, "digest", str_or_null (msb_snapshot_info_digest (s)));
  json_object_set_new (o, "path", str_or_null (msb_snapshot_info_path (s)));
  json_object_set_new (o, "parent_digest", str_or_null (msb_snapshot_info_parent_digest (s)));
  json_object_set_new (o, "scope", str_or_null (msb_snapshot_info_scope (s)));
  json_object_set_new (o, "image_ref", str_or_null (msb_snapshot_info_image_ref (s)));
  json_object_set_new (o, "image_manifest_digest",
                       str_or_null (msb_snapshot_info_image_manifest_digest (s)));
  json_object_set_new (o, "state_kind", str_or_null (msb_snapshot_info_state_kind (s)));
  json_object_set_new (o, "format", str_or_null (msb_snapshot_info_format (s)));
  json_object_set_new (o, "fstype", str_or_null (msb_snapshot_info_fstype (s)));
  json_object_set_new (o, "size_bytes",
                       json_integer ((json_int_t) msb_snapshot_info_size_bytes (s)));
  json_object_set_new (o, "source_sandbox", str_or_null (msb_snapshot_info_source_sandbox (s)));
  json_object_set_new (o, "labels", labels ? labels : json_object ());
  json_object_set_new (o, "created_at", json_string (created));
  json_object_set_new (o, "available", json_boolean (msb_snapshot_info_is_available (s)));
  return o;
}

static int
cmd_create (msb_ctx *ctx, int argc, char **argv)
{
  const char *name = NULL, *from = NULL;
  bool quiet = false;
  msb_snapshot_opts o = { .size = sizeof o };
  const char *labels[MAX_LABELS + 1] = { 0 };
  size_t n_labels = 0;
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
      if (is_flag (a, "-q", "--quiet"))
        quiet = true;
      else if (is_flag (a, "-f", "--force"))
        o.force = true;
      else if (strcmp (a, "--integrity") == 0)
        o.record_integrity = true;
      else if (strcmp (a, "--from") == 0 && next)
        from = argv[++i];
      else if (strcmp (a, "--dest-dir") == 0 && next)
        o.dest_dir = argv[++i];
      else if (strcmp (a, "--label") == 0 && next)
        {
          if (n_labels == MAX_LABELS)
            return cli_failf (1, "snapshot create: at most %d labels", MAX_LABELS);
          labels[n_labels++] = argv[++i];
        }
      else if (a[0] != '-' && name == NULL)
        name = a;
      else
        return cli_failf (1, "snapshot create: unexpected argument `%s`", a);
    }
  if (name == NULL || from == NULL)
    return cli_failf (1, "snapshot create: usage: msb snapshot create NAME --from SANDBOX");
  o.labels = labels;
  msb_error *err = NULL;
  msb_snapshot *s = NULL;
  if (msb_snapshot_create (ctx, name, from, &o, &s, &err) < 0)
    return cli_fail (err, 1);
  if (!quiet)
    printf ("%s\n", msb_snapshot_name (s));
  msb_snapshot_free (s);
  return 0;
}

static int
cmd_ls (msb_ctx *ctx, int argc, char **argv)
{
  bool json = false, quiet = false;
  for (int i = 2; i < argc; i++)
    if (is_flag (argv[i], "-q", "--quiet"))
      quiet = true;
    else if (cli_is_format_json (argc, argv, &i))
      json = true;
    else
      return cli_failf (1, "snapshot ls: unexpected argument `%s`", argv[i]);
  msb_snapshot_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_snapshot_list (ctx, &list, &n, &err) < 0)
    return cli_fail (err, 1);
  if (json)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, info_json (list[i]));
      cli_print_json (a, false);
      json_decref (a);
    }
  else if (quiet)
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", msb_snapshot_info_name (list[i]));
  else
    {
      printf ("%-24s %-19s %-32s %8s  %-20s %s\n", "NAME", "DIGEST", "IMAGE", "SIZE", "CREATED",
              "SOURCE");
      for (size_t i = 0; i < n; i++)
        {
          char size[16], created[32], digest[20];
          const char *d = msb_snapshot_info_digest (list[i]);
          snprintf (digest, sizeof digest, "%.19s", d ? d : "-");
          cli_human_size (msb_snapshot_info_size_bytes (list[i]), size, sizeof size);
          cli_rfc3339 (msb_snapshot_info_created_at (list[i]), created, sizeof created);
          const char *img = msb_snapshot_info_image_ref (list[i]);
          const char *src = msb_snapshot_info_source_sandbox (list[i]);
          printf ("%-24s %-19s %-32s %8s  %-20s %s%s\n", msb_snapshot_info_name (list[i]), digest,
                  img ? img : "-", size, created, src ? src : "-",
                  msb_snapshot_info_is_available (list[i]) ? "" : "  (missing)");
        }
    }
  msb_snapshot_info_list_free (list, n);
  return 0;
}

/* {"name", "path", "digest", "descriptor"} and, with a report, "verify". */
static json_t *
artifact_json (const msb_snapshot *s, const char *report)
{
  json_t *desc = json_loads (msb_snapshot_descriptor_json (s), 0, NULL);
  json_t *o = json_pack ("{s:s, s:s, s:s, s:o}", "name", msb_snapshot_name (s), "path",
                         msb_snapshot_path (s), "digest", msb_snapshot_digest (s), "descriptor",
                         desc ? desc : json_null ());
  if (report)
    {
      json_t *r = json_loads (report, 0, NULL);
      json_object_set_new (o, "verify", r ? r : json_null ());
    }
  return o;
}

static int
cmd_inspect_or_verify (msb_ctx *ctx, int argc, char **argv, bool is_verify)
{
  bool verify = is_verify, json = !is_verify;
  const char *target = NULL;
  for (int i = 2; i < argc; i++)
    if (strcmp (argv[i], "--verify") == 0)
      verify = true;
    else if (cli_is_format_json (argc, argv, &i))
      json = true;
    else if (argv[i][0] != '-' && target == NULL)
      target = argv[i];
    else
      return cli_failf (1, "snapshot %s: unexpected argument `%s`", argv[1], argv[i]);
  if (target == NULL)
    return cli_failf (1, "snapshot %s: a snapshot name or path is required", argv[1]);
  msb_error *err = NULL;
  msb_snapshot *s = NULL;
  if (msb_snapshot_open (ctx, target, &s, &err) < 0)
    return cli_fail (err, 1);
  char *report = NULL;
  int status = 0;
  if (verify && msb_snapshot_verify (ctx, s, &report, &err) < 0)
    status = cli_fail (err, 1);
  json_t *rep = report ? json_loads (report, 0, NULL) : NULL;
  bool ok = rep == NULL || json_is_true (json_object_get (rep, "ok"));
  if (status == 0 && json)
    {
      json_t *o = is_verify ? json_incref (rep) : artifact_json (s, report);
      cli_print_json (o, false);
      json_decref (o);
    }
  else if (status == 0)
    {
      size_t i;
      json_t *c;
      json_array_foreach (json_object_get (rep, "checks"), i, c)
        printf ("%-10s %-4s %s\n", json_string_value (json_object_get (c, "check")),
                json_is_true (json_object_get (c, "ok")) ? "ok" : "FAIL",
                json_string_value (json_object_get (c, "message")));
      printf ("%s %s\n", msb_snapshot_digest (s), ok ? "verified" : "FAILED verification");
    }
  if (status == 0 && verify && !ok)
    status = 1;
  json_decref (rep);
  free (report);
  msb_snapshot_free (s);
  return status;
}

static int
cmd_rm (msb_ctx *ctx, int argc, char **argv)
{
  bool quiet = cli_has_flag (argc, argv, "-q", "--quiet");
  bool force = cli_has_flag (argc, argv, "-f", "--force");
  int status = 0, names = 0;
  for (int i = 2; i < argc; i++)
    {
      if (argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][1] != '/')
        continue;
      names++;
      msb_error *err = NULL;
      if (msb_snapshot_remove (ctx, argv[i], force, &err) < 0)
        status = cli_fail (err, 1);
      else if (!quiet)
        printf ("%s\n", argv[i]);
    }
  return names ? status : cli_failf (1, "snapshot rm: a snapshot name or path is required");
}

static int
cmd_reindex (msb_ctx *ctx, int argc, char **argv)
{
  const char *dir = NULL;
  bool quiet = false;
  for (int i = 2; i < argc; i++)
    if (is_flag (argv[i], "-q", "--quiet"))
      quiet = true;
    else if (argv[i][0] != '-' && dir == NULL)
      dir = argv[i];
    else
      return cli_failf (1, "snapshot reindex: unexpected argument `%s`", argv[i]);
  size_t count = 0;
  msb_error *err = NULL;
  if (msb_snapshot_reindex (ctx, dir, &count, &err) < 0)
    return cli_fail (err, 1);
  if (!quiet)
    printf ("%zu snapshot%s indexed\n", count, count == 1 ? "" : "s");
  return 0;
}

int
cli_snapshot (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 1 : 0;
    }
  const char *sub = argv[1];
  if (strcmp (sub, "save") == 0 || strcmp (sub, "load") == 0)
    return cli_failf (1,
                      "snapshot %s: snapshot archives (.tar.zst) are not supported by this "
                      "build; copy the artifact directory instead",
                      sub);
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int r;
  if (strcmp (sub, "create") == 0)
    r = cmd_create (ctx, argc, argv);
  else if (strcmp (sub, "ls") == 0 || strcmp (sub, "list") == 0)
    r = cmd_ls (ctx, argc, argv);
  else if (strcmp (sub, "inspect") == 0)
    r = cmd_inspect_or_verify (ctx, argc, argv, false);
  else if (strcmp (sub, "verify") == 0)
    r = cmd_inspect_or_verify (ctx, argc, argv, true);
  else if (strcmp (sub, "rm") == 0 || strcmp (sub, "remove") == 0)
    r = cmd_rm (ctx, argc, argv);
  else if (strcmp (sub, "reindex") == 0)
    r = cmd_reindex (ctx, argc, argv);
  else
    {
      usage (stderr);
      r = cli_failf (1, "snapshot: unknown subcommand `%s`", sub);
    }
  msb_ctx_close (ctx);
  return r;
}
