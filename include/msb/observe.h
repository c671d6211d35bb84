/* Watching a sandbox: live metrics, exec.log reads, and liveness (ping, touch). Metrics and
 * logs need no connection: they read the sandbox's shared-memory slot and log files. */
#ifndef MSB_OBSERVE_H
#define MSB_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;
typedef struct msb_sandbox msb_sandbox;

/* A point-in-time sample (published by the runtime every second). Set `size` to
 * sizeof (msb_metrics) before the call; fields beyond it are not written. */
typedef struct msb_metrics
{
  uint32_t size;
  double cpu_percent;          /* of one CPU over the last sampling interval */
  uint64_t cpu_time_ns;        /* cumulative CPU time of the sandbox */
  uint64_t memory_bytes;
  uint64_t memory_limit_bytes; /* > 0 */
  uint64_t disk_read_bytes;    /* cumulative since boot */
  uint64_t disk_write_bytes;
  uint64_t net_rx_bytes;
  uint64_t net_tx_bytes;
  uint64_t upper_used_bytes;
  uint64_t uptime_ms;          /* since the sandbox booted */
  int64_t timestamp_ms;        /* when the sample was taken (ms since the epoch) */
  uint32_t cpus;
  uint32_t interval_ms;
} msb_metrics;

/* The latest sample of a running sandbox. MSB_ERR_METRICS_UNAVAILABLE when it is not running
 * (or has not published its first sample: the message then contains "no live metrics slot"),
 * MSB_ERR_SANDBOX_NOT_FOUND when unknown. */
int msb_sandbox_metrics (msb_ctx *ctx, const char *name, msb_metrics *out, msb_error **err);

typedef enum msb_log_source
{
  MSB_LOG_STDOUT = 1u << 0, /* pipe-mode stdout */
  MSB_LOG_STDERR = 1u << 1, /* pipe-mode stderr */
  MSB_LOG_OUTPUT = 1u << 2, /* PTY sessions (stdout and stderr merged) */
  MSB_LOG_SYSTEM = 1u << 3, /* lifecycle markers and runtime diagnostics */
  MSB_LOG_ALL = 0xf,
} msb_log_source;

/* "stdout", "stderr", "output", "system". */
const char *msb_log_source_name (msb_log_source s);

typedef struct msb_log_query
{
  uint32_t size;            /* sizeof (msb_log_query) */
  unsigned sources;         /* msb_log_source bits; 0 = stdout | stderr | output */
  int64_t since_ms;         /* inclusive lower bound; 0 = none */
  int64_t until_ms;         /* exclusive upper bound; 0 = none */
  size_t tail;              /* only the last N entries after the filters; 0 = all */
  const char *after_cursor; /* resume strictly after this entry; NULL = from the start */
} msb_log_query;

typedef struct msb_log_entry
{
  int64_t timestamp_ms;
  msb_log_source source;
  uint64_t session_id;      /* 0 for system entries */
  uint8_t *data;            /* the chunk's bytes (UTF-8, invalid bytes already replaced) */
  size_t len;
  char *cursor;             /* opaque, non-empty; pass to after_cursor to resume */
} msb_log_entry;

/* Entries of a sandbox's exec.log (and rotations), chronological, for any status. The
 * "system" source also merges the runtime's own log lines. */
int msb_sandbox_logs (msb_ctx *ctx, const char *name, const msb_log_query *query,
                      msb_log_entry **out, size_t *n, msb_error **err);
void msb_log_entries_free (msb_log_entry *entries, size_t n);

/* core.ping round trip (does not count as activity). MSB_ERR_SANDBOX_NOT_RUNNING if gone. */
int msb_sandbox_ping (msb_sandbox *sb, double *latency_ms, msb_error **err);
/* core.touch: refreshes the idle timer; returns the agent's activity sequence (> 0). */
int msb_sandbox_touch (msb_sandbox *sb, uint64_t *activity_seq, msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
