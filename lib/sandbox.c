/* Sandbox lifecycle over the state database, the per-sandbox locks and the runtime process.
 * Every operation that changes what exists (create, start, stop, kill, remove, replace)
 * holds the sandbox's lifecycle lock, so two of them never interleave and readers never
 * mistake a boot in progress for a crash. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/control_call.h"
#include "lib/image/store.h"
#include "lib/image/store_lock.h"
#include "lib/image_acquire.h"
#include "lib/internal.h"
#include "lib/sandbox_locked.h"
#include "lib/snapshot_boot.h"
#include "lib/spawn.h"
#include "lib/state.h"
#include "lib/volume_mounts.h"
#include "lib/uid_ranges.h"
#include "runtime/backend.h"

#define BOOT_TIMEOUT_MS 60000
#define DEFAULT_STOP_MS 10000
#define DEFAULT_KILL_MS 5000

struct msb_sandbox_info
{
  msb_sandbox_row row;
};

/* ---- names ---- */

int
msb_sandbox_name_validate (const char *name, msb_error **err)
{
  if (name == NULL || *name == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "sandbox name must not be empty");
  size_t n = strlen (name);
  if (n > 128)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "sandbox name is %zu bytes; the limit is 128", n);
  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "sandbox name `%s` is reserved", name);
  for (const unsigned char *p = (const unsigned char *) name; *p; p++)
    if (*p == '/' || *p < 0x20 || *p == 0x7f)
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "sandbox name `%s` must not contain '/' or control characters", name);
  return 0;
}

/* ---- waiting for a runtime to go away ---- */

/* Signals the runtime recorded in `row`, only if that pid is still the same process. */
static bool
signal_runtime (const msb_sandbox_row *row, int sig)
{
  if (row->pid <= 0 || msb_process_start_time (row->pid) != row->pid_start)
    return false;
  return kill (row->pid, sig) == 0;
}

static bool
status_is_live (msb_sandbox_status s)
{
  return s == MSB_STATUS_STARTING || s == MSB_STATUS_RUNNING || s == MSB_STATUS_DRAINING;
}

static int
read_row (msb_ctx *ctx, const char *name, msb_sandbox_row *row, msb_error **err)
{
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_get (&ctx->db, &ctx->home, name, row, err);
  return r;
}

/* SIGKILL, wait, then record the end the dead runtime could not record. Lifecycle lock held. */
static int
kill_locked (msb_ctx *ctx, const msb_sandbox_row *row, int timeout_ms, const char *reason,
             msb_error **err)
{ signal_runtime (row, SIGKILL);
  if (!msb_runtime_wait_gone (&ctx->home, row->name, row->pid, row->pid_start, timeout_ms))
    return msb_fail (err, MSB_ERR_GENERIC, "sandbox `%s` did not stop within %d ms", row->name,
                     timeout_ms); msb_backend_cleanup_leftovers (&ctx->home, row->name);
  int r = 0;
  MSB_WITH_DB (ctx)
  if (row->run_id)
    r = msb_state_run_end (&ctx->db, row->name, row->run_id, MSB_STATUS_STOPPED, -1, SIGKILL, reason,
                           err);
  return r;
}

/* Graceful stop (SIGTERM → core.shutdown), then SIGKILL after timeout_ms. Lock held. */
static int
stop_locked (msb_ctx *ctx, const msb_sandbox_row *row, int timeout_ms, msb_error **err)
{
  if (timeout_ms > 0 && signal_runtime (row, SIGTERM)
      && msb_runtime_wait_gone (&ctx->home, row->name, row->pid, row->pid_start, timeout_ms))
    return 0;
  if (!msb_runtime_is_alive (&ctx->home, row->name))
    return 0;
  return kill_locked (ctx, row, DEFAULT_KILL_MS, "killed after the stop timeout", err);
}

