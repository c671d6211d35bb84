/* The public pull and registry-credential calls (include/msb/pull.h), and
 * msb_image_acquire, the pull-policy logic shared with sandbox creation. Network work happens
 * without the context's database lock; the lock is taken for the lookup and the record. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/globalconfig.h"
#include "lib/image/layer_cache.h"
#include "lib/image/pull.h"
#include "lib/image/pull_events.h"
#include "lib/image/registry_auth.h"
#include "lib/image/registry_creds.h"
#include "lib/image/registry_http.h"
#include "lib/image/store_lock.h"
#include "lib/image_acquire.h"

/* Copies the caller's options, of whatever size it was built with. */
static int
copy_opts (const msb_pull_opts *in, msb_pull_opts *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (in == NULL)
    return 0;
  if (in->size < offsetof (msb_pull_opts, policy) + sizeof in->policy)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "msb_pull_opts.size is not set");
  memcpy (out, in, in->size < sizeof *out ? in->size : sizeof *out);
  out->size = sizeof *out;
  if ((out->username == NULL) != (out->password == NULL))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "registry credentials need both a user name and a password");
  return 0;
}

static int
check_policy (const char *policy, msb_error **err)
{
  if (strcmp (policy, "always") == 0 || strcmp (policy, "if-missing") == 0
      || strcmp (policy, "never") == 0)
    return 0;
  return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                   "pull policy `%s` is not one of always, if-missing, never", policy);
}

static int
lookup (msb_ctx *ctx, const char *reference, msb_image *out, bool *found, msb_error **err)
{
  msb_error *e = NULL;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_lookup (&ctx->db, reference, out, &e);
  *found = r == 0;
  if (r < 0 && msb_error_get_kind (e) == MSB_ERR_IMAGE_NOT_FOUND)
    {
      msb_error_free (e);
      return 0;
    }
  if (r < 0)
    {
      if (err)
        *err = e;
      else
        msb_error_free (e);
      return -1;
    }
  return 0;
}

/* A layer is on disk: its row goes in now (best effort; the record writes it again). */
static void
layer_published (void *data, const char *diff_id, uint64_t unpacked_bytes)
{
  msb_ctx *ctx = data;
  MSB_WITH_DB (ctx)
  msb_image_layer_record (&ctx->db, diff_id, unpacked_bytes, NULL);
}

static int
pull_and_record (msb_ctx *ctx, const char *reference, const msb_pull_opts *o,
                 msb_pull_emitter *em, msb_image *out, msb_error **err)
{
  msb_global_config gc;
  if (msb_global_config_load (&ctx->home, &gc, err) < 0)
    return -1;
  msb_pull_params params = {
    .gc = &gc,
    .client = { .username = o->username, .password = o->password, .insecure = o->insecure,
                .ca_files = o->ca_files, .ca_pem = o->ca_pem },
    .platform = o->platform,
    .max_parallel = o->max_parallel,
    .events = em,
    .layer_published = layer_published,
    .layer_published_ctx = ctx,
  };
  msb_pulled_image pulled;
  int r = msb_registry_pull (&ctx->home, reference, &params, &pulled, err);
  msb_global_config_clear (&gc);
  if (r < 0)
    return -1;
  msb_image_record rec;
  msb_pulled_image_as_record (&pulled, &rec);
  MSB_WITH_DB (ctx)
  {
    r = msb_image_store_record (&ctx->db, &rec, 1, err);
    if (r == 0)
      r = msb_image_store_lookup (&ctx->db, pulled.reference, out, err);
  }
  msb_pulled_image_clear (&pulled);
  return r;
}

