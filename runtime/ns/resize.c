/* Live resize of a running sandbox's cgroup limits (modify(): cpus and memory within
 * max_cpus / max_memory). Only the two knobs boot set are rewritten, in the cgroup the
 * runtime created, and what the kernel then reports is read back: it may round a limit.
 *
 * Order matters where the kernel checks one limit against another: on cgroup v1,
 * memory.memsw.limit_in_bytes may never be below memory.limit_in_bytes, so it is raised
 * first when growing and lowered last when shrinking. A limit below what the sandbox uses
 * is refused by v1 (EBUSY after reclaim fails); v2 reclaims and, failing that, OOM-kills
 * inside the sandbox — the sandbox asked for it. When the second knob fails the first is put
 * back: a resize applies whole or not at all. Must never touch a cgroup it did not create. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "runtime/ns/cgroup.h"

static const char *
memory_dir (const struct msb_cgroup *cg)
{
  return cg->unified ? cg->v2_path : cg->v1_paths[MSB_CG_MEMORY];
}

static const char *
cpu_dir (const struct msb_cgroup *cg)
{
  return cg->unified ? cg->v2_path : cg->v1_paths[MSB_CG_CPU];
}

static int
set_memory (const struct msb_cgroup *cg, uint64_t bytes, uint64_t old, msb_error **err)
{
  const char *dir = memory_dir (cg);
  if (dir == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "the host has no memory cgroup controller");
  char v[32];
  snprintf (v, sizeof v, "%" PRIu64, bytes);
  if (cg->unified)
    return msb_cg_write (dir, "memory.max", v, true, err);
  if (bytes >= old)
    return msb_cg_write (dir, "memory.memsw.limit_in_bytes", v, false, err) < 0
                   || msb_cg_write (dir, "memory.limit_in_bytes", v, true, err) < 0
               ? -1
               : 0;
  return msb_cg_write (dir, "memory.limit_in_bytes", v, true, err) < 0
                 || msb_cg_write (dir, "memory.memsw.limit_in_bytes", v, false, err) < 0
             ? -1
             : 0;
}

static int
set_cpus (const struct msb_cgroup *cg, unsigned cpus, msb_error **err)
{
  const char *dir = cpu_dir (cg);
  if (dir == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "the host has no cpu cgroup controller");
  char v[48];
  if (cg->unified)
    {
      snprintf (v, sizeof v, "%u 100000", cpus * 100000u);
      return msb_cg_write (dir, "cpu.max", v, true, err);
    }
  snprintf (v, sizeof v, "%u", cpus * 100000u);
  return msb_cg_write (dir, "cpu.cfs_quota_us", v, true, err);
}

static uint64_t
read_memory (const struct msb_cgroup *cg)
{
  const char *dir = memory_dir (cg);
  return dir ? msb_cg_read_u64 (dir, cg->unified ? "memory.max" : "memory.limit_in_bytes") : 0;
}

/* Whole cpus of the CFS quota (quota / period), 0 when unlimited or unknown. */
static unsigned
read_cpus (const struct msb_cgroup *cg)
{
  const char *dir = cpu_dir (cg);
  if (dir == NULL)
    return 0;
  if (!cg->unified)
    {
      uint64_t quota = msb_cg_read_u64 (dir, "cpu.cfs_quota_us");
      uint64_t period = msb_cg_read_u64 (dir, "cpu.cfs_period_us");
      return period && quota != UINT64_MAX && (int64_t) quota > 0 ? (unsigned) (quota / period) : 0;
    }
  unsigned long long quota = 0, period = 0;
  char path[4096];
  snprintf (path, sizeof path, "%s/cpu.max", dir);
  FILE *f = fopen (path, "re");
  int n = f ? fscanf (f, "%llu %llu", &quota, &period) : 0;
  if (f)
    fclose (f);
  return n == 2 && period ? (unsigned) (quota / period) : 0;
}

int
msb_cgroup_resize (msb_cgroup *cg, unsigned cpus, uint64_t memory_bytes, unsigned *actual_cpus,
                   uint64_t *actual_memory, msb_error **err)
{
  unsigned old_cpus = read_cpus (cg);
  uint64_t old_memory = read_memory (cg);
  if (cpus && cpus != old_cpus && set_cpus (cg, cpus, err) < 0)
    return msb_error_prefix (err, "set the cpu limit to %u", cpus);
  if (memory_bytes && memory_bytes != old_memory
      && set_memory (cg, memory_bytes, old_memory, err) < 0)
    {
      if (cpus && cpus != old_cpus && old_cpus)
        set_cpus (cg, old_cpus, NULL);
      return msb_error_prefix (err, "set the memory limit to %" PRIu64 " MiB", memory_bytes >> 20);
    }
  *actual_cpus = read_cpus (cg);
  *actual_memory = read_memory (cg);
  return 0;
}
