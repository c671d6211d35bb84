/* Private structures of libmsb's public handles. */
#ifndef MSB_LIB_INTERNAL_H
#define MSB_LIB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <msb/msb.h>

#include "lib/conn.h"
#include "lib/db.h"
#include "lib/home.h"

struct msb_ctx
{
  msb_home home;
  msb_db db;
  pthread_mutex_t db_lock; /* one SQLite connection, used by one thread at a time */
};

struct msb_sandbox
{
  msb_ctx *ctx;
  char *name;
  char *shell;
  msb_conn *conn;
  bool owns_lifecycle;
  int watchdog_fd; /* attached mode: the runtime stops when this closes */
};

/* Runs `fn` with the context's database locked. */
#define MSB_WITH_DB(ctx) for (int once_ = (pthread_mutex_lock (&(ctx)->db_lock), 1); once_; \
                              once_ = (pthread_mutex_unlock (&(ctx)->db_lock), 0))

#endif