/* Removes everything of a sandbox that is not running. Lock held. */
static int
remove_locked (msb_ctx *ctx, const char *name, msb_error **err)
{
  msb_backend_cleanup_leftovers (&ctx->home, name);
  int r, slot;
  MSB_WITH_DB (ctx)
  r = msb_state_delete (&ctx->db, name, &slot, err);
  if (r < 0)
    return -1;
  if (slot >= 0)
    msb_uid_ranges_release (slot, &ctx->home, name);
  _msb_cleanup_free_ char *dir = msb_sandbox_dir_rel (name);
  _msb_cleanup_free_ char *run = msb_sandbox_run_dir_rel (name);
  _msb_cleanup_free_ char *live = msb_sandbox_live_lock_rel (name);
  if (msb_rm_rf_at (ctx->home.root_fd, dir, err) < 0)
    return msb_error_prefix (err, "remove the files of sandbox `%s`", name);
  msb_rm_rf_at (ctx->home.root_fd, run, NULL);
  unlinkat (ctx->home.root_fd, live, 0);
  char h16[33];
  msb_name_hash16 (name, h16);
  _msb_cleanup_free_ char *l1 = msb_xasprintf ("run/agent/%s.sock", h16);
  _msb_cleanup_free_ char *l2 = msb_xasprintf ("run/agent/%s.control.sock", h16);
  unlinkat (ctx->home.root_fd, l1, 0);
  unlinkat (ctx->home.root_fd, l2, 0);
  return 0;
}

/* ---- the lifecycle lock ---- */

/* The lifecycle lock of one name, released at scope exit. When the sandbox does not exist by
 * then (removed, a failed create, an ephemeral run that ended, a name that never existed) the
 * lock file is unlinked first, so run/locks does not keep a file per name ever used. It is
 * unlinked while still held and as the very last step: a waiter holding the old file notices
 * and retries on a fresh one (msb_lock_lifecycle). */
typedef struct lifecycle_lock
{
  msb_ctx *ctx;
  const char *name;
  int fd;
} lifecycle_lock;

static void
lifecycle_unlock (lifecycle_lock *l)
{
  if (l->fd < 0)
    return;
  bool exists = true;
  MSB_WITH_DB (l->ctx)
  msb_state_exists (&l->ctx->db, l->name, &exists, NULL);
  if (!exists)
    {
      _msb_cleanup_free_ char *rel = msb_sandbox_lock_rel (l->name);
      unlinkat (l->ctx->home.root_fd, rel, 0);
    }
  close (l->fd);
  l->fd = -1;
}

#define _cleanup_lifecycle_lock_ __attribute__ ((cleanup (lifecycle_unlock)))

static lifecycle_lock
lock_lifecycle (msb_ctx *ctx, const char *name, msb_error **err)
{
  return (lifecycle_lock) { ctx, name, msb_lock_lifecycle (&ctx->home, name, true, err) };
}

/* ---- handles ---- */

static int
connect_handle (msb_ctx *ctx, const char *name, const char *shell, bool owns, int watchdog_fd,
                int timeout_ms, msb_sandbox **out, msb_error **err)
{
  msb_sandbox *sb = msb_xcalloc (1, sizeof *sb);
  sb->ctx = ctx;
  sb->name = msb_xstrdup (name);
  sb->shell = msb_xstrdup (shell ? shell : "/bin/sh");
  sb->owns_lifecycle = owns;
  sb->watchdog_fd = watchdog_fd;
  if (msb_conn_open (&ctx->home, name, timeout_ms, &sb->conn, err) < 0)
    {
      msb_sandbox_close (sb);
      return -1;
    }
  *out = sb;
  return 0;
}

static char *
shell_of (const char *config_json)
{
  msb_config *cfg = NULL;
  if (msb_config_from_json (config_json, &cfg, NULL) < 0)
    return NULL;
  char *s = msb_xstrdup (cfg->shell);
  msb_config_free (cfg);
  return s;
}

/* SQLite is not fork-safe: a child inherits the process-wide lock bookkeeping of open
 * connections. When the runtime is forked in-process (lib/spawn.h), our connection is
 * closed across the fork and reopened after. */
