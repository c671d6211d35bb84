/* The state database, db/msb.db (SQLite, WAL): sandboxes, runs, images, manifests, layers.
 * Schema changes are numbered migrations applied in order (PRAGMA user_version), so an
 * older MSB_HOME upgrades in place. Every connection sets a busy timeout: several processes
 * (CLI, runtimes, SDK) share the file. */
#ifndef MSB_LIB_DB_H
#define MSB_LIB_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/home.h"

typedef struct msb_db
{
  sqlite3 *handle;
} msb_db;

int msb_db_open (msb_db *db, const msb_home *home, msb_error **err);
void msb_db_close (msb_db *db);

/* Runs `sql` (no results); a failure becomes an MSB_ERR_IO error naming `what`. */
int msb_db_exec (msb_db *db, const char *sql, const char *what, msb_error **err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int msb_db_begin (msb_db *db, msb_error **err);
int msb_db_commit (msb_db *db, msb_error **err);
void msb_db_rollback (msb_db *db);

/* Prepares a statement or fails with context. */
int msb_db_prepare (msb_db *db, const char *sql, sqlite3_stmt **stmt, msb_error **err);

/* A newly allocated copy of a text column, NULL for SQL NULL. */
char *msb_db_column_strdup (sqlite3_stmt *st, int col);

/* An error from the last SQLite failure on `db`. Returns -1. */
int msb_db_fail (msb_db *db, msb_error **err, const char *what);

static inline void
msb_cleanup_stmt_fn (sqlite3_stmt **s)
{
  if (*s)
    sqlite3_finalize (*s);
}
#define _msb_cleanup_stmt_ __attribute__ ((cleanup (msb_cleanup_stmt_fn)))

/* A transaction that rolls back unless committed:
 *     if (msb_db_begin (db, err) < 0) return -1;
 *     _msb_cleanup_txn_ msb_db *txn = db;
 *     … return -1 on failure (rolled back) …
 *     return msb_db_commit_txn (&txn, err);
 */
static inline void
msb_cleanup_txn_fn (msb_db **txn)
{
  if (*txn)
    msb_db_rollback (*txn);
}
#define _msb_cleanup_txn_ __attribute__ ((cleanup (msb_cleanup_txn_fn)))

static inline int
msb_db_commit_txn (msb_db **txn, msb_error **err)
{
  if (msb_db_commit (*txn, err) < 0)
    return -1;
  *txn = NULL;
  return 0;
}

static inline void
msb_cleanup_db_fn (msb_db *db)
{
  msb_db_close (db);
}
#define _msb_cleanup_db_ __attribute__ ((cleanup (msb_cleanup_db_fn)))

#endif
