/* Sandbox cgroups: host layout detection (pure v2, v1, or hybrid v1 + empty v2 as on the
 * development machines), attach, sampling dispatch and teardown. Never touches a cgroup it
 * did not create: every path is <hierarchy>/msb/<id>. */
#include "runtime/ns/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static const char *const controller_names[MSB_CG__COUNT] = {
  [MSB_CG_MEMORY] = "memory", [MSB_CG_CPU] = "cpu",     [MSB_CG_CPUACCT] = "cpuacct",
  [MSB_CG_PIDS] = "pids",     [MSB_CG_BLKIO] = "blkio",
};

static msb_cg_layout layout;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static bool
option_has (const char *opts, const char *name)
{
  size_t n = strlen (name);
  for (const char *p = opts; p && *p;)
    {
      const char *end = strchr (p, ',');
      size_t len = end ? (size_t) (end - p) : strlen (p);
      if (len == n && strncmp (p, name, n) == 0)
        return true;
      p = end ? end + 1 : NULL;
    }
  return false;
}

/* mountinfo: id parent maj:min root mountpoint opts [optional…] - fstype source superopts */
static void
scan_mountinfo_line (char *line)
{
  char *sep = strstr (line, " - ");
  if (sep == NULL)
    return;
  char mnt[4096], fstype[64], source[256], superopts[1024];
  if (sscanf (line, "%*s %*s %*s %*s %4095s", mnt) != 1
      || sscanf (sep + 3, "%63s %255s %1023s", fstype, source, superopts) != 3)
    return;
  if (strcmp (fstype, "cgroup2") == 0 && layout.v2_mount == NULL)
    layout.v2_mount = msb_xstrdup (mnt);
  if (strcmp (fstype, "cgroup") != 0)
    return;
  for (int c = 0; c < MSB_CG__COUNT; c++)
    if (layout.v1_mounts[c] == NULL && option_has (superopts, controller_names[c]))
      layout.v1_mounts[c] = msb_xstrdup (mnt);
}

static void
detect_layout (void)
{
  struct statfs st;
  if (statfs (MSB_CGROUP_ROOT, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
    {
      layout.unified = true;
      layout.v2_mount = msb_xstrdup (MSB_CGROUP_ROOT);
      return;
    }
  _msb_cleanup_file_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return;
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    scan_mountinfo_line (line);
  free (line);
}

const msb_cg_layout *
msb_cg_layout_get (void)
{
  pthread_once (&layout_once, detect_layout);
  return &layout;
}

uint64_t
msb_cg_read_u64 (const char *dir, const char *file)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", dir, file);
  _msb_cleanup_free_ char *data = NULL;
  if (msb_read_file_at (AT_FDCWD, path, 4096, &data, NULL, NULL) < 0)
    return 0;
  if (strncmp (data, "max", 3) == 0)
    return UINT64_MAX;
  return strtoull (data, NULL, 10);
}

int
msb_cg_write (const char *dir, const char *file, const char *value, bool required,
              msb_error **err)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", dir, file);
  if (!required && access (path, F_OK) < 0)
    return 0;
  return msb_write_string_at (AT_FDCWD, path, value, err);
}

int
msb_cgroup_create (const char *id, const msb_cgroup_limits *limits, msb_cgroup **out,
                   msb_error **err)
{
  const msb_cg_layout *l = msb_cg_layout_get ();
  struct msb_cgroup *cg = msb_xcalloc (1, sizeof *cg);
  cg->unified = l->unified;
  int r;
  if (l->unified)
    r = msb_cg_v2_create (l->v2_mount, id, true, limits, &cg->v2_path, err);
  else
    {
      r = msb_cg_v1_create (cg, l, id, limits, err);
      /* The hybrid v2 tree has no controllers but offers cgroup.kill: a clean teardown. */
      if (r == 0 && l->v2_mount)
        msb_cg_v2_create (l->v2_mount, id, false, NULL, &cg->v2_path, NULL);
    }
  if (r < 0)
    {
      msb_cgroup_destroy (cg);
      return msb_error_prefix (err, "create cgroup for the sandbox");
    }
  *out = cg;
  return 0;
}