static int
spawn_runtime (msb_ctx *ctx, const char *name, bool detached, int *watchdog, msb_error **err)
{
  if (!msb_spawn_is_inprocess ())
    return msb_spawn_runtime (&ctx->home, name, detached, BOOT_TIMEOUT_MS, watchdog, err);
  pthread_mutex_lock (&ctx->db_lock);
  msb_db_close (&ctx->db);
  int r = msb_spawn_runtime (&ctx->home, name, detached, BOOT_TIMEOUT_MS, watchdog, err);
  msb_error *reopen_err = NULL;
  if (msb_db_open (&ctx->db, &ctx->home, &reopen_err) < 0 && r == 0)
    {
      r = -1;
      if (err)
        *err = reopen_err;
      reopen_err = NULL;
    }
  msb_error_free (reopen_err);
  pthread_mutex_unlock (&ctx->db_lock);
  return r;
}

/* Boots the runtime of an existing record and connects. Lock held. */
static int
boot_and_connect (msb_ctx *ctx, const char *name, const char *shell, unsigned flags,
                  msb_sandbox **out, msb_error **err)
{
  bool detached = flags & MSB_SANDBOX_DETACHED;
  int watchdog = -1;
  msb_backend_cleanup_leftovers (&ctx->home, name);
  if (spawn_runtime (ctx, name, detached, &watchdog, err) < 0)
    return -1;
  if (connect_handle (ctx, name, shell, !detached, watchdog, -1, out, err) < 0)
    {
      if (watchdog >= 0)
        close (watchdog);
      return -1;
    }
  return 0;
}

/* ---- create ---- */

