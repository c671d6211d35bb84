/* Lifecycle requests that do not change what exists: drain, request stop/kill, wait, and the
 * agent round trips ping and touch. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "lib/internal.h"
#include "lib/state.h"
#include "proto/proto.h"

static bool
is_live (msb_sandbox_status s)
{
  return s == MSB_STATUS_STARTING || s == MSB_STATUS_RUNNING || s == MSB_STATUS_DRAINING;
}

/* Sends `sig` to the runtime of `name` when it is alive and is still the recorded process. */
static int
signal_runtime (msb_ctx *ctx, const char *name, int sig, msb_error **err)
{
  msb_sandbox_row row = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_get (&ctx->db, &ctx->home, name, &row, err);
  if (r < 0)
    return -1;
  bool alive = is_live (row.status) && msb_runtime_is_alive (&ctx->home, name) && row.pid > 0
               && msb_process_start_time (row.pid) == row.pid_start;
  if (!alive)
    r = msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running", name);
  else if (kill (row.pid, sig) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_GENERIC, "signal the runtime of `%s`", name);
  msb_sandbox_row_clear (&row);
  return r;
}

int
msb_sandbox_drain (msb_ctx *ctx, const char *name, msb_error **err)
{
  return signal_runtime (ctx, name, SIGUSR1, err);
}

int
msb_sandbox_request_stop (msb_ctx *ctx, const char *name, msb_error **err)
{
  return signal_runtime (ctx, name, SIGTERM, err);
}

int
msb_sandbox_request_kill (msb_ctx *ctx, const char *name, msb_error **err)
{
  return signal_runtime (ctx, name, SIGKILL, err);
}

int
msb_sandbox_wait (msb_ctx *ctx, const char *name, int timeout_ms, int *exit_code, msb_error **err)
{
  msb_sandbox_row row = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_get (&ctx->db, &ctx->home, name, &row, err);
  if (r < 0)
    return -1; /* an unknown name is an error; only a sandbox that vanishes while we wait is
                  an ephemeral one that ended */
  if (!msb_runtime_wait_gone (&ctx->home, name, row.pid, row.pid_start, timeout_ms))
    {
      msb_sandbox_row_clear (&row);
      return msb_fail (err, MSB_ERR_GENERIC, "sandbox `%s` still running after %d ms", name,
                       timeout_ms);
    }
  msb_sandbox_row_clear (&row);
  MSB_WITH_DB (ctx)
  r = msb_state_get (&ctx->db, &ctx->home, name, &row, err);
  if (r == 0 && exit_code)
    *exit_code = row.exit_code;
  msb_sandbox_row_clear (&row);
  /* An ephemeral sandbox is gone once it ends: that is a normal end, not an error. */
  if (r < 0 && msb_error_get_kind (err ? *err : NULL) == MSB_ERR_SANDBOX_NOT_FOUND)
    {
      msb_error_clear (err);
      if (exit_code)
        *exit_code = 0;
      return 0;
    }
  return r;
}

int
msb_sandbox_ping (msb_sandbox *sb, double *latency_ms, msb_error **err)
{
  msb_msg req, reply;
  memset (&req, 0, sizeof req);
  req.type = MSB_MSG_PING;
  uint64_t t0 = msb_now_mono_ns ();
  if (msb_conn_request (sb->conn, &req, &reply, 10000, err) < 0)
    return msb_error_prefix (err, "ping sandbox `%s`", sb->name);
  bool ok = reply.type == MSB_MSG_PONG;
  msb_msg_clear (&reply);
  if (!ok)
    return msb_fail (err, MSB_ERR_GENERIC, "ping sandbox `%s`: unexpected reply", sb->name);
  if (latency_ms)
    *latency_ms = (double) (msb_now_mono_ns () - t0) / 1e6;
  return 0;
}

int
msb_sandbox_touch (msb_sandbox *sb, uint64_t *activity_seq, msb_error **err)
{
  msb_msg req, reply;
  memset (&req, 0, sizeof req);
  req.type = MSB_MSG_TOUCH;
  if (msb_conn_request (sb->conn, &req, &reply, 10000, err) < 0)
    return msb_error_prefix (err, "touch sandbox `%s`", sb->name);
  bool ok = reply.type == MSB_MSG_TOUCHED;
  uint64_t seq = reply.u.touched.activity_seq;
  msb_msg_clear (&reply);
  if (!ok)
    return msb_fail (err, MSB_ERR_GENERIC, "touch sandbox `%s`: unexpected reply", sb->name);
  if (activity_seq)
    *activity_seq = seq;
  return 0;
}
