/* Sandbox lifecycle: create, start, connect, stop, kill, remove, get, list.
 *
 * A running sandbox is served by its own runtime process (no daemon). An msb_sandbox is a
 * connection to that runtime's relay; msb_sandbox_info is a metadata snapshot of a sandbox
 * in any state. */
#ifndef MSB_SANDBOX_H
#define MSB_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/config.h>
#include <msb/error.h>
#include <msb/pull.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;
typedef struct msb_sandbox msb_sandbox;
typedef struct msb_sandbox_info msb_sandbox_info;

/* Flags of msb_sandbox_create() / msb_sandbox_start(). */
enum
{
  /* The sandbox outlives the calling process. Without it the sandbox is "attached": its
   * runtime shuts it down gracefully when the creating process exits. */
  MSB_SANDBOX_DETACHED = 1u << 0,
  /* Replace an existing sandbox of the same name (SIGTERM, grace, SIGKILL, state removed). */
  MSB_SANDBOX_REPLACE = 1u << 1,
  /* msb_sandbox_start only: a temporary start. The sandbox stops by itself once its last
   * client disconnects (whoever that is), so one user's temporary start never cuts off
   * another's commands. Implies MSB_SANDBOX_DETACHED. */
  MSB_SANDBOX_UNTIL_UNUSED = 1u << 2,
};

typedef enum msb_sandbox_status
{
  MSB_STATUS_CREATED = 0,
  MSB_STATUS_STARTING,
  MSB_STATUS_RUNNING,
  MSB_STATUS_DRAINING,
  MSB_STATUS_STOPPED,
  MSB_STATUS_CRASHED,
  MSB_STATUS_PAUSED,
} msb_sandbox_status;

/* "created", "starting", "running", "draining", "stopped", "crashed", "paused". */
const char *msb_sandbox_status_name (msb_sandbox_status s);

/* Names: 1..128 bytes of UTF-8, not "." or "..", no '/', no control characters. Returns 0 or
 * fails with MSB_ERR_INVALID_CONFIG saying what is wrong. */
int msb_sandbox_name_validate (const char *name, msb_error **err);

/* Creates sandbox `name` from `cfg`, boots it and waits until its agent is ready. On success
 * *out is a connected handle (owns the lifecycle unless MSB_SANDBOX_DETACHED).
 * Errors: MSB_ERR_SANDBOX_ALREADY_EXISTS (without MSB_SANDBOX_REPLACE), MSB_ERR_INVALID_CONFIG,
 * MSB_ERR_IMAGE_NOT_FOUND, MSB_ERR_GENERIC (boot failure; the message carries the reason).
 * A failed create leaves nothing behind: no record, directory, mount, cgroup or process.
 * `replace_grace_ms` (with MSB_SANDBOX_REPLACE): SIGTERM grace before SIGKILL; < 0 = 10 s. */
int msb_sandbox_create (msb_ctx *ctx, const char *name, const msb_config *cfg, unsigned flags,
                        int replace_grace_ms, msb_sandbox **out, msb_error **err);

/* Options of msb_sandbox_create_ex(). */
typedef struct msb_create_opts
{
  size_t size;          /* sizeof (msb_create_opts); zero what you do not use */
  unsigned flags;       /* MSB_SANDBOX_DETACHED, MSB_SANDBOX_REPLACE */
  bool has_replace_grace; /* false: the default grace (10 s), so a zeroed struct is safe */
  int replace_grace_ms;   /* with has_replace_grace: SIGTERM grace before SIGKILL, 0 = none */
  msb_pull_progress_fn progress; /* pull events of the image (API.md §1.11); may be NULL */
  void *progress_data;
  /* Boot from a disk snapshot (msb/snapshot.h): an artifact path or a name in
   * $MSB_HOME/snapshots. The sandbox uses the snapshot's pinned image (the config must not
   * name one; pulled by digest per the config's pull policy when not cached) and starts with a
   * copy of its writable layer. Missing artifact: MSB_ERR_SNAPSHOT_NOT_FOUND; not a disk
   * snapshot: MSB_ERR_INVALID_ARGUMENT. NULL = boot from the config's image. */
  const char *snapshot;
} msb_create_opts;

/* msb_sandbox_create() with options, and the pull progress of the image: RESOLVING,
 * RESOLVED and COMPLETE always (also for a cached image), the layer events when the pull
 * policy of `cfg` makes it download. The image is pulled as the policy says ("always",
 * "if-missing", "never" → MSB_ERR_IMAGE_NOT_FOUND when not cached) with the config's
 * registry_auth / insecure / CA settings, else the credentials of `msb registry login`. The
 * sandbox is pinned to the manifest digest the reference resolved to. `opts` may be NULL. */
int msb_sandbox_create_ex (msb_ctx *ctx, const char *name, const msb_config *cfg,
                           const msb_create_opts *opts, msb_sandbox **out, msb_error **err);

/* Boots a stopped, crashed or created sandbox from its stored config and connects to it.
 * Errors: MSB_ERR_SANDBOX_NOT_FOUND; MSB_ERR_SANDBOX_STILL_RUNNING if it already runs. */
int msb_sandbox_start (msb_ctx *ctx, const char *name, unsigned flags, msb_sandbox **out,
                       msb_error **err);

