/* msb_sandbox_modify (msb/modify.h): plan (modify_plan.c), then — unless it is a dry run or
 * anything conflicts — apply, all under the sandbox's lifecycle lock, in the order that keeps
 * "all or nothing" true:
 *   1. the live resize, which the runtime may still refuse (then nothing else is applied);
 *   2. the stored config JSON, edited in place so keys this version does not know survive
 *      (if that fails the resize is undone);
 *   3. the restart, when the policy asks for one and a change needs it. A failed restart
 *      leaves the changes stored: they apply at the next start, and the error says so. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config_fs_json.h"
#include "lib/config_json.h"
#include "lib/control_call.h"
#include "lib/modify_plan.h"
#include "lib/sandbox_locked.h"

typedef struct modify_job
{
  const char *changes;
  unsigned flags;
  char *plan_json;
} modify_job;

static const char *
policy_name (unsigned flags)
{
  return flags & MSB_MODIFY_RESTART      ? "restart"
         : flags & MSB_MODIFY_NEXT_START ? "next_start"
                                         : "no_restart";
}

/* ---- the live resize ---- */

static void
add_resize_status (json_t *list, const char *resource, unsigned requested, json_int_t actual,
                   const char *state)
{
  json_array_append_new (list, json_pack ("{s:s, s:I, s:I, s:s, s:s}", "resource", resource,
                                          "requested", (json_int_t) requested, "actual", actual,
                                          "enforced", "cgroup", "state", state));
}

/* Asks the runtime for the new limits; fills resize_status. Returns whether it applied them. */
static bool
resize_live (msb_ctx *ctx, const char *name, const msb_modify_plan *p, unsigned cpus,
             unsigned memory_mib, json_t *resize_status, json_t *conflicts)
{
  json_t *req = json_pack ("{s:s}", "op", "resize");
  if (cpus)
    json_object_set_new (req, "cpus", json_integer (cpus));
  if (memory_mib)
    json_object_set_new (req, "memory_mib", json_integer (memory_mib));
  json_t *reply = NULL;
  msb_error *e = NULL;
  int r = msb_control_call (&ctx->home, name, req, &reply, &e);
  json_decref (req);
  bool ok = r == 0 && json_is_true (json_object_get (reply, "ok"));
  const char *why
      = r < 0 ? msb_error_get_message (e) : json_string_value (json_object_get (reply, "error"));
  if (!ok)
    msb_modify_note (conflicts, cpus ? "cpus" : "memory", "the sandbox refused the live resize: %s",
                     why ? why : "no reason given");
  if (cpus)
    {
      json_int_t actual
          = ok ? json_integer_value (json_object_get (reply, "cpus")) : p->before->cpus;
      add_resize_status (resize_status, "cpus", cpus, actual,
                         !ok              ? "failed"
                         : actual == cpus ? "applied"
                                          : "converging");
    }
  if (memory_mib)
    {
      json_int_t actual
          = ok ? json_integer_value (json_object_get (reply, "memory_mib")) : p->before->memory_mib;
      add_resize_status (resize_status, "memory", memory_mib, actual,
                         !ok                    ? "failed"
                         : actual == memory_mib ? "applied"
                                                : "converging");
    }
  msb_error_free (e);
  json_decref (reply);
  return ok;
}

/* ---- the stored config ---- */

static json_t *
section (json_t *root, const char *key)
{
  json_t *o = json_object_get (root, key);
  if (!json_is_object (o))
    {
      o = json_object ();
      json_object_set_new (root, key, o);
    }
  return o;
}

