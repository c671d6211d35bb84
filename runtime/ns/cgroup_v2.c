/* cgroup v2 of a sandbox at <v2 mount>/msb/<id>: memory.max (no swap), cpu.max, pids.max;
 * the controllers are enabled in the subtree of the msb parent. On a hybrid host the v2 tree
 * has no controllers and is used only for cgroup.kill. */
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

/* Enables every controller we use that `dir` offers in its subtree. */
static int
enable_controllers (const char *dir, msb_error **err)
{
  static const char *const wanted[] = { "cpu", "memory", "pids", "io" };
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/cgroup.controllers", dir);
  _msb_cleanup_free_ char *available = NULL;
  if (msb_read_file_at (AT_FDCWD, path, 4096, &available, NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
    {
      if (strstr (available, wanted[i]) == NULL)
        continue;
      char v[16];
      snprintf (v, sizeof v, "+%s", wanted[i]);
      if (msb_cg_write (dir, "cgroup.subtree_control", v, true, err) < 0)
        return -1;
    }
  return 0;
}

static int
apply_limits (const char *dir, const msb_cgroup_limits *lim, msb_error **err)
{
  char v[64];
  if (lim->memory_bytes)
    {
      snprintf (v, sizeof v, "%" PRIu64, lim->memory_bytes);
      if (msb_cg_write (dir, "memory.max", v, true, err) < 0
          || msb_cg_write (dir, "memory.swap.max", "0", false, err) < 0)
        return -1;
    }
  if (lim->cpus)
    {
      snprintf (v, sizeof v, "%u 100000", lim->cpus * 100000u);
      if (msb_cg_write (dir, "cpu.max", v, false, err) < 0)
        return -1;
    }
  if (lim->pids)
    {
      snprintf (v, sizeof v, "%u", lim->pids);
      if (msb_cg_write (dir, "pids.max", v, true, err) < 0)
        return -1;
    }
  return 0;
}

int
msb_cg_v2_create (const char *mount, const char *id, bool with_controllers,
                  const msb_cgroup_limits *limits, char **out_path, msb_error **err)
{
  _msb_cleanup_free_ char *parent = msb_xasprintf ("%s/%s", mount, MSB_CGROUP_PARENT);
  if (mkdir (parent, 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mkdir `%s`", parent);
  if (with_controllers && (enable_controllers (mount, err) < 0 || enable_controllers (parent, err) < 0))
    return -1;
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", parent, id);
  if (mkdir (path, 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mkdir cgroup `%s`", path);
  if (with_controllers && limits && apply_limits (path, limits, err) < 0)
    {
      rmdir (path);
      return -1;
    }
  *out_path = msb_steal_pointer (&path);
  return 0;
}

static uint64_t
read_keyed (const char *dir, const char *file, const char *key)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", dir, file);
  _msb_cleanup_file_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return 0;
  char k[64];
  unsigned long long v;
  while (fscanf (f, "%63s %llu", k, &v) == 2)
    if (strcmp (k, key) == 0)
      return v;
  return 0;
}

/* io.stat: "<maj:min> rbytes=N wbytes=N rios=… " per device. */
static void
sum_io (const char *dir, msb_cgroup_sample *s)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/io.stat", dir);
  _msb_cleanup_file_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return;
  char tok[128];
  while (fscanf (f, "%127s", tok) == 1)
    {
      unsigned long long n;
      if (sscanf (tok, "rbytes=%llu", &n) == 1)
        s->disk_read_bytes += n;
      else if (sscanf (tok, "wbytes=%llu", &n) == 1)
        s->disk_write_bytes += n;
    }
}

int
msb_cg_v2_sample (struct msb_cgroup *cg, msb_cgroup_sample *s)
{
  s->cpu_usage_ns = read_keyed (cg->v2_path, "cpu.stat", "usage_usec") * 1000u;
  s->memory_bytes = msb_cg_read_u64 (cg->v2_path, "memory.current");
  s->memory_limit_bytes = msb_cg_read_u64 (cg->v2_path, "memory.max");
  sum_io (cg->v2_path, s);
  return 0;
}
