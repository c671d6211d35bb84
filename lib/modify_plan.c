/* Planning a modify() (see modify_plan.h): one PlannedChange per field (per key for env and
 * labels) whose value actually changes, with its disposition:
 *   - labels are host metadata: "live", whatever the sandbox's state;
 *   - cpus and memory of a running sandbox: "live" when the backend resizes live and the new
 *     value is within the max the sandbox booted with;
 *   - everything else, on a running sandbox, needs a restart: "requires restart" (performed
 *     under policy RESTART, a conflict under NO_RESTART) or "next start" under NEXT_START;
 *   - on a sandbox that is not running, every valid change is "next start";
 *   - secrets are "unsupported" (no sandbox networking in this build): a conflict.
 * Values are checked against each other as they will be after the change (cpus against the
 * new max_cpus): a sandbox never ends up with a config its setters would refuse. */
#include "lib/modify_plan.h"

#include <msb/modify.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MAX_MIB (16u * 1024u * 1024u)

void
msb_modify_note (json_t *list, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  json_array_append_new (list, json_pack ("{s:s, s:s}", "field", field, "message", msg));
  free (msg);
}

void
msb_modify_plan_clear (msb_modify_plan *p)
{
  json_decref (p->changes);
  json_decref (p->conflicts);
  json_decref (p->warnings);
  msb_config_free (p->before);
  msb_config_free (p->after);
  memset (p, 0, sizeof *p);
}

/* ---- the request ---- */

typedef struct request
{
  json_t *root;
  json_t *cpus, *max_cpus, *memory, *max_memory, *root_disk;
  json_t *env, *env_rm, *labels, *labels_rm, *workdir, *secrets, *secrets_rm;
} request;

static int
bad_type (msb_error **err, const char *key, const char *what)
{
  return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "modify: `%s` must be %s", key, what);
}

static bool
is_string_map (const json_t *o)
{
  const char *k;
  json_t *v;
  if (!json_is_object (o))
    return false;
  json_object_foreach ((json_t *) o, k, v)
    if (!json_is_string (v))
      return false;
  return true;
}

static bool
is_string_list (const json_t *a)
{
  size_t i;
  json_t *v;
  if (!json_is_array (a))
    return false;
  json_array_foreach (a, i, v)
    if (!json_is_string (v))
      return false;
  return true;
}

static int
parse_request (const char *text, request *r, msb_error **err)
{
  memset (r, 0, sizeof *r);
  json_error_t jerr;
  r->root = json_loads (text ? text : "{}", 0, &jerr);
  if (!json_is_object (r->root))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "modify: changes must be a JSON object (%s)",
                     r->root ? "got another value" : jerr.text);
  struct
  {
    const char *key;
    json_t **slot;
    int type; /* 0 integer, 1 string map, 2 string list, 3 string, 4 object */
  } keys[] = {
    { "cpus", &r->cpus, 0 },
    { "max_cpus", &r->max_cpus, 0 },
    { "memory", &r->memory, 0 },
    { "max_memory", &r->max_memory, 0 },
    { "root_disk_size", &r->root_disk, 0 },
    { "env", &r->env, 1 },
    { "env_rm", &r->env_rm, 2 },
    { "labels", &r->labels, 1 },
    { "labels_rm", &r->labels_rm, 2 },
    { "workdir", &r->workdir, 3 },
    { "secrets", &r->secrets, 4 },
    { "secrets_rm", &r->secrets_rm, 2 },
  };
  static const char *const what[]
      = { "an integer", "an object of strings", "a list of strings", "a string", "an object" };
  const char *k;
  json_t *v;
  json_object_foreach (r->root, k, v)
    {
      size_t i;
      for (i = 0; i < sizeof keys / sizeof keys[0] && strcmp (keys[i].key, k) != 0; i++)
        ;
      if (i == sizeof keys / sizeof keys[0])
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "modify: unknown change `%s`", k);
      if (json_is_null (v))
        continue; /* not given */
      bool ok = keys[i].type == 0   ? json_is_integer (v)
                : keys[i].type == 1 ? is_string_map (v)
                : keys[i].type == 2 ? is_string_list (v)
                : keys[i].type == 3 ? json_is_string (v)
                                    : json_is_object (v);
      if (!ok)
        return bad_type (err, k, what[keys[i].type]);
      *keys[i].slot = v;
    }
  return 0;
}

