#include "lib/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/uid_ranges.h"
#include "runtime/backend.h"

static const char *const status_names[] = {
  [MSB_STATUS_CREATED] = "created",   [MSB_STATUS_STARTING] = "starting",
  [MSB_STATUS_RUNNING] = "running",   [MSB_STATUS_DRAINING] = "draining",
  [MSB_STATUS_STOPPED] = "stopped",   [MSB_STATUS_CRASHED] = "crashed",
  [MSB_STATUS_PAUSED] = "paused",
};

const char *
msb_sandbox_status_name (msb_sandbox_status s)
{
  if ((unsigned) s >= sizeof status_names / sizeof status_names[0])
    return "unknown";
  return status_names[s];
}

msb_sandbox_status
msb_status_from_name (const char *s)
{
  for (size_t i = 0; s && i < sizeof status_names / sizeof status_names[0]; i++)
    if (strcmp (status_names[i], s) == 0)
      return (msb_sandbox_status) i;
  return MSB_STATUS_CRASHED;
}

static bool
status_is_live (msb_sandbox_status s)
{
  return s == MSB_STATUS_STARTING || s == MSB_STATUS_RUNNING || s == MSB_STATUS_DRAINING;
}

void
msb_sandbox_row_clear (msb_sandbox_row *r)
{
  free (r->name);
  free (r->config_json);
  free (r->labels_json);
  free (r->image_ref);
  free (r->manifest_digest);
  free (r->backend);
  free (r->termination_reason);
  memset (r, 0, sizeof *r);
}

/* ---- locks ---- */

