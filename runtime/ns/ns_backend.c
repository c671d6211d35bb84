/* The namespace backend: the parent side of sandbox boot. It prepares the sandbox's user
 * namespace (as an fd), its cgroups and the agent channel, clones the first process into new
 * mount, pid, net, uts and ipc namespaces, holds it on a pipe until it is inside its cgroups,
 * then waits for either a setup error or the close-on-exec error pipe closing, which means
 * msb-agent is executing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"
#include "runtime/ns/child.h"
#include "runtime/metrics_shm.h"
#include "runtime/net/net.h"
#include "runtime/ns/ns.h"
#include "runtime/ns/volumes.h"
#include "runtime/runtime.h"
#include "runtime/rtlog.h"
#include "runtime/vm/vm.h"

typedef struct ns_state
{
  msb_cgroup *cgroup;
} ns_state;

static int
ns_probe (msb_error **err)
{
  if (geteuid () != 0)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "the ns backend needs root (CAP_SYS_ADMIN) to build sandboxes; run msb as root");
  if (access ("/proc/self/ns/user", F_OK) < 0)
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "this kernel has no user namespaces");
  return 0;
}

/* With a v2 cgroup the child is born in it (CLONE_INTO_CGROUP takes the cgroup rwsem only
 * for reading: no RCU grace period, unlike attaching a running process). */
static pid_t
clone_sandbox (int cgroup_fd, bool *into_cgroup)
{
  struct clone_args args;
  memset (&args, 0, sizeof args);
  args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;
  args.exit_signal = SIGCHLD;
  *into_cgroup = false;
  if (cgroup_fd >= 0)
    {
      struct clone_args with = args;
      with.flags |= CLONE_INTO_CGROUP;
      with.cgroup = (uint64_t) cgroup_fd;
      pid_t pid = (pid_t) syscall (SYS_clone3, &with, sizeof with);
      if (pid >= 0)
        {
          *into_cgroup = true;
          return pid;
        }
    }
  return (pid_t) syscall (SYS_clone3, &args, sizeof args);
}

static int
start_child (msb_runtime *rt, msb_ns_child *child, ns_state *st, int go_wr, int err_rd,
             msb_error **err)
{
  _msb_cleanup_close_ int cgroup_fd = msb_cgroup_open_v2 (st->cgroup);
  bool into_cgroup;
  pid_t pid = clone_sandbox (cgroup_fd, &into_cgroup);
  if (pid < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "clone the sandbox's first process");
  if (pid == 0)
    {
      close (go_wr);
      close (err_rd);
      msb_ns_child_run (child);
    }
  rt->sandbox_pid = pid;
  close (child->go_fd);
  close (child->error_fd);
  close (child->agent_channel_fd);
  for (size_t i = 0; i < child->n_cgroup_tasks_fds; i++)
    close (child->cgroup_tasks_fds[i]);
  if (!into_cgroup && msb_cgroup_attach_v2 (st->cgroup, pid, err) < 0)
    return -1;
  /* eth0 in its network namespace, complete before the child may go on (net/tap.c). A child
   * that failed its own setup meanwhile took its namespace along: its reason comes first. */
  if (rt->net && msb_net_attach_netns (rt->net, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      msb_error *child_err = NULL;
      if (msb_ns_child_result (err_rd, &child_err) < 0)
        {
          msb_error_prefix (&child_err, "set up the sandbox");
          msb_error_clear (err);
          if (err)
            *err = child_err;
          else
            msb_error_free (child_err);
        }
      return -1;
    }
  /* A child whose setup failed before the go has exited already (EPIPE here): the reason it
   * wrote to the error pipe is the error to report. */
  bool released = msb_write_full (go_wr, "g", 1) == 0;
  int saved = errno;
  if (msb_ns_child_result (err_rd, err) < 0)
    return msb_error_prefix (err, "set up the sandbox");
  if (!released)
    return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "release the sandbox process");
  return 0;
}

