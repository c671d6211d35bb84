#include "runtime/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/sha256.h"
#include "runtime/metrics_shm.h"
#include "runtime/net/net.h"

struct msb_sampler
{
  msb_runtime *rt;
  msb_metrics_slot *slot;
  char name[40];
  uint64_t interval_ms;
  uint64_t boot_ns;
  uint64_t last_ns;
  uint64_t last_cpu_ns;
  uint64_t last_disk_read;
  uint64_t last_disk_write;
};

void
msb_metrics_slot_name (const char *home_root, const char *sandbox, char out[40])
{
  uint8_t md[32];
  _msb_cleanup_free_ char *key = msb_xasprintf ("%s%c%s", home_root, 0, sandbox);
  size_t len = strlen (home_root) + 1 + strlen (sandbox);
  msb_sha256_buf (key, len, md);
  char hex[33];
  msb_hex (md, 16, hex);
  snprintf (out, 40, "/msb.%s", hex);
}

int
msb_sampler_open (msb_runtime *rt, uint64_t interval_ms, msb_sampler **out, msb_error **err)
{
  msb_sampler *s = msb_xcalloc (1, sizeof *s);
  s->rt = rt;
  s->interval_ms = interval_ms;
  s->boot_ns = s->last_ns = msb_now_mono_ns ();
  msb_metrics_slot_name (rt->home.root, rt->name, s->name);
  int fd = shm_open (s->name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate (fd, sizeof (msb_metrics_slot)) < 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      free (s);
      return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "create the metrics slot");
    }
  s->slot = mmap (NULL, sizeof (msb_metrics_slot), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close (fd);
  if (s->slot == MAP_FAILED)
    {
      shm_unlink (s->name);
      free (s);
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "map the metrics slot");
    }
  memset (s->slot, 0, sizeof *s->slot);
  *out = s;
  return 0;
}

void
msb_sampler_sample (msb_sampler *s, uint32_t state)
{
  msb_cgroup_sample cg;
  memset (&cg, 0, sizeof cg);
  if (s->rt->backend->sample)
    s->rt->backend->sample (s->rt, &cg, NULL);
  uint64_t now = msb_now_mono_ns ();
  uint64_t rx, tx;
  msb_net_counters (s->rt->net, &rx, &tx); /* the network engine's own count (net/net.h) */
  double cpu = 0;
  if (now > s->last_ns && cg.cpu_usage_ns >= s->last_cpu_ns && s->last_cpu_ns)
    cpu = 100.0 * (double) (cg.cpu_usage_ns - s->last_cpu_ns) / (double) (now - s->last_ns);
  s->last_ns = now;
  s->last_cpu_ns = cg.cpu_usage_ns;
  /* Cumulative counters never go back, even while an exited process's I/O is not yet
   * credited to the parent that reaps it (ns/cgroup.c). */
  if (cg.disk_read_bytes < s->last_disk_read)
    cg.disk_read_bytes = s->last_disk_read;
  if (cg.disk_write_bytes < s->last_disk_write)
    cg.disk_write_bytes = s->last_disk_write;
  s->last_disk_read = cg.disk_read_bytes;
  s->last_disk_write = cg.disk_write_bytes;
  uint64_t limit = cg.memory_limit_bytes;
  if (limit == 0 || limit == UINT64_MAX || limit > ((uint64_t) s->rt->cfg->memory_mib << 20))
    limit = (uint64_t) s->rt->cfg->memory_mib << 20;

  msb_metrics_slot *m = s->slot;
  __atomic_store_n (&m->seq, m->seq + 1, __ATOMIC_RELEASE);
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  m->magic = MSB_METRICS_MAGIC;
  m->version = MSB_METRICS_VERSION;
  m->interval_ms = s->interval_ms;
  m->timestamp_ms = msb_now_ms ();
  m->uptime_ms = (now - s->boot_ns) / 1000000u;
  m->cpu_percent = cpu;
  m->cpu_time_ns = cg.cpu_usage_ns;
  m->memory_bytes = cg.memory_bytes;
  m->memory_limit_bytes = limit;
  m->disk_read_bytes = cg.disk_read_bytes;
  m->disk_write_bytes = cg.disk_write_bytes;
  m->net_rx_bytes = rx;
  m->net_tx_bytes = tx;
  m->cpus = s->rt->cfg->cpus;
  m->state = state;
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  __atomic_store_n (&m->seq, m->seq + 1, __ATOMIC_RELEASE);
}

uint64_t
msb_sampler_interval_ms (const msb_sampler *s)
{
  return s->interval_ms;
}

void
msb_sampler_close (msb_sampler *s)
{
  if (s == NULL)
    return;
  munmap (s->slot, sizeof *s->slot);
  shm_unlink (s->name);
  free (s);
}
