/* cgroup v1 controllers of a sandbox: memory (limit, no swap), cpu (CFS quota), pids,
 * and cpuacct/blkio for metrics. Each lives at <controller mount>/msb/<id>. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/cgroup.h"

static int
make_dir (const char *mount, const char *id, char **out, msb_error **err)
{
  _msb_cleanup_free_ char *parent = msb_xasprintf ("%s/%s", mount, MSB_CGROUP_PARENT);
  if (mkdir (parent, 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mkdir `%s`", parent);
  char *path = msb_xasprintf ("%s/%s", parent, id);
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    {
      int saved = errno;
      free (path);
      return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "mkdir cgroup `%s/%s`", parent, id);
    }
  *out = path;
  return 0;
}

static int
apply_limits (struct msb_cgroup *cg, const msb_cgroup_limits *lim, msb_error **err)
{
  char v[64];
  const char *mem = cg->v1_paths[MSB_CG_MEMORY];
  if (mem && lim->memory_bytes)
    {
      snprintf (v, sizeof v, "%" PRIu64, lim->memory_bytes);
      /* limit_in_bytes first: memsw may never be below it. */
      if (msb_cg_write (mem, "memory.limit_in_bytes", v, true, err) < 0
          || msb_cg_write (mem, "memory.memsw.limit_in_bytes", v, false, err) < 0)
        return -1;
    }
  const char *cpu = cg->v1_paths[MSB_CG_CPU];
  if (cpu && lim->cpus)
    {
      snprintf (v, sizeof v, "%u", lim->cpus * 100000u);
      if (msb_cg_write (cpu, "cpu.cfs_period_us", "100000", false, err) < 0
          || msb_cg_write (cpu, "cpu.cfs_quota_us", v, false, err) < 0)
        return -1;
    }
  const char *pids = cg->v1_paths[MSB_CG_PIDS];
  if (pids && lim->pids)
    {
      snprintf (v, sizeof v, "%u", lim->pids);
      if (msb_cg_write (pids, "pids.max", v, true, err) < 0)
        return -1;
    }
  return 0;
}

int
msb_cg_v1_create (struct msb_cgroup *cg, const msb_cg_layout *l, const char *id,
                  const msb_cgroup_limits *limits, msb_error **err)
{
  for (int c = 0; c < MSB_CG__COUNT; c++)
    {
      if (l->v1_mounts[c] == NULL)
        continue;
      /* Co-mounted controllers (cpu,cpuacct) share one directory. */
      for (int p = 0; p < c; p++)
        if (l->v1_mounts[p] && strcmp (l->v1_mounts[p], l->v1_mounts[c]) == 0)
          cg->v1_paths[c] = msb_xstrdup (cg->v1_paths[p]);
      if (cg->v1_paths[c] == NULL && make_dir (l->v1_mounts[c], id, &cg->v1_paths[c], err) < 0)
        return -1;
    }
  if (limits->memory_bytes && cg->v1_paths[MSB_CG_MEMORY] == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "the host has no memory cgroup controller: cannot enforce the memory limit");
  if (limits->pids && cg->v1_paths[MSB_CG_PIDS] == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "the host has no pids cgroup controller: cannot enforce the process limit");
  return apply_limits (cg, limits, err);
}

/* blkio.throttle.io_service_bytes: "<maj:min> Read <n>" lines; sums every device. */
static void
sum_blkio (const char *dir, msb_cgroup_sample *s)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/blkio.throttle.io_service_bytes", dir);
  _msb_cleanup_file_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return;
  char dev[64], op[32];
  unsigned long long n;
  while (fscanf (f, "%63s %31s %llu", dev, op, &n) == 3)
    {
      if (strcmp (op, "Read") == 0)
        s->disk_read_bytes += n;
      else if (strcmp (op, "Write") == 0)
        s->disk_write_bytes += n;
    }
}

int
msb_cg_v1_sample (struct msb_cgroup *cg, msb_cgroup_sample *s)
{
  if (cg->v1_paths[MSB_CG_CPUACCT])
    s->cpu_usage_ns = msb_cg_read_u64 (cg->v1_paths[MSB_CG_CPUACCT], "cpuacct.usage");
  if (cg->v1_paths[MSB_CG_MEMORY])
    {
      s->memory_bytes = msb_cg_read_u64 (cg->v1_paths[MSB_CG_MEMORY], "memory.usage_in_bytes");
      s->memory_limit_bytes
          = msb_cg_read_u64 (cg->v1_paths[MSB_CG_MEMORY], "memory.limit_in_bytes");
    }
  if (cg->v1_paths[MSB_CG_BLKIO])
    sum_blkio (cg->v1_paths[MSB_CG_BLKIO], s);
  return 0;
}