static char *
labels_json (const msb_config *cfg)
{
  json_t *o = json_object ();
  for (size_t i = 0; i < cfg->labels.n; i++)
    json_object_set_new (o, cfg->labels.items[i].key, json_string (cfg->labels.items[i].value));
  char *s = json_dumps (o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (o);
  return s;
}

/* The image of a create, cached or pulled as the config's pull policy says (image_acquire.h,
 * which emits the pull events). The caller holds the image store lock. */
static int
resolve_image (msb_ctx *ctx, const msb_config *cfg, const msb_create_opts *co, msb_image *img,
               msb_error **err)
{
  msb_pull_opts po = {
    .size = sizeof po,
    .progress = co->progress,
    .progress_data = co->progress_data,
    .username = cfg->registry.username,
    .password = cfg->registry.password,
    .insecure = cfg->registry.insecure,
    .ca_files = (const char *const *) cfg->registry.ca_files,
    .ca_pem = cfg->registry.ca_pem,
  };
  if (msb_image_acquire (ctx, cfg->image, cfg->pull_policy, &po, img, err) < 0)
    return -1;
  MSB_WITH_DB (ctx)
  msb_image_store_touch (&ctx->db, img->reference, NULL); /* last_used_at; best effort */
  return 0;
}

static int
replace_existing (msb_ctx *ctx, const char *name, int grace_ms, msb_error **err)
{
  msb_sandbox_row row = { 0 };
  if (read_row (ctx, name, &row, err) < 0)
    return -1;
  int r = 0;
  if (status_is_live (row.status) && msb_runtime_is_alive (&ctx->home, name))
    r = stop_locked (ctx, &row, grace_ms < 0 ? DEFAULT_STOP_MS : grace_ms, err);
  msb_sandbox_row_clear (&row);
  if (r < 0)
    return msb_error_prefix (err, "replace sandbox `%s`", name);
  return remove_locked (ctx, name, err);
}

typedef struct slot_filter_data
{
  msb_uid_ranges *ranges;
  const msb_home *home;
  const char *name;
} slot_filter_data;

static bool
slot_free_on_host (int slot, void *data)
{
  slot_filter_data *d = data;
  return msb_uid_ranges_available (d->ranges, slot, d->home, d->name);
}

/* The record, the host-wide claim on its uid range and its directory, all or nothing. The
 * claims directory stays locked until the sandbox directory exists: until then a claim
 * would look stale to another create. */
static int
insert_record (msb_ctx *ctx, const char *name, const msb_config *cfg, const msb_image *img,
               const char *backend, int *slot_out, msb_error **err)
{
  _msb_cleanup_free_ char *config = msb_config_to_json_named (cfg, name);
  _msb_cleanup_free_ char *labels = labels_json (cfg);
  msb_uid_ranges ranges;
  msb_uid_ranges_open (&ranges);
  slot_filter_data filter = { &ranges, &ctx->home, name };
  int slot, r;
  MSB_WITH_DB (ctx)
  r = msb_state_insert (&ctx->db, name, config, cfg->ephemeral, labels, cfg->image,
                        img->manifest_digest, backend, slot_free_on_host, &filter, &slot, err);
  if (r == 0 && msb_uid_ranges_claim (&ranges, slot, &ctx->home, name, err) < 0)
    {
      MSB_WITH_DB (ctx)
      msb_state_delete (&ctx->db, name, NULL, NULL);
      r = -1;
    }
  if (r < 0)
    {
      msb_uid_ranges_close (&ranges);
      return -1;
    }
  _msb_cleanup_free_ char *dir = msb_sandbox_dir_rel (name);
  msb_rm_rf_at (ctx->home.root_fd, dir, NULL); /* debris of an interrupted remove */
  if (mkdirat (ctx->home.root_fd, dir, 0700) < 0)
    {
      int saved = errno;
      MSB_WITH_DB (ctx)
      msb_state_delete (&ctx->db, name, NULL, NULL);
      msb_uid_ranges_close (&ranges);
      msb_uid_ranges_release (slot, &ctx->home, name);
      return msb_fail_errno (err, saved, MSB_ERR_IO, "create `%s/%s`", ctx->home.root, dir);
    }
  msb_uid_ranges_close (&ranges);
  *slot_out = slot;
  return 0;
}

static int
create_locked (msb_ctx *ctx, const char *name, const msb_config *cfg, unsigned flags,
               int replace_grace_ms, const msb_image *img, const char *backend,
               const msb_snapshot_source *snap, msb_sandbox **out, msb_error **err)
{
  bool exists = false;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_exists (&ctx->db, name, &exists, err);
  if (r < 0)
    return -1;
  if (exists && !(flags & MSB_SANDBOX_REPLACE))
    return msb_fail (err, MSB_ERR_SANDBOX_ALREADY_EXISTS,
                     "sandbox `%s` already exists (remove it or create with replace)", name);
  if (exists && replace_existing (ctx, name, replace_grace_ms, err) < 0)
    return -1;
  int slot = 0;
  if (insert_record (ctx, name, cfg, img, backend, &slot, err) < 0)
    return -1;
  /* A sandbox made from a snapshot starts with a copy of its writable layer. */
  if (snap && msb_snapshot_source_install (ctx, snap, name, slot, err) < 0)
    {
      remove_locked (ctx, name, NULL);
      return -1;
    }
  if (boot_and_connect (ctx, name, cfg->shell, flags, out, err) == 0)
    return 0;
  /* A failed create leaves no trace. */
  if (msb_runtime_is_alive (&ctx->home, name))
    {
      msb_sandbox_row row = { 0 };
      if (read_row (ctx, name, &row, NULL) == 0)
        kill_locked (ctx, &row, DEFAULT_KILL_MS, "create failed", NULL);
      msb_sandbox_row_clear (&row);
    }
  remove_locked (ctx, name, NULL);
  return -1;
}

int
msb_sandbox_create (msb_ctx *ctx, const char *name, const msb_config *cfg, unsigned flags,
                    int replace_grace_ms, msb_sandbox **out, msb_error **err)
{
  msb_create_opts co = { .size = sizeof co, .flags = flags, .has_replace_grace = true,
                         .replace_grace_ms = replace_grace_ms };
  return msb_sandbox_create_ex (ctx, name, cfg, &co, out, err);
}

int
msb_sandbox_create_ex (msb_ctx *ctx, const char *name, const msb_config *cfg,
                       const msb_create_opts *opts, msb_sandbox **out, msb_error **err)
{
  msb_create_opts co = { .size = sizeof co };
  if (opts && opts->size < offsetof (msb_create_opts, flags) + sizeof opts->flags)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "msb_create_opts.size is not set");
  if (opts)
    memcpy (&co, opts, opts->size < sizeof co ? opts->size : sizeof co);
  unsigned flags = co.flags;
  int replace_grace_ms = co.has_replace_grace ? co.replace_grace_ms : -1;
  if (msb_sandbox_name_validate (name, err) < 0)
    return -1;
  /* From a snapshot: its pinned image, and (below) a copy of its writable layer. */
  _msb_cleanup_snapshot_source_ msb_snapshot_source snap = { 0 };
  if (co.snapshot)
    {
      if (msb_snapshot_source_open (ctx, co.snapshot, cfg, &snap, err) < 0)
        return msb_error_prefix (err, "create sandbox `%s`", name);
      cfg = snap.cfg;
    }
  if (msb_config_validate (cfg, err) < 0)
    return -1;
  const msb_backend *backend;
  if (msb_backend_select (cfg->backend, &backend, err) < 0 || backend->probe (err) < 0)
    return msb_error_prefix (err, "create sandbox `%s`", name);
  /* Held until the sandbox row pins the image: a prune cannot remove it in between. */
  _msb_cleanup_close_ int store_lock = msb_image_store_lock (&ctx->home, false, err);
  if (store_lock < 0)
    return msb_error_prefix (err, "create sandbox `%s`", name);
  msb_image img = { 0 };
  if (resolve_image (ctx, cfg, &co, &img, err) < 0)
    return msb_error_prefix (err, "create sandbox `%s`", name);
  /* Named volumes the config asks to create exist before the sandbox boots. */
  _msb_cleanup_volumes_created_ msb_volumes_created volumes = { 0 };
  if (msb_volumes_prepare_create (ctx, cfg, &volumes, err) < 0)
    {
      msb_image_clear (&img);
      return msb_error_prefix (err, "create sandbox `%s`", name);
    }
  _cleanup_lifecycle_lock_ lifecycle_lock lock = lock_lifecycle (ctx, name, err);
  int r = lock.fd < 0 ? -1
                      : create_locked (ctx, name, cfg, flags, replace_grace_ms, &img, backend->name,
                                       co.snapshot ? &snap : NULL, out, err);
  msb_image_clear (&img);
  if (r < 0)
    msb_volumes_undo_create (ctx, &volumes);
  if (r < 0)
    return msb_error_prefix (err, "create sandbox `%s`", name);
  return 0;
}