/* Connects to a running sandbox (handshake bounded by timeout_ms; < 0 = 10 s). The handle
 * does not own the lifecycle. Errors: MSB_ERR_SANDBOX_NOT_FOUND, MSB_ERR_SANDBOX_NOT_RUNNING. */
int msb_sandbox_connect (msb_ctx *ctx, const char *name, int timeout_ms, msb_sandbox **out,
                         msb_error **err);

/* Graceful stop: the agent signals its processes, syncs and exits; after timeout_ms (< 0 =
 * 10 s; 0 = immediately) the runtime is killed. Returns once the sandbox is stopped.
 * Stopping a sandbox that is not running is not an error. */
int msb_sandbox_stop (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err);

/* SIGKILL of the runtime (no flush), then waits up to timeout_ms (< 0 = 5 s) until stopped. */
int msb_sandbox_kill (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err);

/* Drain: commands already running finish, new ones are refused, then the sandbox stops.
 * Returns once the request is delivered. MSB_ERR_SANDBOX_NOT_RUNNING if it is not running. */
int msb_sandbox_drain (msb_ctx *ctx, const char *name, msb_error **err);

/* Non-blocking stop / kill: return once the request is delivered. */
int msb_sandbox_request_stop (msb_ctx *ctx, const char *name, msb_error **err);
int msb_sandbox_request_kill (msb_ctx *ctx, const char *name, msb_error **err);

/* Waits until the sandbox's runtime has exited, whatever ends it (stop, timers, drain,
 * crash), up to timeout_ms (< 0 = forever; MSB_ERR_GENERIC on timeout). *exit_code is the
 * exit status of the sandbox (-1 if it was killed or unknown). */
int msb_sandbox_wait (msb_ctx *ctx, const char *name, int timeout_ms, int *exit_code,
                      msb_error **err);

/* Deletes a sandbox that is not running and all its state (record, directory, sockets, lock).
 * Errors: MSB_ERR_SANDBOX_NOT_FOUND, MSB_ERR_SANDBOX_STILL_RUNNING. */
int msb_sandbox_remove (msb_ctx *ctx, const char *name, msb_error **err);

/* Kills the sandbox if it runs (SIGKILL, waiting up to timeout_ms; < 0 = 5 s) and removes it,
 * under one lifecycle lock: nothing (another process starting it again, say) can come between
 * the kill and the removal, as it could between msb_sandbox_kill and msb_sandbox_remove.
 * Errors: MSB_ERR_SANDBOX_NOT_FOUND. */
int msb_sandbox_remove_force (msb_ctx *ctx, const char *name, int timeout_ms, msb_error **err);

/* Metadata of one sandbox (any status). MSB_ERR_SANDBOX_NOT_FOUND if unknown. */
int msb_sandbox_get (msb_ctx *ctx, const char *name, msb_sandbox_info **out, msb_error **err);

/* All sandboxes, newest first. Free with msb_sandbox_info_list_free(). */
int msb_sandbox_list (msb_ctx *ctx, msb_sandbox_info ***out, size_t *n, msb_error **err);

void msb_sandbox_info_free (msb_sandbox_info *info);
void msb_sandbox_info_list_free (msb_sandbox_info **list, size_t n);

const char *msb_sandbox_info_name (const msb_sandbox_info *info);
msb_sandbox_status msb_sandbox_info_status (const msb_sandbox_info *info);
/* The stored config JSON (API.md §1.20). */
const char *msb_sandbox_info_config_json (const msb_sandbox_info *info);
/* The image reference the sandbox was created from, and the manifest digest it is pinned to. */
const char *msb_sandbox_info_image (const msb_sandbox_info *info);
const char *msb_sandbox_info_manifest_digest (const msb_sandbox_info *info);
/* The backend the sandbox runs on, "ns" or "vm" (`auto` is resolved when it is created). */
const char *msb_sandbox_info_backend (const msb_sandbox_info *info);
/* Milliseconds since the Unix epoch. */
int64_t msb_sandbox_info_created_at (const msb_sandbox_info *info);
int64_t msb_sandbox_info_updated_at (const msb_sandbox_info *info);
/* Host pid of the runtime process while running, else 0. */
int msb_sandbox_info_pid (const msb_sandbox_info *info);
/* Outcome of the last run: exit code (-1 if unknown), termination reason or NULL. */
int msb_sandbox_info_exit_code (const msb_sandbox_info *info);
const char *msb_sandbox_info_termination_reason (const msb_sandbox_info *info);

/* The sandbox name of a handle. */
const char *msb_sandbox_name (const msb_sandbox *sb);
/* Whether closing this handle stops the sandbox (attached create/start). */
bool msb_sandbox_owns_lifecycle (const msb_sandbox *sb);
/* Default shell of the sandbox (from its config). */
const char *msb_sandbox_shell (const msb_sandbox *sb);

/* Disarms the lifecycle ownership: the sandbox keeps running after this process exits. */
int msb_sandbox_detach (msb_sandbox *sb, msb_error **err);

/* Closes the connection. For a handle that owns the lifecycle, the sandbox is stopped
 * gracefully (as if its creating process exited). In-flight exec sessions opened through this
 * handle are killed. */
void msb_sandbox_close (msb_sandbox *sb);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
