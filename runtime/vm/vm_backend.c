/* The vm backend: a sandbox as a QEMU microVM (KVM when usable, TCG otherwise) booting a
 * distribution kernel with msb-agent as its init (agent/vm_init.c).
 *
 * Boot: the sandbox's cgroup; the filesystem plan of the ns backend (volumes, writable layer,
 * patches, scripts: runtime/ns/volumes.h); the root — and, with volumes, the volumes —
 * served by virtiofsd (fs_server.c), each over a socket made here: a listening socket in the
 * 0700 sandbox directory, connected at once by us and unlinked, so no other process can
 * reach virtiofsd; the network engine's stream socket when networked; QEMU (qemu.c) with
 * those and one end of a socketpair as the agent's port. The other end is rt->agent_fd: the
 * relay sees the same byte stream as from the ns backend's agent. QEMU is rt->sandbox_pid: a
 * guest that powers off, panics or is killed ends the sandbox. Boot time is bounded by the
 * runtime's ready timeout, after which QEMU is killed; the error then carries the guest
 * console's last lines (console.c).
 *
 * Resources: cpus and memory are the VM's vCPUs and RAM. The cgroup (QEMU + virtiofsd)
 * gets the vCPUs plus one CPU of quota for the emulation and I/O threads, and the guest's
 * RAM plus VMM_OVERHEAD_MIB of memory. Metrics report the cgroup's counters with memory as
 * the resident memory of QEMU and virtiofsd (the guest's touched RAM is in QEMU's).
 *
 * Must never: leave QEMU or virtiofsd running after cleanup (both live in the cgroup, whose
 * teardown kills what is left). */
#include "runtime/vm/vm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"
#include "runtime/net/net.h"
#include "runtime/ns/ns.h"
#include "runtime/ns/volumes.h"
#include "runtime/rtlog.h"
#include "runtime/runtime.h"

#define VMM_OVERHEAD_MIB 256
/* The guest kernel alone holds ~35 MiB; below this it runs out of memory while booting. */
#define MIN_MEMORY_MIB 96
#define FS_SOCKET "vm-fs.sock"

typedef struct vm_state
{
  msb_cgroup *cgroup;
  msb_vm_fs_server fs;   /* the root's virtiofsd */
  msb_vm_fs_server vols; /* the volumes' virtiofsd (pid 0 when there are none) */
  int qemu_pidfd;
  pid_t qemu_pid;
} vm_state;

static int
vm_probe (msb_error **err)
{
  if (geteuid () != 0)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "the vm backend needs root (cgroups, user namespaces, the root's mounts); run "
                     "msb as root");
  if (access ("/proc/self/ns/user", F_OK) < 0)
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "this kernel has no user namespaces");
#if !defined(__x86_64__)
  return msb_fail (err, MSB_ERR_UNSUPPORTED, "the vm backend runs x86-64 guests on x86-64 hosts only");
#endif
  msb_vm_host h;
  if (msb_vm_host_resolve (NULL, &h, err) < 0)
    return -1;
  msb_vm_host_clear (&h);
  msb_vm_accel accel;
  return msb_vm_accel_choose (&accel, err);
}

bool
msb_vm_auto_eligible (char *why, size_t why_len)
{
  /* The cheap refusal first: without root, no vm backend, so no KVM probe either. */
  if (geteuid () != 0)
    {
      if (why && why_len)
        snprintf (why, why_len, "the vm backend needs root");
      return false;
    }
  if (!msb_vm_kvm_usable (why, why_len))
    return false;
  msb_error *e = NULL;
  if (vm_probe (&e) < 0)
    {
      snprintf (why, why_len, "%s", msb_error_get_message (e));
      msb_error_free (e);
      return false;
    }
  return true;
}

/* A listening socket only root can reach (0700 sandbox directory), connected by us right
 * away and unlinked: virtiofsd accepts exactly one connection, and it is ours. */
