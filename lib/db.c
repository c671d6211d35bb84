#include "lib/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"

/* Migrations, applied in order; index + 1 is the schema version they produce.
 * Never edit a released entry: append a new one. Timestamps are ms since the epoch. */
static const char *const migrations[] = {
  /* 1: sandboxes, runs, image cache */
  "CREATE TABLE sandboxes ("
  "  name TEXT PRIMARY KEY,"
  "  config_json TEXT NOT NULL,"
  "  status TEXT NOT NULL,"
  "  ephemeral INTEGER NOT NULL DEFAULT 0,"
  "  labels_json TEXT NOT NULL DEFAULT '{}',"
  "  image_ref TEXT,"
  "  manifest_digest TEXT,"
  "  uid_slot INTEGER NOT NULL UNIQUE,"
  "  backend TEXT NOT NULL DEFAULT 'ns',"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  sandbox TEXT NOT NULL REFERENCES sandboxes(name) ON DELETE CASCADE,"
  "  pid INTEGER,"
  "  pid_start INTEGER,"
  "  status TEXT NOT NULL,"
  "  started_at INTEGER NOT NULL,"
  "  ready_at INTEGER,"
  "  ended_at INTEGER,"
  "  exit_code INTEGER,"
  "  signal INTEGER,"
  "  termination_reason TEXT);"
  "CREATE INDEX runs_by_sandbox ON runs(sandbox, id);"
  "CREATE TABLE manifests ("
  "  digest TEXT PRIMARY KEY,"
  "  media_type TEXT NOT NULL,"
  "  manifest_json TEXT NOT NULL,"
  "  config_digest TEXT NOT NULL,"
  "  config_json TEXT NOT NULL,"
  "  architecture TEXT,"
  "  os TEXT,"
  "  size_bytes INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE layers ("
  "  diff_id TEXT PRIMARY KEY,"
  "  unpacked_size INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE manifest_layers ("
  "  manifest_digest TEXT NOT NULL REFERENCES manifests(digest) ON DELETE CASCADE,"
  "  position INTEGER NOT NULL,"
  "  diff_id TEXT NOT NULL,"
  "  blob_digest TEXT NOT NULL,"
  "  media_type TEXT NOT NULL,"
  "  compressed_size INTEGER NOT NULL DEFAULT 0,"
  "  PRIMARY KEY (manifest_digest, position));"
  "CREATE TABLE images ("
  "  reference TEXT PRIMARY KEY,"
  "  manifest_digest TEXT NOT NULL REFERENCES manifests(digest),"
  "  created_at INTEGER NOT NULL,"
  "  last_used_at INTEGER);",
  /* 2: named volumes (their data lives in volumes/<name>/) */
  "CREATE TABLE volumes ("
  "  name TEXT PRIMARY KEY,"
  "  kind TEXT NOT NULL,"
  "  quota_mib INTEGER,"
  "  size_mib INTEGER,"
  "  labels_json TEXT NOT NULL DEFAULT '{}',"
  "  created_at INTEGER NOT NULL);",
  /* 3: the snapshot index (the artifacts themselves are directories, keyed here by path) */
  "CREATE TABLE snapshots ("
  "  path TEXT PRIMARY KEY,"
  "  digest TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  parent_digest TEXT,"
  "  scope TEXT NOT NULL,"
  "  image_ref TEXT,"
  "  manifest_digest TEXT,"
  "  state_kind TEXT NOT NULL,"
  "  format TEXT,"
  "  fstype TEXT,"
  "  size_bytes INTEGER NOT NULL DEFAULT 0,"
  "  source_sandbox TEXT,"
  "  labels_json TEXT NOT NULL DEFAULT '{}',"
  "  created_at INTEGER NOT NULL,"
  "  indexed_at INTEGER NOT NULL);"
  "CREATE INDEX snapshots_by_name ON snapshots(name, created_at);"
  "CREATE INDEX snapshots_by_digest ON snapshots(digest);",
};

#define N_MIGRATIONS ((int) (sizeof migrations / sizeof migrations[0]))

int
msb_db_fail (msb_db *db, msb_error **err, const char *what)
{
  return msb_fail (err, MSB_ERR_IO, "%s: %s", what, sqlite3_errmsg (db->handle));
}