/* ---- start / connect ---- */

int
msb_sandbox_start (msb_ctx *ctx, const char *name, unsigned flags, msb_sandbox **out,
                   msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = lock_lifecycle (ctx, name, err);
  if (lock.fd < 0)
    return -1;
  msb_sandbox_row row = { 0 };
  if (read_row (ctx, name, &row, err) < 0)
    return -1;
  int r;
  if (status_is_live (row.status) && msb_runtime_is_alive (&ctx->home, name))
    r = msb_fail (err, MSB_ERR_SANDBOX_STILL_RUNNING, "sandbox `%s` is already running", name);
  else
    {
      _msb_cleanup_free_ char *shell = shell_of (row.config_json);
      if (flags & MSB_SANDBOX_UNTIL_UNUSED)
        flags |= MSB_SANDBOX_DETACHED;
      r = boot_and_connect (ctx, name, shell, flags, out, err);
      /* Asked once our own connection exists, so the sandbox cannot stop under us. */
      if (r == 0 && (flags & MSB_SANDBOX_UNTIL_UNUSED)
          && msb_control_request (&ctx->home, name, "stop-when-unused", err) < 0)
        {
          msb_sandbox_close (*out);
          *out = NULL;
          r = -1;
        }
    }
  msb_sandbox_row_clear (&row);
  if (r < 0)
    return msb_error_prefix (err, "start sandbox `%s`", name);
  return 0;
}

int
msb_sandbox_connect (msb_ctx *ctx, const char *name, int timeout_ms, msb_sandbox **out,
                     msb_error **err)
{
  msb_sandbox_row row = { 0 };
  if (read_row (ctx, name, &row, err) < 0)
    return -1;
  int r;
  if (!status_is_live (row.status))
    r = msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is %s, not running", name,
                  msb_sandbox_status_name (row.status));
  else
    {
      _msb_cleanup_free_ char *shell = shell_of (row.config_json);
      r = connect_handle (ctx, name, shell, false, -1, timeout_ms, out, err);
    }
  msb_sandbox_row_clear (&row);
  return r;
}