static int
open_lock (const msb_home *home, char *rel, msb_error **err)
{
  _msb_cleanup_free_ char *path = rel;
  int fd = openat (home->root_fd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open lock `%s/%s`", home->root, path);
  return fd;
}

/* Whether `fd` is still the file at `rel`: whoever held the lock before us may have removed
 * the sandbox and unlinked the lock file, and a lock on an unlinked file excludes nobody. */
static bool
lock_is_current (const msb_home *home, const char *rel, int fd)
{
  struct stat a, b;
  return fstat (fd, &a) == 0 && fstatat (home->root_fd, rel, &b, AT_SYMLINK_NOFOLLOW) == 0
         && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
msb_lock_lifecycle (const msb_home *home, const char *name, bool wait, msb_error **err)
{
  _msb_cleanup_free_ char *rel = msb_sandbox_lock_rel (name);
  for (;;)
    {
      _msb_cleanup_close_ int fd = open_lock (home, msb_xstrdup (rel), err);
      if (fd < 0)
        return -1;
      int r;
      while ((r = flock (fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR)
        ;
      if (r < 0 && errno == EWOULDBLOCK)
        return -2;
      if (r < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "lock sandbox `%s`", name);
      if (lock_is_current (home, rel, fd))
        return msb_steal_fd (&fd);
    }
}

int
msb_lock_live (const msb_home *home, const char *name, msb_error **err)
{
  _msb_cleanup_close_ int fd = open_lock (home, msb_sandbox_live_lock_rel (name), err);
  if (fd < 0)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno == EWOULDBLOCK)
        return msb_fail (err, MSB_ERR_SANDBOX_STILL_RUNNING,
                         "sandbox `%s` already has a running runtime process", name);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "lock sandbox `%s`", name);
    }
  return msb_steal_fd (&fd);
}

static bool
lock_is_held (const msb_home *home, char *rel)
{
  _msb_cleanup_free_ char *path = rel;
  _msb_cleanup_close_ int fd = openat (home->root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  if (flock (fd, LOCK_SH | LOCK_NB) < 0)
    return errno == EWOULDBLOCK;
  return false; /* closing the fd drops our probe lock */
}

bool
msb_runtime_is_alive (const msb_home *home, const char *name)
{
  return lock_is_held (home, msb_sandbox_live_lock_rel (name));
}

static int
remaining_ms (uint64_t deadline)
{
  if (deadline == 0)
    return -1;
  uint64_t now = msb_now_mono_ns ();
  return now >= deadline ? 0 : (int) ((deadline - now + 999999u) / 1000000u);
}

bool
msb_runtime_wait_gone (const msb_home *home, const char *name, int pid, uint64_t pid_start,
                       int timeout_ms)
{
  uint64_t deadline = timeout_ms < 0 ? 0 : msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u;
  /* The runtime is not our child, but a pidfd still becomes readable when it exits (its
   * files, hence the live lock, are released before that). */
  int pidfd = pid > 0 ? (int) syscall (SYS_pidfd_open, pid, 0) : -1;
  if (pidfd >= 0 && msb_process_start_time (pid) == pid_start && pid_start != 0)
    {
      struct pollfd p = { pidfd, POLLIN, 0 };
      while (poll (&p, 1, remaining_ms (deadline)) < 0 && errno == EINTR)
        ;
    }
  if (pidfd >= 0)
    close (pidfd);
  long step_us = 200;
  while (msb_runtime_is_alive (home, name))
    {
      if (deadline && msb_now_mono_ns () >= deadline)
        return false;
      struct timespec ts = { 0, step_us * 1000 };
      nanosleep (&ts, NULL);
      if (step_us < 20000)
        step_us *= 2;
    }
  return true;
}

uint64_t
msb_process_start_time (int pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  _msb_cleanup_free_ char *stat = NULL;
  if (msb_read_file_at (AT_FDCWD, path, 4096, &stat, NULL, NULL) < 0)
    return 0;
  /* comm (field 2) may contain spaces and parentheses: count fields after the last ')'. */
  char *p = strrchr (stat, ')');
  if (p == NULL)
    return 0;
  int field = 2;
  unsigned long long start = 0;
  for (char *tok = strtok (p + 1, " "); tok; tok = strtok (NULL, " "))
    if (++field == 22)
      {
        start = strtoull (tok, NULL, 10);
        break;
      }
  return start;
}

/* ---- rows ---- */

#define ROW_COLUMNS                                                                        \
  "s.name, s.config_json, s.status, s.ephemeral, s.labels_json, s.image_ref,"              \
  " s.manifest_digest, s.uid_slot, s.backend, s.created_at, s.updated_at,"                 \
  " r.id, r.pid, r.pid_start, r.exit_code, r.signal, r.termination_reason"
#define ROW_FROM                                                                           \
  " FROM sandboxes s LEFT JOIN runs r ON r.id ="                                           \
  " (SELECT MAX(id) FROM runs WHERE sandbox = s.name)"

static void
read_row (sqlite3_stmt *st, msb_sandbox_row *r)
{
  memset (r, 0, sizeof *r);
  r->name = msb_db_column_strdup (st, 0);
  r->config_json = msb_db_column_strdup (st, 1);
  r->status = msb_status_from_name ((const char *) sqlite3_column_text (st, 2));
  r->ephemeral = sqlite3_column_int (st, 3) != 0;
  r->labels_json = msb_db_column_strdup (st, 4);
  r->image_ref = msb_db_column_strdup (st, 5);
  r->manifest_digest = msb_db_column_strdup (st, 6);
  r->uid_slot = sqlite3_column_int (st, 7);
  r->backend = msb_db_column_strdup (st, 8);
  r->created_at = sqlite3_column_int64 (st, 9);
  r->updated_at = sqlite3_column_int64 (st, 10);
  r->run_id = sqlite3_column_int64 (st, 11);
  r->pid = sqlite3_column_int (st, 12);
  r->pid_start = (uint64_t) sqlite3_column_int64 (st, 13);
  r->exit_code = sqlite3_column_type (st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int (st, 14);
  r->signal = sqlite3_column_int (st, 15);
  r->termination_reason = msb_db_column_strdup (st, 16);
}

/* An ephemeral sandbox disappears once it reaches a terminal state (API.md §1.3); when its
 * runtime died before it could remove it, the reader that notices does: record, files,
 * cgroups, sockets, locks. Lifecycle lock held; its file goes last, as lock_is_current()
 * expects. */
static void
remove_dead_ephemeral (msb_db *db, const msb_home *home, const char *name)
{
  msb_backend_cleanup_leftovers (home, name);
  int slot;
  if (msb_state_delete (db, name, &slot, NULL) < 0)
    return;
  if (slot >= 0)
    msb_uid_ranges_release (slot, home, name);
  _msb_cleanup_free_ char *dir = msb_sandbox_dir_rel (name);
  _msb_cleanup_free_ char *run = msb_sandbox_run_dir_rel (name);
  _msb_cleanup_free_ char *live = msb_sandbox_live_lock_rel (name);
  _msb_cleanup_free_ char *lock = msb_sandbox_lock_rel (name);
  msb_rm_rf_at (home->root_fd, dir, NULL);
  msb_rm_rf_at (home->root_fd, run, NULL);
  unlinkat (home->root_fd, live, 0);
  unlinkat (home->root_fd, lock, 0);
}

/* Marks a record whose runtime died without recording its end as crashed. An ephemeral
 * sandbox without a runtime is removed instead, whatever its status says (its runtime or
 * creator died before removing it): returns true. Only when nobody holds the lifecycle lock:
 * a create or start in progress legitimately has no live runtime for a moment. */
static bool
reconcile (msb_db *db, const msb_home *home, msb_sandbox_row *r)
{
  if ((!status_is_live (r->status) && !r->ephemeral) || msb_runtime_is_alive (home, r->name))
    return false;
  _msb_cleanup_close_ int lock = msb_lock_lifecycle (home, r->name, false, NULL);
  if (lock < 0)
    return false;
  if (msb_runtime_is_alive (home, r->name))
    return false;
  if (r->ephemeral)
    {
      remove_dead_ephemeral (db, home, r->name);
      return true;
    }
  if (r->run_id)
    msb_state_run_end (db, r->name, r->run_id, MSB_STATUS_CRASHED, -1, 0,
                       "runtime process died", NULL);
  else
    msb_state_set_status (db, r->name, MSB_STATUS_CRASHED, NULL);
  r->status = MSB_STATUS_CRASHED;
  free (r->termination_reason);
  r->termination_reason = msb_xstrdup ("runtime process died");
  return false;
}

int
msb_state_require (msb_db *db, const char *name, msb_error **err)
{
  bool exists = false;
  if (msb_state_exists (db, name, &exists, err) < 0)
    return -1;
  if (!exists)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_FOUND, "sandbox `%s` not found", name);
  return 0;
}

int
msb_state_get (msb_db *db, const msb_home *home, const char *name, msb_sandbox_row *out,
               msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT " ROW_COLUMNS ROW_FROM " WHERE s.name = ?1", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_DONE)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_FOUND, "sandbox `%s` not found", name);
  if (rc != SQLITE_ROW)
    return msb_db_fail (db, err, "read sandbox record");
  read_row (st, out);
  sqlite3_reset (st);
  if (reconcile (db, home, out))
    {
      msb_sandbox_row_clear (out);
      return msb_fail (err, MSB_ERR_SANDBOX_NOT_FOUND, "sandbox `%s` not found", name);
    }
  return 0;
}

int
msb_state_exists (msb_db *db, const char *name, bool *exists, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT 1 FROM sandboxes WHERE name = ?1", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return msb_db_fail (db, err, "read sandbox record");
  *exists = rc == SQLITE_ROW;
  return 0;
}

int
msb_state_list (msb_db *db, const msb_home *home, msb_sandbox_row **out, size_t *n,
                msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT " ROW_COLUMNS ROW_FROM " ORDER BY s.created_at DESC, s.name",
                      &st, err)
      < 0)
    return -1;
  msb_sandbox_row *rows = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      rows = msb_xrealloc (rows, (count + 1) * sizeof *rows);
      read_row (st, &rows[count++]);
    }
  if (rc != SQLITE_DONE)
    {
      for (size_t i = 0; i < count; i++)
        msb_sandbox_row_clear (&rows[i]);
      free (rows);
      return msb_db_fail (db, err, "list sandboxes");
    }
  sqlite3_reset (st);
  size_t kept = 0;
  for (size_t i = 0; i < count; i++)
    if (reconcile (db, home, &rows[i]))
      msb_sandbox_row_clear (&rows[i]);
    else
      rows[kept++] = rows[i];
  *out = rows;
  *n = kept;
  return 0;
}

