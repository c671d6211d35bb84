/* `msb image inspect|rm|prune|save|pull` (and the `rmi` / `save` aliases): the cache
 * management verbs beside `image load|ls` (cli/image.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static json_t *
strv_json (const char *const *v)
{
  if (v == NULL)
    return json_null ();
  json_t *a = json_array ();
  for (; *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static json_t *
labels_json (const char *const *v)
{
  json_t *o = json_object ();
  for (; v && *v; v++)
    {
      const char *eq = strchr (*v, '=');
      if (eq == NULL)
        continue;
      char *key = strndup (*v, (size_t) (eq - *v));
      json_object_set_new (o, key, json_string (eq + 1));
      free (key);
    }
  return o;
}

static json_t *
inspect_json (const msb_image_info *im)
{
  char created[32];
  cli_rfc3339 (msb_image_info_created_at (im), created, sizeof created);
  json_t *layers = json_array ();
  for (size_t i = 0; i < msb_image_info_layer_count (im); i++)
    json_array_append_new (
        layers, json_pack ("{s:s, s:s, s:s?, s:I, s:n, s:I}", "diff_id",
                           msb_image_info_layer_diff_id (im, i), "blob_digest",
                           msb_image_info_layer_blob_digest (im, i), "media_type",
                           msb_image_info_layer_media_type (im, i), "compressed_size_bytes",
                           (json_int_t) msb_image_info_layer_compressed_size (im, i),
                           "erofs_size_bytes", "position", (json_int_t) i));
  json_t *config = json_pack (
      "{s:s?, s:o, s:o, s:o, s:s?, s:s?, s:o, s:s?}", "digest",
      msb_image_info_config_digest (im), "env", strv_json (msb_image_info_env (im)), "cmd",
      strv_json (msb_image_info_cmd (im)), "entrypoint", strv_json (msb_image_info_entrypoint (im)),
      "working_dir", msb_image_info_working_dir (im), "user", msb_image_info_user (im), "labels",
      labels_json (msb_image_info_labels (im)), "stop_signal", msb_image_info_stop_signal (im));
  return json_pack ("{s:s, s:s, s:I, s:s?, s:s?, s:I, s:s, s:o, s:o}", "reference",
                    msb_image_info_reference (im), "digest", msb_image_info_manifest_digest (im),
                    "size_bytes", (json_int_t) msb_image_info_size_bytes (im), "architecture",
                    msb_image_info_architecture (im), "os", msb_image_info_os (im),
                    "layer_count", (json_int_t) msb_image_info_layer_count (im), "created_at",
                    created, "config", config, "layers", layers);
}

static int
image_inspect (int argc, char **argv)
{
  const char *refs[64];
  size_t n = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
      {
        if (strcmp (argv[++i], "json") != 0)
          return cli_failf (1, "image inspect: only --format json is supported");
      }
    else if (argv[i][0] == '-' || n == 64)
      return cli_failf (1, "usage: msb image inspect REF… [--format json]");
    else
      refs[n++] = argv[i];
  if (n == 0)
    return cli_failf (1, "usage: msb image inspect REF… [--format json]");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int status = 0;
  json_t *all = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      msb_image_info *im = NULL;
      msb_error *err = NULL;
      if (msb_image_get (ctx, refs[i], &im, &err) < 0)
        {
          status = cli_fail (err, 1);
          continue;
        }
      json_array_append_new (all, inspect_json (im));
      msb_image_info_free (im);
    }
  if (json_array_size (all) == 1)
    cli_print_json (json_array_get (all, 0), false);
  else if (json_array_size (all) > 1)
    cli_print_json (all, false);
  json_decref (all);
  msb_ctx_close (ctx);
  return status;
}

static int
image_rm (int argc, char **argv)
{
  bool force = false, quiet = false;
  int first = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "-f") == 0 || strcmp (argv[i], "--force") == 0)
      force = true;
    else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
      quiet = true;
    else if (argv[i][0] == '-')
      return cli_failf (1, "usage: msb image rm [-f] [-q] REF…");
    else if (first == 0)
      first = i;
  if (first == 0)
    return cli_failf (1, "usage: msb image rm [-f] [-q] REF…");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int status = 0;
  for (int i = first; i < argc; i++)
    {
      if (argv[i][0] == '-')
        continue;
      msb_error *err = NULL;
      if (msb_image_remove (ctx, argv[i], force, &err) < 0)
        status = cli_fail (err, 1);
      else if (!quiet)
        printf ("Untagged: %s\n", argv[i]);
    }
  msb_ctx_close (ctx);
  return status;
}

static int
image_prune (int argc, char **argv)
{
  bool yes = false, json = false, quiet = false;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "-y") == 0 || strcmp (argv[i], "--yes") == 0
        || strcmp (argv[i], "-f") == 0 || strcmp (argv[i], "--force") == 0)
      yes = true;
    else if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
      json = strcmp (argv[++i], "json") == 0;
    else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
      quiet = true;
    else
      return cli_failf (1, "usage: msb image prune [-y] [--format json] [-q]");
  if (!yes && isatty (STDIN_FILENO))
    {
      fprintf (stderr, "Remove every image no sandbox uses? [y/N] ");
      char answer[8] = { 0 };
      if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        return 1;
    }
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_image_prune_report rep = { .size = sizeof rep };
  msb_error *err = NULL;
  int status = 0;
  if (msb_image_prune (ctx, &rep, &err) < 0)
    status = cli_fail (err, 1);
  else if (json)
    {
      json_t *o = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I}", "image_refs_removed",
                             (json_int_t) rep.image_refs_removed, "manifests_removed",
                             (json_int_t) rep.manifests_removed, "layers_removed",
                             (json_int_t) rep.layers_removed, "fsmeta_removed",
                             (json_int_t) rep.fsmeta_removed, "vmdk_removed",
                             (json_int_t) rep.vmdk_removed, "bytes_reclaimed",
                             (json_int_t) rep.bytes_reclaimed);
      cli_print_json (o, false);
      json_decref (o);
    }
  else if (!quiet)
    printf ("Removed %" PRIu64 " image references, %" PRIu64 " manifests, %" PRIu64
            " layers; reclaimed %.1f MiB\n",
            rep.image_refs_removed, rep.manifests_removed, rep.layers_removed,
            (double) rep.bytes_reclaimed / 1048576.0);
  msb_ctx_close (ctx);
  return status;
}

static int
image_save (int argc, char **argv)
{
  const char *output = NULL;
  const char *refs[64];
  size_t n = 0;
  msb_image_archive_format format = MSB_IMAGE_ARCHIVE_DOCKER;
  for (int i = 1; i < argc; i++)
    if ((strcmp (argv[i], "-o") == 0 || strcmp (argv[i], "--output") == 0) && i + 1 < argc)
      output = argv[++i];
    else if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
      {
        const char *f = argv[++i];
        if (strcmp (f, "docker") == 0)
          format = MSB_IMAGE_ARCHIVE_DOCKER;
        else if (strcmp (f, "oci") == 0)
          format = MSB_IMAGE_ARCHIVE_OCI;
        else
          return cli_failf (1, "image save: --format must be docker or oci");
      }
    else if (argv[i][0] == '-' || n == 64)
      return cli_failf (1, "usage: msb image save REF… [-o PATH] [--format docker|oci]");
    else
      refs[n++] = argv[i];
  if (n == 0)
    return cli_failf (1, "usage: msb image save REF… [-o PATH] [--format docker|oci]");
  if (output == NULL && isatty (STDOUT_FILENO))
    return cli_failf (1, "image save: refusing to write an archive to a terminal; use -o PATH");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_error *err = NULL;
  int r = output ? msb_image_save (ctx, refs, n, output, format, &err)
                 : msb_image_save_fd (ctx, refs, n, STDOUT_FILENO, format, &err);
  msb_ctx_close (ctx);
  return r < 0 ? cli_fail (err, 1) : 0;
}

int
cli_image_more (int argc, char **argv)
{
  const char *sub = argv[1];
  if (strcmp (sub, "inspect") == 0)
    return image_inspect (argc - 1, argv + 1);
  if (strcmp (sub, "rm") == 0 || strcmp (sub, "remove") == 0)
    return image_rm (argc - 1, argv + 1);
  if (strcmp (sub, "prune") == 0)
    return image_prune (argc - 1, argv + 1);
  if (strcmp (sub, "save") == 0)
    return image_save (argc - 1, argv + 1);
  if (strcmp (sub, "pull") == 0)
    return cli_pull (argc - 1, argv + 1);
  return cli_failf (1, "image: unknown command `%s` (load, ls, inspect, rm, prune, save, pull)",
                    sub);
}