int
msb_cgroup_open_v2 (msb_cgroup *cg)
{
  if (cg->v2_path == NULL)
    return -1;
  return open (cg->v2_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
msb_cgroup_attach_v2 (msb_cgroup *cg, pid_t pid, msb_error **err)
{
  if (cg->v2_path == NULL)
    return 0;
  char value[32];
  snprintf (value, sizeof value, "%d", (int) pid);
  return msb_cg_write (cg->v2_path, "cgroup.procs", value, true, err);
}

int
msb_cgroup_open_v1_tasks (msb_cgroup *cg, int *fds, size_t max, msb_error **err)
{
  size_t n = 0;
  for (int c = 0; c < MSB_CG__COUNT && n < max; c++)
    {
      bool seen = false;
      for (int p = 0; p < c; p++)
        seen |= cg->v1_paths[p] && cg->v1_paths[c] && strcmp (cg->v1_paths[p], cg->v1_paths[c]) == 0;
      if (cg->v1_paths[c] == NULL || seen)
        continue;
      _msb_cleanup_free_ char *path = msb_xasprintf ("%s/tasks", cg->v1_paths[c]);
      int fd = open (path, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        {
          while (n > 0)
            close (fds[--n]);
          return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open `%s`", path);
        }
      fds[n++] = fd;
    }
  return (int) n;
}

/* Storage I/O of the sandbox from /proc/<pid>/io of its members: read_bytes and write_bytes
 * count what each process caused at the block layer (a buffered write when the page is
 * dirtied), and a parent inherits the counts of the children it reaps. The sandbox's init
 * reaps every process in it, so the sum over the live members keeps the whole history. The
 * block controller's own counters are not enough: v1 blk-throttle keeps no statistics for a
 * cgroup without a limit on recent kernels, and a v2 tree may lack the io controller. */
static void
sum_member_io (const char *dir, uint64_t *rd, uint64_t *wr)
{
  *rd = *wr = 0;
  if (dir == NULL)
    return;
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/cgroup.procs", dir);
  _msb_cleanup_free_ char *procs = NULL;
  if (msb_read_file_at (AT_FDCWD, path, 1 << 20, &procs, NULL, NULL) < 0)
    return;
  char *save = NULL;
  for (char *tok = strtok_r (procs, "\n", &save); tok; tok = strtok_r (NULL, "\n", &save))
    {
      char io_path[64];
      snprintf (io_path, sizeof io_path, "/proc/%d/io", atoi (tok));
      _msb_cleanup_file_ FILE *f = fopen (io_path, "re");
      char key[32];
      unsigned long long v;
      while (f && fscanf (f, "%31[^:]: %llu\n", key, &v) == 2)
        if (strcmp (key, "read_bytes") == 0)
          *rd += v;
        else if (strcmp (key, "write_bytes") == 0)
          *wr += v;
    }
}

int
msb_cgroup_read_usage (msb_cgroup *cg, msb_cgroup_sample *s, msb_error **err)
{
  memset (s, 0, sizeof *s);
  int r = cg->unified ? msb_cg_v2_sample (cg, s) : msb_cg_v1_sample (cg, s);
  const char *members = cg->v2_path ? cg->v2_path
                        : cg->v1_paths[MSB_CG_PIDS] ? cg->v1_paths[MSB_CG_PIDS]
                                                    : cg->v1_paths[MSB_CG_MEMORY];
  uint64_t rd, wr;
  sum_member_io (members, &rd, &wr);
  if (rd > s->disk_read_bytes)
    s->disk_read_bytes = rd;
  if (wr > s->disk_write_bytes)
    s->disk_write_bytes = wr;
  return r;
}

/* Kills every process still in `dir` until it is empty. */
static void
kill_members (const char *dir)
{
  _msb_cleanup_free_ char *kill_knob = msb_xasprintf ("%s/cgroup.kill", dir);
  if (access (kill_knob, F_OK) == 0)
    msb_write_string_at (AT_FDCWD, kill_knob, "1", NULL);
  for (int round = 0; round < 50; round++)
    {
      _msb_cleanup_free_ char *path = msb_xasprintf ("%s/cgroup.procs", dir);
      _msb_cleanup_free_ char *procs = NULL;
      if (msb_read_file_at (AT_FDCWD, path, 1 << 20, &procs, NULL, NULL) < 0 || *procs == '\0')
        return;
      for (char *tok = strtok (procs, "\n"); tok; tok = strtok (NULL, "\n"))
        kill ((pid_t) atoi (tok), SIGKILL);
      struct timespec ts = { 0, 2 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}

/* rmdir can fail with EBUSY for a moment while killed members finish exiting. */
static void
remove_dir (const char *dir)
{
  if (dir == NULL)
    return;
  kill_members (dir);
  for (int i = 0; i < 200; i++)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return;
      if (errno != EBUSY)
        return;
      struct timespec ts = { 0, 5 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      kill_members (dir);
    }
}

void
msb_cgroup_destroy (msb_cgroup *cg)
{
  if (cg == NULL)
    return;
  remove_dir (cg->v2_path);
  free (cg->v2_path);
  for (int c = 0; c < MSB_CG__COUNT; c++)
    {
      remove_dir (cg->v1_paths[c]);
      for (int d = c + 1; d < MSB_CG__COUNT; d++)
        if (cg->v1_paths[d] && cg->v1_paths[c] && strcmp (cg->v1_paths[d], cg->v1_paths[c]) == 0)
          {
            free (cg->v1_paths[d]);
            cg->v1_paths[d] = NULL;
          }
      free (cg->v1_paths[c]);
    }
  free (cg);
}

void
msb_cgroup_destroy_by_id (const char *id)
{
  const msb_cg_layout *l = msb_cg_layout_get ();
  struct msb_cgroup *cg = msb_xcalloc (1, sizeof *cg);
  if (l->v2_mount)
    cg->v2_path = msb_xasprintf ("%s/%s/%s", l->v2_mount, MSB_CGROUP_PARENT, id);
  for (int c = 0; !l->unified && c < MSB_CG__COUNT; c++)
    if (l->v1_mounts[c])
      cg->v1_paths[c] = msb_xasprintf ("%s/%s/%s", l->v1_mounts[c], MSB_CGROUP_PARENT, id);
  msb_cgroup_destroy (cg);
}
