/* A libmsb client for the registry tests: pulls an image (msb_image_pull) or creates a
 * sandbox (msb_sandbox_create_ex) and prints every pull event as one JSON line, then a
 * result line — {"result":"ok",…} or {"result":"error","code":…,"message":…} (exit 1).
 *
 *   pull_client pull REF [--policy P] [--insecure] [--ca FILE] [--platform P] [--user U]
 *   pull_client create NAME REF [--policy P] [--user U]
 * The password of --user comes from $MSB_TEST_PASSWORD (never on a command line). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msb/msb.h>

static void
set_num (json_t *o, const char *key, int64_t v)
{
  json_object_set_new (o, key, v < 0 ? json_null () : json_integer (v));
}

static void
set_str (json_t *o, const char *key, const char *v)
{
  json_object_set_new (o, key, v ? json_string (v) : json_null ());
}

static void
on_event (const msb_pull_event *ev, void *data)
{
  json_t *o = json_object ();
  set_str (o, "event", msb_pull_event_type_name (ev->type));
  set_str (o, "reference", ev->reference);
  set_str (o, "manifest_digest", ev->manifest_digest);
  set_num (o, "layer_count", ev->layer_count);
  set_num (o, "total_download_bytes", ev->total_download_bytes);
  set_num (o, "layer_index", ev->layer_index);
  set_str (o, "digest", ev->digest);
  set_str (o, "diff_id", ev->diff_id);
  set_num (o, "downloaded_bytes", ev->downloaded_bytes);
  set_num (o, "total_bytes", ev->total_bytes);
  set_num (o, "bytes_read", ev->bytes_read);
  char *s = json_dumps (o, JSON_COMPACT | JSON_SORT_KEYS);
  puts (s);
  fflush (stdout);
  free (s);
  json_decref (o);
}

static int
fail (msb_error *err)
{
  json_t *o = json_pack ("{s:s, s:s, s:s}", "result", "error", "code",
                         msb_error_kind_code (msb_error_get_kind (err)), "message",
                         msb_error_get_message (err));
  char *s = json_dumps (o, JSON_COMPACT);
  puts (s);
  free (s);
  json_decref (o);
  msb_error_free (err);
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    return 2;
  bool create = strcmp (argv[1], "create") == 0;
  int first = create ? 4 : 3;
  if (create && argc < 4)
    return 2;
  const char *name = create ? argv[2] : NULL, *ref = create ? argv[3] : argv[2];
  const char *policy = NULL, *platform = NULL, *user = NULL;
  const char *ca[2] = { NULL, NULL };
  bool insecure = false;
  for (int i = first; i < argc; i++)
    {
      if (strcmp (argv[i], "--policy") == 0 && i + 1 < argc)
        policy = argv[++i];
      else if (strcmp (argv[i], "--platform") == 0 && i + 1 < argc)
        platform = argv[++i];
      else if (strcmp (argv[i], "--user") == 0 && i + 1 < argc)
        user = argv[++i];
      else if (strcmp (argv[i], "--ca") == 0 && i + 1 < argc)
        ca[0] = argv[++i];
      else if (strcmp (argv[i], "--insecure") == 0)
        insecure = true;
      else
        return 2;
    }
  msb_ctx *ctx = NULL;
  msb_error *err = NULL;
  if (msb_ctx_open (&ctx, NULL, &err) < 0)
    return fail (err);
  int status = 0;
  if (!create)
    {
      msb_pull_opts o = { .size = sizeof o, .policy = policy, .progress = on_event,
                          .username = user, .password = user ? getenv ("MSB_TEST_PASSWORD") : NULL,
                          .insecure = insecure, .ca_files = ca[0] ? ca : NULL,
                          .platform = platform };
      msb_image_info *info = NULL;
      if (msb_image_pull (ctx, ref, &o, &info, &err) < 0)
        status = fail (err);
      else
        {
          printf ("{\"result\":\"ok\",\"reference\":\"%s\",\"digest\":\"%s\",\"architecture\":\"%s\"}\n",
                  msb_image_info_reference (info), msb_image_info_manifest_digest (info),
                  msb_image_info_architecture (info) ? msb_image_info_architecture (info) : "");
          msb_image_info_free (info);
        }
    }
  else
    {
      msb_config *cfg = msb_config_new ();
      if (msb_config_set_image (cfg, ref, &err) < 0
          || (policy && msb_config_set_pull_policy (cfg, policy, &err) < 0)
          || (user && msb_config_set_registry_auth (cfg, user, getenv ("MSB_TEST_PASSWORD"), &err) < 0))
        status = fail (err);
      msb_create_opts co = { .size = sizeof co, .progress = on_event };
      msb_sandbox *sb = NULL;
      if (status == 0 && msb_sandbox_create_ex (ctx, name, cfg, &co, &sb, &err) < 0)
        status = fail (err);
      else if (status == 0)
        {
          msb_sandbox_info *si = NULL;
          if (msb_sandbox_get (ctx, name, &si, &err) == 0)
            {
              printf ("{\"result\":\"ok\",\"config_json\":%s,\"manifest_digest\":\"%s\"}\n",
                      msb_sandbox_info_config_json (si), msb_sandbox_info_manifest_digest (si));
              msb_sandbox_info_free (si);
            }
          else
            status = fail (err);
          msb_sandbox_close (sb); /* attached: stops it */
        }
      msb_config_free (cfg);
    }
  msb_ctx_close (ctx);
  return status;
}