static int
fs_socket_pair (msb_runtime *rt, int *listen_out, int *client_out, msb_error **err)
{
  *listen_out = *client_out = -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (msb_sock_path (rt->sandbox_dirfd, FS_SOCKET, addr.sun_path, sizeof addr.sun_path) < 0)
    return msb_fail (err, MSB_ERR_GENERIC, "socket path too long");
  unlinkat (rt->sandbox_dirfd, FS_SOCKET, 0);
  _msb_cleanup_close_ int lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  _msb_cleanup_close_ int cfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || cfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "socket");
  if (bind (lfd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lfd, 1) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "listen on `%s/%s`", rt->sandbox_dir, FS_SOCKET);
  int r = connect (cfd, (struct sockaddr *) &addr, sizeof addr);
  int saved = errno;
  unlinkat (rt->sandbox_dirfd, FS_SOCKET, 0);
  if (r < 0)
    return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "connect to the filesystem socket");
  *listen_out = msb_steal_fd (&lfd);
  *client_out = msb_steal_fd (&cfd);
  return 0;
}

static int
kvm_group (void)
{
  struct stat st;
  return stat ("/dev/kvm", &st) == 0 ? (int) st.st_gid : -1;
}

static int
create_cgroup (msb_runtime *rt, vm_state *st, msb_error **err)
{
  char id[25];
  msb_sandbox_host_id (&rt->home, rt->name, id);
  msb_cgroup_limits limits = {
    .cpus = rt->cfg->cpus + 1,
    .memory_bytes = ((uint64_t) rt->cfg->memory_mib + VMM_OVERHEAD_MIB) << 20,
    .pids = 0, /* QEMU's and virtiofsd's threads, not the guest's processes */
  };
  return msb_cgroup_create (id, &limits, &st->cgroup, err);
}

/* The guest's mounts in plan order (parents first): volumes from the volumes share, tmpfs
 * in guest memory. */
static char **
guest_mounts (const msb_ns_fs_plan *plan)
{
  char **v = msb_xcalloc (plan->n_mounts + 1, sizeof (char *));
  for (size_t i = 0; i < plan->n_mounts; i++)
    {
      const msb_ns_mount_plan *m = &plan->mounts[i];
      v[i] = msb_vm_mount_spec (m->flags, !msb_vm_share_volume (m), m->size_mib, i, m->target);
    }
  return v;
}

static bool
has_shared_volumes (const msb_ns_fs_plan *plan)
{
  for (size_t i = 0; i < plan->n_mounts; i++)
    if (msb_vm_share_volume (&plan->mounts[i]))
      return true;
  return false;
}

/* The root's virtiofsd, and the volumes' when there are volumes; *fs_client / *vols_client
 * are the sockets for QEMU. */
static int
start_file_servers (msb_runtime *rt, vm_state *st, const msb_vm_host *host, const msb_ns_fs_plan *plan,
                    int *fs_client, int *vols_client, msb_error **err)
{
  _msb_cleanup_close_ int listen_fd = -1;
  if (fs_socket_pair (rt, &listen_fd, fs_client, err) < 0
      || msb_vm_fs_server_start (rt, st->cgroup, host->virtiofsd, MSB_VM_SHARE_ROOT, plan, listen_fd,
                                 &st->fs, err)
             < 0)
    return -1;
  msb_rtlog (MSB_RT_DEBUG, "vm: root file server running (pid %d)", (int) st->fs.pid);
  if (!has_shared_volumes (plan))
    return 0;
  close (listen_fd);
  if (fs_socket_pair (rt, &listen_fd, vols_client, err) < 0
      || msb_vm_fs_server_start (rt, st->cgroup, host->virtiofsd, MSB_VM_SHARE_VOLUMES, plan,
                                 listen_fd, &st->vols, err)
             < 0)
    return -1;
  msb_rtlog (MSB_RT_DEBUG, "vm: volumes file server running (pid %d)", (int) st->vols.pid);
  return 0;
}