static int
ns_boot (msb_runtime *rt, msb_error **err)
{
  ns_state *st = msb_xcalloc (1, sizeof *st);
  rt->backend_data = st;
  if (msb_runtime_prepare_dirs (rt, err) < 0)
    return -1;
  _msb_cleanup_free_ char *agent_path = msb_find_helper ("msb-agent", err);
  if (agent_path == NULL)
    return -1;
  _msb_cleanup_close_ int agent_exe = open (agent_path, O_RDONLY | O_CLOEXEC);
  if (agent_exe < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open agent `%s`", agent_path);
  _msb_cleanup_close_ int userns = -1;
  if (msb_ns_userns_create (rt->uid_base, MSB_UID_RANGE_SIZE, &userns, err) < 0)
    return -1;
  char id[25];
  msb_sandbox_host_id (&rt->home, rt->name, id);
  msb_cgroup_limits limits = {
    .cpus = rt->cfg->cpus,
    .memory_bytes = (uint64_t) rt->cfg->memory_mib << 20,
    .pids = rt->cfg->pids_limit,
  };
  msb_rtlog (MSB_RT_DEBUG, "ns: user namespace ready");
  if (msb_cgroup_create (id, &limits, &st->cgroup, err) < 0)
    return -1;
  msb_rtlog (MSB_RT_DEBUG, "ns: cgroups ready");
  int sv[2], go[2], errp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the agent channel");
  /* Bulk transfers (fs reads and writes, exec output) cross this socket in MiB-sized frames:
   * larger buffers mean fewer wake-ups of the relay and the agent per frame. Best effort. */
  for (int i = 0; i < 2; i++)
    {
      int size = 4 << 20;
      setsockopt (sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
      setsockopt (sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  if (pipe2 (go, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create setup pipes");
  _msb_cleanup_close_ int go_wr = go[1];
  _msb_cleanup_close_ int err_rd = errp[0];
  _msb_cleanup_strv_ char **layers = msb_runtime_layer_paths (rt);
  __attribute__ ((cleanup (msb_ns_fs_plan_clear))) msb_ns_fs_plan plan = { .staging_fd = -1 };
  if (msb_ns_fs_prepare (rt, &plan, err) < 0)
    return msb_error_prefix (err, "prepare the sandbox filesystem");
  _msb_cleanup_free_ char *upper
      = plan.upper_dir ? msb_xstrdup (plan.upper_dir) : msb_xasprintf ("%s/upper", rt->sandbox_dir);
  _msb_cleanup_free_ char *work
      = plan.work_dir ? msb_xstrdup (plan.work_dir) : msb_xasprintf ("%s/work", rt->sandbox_dir);
  _msb_cleanup_free_ char *target = msb_xasprintf ("%s/rootfs", rt->sandbox_dir);
  _msb_cleanup_free_ char *runtime_dir = msb_xasprintf ("%s/runtime", rt->sandbox_dir);
  msb_ns_child child = {
    .rootfs = { (const char *const *) layers, rt->image.layer_count, upper, work, target,
                runtime_dir, userns, rt->uid_base },
    .hostname = rt->hostname,
    .userns_fd = userns,
    .agent_channel_fd = sv[1],
    .agent_exe_fd = agent_exe,
    .go_fd = go[0],
    .error_fd = errp[1],
    .net_files = rt->net != NULL,
  };
  int n = msb_cgroup_open_v1_tasks (st->cgroup, child.cgroup_tasks_fds, 8, err);
  if (n < 0)
    return -1;
  child.n_cgroup_tasks_fds = (size_t) n;
  child.rootfs.fs = &plan;
  child.fs = &plan;
  rt->agent_fd = sv[0];
  int r = start_child (rt, &child, st, go_wr, err_rd, err);
  msb_ns_fs_finish (rt, &plan, r == 0);
  return r;
}

static void
ns_kill (msb_runtime *rt)
{
  if (rt->sandbox_pid > 0)
    kill (rt->sandbox_pid, SIGKILL);
}

static int
ns_sample (msb_runtime *rt, msb_cgroup_sample *s, msb_error **err)
{
  ns_state *st = rt->backend_data;
  if (st == NULL || st->cgroup == NULL)
    return msb_fail (err, MSB_ERR_METRICS_UNAVAILABLE, "sandbox has no cgroup");
  return msb_cgroup_read_usage (st->cgroup, s, err);
}

static int
ns_resize (msb_runtime *rt, unsigned cpus, uint64_t memory_bytes, unsigned *actual_cpus,
           uint64_t *actual_memory, msb_error **err)
{
  ns_state *st = rt->backend_data;
  if (st == NULL || st->cgroup == NULL)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox has no cgroup");
  return msb_cgroup_resize (st->cgroup, cpus, memory_bytes, actual_cpus, actual_memory, err);
}

static void
ns_cleanup (msb_runtime *rt)
{
  ns_state *st = rt->backend_data;
  if (st == NULL)
    return;
  msb_cgroup_destroy (st->cgroup);
  free (st);
  rt->backend_data = NULL;
}

const msb_backend msb_backend_ns = {
  .name = "ns",
  .probe = ns_probe,
  .boot = ns_boot,
  .kill = ns_kill,
  .sample = ns_sample,
  .cleanup = ns_cleanup,
  .resize = ns_resize,
};

void
msb_backend_cleanup_leftovers (const msb_home *home, const char *name)
{
  char id[25];
  msb_sandbox_host_id (home, name, id);
  msb_cgroup_destroy_by_id (id);
  _msb_cleanup_free_ char *sock = msb_sandbox_agent_sock_rel (name);
  _msb_cleanup_free_ char *ctl = msb_sandbox_control_sock_rel (name);
  unlinkat (home->root_fd, sock, 0);
  unlinkat (home->root_fd, ctl, 0);
  /* The run/agent compatibility links a killed runtime could not remove. */
  char h16[33];
  msb_name_hash16 (name, h16);
  _msb_cleanup_free_ char *l1 = msb_xasprintf ("run/agent/%s.sock", h16);
  _msb_cleanup_free_ char *l2 = msb_xasprintf ("run/agent/%s.control.sock", h16);
  unlinkat (home->root_fd, l1, 0);
  unlinkat (home->root_fd, l2, 0);
  /* The live metrics slot (POSIX shared memory: it outlives a killed runtime otherwise). */
  char slot[40];
  msb_metrics_slot_name (home->root, name, slot);
  shm_unlink (slot);
}

int
msb_backend_select (const char *name, const msb_backend **out, msb_error **err)
{
  if (name == NULL || *name == '\0')
    name = getenv ("MSB_BACKEND");
  bool is_auto = name == NULL || *name == '\0' || strcmp (name, "auto") == 0;
  /* auto: vm where KVM runs guests at hardware speed and QEMU, virtiofsd and the guest
   * kernel are installed (runtime/vm); ns everywhere else. */
  if (strcmp (name ? name : "", "vm") == 0 || (is_auto && msb_vm_auto_eligible (NULL, 0)))
    {
      *out = &msb_backend_vm;
      return 0;
    }
  if (is_auto || strcmp (name, "ns") == 0)
    {
      *out = &msb_backend_ns;
      return 0;
    }
  return msb_fail (err, MSB_ERR_INVALID_CONFIG, "unknown backend `%s` (ns, vm or auto)", name);
}