/* The stored JSON with the fields modify() owns replaced by those of `c` (§1.20 shapes). */
static int
store_config (msb_ctx *ctx, const msb_sandbox_row *row, const msb_config *c, msb_error **err)
{
  json_t *root = json_loads (row->config_json, 0, NULL);
  if (!json_is_object (root))
    {
      json_decref (root);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "the stored config of `%s` is not an object",
                       row->name);
    }
  json_t *res = section (root, "resources");
  json_object_set_new (res, "cpus", json_integer (c->cpus));
  json_object_set_new (res, "memory_mib", json_integer (c->memory_mib));
  json_object_set_new (res, "max_cpus", json_integer (c->max_cpus));
  json_object_set_new (res, "max_memory_mib", json_integer (c->max_memory_mib));
  json_object_set_new (section (root, "runtime"), "workdir",
                       c->workdir ? json_string (c->workdir) : json_null ());
  json_object_set_new (root, "env", msb_config_env_json (&c->env));
  json_object_set_new (root, "labels", msb_config_kv_json (&c->labels));
  if (c->files.upper_size_mib)
    msb_config_root_disk_json (c, section (section (root, "image"), "Oci"));
  _msb_cleanup_free_ char *text = json_dumps (root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (root);
  json_t *labels = msb_config_kv_json (&c->labels);
  _msb_cleanup_free_ char *labels_text = json_dumps (labels, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (labels);
  msb_config *check = NULL;
  if (text == NULL || labels_text == NULL || msb_config_from_json (text, &check, err) < 0)
    return msb_error_prefix (err, "store the modified config of `%s`", row->name);
  msb_config_free (check);
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_set_config (&ctx->db, row->name, text, labels_text, err);
  return r;
}

/* ---- the whole ---- */

static int
modify_locked (msb_ctx *ctx, const msb_sandbox_row *row, bool live, void *data, msb_error **err)
{
  modify_job *j = data;
  msb_modify_plan p;
  if (msb_modify_plan_make (j->changes, row, live, j->flags, &p, err) < 0)
    return -1;
  bool dry = j->flags & MSB_MODIFY_DRY_RUN;
  bool ok = json_array_size (p.conflicts) == 0;
  bool applied = false, restarted = false;
  json_t *resize_status = json_array ();
  unsigned cpus = p.live_cpus ? p.after->cpus : 0;
  unsigned memory = p.live_memory ? p.after->memory_mib : 0;
  int r = 0;
  if (ok && !dry)
    {
      if ((cpus || memory)
          && !resize_live (ctx, row->name, &p, cpus, memory, resize_status, p.conflicts))
        ok = false;
      if (ok && store_config (ctx, row, p.after, err) < 0)
        {
          r = -1;
          if (cpus || memory) /* undo the resize: nothing is applied */
            {
              json_t *undo = json_array (), *ignored = json_array ();
              resize_live (ctx, row->name, &p, cpus ? p.before->cpus : 0,
                           memory ? p.before->memory_mib : 0, undo, ignored);
              json_decref (undo);
              json_decref (ignored);
            }
        }
      if (ok && r == 0 && p.needs_restart)
        {
          r = msb_sandbox_restart_locked (ctx, row, err);
          if (r < 0)
            msb_error_prefix (err, "the changes are stored and apply at the next start, but");
          restarted = r == 0;
        }
      applied = ok && r == 0;
    }
  else
    {
      /* Planned, not attempted: what the resize would ask for. */
      if (cpus)
        add_resize_status (resize_status, "cpus", cpus, p.before->cpus, "accepted");
      if (memory)
        add_resize_status (resize_status, "memory", memory, p.before->memory_mib, "accepted");
    }
  if (r == 0)
    {
      json_t *plan
          = json_pack ("{s:s, s:s, s:b, s:s, s:O, s:O, s:O}", "sandbox", row->name, "status",
                       restarted ? "running" : msb_sandbox_status_name (row->status), "applied",
                       applied, "policy", policy_name (j->flags), "changes", p.changes, "conflicts",
                       p.conflicts, "warnings", p.warnings);
      if (json_array_size (resize_status))
        json_object_set (plan, "resize_status", resize_status);
      j->plan_json = json_dumps (plan, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref (plan);
    }
  json_decref (resize_status);
  msb_modify_plan_clear (&p);
  return r;
}

int
msb_sandbox_modify (msb_ctx *ctx, const char *name, const char *changes_json, unsigned flags,
                    char **plan_json, msb_error **err)
{
  modify_job j = { changes_json, flags, NULL };
  if (msb_sandbox_with_lock (ctx, name, modify_locked, &j, err) < 0)
    return msb_error_prefix (err, "modify sandbox `%s`", name);
  *plan_json = j.plan_json;
  return 0;
}
