/* Reading a sandbox's live metrics slot (runtime/metrics_shm.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "lib/internal.h"
#include "lib/state.h"
#include "runtime/metrics_shm.h"

static int
copy_slot (const msb_metrics_slot *slot, msb_metrics *out)
{
  for (int attempt = 0; attempt < 1000; attempt++)
    {
      uint64_t seq = __atomic_load_n (&slot->seq, __ATOMIC_ACQUIRE);
      if (seq & 1)
        continue;
      msb_metrics_slot copy;
      memcpy (&copy, slot, sizeof copy);
      __atomic_thread_fence (__ATOMIC_SEQ_CST);
      if (__atomic_load_n (&slot->seq, __ATOMIC_ACQUIRE) != seq)
        continue;
      if (copy.magic != MSB_METRICS_MAGIC || seq == 0)
        return -1;
      msb_metrics m = {
        .size = out->size,
        .cpu_percent = copy.cpu_percent,
        .cpu_time_ns = copy.cpu_time_ns,
        .memory_bytes = copy.memory_bytes,
        .memory_limit_bytes = copy.memory_limit_bytes,
        .disk_read_bytes = copy.disk_read_bytes,
        .disk_write_bytes = copy.disk_write_bytes,
        .net_rx_bytes = copy.net_rx_bytes,
        .net_tx_bytes = copy.net_tx_bytes,
        .upper_used_bytes = copy.upper_used_bytes,
        .uptime_ms = copy.uptime_ms,
        .timestamp_ms = copy.timestamp_ms,
        .cpus = copy.cpus,
        .interval_ms = (uint32_t) copy.interval_ms,
      };
      size_t n = out->size && out->size < sizeof m ? out->size : sizeof m;
      memcpy (out, &m, n);
      return 0;
    }
  return -1;
}

int
msb_sandbox_metrics (msb_ctx *ctx, const char *name, msb_metrics *out, msb_error **err)
{
  if (!msb_runtime_is_alive (&ctx->home, name))
    {
      int r;
      MSB_WITH_DB (ctx)
      r = msb_state_require (&ctx->db, name, err);
      if (r < 0)
        return -1;
      return msb_fail (err, MSB_ERR_METRICS_UNAVAILABLE, "sandbox `%s` is not running", name);
    }
  char slot_name[40];
  msb_metrics_slot_name (ctx->home.root, name, slot_name);
  int fd = shm_open (slot_name, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return msb_fail (err, MSB_ERR_METRICS_UNAVAILABLE,
                     "sandbox `%s`: no live metrics slot yet (retry)", name);
  void *p = mmap (NULL, sizeof (msb_metrics_slot), PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (p == MAP_FAILED)
    return msb_fail_errno (err, errno, MSB_ERR_METRICS_UNAVAILABLE, "map the metrics of `%s`", name);
  int r = copy_slot (p, out);
  munmap (p, sizeof (msb_metrics_slot));
  if (r < 0)
    return msb_fail (err, MSB_ERR_METRICS_UNAVAILABLE,
                     "sandbox `%s`: no live metrics slot yet (retry)", name);
  return 0;
}
