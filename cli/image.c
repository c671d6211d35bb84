/* `msb image load|ls` (and the `load` / `images` aliases). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

/* `image load` from stdin: spool to a temp file first (archives need random access). */
static char *
spool_stdin (void)
{
  char tmpl[] = "/tmp/msb-load-XXXXXX";
  int fd = mkostemp (tmpl, O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char buf[65536];
  ssize_t n;
  while ((n = read (STDIN_FILENO, buf, sizeof buf)) > 0)
    if (write (fd, buf, (size_t) n) != n)
      {
        close (fd);
        unlink (tmpl);
        return NULL;
      }
  close (fd);
  return n < 0 ? NULL : strdup (tmpl);
}

static int
image_load (int argc, char **argv)
{
  const char *input = NULL, *tag = NULL;
  bool quiet = false;
  for (int i = 1; i < argc; i++)
    {
      if ((strcmp (argv[i], "-i") == 0 || strcmp (argv[i], "--input") == 0) && i + 1 < argc)
        input = argv[++i];
      else if ((strcmp (argv[i], "-t") == 0 || strcmp (argv[i], "--tag") == 0) && i + 1 < argc)
        tag = argv[++i];
      else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
        quiet = true;
      else if (argv[i][0] != '-' && input == NULL)
        input = argv[i];
      else
        return cli_failf (1, "image load: unexpected argument `%s`", argv[i]);
    }
  char *spooled = NULL;
  if (input == NULL)
    {
      if (isatty (STDIN_FILENO))
        return cli_failf (1, "image load: give an archive or layout with -i PATH, or pipe one in");
      spooled = spool_stdin ();
      if (spooled == NULL)
        return cli_failf (1, "image load: cannot read the archive from stdin: %s", strerror (errno));
      input = spooled;
    }
  msb_ctx *ctx = cli_ctx ();
  int status = 1;
  if (ctx)
    {
      char **refs = NULL;
      msb_error *err = NULL;
      if (msb_image_load (ctx, input, tag, &refs, &err) < 0)
        status = cli_fail (err, 1);
      else
        {
          status = 0;
          for (char **r = refs; r && *r; r++)
            {
              if (!quiet)
                printf ("Loaded image: %s\n", *r);
              free (*r);
            }
          free (refs);
        }
      msb_ctx_close (ctx);
    }
  if (spooled)
    {
      unlink (spooled);
      free (spooled);
    }
  return status;
}

static int
image_ls (int argc, char **argv)
{
  bool json = false, quiet = false;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
      json = strcmp (argv[++i], "json") == 0;
    else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
      quiet = true;
    else
      return cli_failf (1, "image ls: unknown flag `%s`", argv[i]);
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_image_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_image_list (ctx, &list, &n, &err) < 0)
    {
      msb_ctx_close (ctx);
      return cli_fail (err, 1);
    }
  json_t *arr = json_array ();
  if (!json && !quiet)
    printf ("%-48s %-20s %8s %10s\n", "REFERENCE", "DIGEST", "LAYERS", "SIZE");
  for (size_t i = 0; i < n; i++)
    {
      const msb_image_info *im = list[i];
      char created[32];
      cli_rfc3339 (msb_image_info_created_at (im), created, sizeof created);
      if (json)
        json_array_append_new (
            arr, json_pack ("{s:s, s:s, s:I, s:s?, s:s?, s:I, s:s}", "reference",
                            msb_image_info_reference (im), "digest",
                            msb_image_info_manifest_digest (im), "size_bytes",
                            (json_int_t) msb_image_info_size_bytes (im), "architecture",
                            msb_image_info_architecture (im), "os", msb_image_info_os (im),
                            "layer_count", (json_int_t) msb_image_info_layer_count (im),
                            "created_at", created));
      else if (quiet)
        puts (msb_image_info_reference (im));
      else
        printf ("%-48s %-20.19s %8zu %9.1fM\n", msb_image_info_reference (im),
                msb_image_info_manifest_digest (im), msb_image_info_layer_count (im),
                (double) msb_image_info_size_bytes (im) / 1048576.0);
    }
  if (json)
    cli_print_json (arr, false);
  json_decref (arr);
  msb_image_info_list_free (list, n);
  msb_ctx_close (ctx);
  return 0;
}

int
cli_image (int argc, char **argv)
{
  if (argc < 2)
    return cli_failf (1, "usage: msb image load|ls …");
  if (strcmp (argv[1], "load") == 0)
    return image_load (argc - 1, argv + 1);
  if (strcmp (argv[1], "ls") == 0 || strcmp (argv[1], "list") == 0)
    return image_ls (argc - 1, argv + 1);
  return cli_image_more (argc, argv); /* inspect, rm, prune, save, pull: cli/image_manage.c */
}
