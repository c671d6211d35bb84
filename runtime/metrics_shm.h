/* The live metrics slot of a running sandbox: one page of POSIX shared memory written by the
 * runtime's sampler and read by any client without talking to the runtime. A seqlock makes
 * reads consistent: the writer makes `seq` odd, writes, then even again; a reader retries
 * while `seq` is odd or changed under it. The slot's name is derived from MSB_HOME and the
 * sandbox name, so two state roots never share a slot. */
#ifndef MSB_RUNTIME_METRICS_SHM_H
#define MSB_RUNTIME_METRICS_SHM_H

#include <stdint.h>

#define MSB_METRICS_MAGIC 0x4d53424du /* "MSBM" */
#define MSB_METRICS_VERSION 1u

typedef struct msb_metrics_slot
{
  uint32_t magic;
  uint32_t version;
  uint64_t seq;
  uint64_t interval_ms;
  int64_t timestamp_ms;  /* wall clock of the sample */
  uint64_t uptime_ms;    /* since the sandbox booted */
  double cpu_percent;    /* of one CPU over the last interval */
  uint64_t cpu_time_ns;  /* cumulative */
  uint64_t memory_bytes;
  uint64_t memory_limit_bytes;
  uint64_t disk_read_bytes;
  uint64_t disk_write_bytes;
  uint64_t net_rx_bytes;
  uint64_t net_tx_bytes;
  uint64_t upper_used_bytes;
  uint32_t cpus;
  uint32_t state; /* 0 running, 1 draining, 2 stopping */
} msb_metrics_slot;

/* "/msb.<hex>" for shm_open, into out (40 bytes). */
void msb_metrics_slot_name (const char *home_root, const char *sandbox, char out[40]);

#endif