/* ---- stop / kill / remove ---- */

static int
with_live_row (msb_ctx *ctx, const char *name, lifecycle_lock *lock, msb_sandbox_row *row,
               bool *live, msb_error **err)
{
  *lock = lock_lifecycle (ctx, name, err);
  if (lock->fd < 0)
    return -1;
  if (read_row (ctx, name, row, err) < 0)
    return -1;
  *live = status_is_live (row->status) && msb_runtime_is_alive (&ctx->home, name);
  return 0;
}

int
msb_sandbox_stop (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = { ctx, name, -1 };
  msb_sandbox_row row = { 0 };
  bool live = false;
  int r = with_live_row (ctx, name, &lock, &row, &live, err);
  if (r == 0 && live)
    r = stop_locked (ctx, &row, timeout_ms < 0 ? DEFAULT_STOP_MS : timeout_ms, err);
  msb_sandbox_row_clear (&row);
  return r < 0 ? msb_error_prefix (err, "stop sandbox `%s`", name) : 0;
}

int
msb_sandbox_kill (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = { ctx, name, -1 };
  msb_sandbox_row row = { 0 };
  bool live = false;
  int r = with_live_row (ctx, name, &lock, &row, &live, err);
  if (r == 0 && live)
    r = kill_locked (ctx, &row, timeout_ms < 0 ? DEFAULT_KILL_MS : timeout_ms, "killed", err);
  msb_sandbox_row_clear (&row);
  return r < 0 ? msb_error_prefix (err, "kill sandbox `%s`", name) : 0;
}

int
msb_sandbox_remove (msb_ctx *ctx, const char *name, msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = { ctx, name, -1 };
  msb_sandbox_row row = { 0 };
  bool live = false;
  int r = with_live_row (ctx, name, &lock, &row, &live, err);
  if (r == 0 && live)
    r = msb_fail (err, MSB_ERR_SANDBOX_STILL_RUNNING,
                  "sandbox `%s` is running: stop it first (or use `msb rm -f`)", name);
  if (r == 0)
    r = remove_locked (ctx, name, err);
  msb_sandbox_row_clear (&row);
  return r;
}

int
msb_sandbox_remove_force (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = { ctx, name, -1 };
  msb_sandbox_row row = { 0 };
  bool live = false;
  int r = with_live_row (ctx, name, &lock, &row, &live, err);
  if (r == 0 && live)
    r = kill_locked (ctx, &row, timeout_ms < 0 ? DEFAULT_KILL_MS : timeout_ms, "removed", err);
  if (r == 0)
    r = remove_locked (ctx, name, err);
  msb_sandbox_row_clear (&row);
  return r;
}

/* ---- locked operations of other modules (lib/sandbox_locked.h) ---- */

int
msb_sandbox_with_lock (msb_ctx *ctx, const char *name, msb_sandbox_locked_fn fn, void *data,
                       msb_error **err)
{
  _cleanup_lifecycle_lock_ lifecycle_lock lock = { ctx, name, -1 };
  msb_sandbox_row row = { 0 };
  bool live = false;
  int r = with_live_row (ctx, name, &lock, &row, &live, err);
  if (r == 0)
    r = fn (ctx, &row, live, data, err);
  msb_sandbox_row_clear (&row);
  return r;
}

int
msb_sandbox_restart_locked (msb_ctx *ctx, const msb_sandbox_row *row, msb_error **err)
{
  if (status_is_live (row->status) && msb_runtime_is_alive (&ctx->home, row->name)
      && stop_locked (ctx, row, DEFAULT_STOP_MS, err) < 0)
    return msb_error_prefix (err, "restart sandbox `%s`", row->name);
  msb_sandbox_row fresh = { 0 };
  if (read_row (ctx, row->name, &fresh, err) < 0)
    return -1;
  _msb_cleanup_free_ char *shell = shell_of (fresh.config_json);
  msb_sandbox_row_clear (&fresh);
  msb_sandbox *sb = NULL;
  if (boot_and_connect (ctx, row->name, shell, MSB_SANDBOX_DETACHED, &sb, err) < 0)
    return msb_error_prefix (err, "restart sandbox `%s`", row->name);
  msb_sandbox_close (sb);
  return 0;
}