/* The guest's eth0 as the network engine sees it (the ns backend's TAP gets the same). */
static void
guest_network (const msb_net *net, msb_vm_launch *l)
{
  msb_net_guest g;
  msb_net_guest_config (net, &g);
  char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &g.guest_be, addr, sizeof addr);
  inet_ntop (AF_INET, &g.gateway_be, gw, sizeof gw);
  snprintf (l->net_spec, sizeof l->net_spec, "%s/%u,%s,%u", addr, g.prefix, gw, g.mtu);
  memcpy (l->mac, g.mac, sizeof l->mac);
}

/* Guest phase timings on the console with the sandbox's log level at debug, or MSB_VM_DEBUG. */
static bool
is_debug (const msb_runtime *rt)
{
  const char *level = rt->cfg->log_level;
  return (level && (strcmp (level, "debug") == 0 || strcmp (level, "trace") == 0))
         || (getenv ("MSB_VM_DEBUG") && *getenv ("MSB_VM_DEBUG"));
}

static int
vm_boot (msb_runtime *rt, msb_error **err)
{
  vm_state *st = msb_xcalloc (1, sizeof *st);
  st->qemu_pidfd = st->fs.pidfd = st->vols.pidfd = -1;
  rt->backend_data = st;
  if (rt->cfg->memory_mib < MIN_MEMORY_MIB)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "memory: %u MiB is too little for a VM (its kernel alone takes ~35 MiB); the "
                     "vm backend needs at least %u MiB",
                     rt->cfg->memory_mib, MIN_MEMORY_MIB);
  if (msb_runtime_prepare_dirs (rt, err) < 0)
    return -1;
  __attribute__ ((cleanup (msb_vm_host_clear))) msb_vm_host host = { 0 };
  if (msb_vm_host_resolve (rt->home.root, &host, err) < 0)
    return -1;
  msb_vm_accel accel;
  if (msb_vm_accel_choose (&accel, err) < 0)
    return -1;
  msb_rtlog (MSB_RT_INFO, "vm: %s, kernel %s, initramfs %s", msb_vm_accel_name (accel),
             host.kernel, host.initramfs);
  if (create_cgroup (rt, st, err) < 0)
    return -1;
  _msb_cleanup_close_ int console = openat (rt->sandbox_dirfd, "logs/kernel.log",
                                            O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                                            0600);
  if (console < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s/logs/kernel.log`", rt->sandbox_dir);
  __attribute__ ((cleanup (msb_ns_fs_plan_clear))) msb_ns_fs_plan plan = { .staging_fd = -1 };
  if (msb_ns_fs_prepare (rt, &plan, err) < 0)
    return msb_error_prefix (err, "prepare the sandbox filesystem");
  _msb_cleanup_strv_ char **mounts = guest_mounts (&plan);
  _msb_cleanup_close_ int fs_client = -1;
  _msb_cleanup_close_ int vols_client = -1;
  int r = start_file_servers (rt, st, &host, &plan, &fs_client, &vols_client, err);
  msb_ns_fs_finish (rt, &plan, r == 0);
  if (r < 0)
    return -1;
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the agent channel");
  _msb_cleanup_close_ int guest_end = sv[1];
  rt->agent_fd = sv[0];
  char id[25];
  msb_sandbox_host_id (&rt->home, rt->name, id);
  _msb_cleanup_close_ int net_fd = -1;
  if (rt->net && msb_net_attach_stream (rt->net, &net_fd, err) < 0)
    return msb_error_prefix (err, "network");
  msb_vm_launch launch = {
    .host = &host,
    .accel = accel,
    .cpus = rt->cfg->cpus,
    .memory_mib = rt->cfg->memory_mib,
    .tsc_khz = accel == MSB_VM_ACCEL_TCG ? msb_vm_tsc_khz () : 0,
    .label = id,
    .is_debug = is_debug (rt),
    .uid = rt->uid_base,
    .gid = rt->uid_base,
    .kvm_gid = accel == MSB_VM_ACCEL_KVM ? kvm_group () : -1,
    .agent_fd = guest_end,
    .fs_fd = fs_client,
    .vols_fd = vols_client,
    .mounts = mounts,
    .net_fd = net_fd,
    .console_fd = console,
  };
  if (rt->net)
    guest_network (rt->net, &launch);
  if (msb_vm_qemu_start (&launch, st->cgroup, &st->qemu_pid, &st->qemu_pidfd, err) < 0)
    return -1;
  rt->sandbox_pid = st->qemu_pid;
  msb_rtlog (MSB_RT_DEBUG, "vm: QEMU running (pid %d)", (int) st->qemu_pid);
  return 0;
}

static void
vm_kill (msb_runtime *rt)
{
  vm_state *st = rt->backend_data;
  if (st == NULL)
    return;
  if (st->qemu_pidfd >= 0)
    syscall (SYS_pidfd_send_signal, st->qemu_pidfd, SIGKILL, NULL, 0);
  msb_vm_fs_server_kill (&st->fs);
  msb_vm_fs_server_kill (&st->vols);
}

/* Resident memory (VmRSS: anonymous, file and shared — the guest's touched RAM is a shared
 * memfd mapping) of one process. */
static uint64_t
rss_bytes (pid_t pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
  _msb_cleanup_free_ char *text = NULL;
  if (pid <= 0 || msb_read_file_at (AT_FDCWD, path, 1 << 16, &text, NULL, NULL) < 0)
    return 0;
  const char *p = strstr (text, "\nVmRSS:");
  return p ? strtoull (p + 7, NULL, 10) * 1024 : 0;
}

static int
vm_sample (msb_runtime *rt, msb_cgroup_sample *s, msb_error **err)
{
  vm_state *st = rt->backend_data;
  if (st == NULL || st->cgroup == NULL)
    return msb_fail (err, MSB_ERR_METRICS_UNAVAILABLE, "sandbox has no cgroup");
  /* The guest's files are gone with virtiofsd: the sandbox cannot go on. */
  if (st->qemu_pidfd >= 0
      && (msb_vm_fs_server_exited (&st->fs) || (st->vols.pidfd >= 0 && msb_vm_fs_server_exited (&st->vols))))
    {
      msb_rtlog (MSB_RT_ERROR, "vm: the filesystem server (virtiofsd) exited; stopping the VM");
      syscall (SYS_pidfd_send_signal, st->qemu_pidfd, SIGKILL, NULL, 0);
    }
  if (msb_cgroup_read_usage (st->cgroup, s, err) < 0)
    return -1;
  uint64_t rss = rss_bytes (st->qemu_pid) + rss_bytes (st->fs.pid) + rss_bytes (st->vols.pid);
  if (rss)
    s->memory_bytes = rss;
  s->memory_limit_bytes = (uint64_t) rt->cfg->memory_mib << 20;
  return 0;
}

static void
vm_cleanup (msb_runtime *rt)
{
  vm_state *st = rt->backend_data;
  if (st == NULL)
    return;
  vm_kill (rt);
  msb_cgroup_destroy (st->cgroup);
  msb_vm_fs_server_release (&st->fs);
  msb_vm_fs_server_release (&st->vols);
  if (st->qemu_pidfd >= 0)
    close (st->qemu_pidfd);
  free (st);
  rt->backend_data = NULL;
}

static void
vm_explain_boot_failure (msb_runtime *rt, msb_error **err)
{
  /* An agent that refused the sandbox's config said why; the console adds nothing. */
  if (err && *err && msb_error_get_kind (*err) != MSB_ERR_INVALID_CONFIG)
    msb_vm_console_explain (rt->sandbox_dirfd, err);
}

const msb_backend msb_backend_vm = {
  .name = "vm",
  .probe = vm_probe,
  .boot = vm_boot,
  .kill = vm_kill,
  .sample = vm_sample,
  .cleanup = vm_cleanup,
  .explain_boot_failure = vm_explain_boot_failure,
};