char *
msb_db_column_strdup (sqlite3_stmt *st, int col)
{
  const unsigned char *v = sqlite3_column_text (st, col);
  return v ? msb_xstrdup ((const char *) v) : NULL;
}

int
msb_db_exec (msb_db *db, const char *sql, const char *what, msb_error **err)
{
  char *msg = NULL;
  if (sqlite3_exec (db->handle, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      msb_fail (err, MSB_ERR_IO, "%s: %s", what, msg ? msg : sqlite3_errmsg (db->handle));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

int
msb_db_prepare (msb_db *db, const char *sql, sqlite3_stmt **stmt, msb_error **err)
{
  if (sqlite3_prepare_v2 (db->handle, sql, -1, stmt, NULL) != SQLITE_OK)
    return msb_db_fail (db, err, "prepare statement");
  return 0;
}

int
msb_db_begin (msb_db *db, msb_error **err)
{
  return msb_db_exec (db, "BEGIN IMMEDIATE", "begin transaction", err);
}

int
msb_db_commit (msb_db *db, msb_error **err)
{
  return msb_db_exec (db, "COMMIT", "commit transaction", err);
}

void
msb_db_rollback (msb_db *db)
{
  sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
}

static int
schema_version (msb_db *db, int *version, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "PRAGMA user_version", &st, err) < 0)
    return -1;
  if (sqlite3_step (st) != SQLITE_ROW)
    return msb_db_fail (db, err, "read schema version");
  *version = sqlite3_column_int (st, 0);
  return 0;
}

/* Migrations run in one IMMEDIATE transaction, so two processes opening a fresh home at
 * once serialise here and the second sees the first one's version. */
static int
migrate (msb_db *db, msb_error **err)
{
  int version = 0;
  if (schema_version (db, &version, err) < 0)
    return -1;
  if (version == N_MIGRATIONS)
    return 0;
  if (msb_db_begin (db, err) < 0)
    return -1;
  _msb_cleanup_txn_ msb_db *txn = db;
  if (schema_version (db, &version, err) < 0)
    return -1;
  if (version > N_MIGRATIONS)
    return msb_fail (err, MSB_ERR_IO,
                     "state database schema %d is newer than this msb understands (%d): upgrade msb",
                     version, N_MIGRATIONS);
  for (int v = version; v < N_MIGRATIONS; v++)
    if (msb_db_exec (db, migrations[v], "migrate state database", err) < 0)
      return -1;
  _msb_cleanup_free_ char *set = msb_xasprintf ("PRAGMA user_version = %d", N_MIGRATIONS);
  if (msb_db_exec (db, set, "record schema version", err) < 0)
    return -1;
  return msb_db_commit_txn (&txn, err);
}

/* Switching a new database to WAL takes an exclusive lock without consulting the busy
 * handler, so two processes opening a fresh MSB_HOME at once can get SQLITE_BUSY here:
 * retry for a while (the mode is persistent, so this only matters the first time). */
static int
enable_wal (msb_db *db, msb_error **err)
{
  for (int attempt = 0;; attempt++)
    {
      int rc = sqlite3_exec (db->handle, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        return 0;
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt == 2000)
        return msb_db_fail (db, err, "enable write-ahead logging");
      struct timespec ts = { 0, 5 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}

int
msb_db_open (msb_db *db, const msb_home *home, msb_error **err)
{
  db->handle = NULL;
  _msb_cleanup_free_ char *path = msb_home_path (home, "db/msb.db");
  int rc = sqlite3_open_v2 (path, &db->handle,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL);
  if (rc != SQLITE_OK)
    {
      msb_fail (err, MSB_ERR_IO, "open state database `%s`: %s", path,
                db->handle ? sqlite3_errmsg (db->handle) : sqlite3_errstr (rc));
      msb_db_close (db);
      return -1;
    }
  sqlite3_busy_timeout (db->handle, 10000);
  if (enable_wal (db, err) < 0
      || msb_db_exec (db,
                      "PRAGMA synchronous = NORMAL;"
                      "PRAGMA foreign_keys = ON;",
                      "configure state database", err)
             < 0
      || migrate (db, err) < 0)
    {
      msb_error_prefix (err, "open state database `%s`", path);
      msb_db_close (db);
      return -1;
    }
  return 0;
}

void
msb_db_close (msb_db *db)
{
  if (db->handle)
    sqlite3_close_v2 (db->handle);
  db->handle = NULL;
}