/* ---- handles ---- */

const char *
msb_sandbox_name (const msb_sandbox *sb)
{
  return sb->name;
}

bool
msb_sandbox_owns_lifecycle (const msb_sandbox *sb)
{
  return sb->owns_lifecycle;
}

const char *
msb_sandbox_shell (const msb_sandbox *sb)
{
  return sb->shell;
}

int
msb_sandbox_detach (msb_sandbox *sb, msb_error **err)
{
  if (sb->watchdog_fd >= 0)
    {
      if (msb_control_request (&sb->ctx->home, sb->name, "detach", err) < 0)
        return msb_error_prefix (err, "detach sandbox `%s`", sb->name);
      close (sb->watchdog_fd);
      sb->watchdog_fd = -1;
    }
  sb->owns_lifecycle = false;
  return 0;
}

void
msb_sandbox_close (msb_sandbox *sb)
{
  if (sb == NULL)
    return;
  msb_conn_close (sb->conn);
  if (sb->watchdog_fd >= 0)
    close (sb->watchdog_fd); /* an attached sandbox now stops, as if its creator exited */
  free (sb->name);
  free (sb->shell);
  free (sb);
}

/* ---- info ---- */

int
msb_sandbox_get (msb_ctx *ctx, const char *name, msb_sandbox_info **out, msb_error **err)
{
  msb_sandbox_info *info = msb_xcalloc (1, sizeof *info);
  if (read_row (ctx, name, &info->row, err) < 0)
    {
      free (info);
      return -1;
    }
  *out = info;
  return 0;
}

int
msb_sandbox_list (msb_ctx *ctx, msb_sandbox_info ***out, size_t *n, msb_error **err)
{
  msb_sandbox_row *rows = NULL;
  size_t count = 0;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_list (&ctx->db, &ctx->home, &rows, &count, err);
  if (r < 0)
    return -1;
  msb_sandbox_info **list = msb_xcalloc (count + 1, sizeof *list);
  for (size_t i = 0; i < count; i++)
    {
      list[i] = msb_xcalloc (1, sizeof **list);
      list[i]->row = rows[i];
    }
  free (rows);
  *out = list;
  *n = count;
  return 0;
}

void
msb_sandbox_info_free (msb_sandbox_info *info)
{
  if (info == NULL)
    return;
  msb_sandbox_row_clear (&info->row);
  free (info);
}

void
msb_sandbox_info_list_free (msb_sandbox_info **list, size_t n)
{
  for (size_t i = 0; list && i < n; i++)
    msb_sandbox_info_free (list[i]);
  free (list);
}

const char *
msb_sandbox_info_name (const msb_sandbox_info *i)
{
  return i->row.name;
}

msb_sandbox_status
msb_sandbox_info_status (const msb_sandbox_info *i)
{
  return i->row.status;
}

const char *
msb_sandbox_info_config_json (const msb_sandbox_info *i)
{
  return i->row.config_json;
}

const char *
msb_sandbox_info_image (const msb_sandbox_info *i)
{
  return i->row.image_ref;
}

const char *
msb_sandbox_info_manifest_digest (const msb_sandbox_info *i)
{
  return i->row.manifest_digest;
}

const char *
msb_sandbox_info_backend (const msb_sandbox_info *i)
{
  return i->row.backend;
}

int64_t
msb_sandbox_info_created_at (const msb_sandbox_info *i)
{
  return i->row.created_at;
}

int64_t
msb_sandbox_info_updated_at (const msb_sandbox_info *i)
{
  return i->row.updated_at;
}

int
msb_sandbox_info_pid (const msb_sandbox_info *i)
{
  return status_is_live (i->row.status) ? i->row.pid : 0;
}

int
msb_sandbox_info_exit_code (const msb_sandbox_info *i)
{
  return i->row.exit_code;
}

const char *
msb_sandbox_info_termination_reason (const msb_sandbox_info *i)
{
  return i->row.termination_reason;
}