/* The lowest slot no sandbox of this root has and `available` accepts. */
static int
lowest_free_slot (msb_db *db, msb_slot_filter available, void *data, int *slot, msb_error **err)
{
  _msb_cleanup_free_ unsigned char *taken = msb_xcalloc (MSB_UID_SLOTS, 1);
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT uid_slot FROM sandboxes", &st, err) < 0)
    return -1;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      int s = sqlite3_column_int (st, 0);
      if (s >= 0 && s < MSB_UID_SLOTS)
        taken[s] = 1;
    }
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "allocate uid range");
  for (int s = 0; s < MSB_UID_SLOTS; s++)
    if (!taken[s] && (available == NULL || available (s, data)))
      {
        *slot = s;
        return 0;
      }
  return msb_fail (err, MSB_ERR_GENERIC, "no free uid range: all %d are in use on this host",
                   MSB_UID_SLOTS);
}

int
msb_state_insert (msb_db *db, const char *name, const char *config_json, bool ephemeral,
                  const char *labels_json, const char *image_ref, const char *manifest_digest,
                  const char *backend, msb_slot_filter available, void *data, int *uid_slot,
                  msb_error **err)
{
  if (msb_db_begin (db, err) < 0)
    return -1;
  _msb_cleanup_txn_ msb_db *txn = db;
  int slot = 0;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (lowest_free_slot (db, available, data, &slot, err) < 0
      || msb_db_prepare (db,
                         "INSERT INTO sandboxes (name, config_json, status, ephemeral, labels_json,"
                         " image_ref, manifest_digest, uid_slot, backend, created_at, updated_at)"
                         " VALUES (?1, ?2, 'created', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                         &st, err)
             < 0)
    return -1;
  int64_t now = msb_now_ms ();
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, config_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 3, ephemeral);
  sqlite3_bind_text (st, 4, labels_json ? labels_json : "{}", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, image_ref, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 6, manifest_digest, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 7, slot);
  sqlite3_bind_text (st, 8, backend, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 9, now);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_CONSTRAINT)
    return msb_fail (err, MSB_ERR_SANDBOX_ALREADY_EXISTS, "sandbox `%s` already exists", name);
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "insert sandbox record");
  if (msb_db_commit_txn (&txn, err) < 0)
    return -1;
  *uid_slot = slot;
  return 0;
}

