/* Sandbox records in the state database, their runs, and the two per-sandbox locks that make
 * status trustworthy across processes:
 *   - the lifecycle lock (run/locks/<H16>.lock), held briefly by whoever creates, starts,
 *     replaces or removes the sandbox, so two such operations never interleave;
 *   - the live lock (run/locks/<H16>.live), held by the runtime process for its whole life.
 * A record that says starting/running/draining while nobody holds either lock belongs to a
 * runtime that died without recording its end: readers mark it `crashed` (reconciliation). */
#ifndef MSB_LIB_STATE_H
#define MSB_LIB_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include <msb/sandbox.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"

typedef struct msb_sandbox_row
{
  char *name;
  char *config_json;
  msb_sandbox_status status;
  bool ephemeral;
  char *labels_json;
  char *image_ref;
  char *manifest_digest;
  int uid_slot;
  char *backend;
  int64_t created_at;
  int64_t updated_at;
  /* last run (run_id 0 = never started) */
  int64_t run_id;
  int pid;
  uint64_t pid_start;
  int exit_code; /* -1 = unknown */
  int signal;
  char *termination_reason;
} msb_sandbox_row;

void msb_sandbox_row_clear (msb_sandbox_row *row);

msb_sandbox_status msb_status_from_name (const char *s);

/* Reads one record (reconciled). MSB_ERR_SANDBOX_NOT_FOUND if absent. */
int msb_state_get (msb_db *db, const msb_home *home, const char *name, msb_sandbox_row *out,
                   msb_error **err);
/* Whether a record exists (no reconciliation). */
int msb_state_exists (msb_db *db, const char *name, bool *exists, msb_error **err);
/* MSB_ERR_SANDBOX_NOT_FOUND unless sandbox `name` has a record. */
int msb_state_require (msb_db *db, const char *name, msb_error **err);
/* All records, newest first (reconciled). */
int msb_state_list (msb_db *db, const msb_home *home, msb_sandbox_row **out, size_t *n,
                    msb_error **err);

/* Inserts a new record in status `created`, choosing the lowest free uid slot. */
/* Accepts or refuses uid slot `slot` for a new sandbox (uid_ranges.h: host-wide claims). */
typedef bool (*msb_slot_filter) (int slot, void *data);

int msb_state_insert (msb_db *db, const char *name, const char *config_json, bool ephemeral,
                      const char *labels_json, const char *image_ref, const char *manifest_digest,
                      const char *backend, msb_slot_filter available, void *data,
                      int *uid_slot, msb_error **err);
int msb_state_set_status (msb_db *db, const char *name, msb_sandbox_status status,
                          msb_error **err);
/* Deletes the record; *uid_slot (if given): the slot it had, -1 if there was none. */
int msb_state_delete (msb_db *db, const char *name, int *uid_slot, msb_error **err);
/* Replaces the stored config JSON and labels of a record (modify). */
int msb_state_set_config (msb_db *db, const char *name, const char *config_json,
                          const char *labels_json, msb_error **err);

/* Runs: begin (status starting), ready (running), end (terminal status + outcome). */
int msb_state_run_begin (msb_db *db, const char *name, int pid, uint64_t pid_start,
                         int64_t *run_id, msb_error **err);
int msb_state_run_ready (msb_db *db, const char *name, int64_t run_id, msb_error **err);
int msb_state_run_end (msb_db *db, const char *name, int64_t run_id, msb_sandbox_status status,
                       int exit_code, int signal, const char *reason, msb_error **err);

/* Opens (creating) a lock file of `name` and flocks it. `exclusive` + `wait`. Returns the fd
 * holding the lock, or -1 with *err; with wait == false a busy lock returns -2 (no error). */
int msb_lock_lifecycle (const msb_home *home, const char *name, bool wait, msb_error **err);
int msb_lock_live (const msb_home *home, const char *name, msb_error **err);
/* True when a runtime holds the live lock of `name`. */
bool msb_runtime_is_alive (const msb_home *home, const char *name);

/* Waits up to timeout_ms (< 0 = forever) until no runtime holds the live lock of `name`.
 * With the runtime's pid and start time (0 = unknown) it sleeps on a pidfd instead of
 * polling. Returns true when the runtime is gone. */
bool msb_runtime_wait_gone (const msb_home *home, const char *name, int pid, uint64_t pid_start,
                            int timeout_ms);

/* Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), 0 if gone:
 * with the pid it identifies a process across pid reuse. */
uint64_t msb_process_start_time (int pid);

#endif