/* ---- planning ---- */

typedef struct planner
{
  msb_modify_plan *p;
  bool live;
  bool can_resize;
  unsigned flags;
} planner;

static json_t *
str_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static void
add_change (planner *pl, const char *field, const char *key, const char *change,
            const char *disposition, json_t *before, json_t *after, const char *reason)
{
  json_t *c = json_pack ("{s:s, s:s}", "kind", "config", "field", field);
  if (key)
    json_object_set_new (c, "key", json_string (key));
  json_object_set_new (c, "change", json_string (change));
  json_object_set_new (c, "disposition", json_string (disposition));
  json_object_set_new (c, "before", before ? before : json_null ());
  json_object_set_new (c, "after", after ? after : json_null ());
  json_object_set_new (c, "reason", json_string (reason));
  json_array_append_new (pl->p->changes, c);
}

static bool
has_conflict (const json_t *conflicts, const char *field)
{
  size_t i;
  json_t *c;
  json_array_foreach (conflicts, i, c)
    if (strcmp (json_string_value (json_object_get (c, "field")), field) == 0)
      return true;
  return false;
}

/* The disposition of a change the running sandbox cannot take live. `why` says why not. */
static const char *
needs_boot (planner *pl, const char *field, const char *why, const char **reason)
{
  if (!pl->live)
    {
      *reason = "the sandbox is not running: takes effect when it starts";
      return "next start";
    }
  if (pl->flags & MSB_MODIFY_RESTART)
    {
      pl->p->needs_restart = true;
      *reason = "applied by restarting the sandbox";
      return "requires restart";
    }
  if (pl->flags & MSB_MODIFY_NEXT_START)
    {
      *reason = "stored: the running sandbox keeps its current value until it restarts";
      return "next start";
    }
  if (!has_conflict (pl->p->conflicts, field)) /* one reason per field is enough */
    msb_modify_note (pl->p->conflicts, field,
                     "%s: cannot change while the sandbox runs without a restart (%s); use "
                     "policy next_start or restart",
                     field, why);
  *reason = why;
  return "requires restart";
}

/* cpus or memory: live within the running sandbox's max, when the backend can. */
static void
plan_resource (planner *pl, const char *field, const char *max_field, unsigned before,
               unsigned after, unsigned running_max, bool *live_flag)
{
  if (before == after)
    return;
  const char *reason, *disposition;
  char why[160];
  if (pl->live && pl->can_resize && after <= running_max)
    {
      disposition = "live";
      reason = "the sandbox's cgroup limit changes now";
      *live_flag = true;
    }
  else
    {
      if (!pl->can_resize)
        snprintf (why, sizeof why, "this backend cannot resize a running sandbox");
      else
        snprintf (why, sizeof why, "%u is above the %s of %u the sandbox booted with", after,
                  max_field, running_max);
      disposition = needs_boot (pl, field, why, &reason);
    }
  add_change (pl, field, NULL, "updated", disposition, json_integer (before), json_integer (after),
              reason);
}

static void
plan_boot_value (planner *pl, const char *field, unsigned before, unsigned after)
{
  if (before == after)
    return;
  const char *reason;
  const char *disposition = needs_boot (pl, field, "it is fixed when the sandbox boots", &reason);
  add_change (pl, field, NULL, "updated", disposition, json_integer (before), json_integer (after),
              reason);
}

static unsigned
int_or (const json_t *v, unsigned dflt, json_t *conflicts, const char *field, unsigned lo,
        unsigned hi)
{
  if (v == NULL)
    return dflt;
  json_int_t n = json_integer_value (v);
  if (n < lo || n > hi)
    {
      msb_modify_note (conflicts, field, "%s: must be between %u and %u, got %lld", field, lo, hi,
                       (long long) n);
      return dflt;
    }
  return (unsigned) n;
}