int
msb_state_set_status (msb_db *db, const char *name, msb_sandbox_status status, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "UPDATE sandboxes SET status = ?1, updated_at = ?2 WHERE name = ?3", &st,
                      err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, msb_sandbox_status_name (status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, msb_now_ms ());
  sqlite3_bind_text (st, 3, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "update sandbox status");
  return 0;
}

int
msb_state_set_config (msb_db *db, const char *name, const char *config_json,
                      const char *labels_json, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "UPDATE sandboxes SET config_json = ?1, labels_json = ?2, updated_at = ?3"
                      " WHERE name = ?4",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, config_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, labels_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 3, msb_now_ms ());
  sqlite3_bind_text (st, 4, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "update sandbox config");
  if (sqlite3_changes (db->handle) == 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_FOUND, "sandbox `%s` not found", name);
  return 0;
}

int
msb_state_delete (msb_db *db, const char *name, int *uid_slot, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (uid_slot)
    *uid_slot = -1;
  if (msb_db_prepare (db, "DELETE FROM sandboxes WHERE name = ?1 RETURNING uid_slot", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    if (uid_slot)
      *uid_slot = sqlite3_column_int (st, 0);
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "delete sandbox record");
  return 0;
}

int
msb_state_run_begin (msb_db *db, const char *name, int pid, uint64_t pid_start, int64_t *run_id,
                     msb_error **err)
{
  if (msb_db_begin (db, err) < 0)
    return -1;
  _msb_cleanup_txn_ msb_db *txn = db;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "INSERT INTO runs (sandbox, pid, pid_start, status, started_at)"
                      " VALUES (?1, ?2, ?3, 'starting', ?4)",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 2, pid);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64) pid_start);
  sqlite3_bind_int64 (st, 4, msb_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "record run");
  *run_id = sqlite3_last_insert_rowid (db->handle);
  if (msb_state_set_status (db, name, MSB_STATUS_STARTING, err) < 0 || msb_db_commit_txn (&txn, err) < 0)
    return -1;
  return 0;
}

int
msb_state_run_ready (msb_db *db, const char *name, int64_t run_id, msb_error **err)
{
  if (msb_db_begin (db, err) < 0)
    return -1;
  _msb_cleanup_txn_ msb_db *txn = db;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "UPDATE runs SET status = 'running', ready_at = ?1 WHERE id = ?2", &st,
                      err)
      < 0)
    return -1;
  sqlite3_bind_int64 (st, 1, msb_now_ms ());
  sqlite3_bind_int64 (st, 2, run_id);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "record run ready");
  if (msb_state_set_status (db, name, MSB_STATUS_RUNNING, err) < 0 || msb_db_commit_txn (&txn, err) < 0)
    return -1;
  return 0;
}

int
msb_state_run_end (msb_db *db, const char *name, int64_t run_id, msb_sandbox_status status,
                   int exit_code, int signal, const char *reason, msb_error **err)
{
  if (msb_db_begin (db, err) < 0)
    return -1;
  _msb_cleanup_txn_ msb_db *txn = db;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "UPDATE runs SET status = ?1, ended_at = ?2, exit_code = ?3, signal = ?4,"
                      " termination_reason = ?5 WHERE id = ?6 AND ended_at IS NULL",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, msb_sandbox_status_name (status), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, msb_now_ms ());
  if (exit_code >= 0)
    sqlite3_bind_int (st, 3, exit_code);
  else
    sqlite3_bind_null (st, 3);
  sqlite3_bind_int (st, 4, signal);
  sqlite3_bind_text (st, 5, reason, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, run_id);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "record run end");
  if (msb_state_set_status (db, name, status, err) < 0 || msb_db_commit_txn (&txn, err) < 0)
    return -1;
  return 0;
}
