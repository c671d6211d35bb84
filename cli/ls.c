/* `msb ls`: sandboxes, newest first, as a table or JSON (API.md §2); `--label K=V` (or
 * `--label K`, the key present) selects by the stored labels, all given ones must match. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char *
json_status (msb_sandbox_status s)
{
  static const char *const names[] = { "Created", "Starting", "Running", "Draining",
                                       "Stopped", "Crashed",  "Paused" };
  return (unsigned) s < 7 ? names[s] : "Unknown";
}

#define MAX_SELECTORS 32

/* Whether the stored labels of `i` match every selector ("K=V" or "K"). */
static bool
labels_match (const msb_sandbox_info *i, char **selectors, size_t n)
{
  if (n == 0)
    return true;
  json_t *cfg = json_loads (msb_sandbox_info_config_json (i), 0, NULL);
  json_t *labels = json_object_get (cfg, "labels");
  bool ok = true;
  for (size_t k = 0; ok && k < n; k++)
    {
      const char *eq = strchr (selectors[k], '=');
      char *key = eq ? strndup (selectors[k], (size_t) (eq - selectors[k])) : strdup (selectors[k]);
      const char *have = json_string_value (json_object_get (labels, key));
      ok = have && (eq == NULL || strcmp (have, eq + 1) == 0);
      free (key);
    }
  json_decref (cfg);
  return ok;
}

static bool
wanted (const msb_sandbox_info *i, bool running, bool stopped)
{
  msb_sandbox_status s = msb_sandbox_info_status (i);
  bool live = s == MSB_STATUS_RUNNING || s == MSB_STATUS_STARTING || s == MSB_STATUS_DRAINING;
  return (!running && !stopped) || (running && live) || (stopped && !live);
}

int
cli_ls (int argc, char **argv)
{
  bool json = false, quiet = false, running = false, stopped = false;
  char *selectors[MAX_SELECTORS];
  size_t n_selectors = 0;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--label") == 0 && i + 1 < argc && n_selectors < MAX_SELECTORS)
        {
          selectors[n_selectors++] = argv[++i];
          continue;
        }
      if (strncmp (argv[i], "--label=", 8) == 0 && n_selectors < MAX_SELECTORS)
        {
          selectors[n_selectors++] = argv[i] + 8;
          continue;
        }
      if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
        json = strcmp (argv[++i], "json") == 0;
      else if (strcmp (argv[i], "--format=json") == 0)
        json = true;
      else if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
        quiet = true;
      else if (strcmp (argv[i], "--running") == 0)
        running = true;
      else if (strcmp (argv[i], "--stopped") == 0)
        stopped = true;
      else
        return cli_failf (1, "ls: unknown flag `%s`", argv[i]);
    }
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_sandbox_list (ctx, &list, &n, &err) < 0)
    {
      msb_ctx_close (ctx);
      return cli_fail (err, 1);
    }
  json_t *arr = json_array ();
  if (!json && !quiet)
    printf ("%-24s %-32s %-10s %s\n", "NAME", "IMAGE", "STATUS", "CREATED");
  for (size_t i = 0; i < n; i++)
    {
      if (!wanted (list[i], running, stopped) || !labels_match (list[i], selectors, n_selectors))
        continue;
      char created[32];
      cli_rfc3339 (msb_sandbox_info_created_at (list[i]), created, sizeof created);
      const char *name = msb_sandbox_info_name (list[i]);
      const char *image = msb_sandbox_info_image (list[i]);
      if (json)
        json_array_append_new (arr, json_pack ("{s:s, s:s, s:s, s:s?}", "name", name, "status",
                                               json_status (msb_sandbox_info_status (list[i])),
                                               "created_at", created, "image", image));
      else if (quiet)
        puts (name);
      else
        printf ("%-24s %-32s %-10s %s\n", name, image ? image : "-",
                msb_sandbox_status_name (msb_sandbox_info_status (list[i])), created);
    }
  if (json)
    cli_print_json (arr, false);
  json_decref (arr);
  msb_sandbox_info_list_free (list, n);
  msb_ctx_close (ctx);
  return 0;
}