static void
plan_resources (planner *pl, const request *r)
{
  msb_modify_plan *p = pl->p;
  msb_config *b = p->before, *a = p->after;
  a->cpus = int_or (r->cpus, b->cpus, p->conflicts, "cpus", 1, 128);
  a->max_cpus = int_or (r->max_cpus, b->max_cpus, p->conflicts, "max_cpus", 1, 128);
  a->memory_mib = int_or (r->memory, b->memory_mib, p->conflicts, "memory", 16, MAX_MIB);
  a->max_memory_mib
      = int_or (r->max_memory, b->max_memory_mib, p->conflicts, "max_memory", 16, MAX_MIB);
  a->max_cpus_set = a->max_memory_set = true;
  if (a->cpus > a->max_cpus)
    msb_modify_note (p->conflicts, "cpus", "cpus: %u exceeds max_cpus %u (raise max_cpus too)",
                     a->cpus, a->max_cpus);
  if (a->memory_mib > a->max_memory_mib)
    msb_modify_note (p->conflicts, "memory",
                     "memory: %u MiB exceeds max_memory %u MiB (raise max_memory too)",
                     a->memory_mib, a->max_memory_mib);
  plan_resource (pl, "cpus", "max_cpus", b->cpus, a->cpus, b->max_cpus, &p->live_cpus);
  plan_boot_value (pl, "max_cpus", b->max_cpus, a->max_cpus);
  plan_resource (pl, "memory", "max_memory", b->memory_mib, a->memory_mib, b->max_memory_mib,
                 &p->live_memory);
  plan_boot_value (pl, "max_memory", b->max_memory_mib, a->max_memory_mib);
}

static void
plan_root_disk (planner *pl, const json_t *v)
{
  msb_modify_plan *p = pl->p;
  unsigned before = p->before->files.upper_size_mib;
  json_int_t want = json_integer_value (v);
  if (v == NULL || want == before)
    return;
  const char *reason = "", *disposition = "unsupported";
  if (before == 0)
    {
      reason = "the writable layer is a directory without a size limit; a limit is set at create";
      msb_modify_note (p->conflicts, "root_disk_size", "root_disk_size: %s", reason);
    }
  else if (want < before)
    {
      reason = "a writable layer never shrinks";
      msb_modify_note (p->conflicts, "root_disk_size",
                       "root_disk_size: %lld MiB is below the current %u MiB (%s)",
                       (long long) want, before, reason);
    }
  else if (want > MAX_MIB)
    {
      reason = "more than 16 TiB";
      msb_modify_note (p->conflicts, "root_disk_size", "root_disk_size: %s", reason);
    }
  else
    {
      /* Grown offline by the runtime when it next boots the sandbox (ns/upper_disk.c). */
      disposition
          = needs_boot (pl, "root_disk_size", "the layer is grown while unmounted", &reason);
      p->after->files.upper_size_mib = (unsigned) want;
    }
  add_change (pl, "root_disk_size", NULL, before ? "updated" : "added", disposition,
              before ? json_integer (before) : NULL, json_integer (want), reason);
}