int
msb_image_acquire (msb_ctx *ctx, const char *reference, const char *policy,
                   const msb_pull_opts *opts, msb_image *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  msb_pull_opts o;
  if (copy_opts (opts, &o, err) < 0)
    return -1;
  if (policy == NULL)
    policy = "if-missing";
  if (check_policy (policy, err) < 0)
    return -1;
  msb_pull_emitter em;
  msb_pull_emitter_init (&em, o.progress, o.progress_data, reference);
  msb_pull_emit_resolving (&em);
  int r = 0;
  bool found = false;
  if (strcmp (policy, "always") != 0)
    r = lookup (ctx, reference, out, &found, err);
  if (r == 0 && found)
    msb_pull_emit_resolved (&em, out->manifest_digest, (int64_t) out->layer_count, 0);
  else if (r == 0 && strcmp (policy, "never") == 0)
    r = msb_fail (err, MSB_ERR_IMAGE_NOT_FOUND,
                  "image `%s` is not cached and the pull policy is `never` (pull it first with "
                  "`msb pull %s`, or allow pulling)",
                  reference, reference);
  else if (r == 0)
    r = pull_and_record (ctx, reference, &o, &em, out, err);
  if (r == 0)
    msb_pull_emit_complete (&em, (int64_t) out->layer_count);
  msb_pull_emitter_clear (&em);
  return r;
}

int
msb_image_pull (msb_ctx *ctx, const char *reference, const msb_pull_opts *opts,
                msb_image_info **out, msb_error **err)
{
  if (out)
    *out = NULL;
  const char *policy = opts && opts->size >= offsetof (msb_pull_opts, policy) + sizeof opts->policy
                               && opts->policy
                           ? opts->policy
                           : "always";
  _msb_cleanup_close_ int lock = msb_image_store_lock (&ctx->home, false, err);
  if (lock < 0)
    return -1;
  msb_image img;
  if (msb_image_acquire (ctx, reference, policy, opts, &img, err) < 0)
    return -1;
  if (out)
    *out = msb_image_info_take (&img);
  else
    msb_image_clear (&img);
  return 0;
}

/* ---- credentials ---- */

int
msb_registry_login (msb_ctx *ctx, const char *host, const char *username, const char *password,
                    unsigned flags, const msb_pull_opts *opts, msb_error **err)
{
  msb_pull_opts o;
  if (copy_opts (opts, &o, err) < 0)
    return -1;
  _msb_cleanup_free_ char *norm = NULL;
  if (msb_registry_creds_host (host, &norm, err) < 0)
    return -1;
  if (username == NULL || *username == '\0' || password == NULL || *password == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "log in to `%s`: a user name and a password are required",
                     norm);
  if (!(flags & MSB_REGISTRY_LOGIN_NO_VERIFY))
    {
      msb_global_config gc;
      if (msb_global_config_load (&ctx->home, &gc, err) < 0)
        return -1;
      msb_registry_client_opts co = { .username = username, .password = password,
                                      .insecure = o.insecure, .ca_files = o.ca_files,
                                      .ca_pem = o.ca_pem };
      msb_registry_client *c = NULL;
      int r = msb_registry_client_new (NULL, &gc, norm, NULL, &co, &c, err);
      if (r == 0)
        r = msb_registry_check_login (c, err);
      msb_registry_client_free (c);
      msb_global_config_clear (&gc);
      if (r < 0)
        return msb_error_prefix (err, "log in to `%s`", norm);
    }
  return msb_registry_creds_store (&ctx->home, norm, username, password, err);
}

int
msb_registry_logout (msb_ctx *ctx, const char *host, msb_error **err)
{
  bool existed = false;
  if (msb_registry_creds_remove (&ctx->home, host, &existed, err) < 0)
    return -1;
  if (!existed)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "not logged in to `%s`", host);
  return 0;
}

int
msb_registry_list (msb_ctx *ctx, char ***hosts, char ***usernames, size_t *n, msb_error **err)
{
  if (msb_registry_creds_list (&ctx->home, hosts, usernames, err) < 0)
    return -1;
  *n = msb_strv_len (*hosts);
  return 0;
}

void
msb_registry_list_free (char **hosts, char **usernames)
{
  msb_strv_free (hosts);
  msb_strv_free (usernames);
}