/* env or labels: a map of new values and a list of keys to remove. */
static void
plan_kv (planner *pl, const char *field, const json_t *set, const json_t *rm, msb_kvlist *before,
         bool is_label)
{
  msb_modify_plan *p = pl->p;
  const char *k;
  json_t *v;
  size_t i;
  json_array_foreach (rm, i, v)
    if (json_object_get (set, json_string_value (v)))
      msb_modify_note (p->conflicts, field, "%s `%s` is both set and removed", field,
                       json_string_value (v));
  json_object_foreach ((json_t *) set, k, v)
    {
      const char *old = msb_kvlist_get (before, k);
      const char *value = json_string_value (v);
      if (old && strcmp (old, value) == 0)
        continue;
      msb_error *e = NULL;
      int r = is_label ? msb_config_set_label (p->after, k, value, &e)
                       : msb_config_set_env (p->after, k, value, &e);
      if (r < 0)
        {
          msb_modify_note (p->conflicts, field, "%s", msb_error_get_message (e));
          msb_error_free (e);
        }
      const char *reason = "labels are host metadata: visible at once";
      const char *disposition = is_label ? "live"
                                         : needs_boot (pl, field,
                                                       "the environment of "
                                                       "the sandbox is fixed at boot",
                                                       &reason);
      add_change (pl, field, k, old ? "updated" : "added", disposition, str_or_null (old),
                  json_string (value), reason);
    }
  json_array_foreach (rm, i, v)
    {
      const char *key = json_string_value (v);
      const char *old = msb_kvlist_get (before, key);
      if (old == NULL)
        {
          msb_modify_note (p->warnings, field, "%s `%s` is not set: nothing to remove", field, key);
          continue;
        }
      msb_kvlist_remove (is_label ? &p->after->labels : &p->after->env, key);
      const char *reason = "labels are host metadata: visible at once";
      const char *disposition = is_label ? "live"
                                         : needs_boot (pl, field,
                                                       "the environment of "
                                                       "the sandbox is fixed at boot",
                                                       &reason);
      add_change (pl, field, key, "removed", disposition, json_string (old), NULL, reason);
    }
}

static void
plan_workdir (planner *pl, const json_t *v)
{
  msb_modify_plan *p = pl->p;
  const char *want = json_string_value (v);
  const char *old = p->before->workdir;
  if (want == NULL || (old && strcmp (old, want) == 0))
    return;
  msb_error *e = NULL;
  if (msb_config_set_workdir (p->after, want, &e) < 0)
    {
      msb_modify_note (p->conflicts, "workdir", "%s", msb_error_get_message (e));
      msb_error_free (e);
    }
  const char *reason;
  const char *disposition
      = needs_boot (pl, "workdir", "the default directory is fixed at boot", &reason);
  add_change (pl, "workdir", NULL, old ? "updated" : "added", disposition, str_or_null (old),
              json_string (want), reason);
}

static void
plan_secret (planner *pl, const char *name, const char *change)
{
  static const char reason[] = "secrets need sandbox networking, which this build does not have";
  json_array_append_new (pl->p->changes,
                         json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "secret", "field",
                                    "secret", "name", name, "change", change, "disposition",
                                    "unsupported", "reason", reason));
  msb_modify_note (pl->p->conflicts, "secret", "secret `%s`: %s", name, reason);
}

int
msb_modify_plan_make (const char *changes_json, const msb_sandbox_row *row, bool is_live,
                      unsigned flags, msb_modify_plan *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if ((flags & MSB_MODIFY_RESTART) && (flags & MSB_MODIFY_NEXT_START))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                     "modify: pick one policy (next_start or restart)");
  request r;
  if (parse_request (changes_json, &r, err) < 0)
    {
      json_decref (r.root);
      return -1;
    }
  if (msb_config_from_json (row->config_json, &out->before, err) < 0)
    {
      json_decref (r.root);
      return msb_error_prefix (err, "read the config of sandbox `%s`", row->name);
    }
  out->after = msb_config_copy (out->before);
  out->changes = json_array ();
  out->conflicts = json_array ();
  out->warnings = json_array ();
  planner pl = { out, is_live, is_live && row->backend && strcmp (row->backend, "ns") == 0, flags };
  plan_resources (&pl, &r);
  plan_root_disk (&pl, r.root_disk);
  plan_kv (&pl, "env", r.env, r.env_rm, &out->before->env, false);
  plan_kv (&pl, "label", r.labels, r.labels_rm, &out->before->labels, true);
  plan_workdir (&pl, r.workdir);
  const char *k;
  json_t *v;
  size_t i;
  json_object_foreach (r.secrets, k, v)
    plan_secret (&pl, k, "added");
  json_array_foreach (r.secrets_rm, i, v)
    plan_secret (&pl, json_string_value (v), "removed");
  json_decref (r.root);
  return 0;
}
