/* The files of a vm sandbox, served to the guest by virtiofsd: the root and the volumes.
 *
 * Root: a child in a private mount namespace assembles exactly what the ns backend's sandbox
 * process assembles — the overlay of the cached image layers (idmapped into the sandbox's
 * uid range, so nothing is copied per sandbox) and the sandbox's writable layer, /.msb, the
 * volumes with their id mappings — joins the sandbox's user namespace as its root, applies
 * the first boot's patches and /.msb/scripts inside it, and executes virtiofsd on that tree
 * with cache=always: nothing but this guest changes it while it runs, and the guest keeping
 * file data across opens is what makes exec fast (with cache=auto every exec re-reads the
 * binary through the device: ~70 ms instead of ~3 ms per exec under TCG).
 *
 * Volumes: bind, named and disk volumes may be shared with the host and other sandboxes, so
 * a second virtiofsd serves them with cache=auto, each as directory vN (N = its index in the
 * plan) of a tmpfs, mounted exactly as on the ns backend (id mappings, read-only); the guest
 * binds them at their targets (agent/vm_mounts.c). tmpfs mounts are the guest's own.
 *
 * Why virtiofsd runs inside the sandbox's user namespace: it is the one host process that
 * parses what the guest sends about files. As root of that namespace it holds no privilege on
 * the host (capabilities count only inside the namespace, which owns nothing of the host),
 * and every file the guest creates is created with the guest's uid/gid mapped into the
 * sandbox's unprivileged range — guest root writes as uid_base on the host, exactly as on the
 * ns backend, so the writable layer is interchangeable between backends and no file a guest
 * makes is owned by host root. virtiofsd's own sandbox (new mount, pid and net namespaces,
 * pivot_root into the shared tree, seccomp) still applies on top.
 *
 * Must never: serve a tree that is not fully assembled (virtiofsd starts last), or let
 * virtiofsd outlive the runtime (parent-death signal, and it lives in the sandbox cgroup). */
#include "runtime/vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/store.h"
#include "runtime/ns/ns.h"
#include "runtime/ns/volumes.h"
#include "runtime/runtime.h"
#include "runtime/vm/vm_child.h"

/* Where virtiofsd finds its tree: a path root of the sandbox's user namespace can traverse.
 * The sandbox directory is 0700 and owned by host root; in the child's mount namespace a
 * fresh tmpfs covers /tmp and the tree is moved into it, once nothing else needs a host path
 * under /tmp (bind volumes are resolved before). */
#define SHARE_PARENT "/tmp"
#define SHARE_DIR "/tmp/root"

typedef struct fs_child_ctx
{
  msb_vm_share share;
  msb_rootfs_spec spec;          /* root */
  const msb_ns_fs_plan *plan;    /* root: patches, scripts, volumes; volumes: vN mounts */
  int listen_fd;
  const char *virtiofsd;
  char *const *argv;
} fs_child_ctx;

static void
cover_tmp (msb_vm_child *c)
{
  if (mount ("tmpfs", SHARE_PARENT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=64k") < 0)
    msb_vm_child_die (c, errno, "mount a tmpfs at %s", SHARE_PARENT);
  if (mkdir (SHARE_DIR, 0755) < 0)
    msb_vm_child_die (c, errno, "create %s", SHARE_DIR);
}

static void
assemble_root (msb_vm_child *c, const fs_child_ctx *x)
{
  msb_error *e = NULL;
  if (x->plan->upper_image && msb_ns_upper_disk_mount (x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (msb_ns_overlay_mount (&x->spec, &e) < 0)
    msb_vm_child_die_error (c, e);
  _msb_cleanup_close_ int rootfd = open (x->spec.target, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (rootfd < 0)
    msb_vm_child_die (c, errno, "open the sandbox root");
  if (msb_ns_bind_runtime_dir (rootfd, x->spec.runtime_dir, x->spec.uid_base, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (msb_ns_volumes_mount (rootfd, x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  /* By fd: the sandbox directory may itself be under /tmp. */
  cover_tmp (c);
  if (syscall (SYS_move_mount, rootfd, "", AT_FDCWD, SHARE_DIR, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    msb_vm_child_die (c, errno, "move the sandbox root to %s", SHARE_DIR);
}

/* A tmpfs at <sandbox>/rootfs (this namespace's, not the root server's) holds the volumes
 * while host paths are still reachable, then moves to SHARE_DIR like the root. */
static void
assemble_volumes (msb_vm_child *c, const fs_child_ctx *x)
{
  if (mount ("tmpfs", x->spec.target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0)
    msb_vm_child_die (c, errno, "mount a tmpfs for the volumes");
  _msb_cleanup_close_ int dir = open (x->spec.target, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dir < 0)
    msb_vm_child_die (c, errno, "open the volumes' tmpfs");
  msb_error *e = NULL;
  if (msb_ns_volumes_mount (dir, x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  cover_tmp (c);
  if (syscall (SYS_move_mount, dir, "", AT_FDCWD, SHARE_DIR, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    msb_vm_child_die (c, errno, "move the volumes to %s", SHARE_DIR);
}

/* Patches and scripts are written by the sandbox's root inside its root (chroot), as on the
 * ns backend; then back to the host's root, where virtiofsd finds /proc and itself. */
static void
guest_setup (msb_vm_child *c, const fs_child_ctx *x)
{
  _msb_cleanup_close_ int host_root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host_root < 0 || chroot (SHARE_DIR) < 0 || chdir ("/") < 0)
    msb_vm_child_die (c, errno, "enter the sandbox root");
  msb_error *e = NULL;
  if (msb_ns_guest_setup (x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (fchdir (host_root) < 0 || chroot (".") < 0)
    msb_vm_child_die (c, errno, "leave the sandbox root");
}

static void
fs_child (msb_vm_child *c, void *arg)
{
  const fs_child_ctx *x = arg;
  /* As real root, in our own mount namespace: nothing may propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    msb_vm_child_die (c, errno, "make mounts private");
  if (x->share == MSB_VM_SHARE_ROOT)
    assemble_root (c, x);
  else
    assemble_volumes (c, x);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    msb_vm_child_die (c, errno, "open /dev/null");
  if (setns (x->spec.userns_fd, CLONE_NEWUSER) < 0)
    msb_vm_child_die (c, errno, "join the sandbox user namespace");
  if (setgroups (0, NULL) < 0 || setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    msb_vm_child_die (c, errno, "become root of the sandbox user namespace");
  msb_vm_child_die_with_parent (c);
  if (x->share == MSB_VM_SHARE_ROOT)
    guest_setup (c, x);
  /* virtiofsd's messages go to runtime.log, the runtime's stderr. */
  int fds[] = { null, null, STDERR_FILENO, x->listen_fd };
  msb_vm_child_arrange_fds (c, fds, 4);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    msb_vm_child_die (c, errno, "set no_new_privs");
  static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  execve (x->virtiofsd, x->argv, envp);
  msb_vm_child_die (c, errno, "execute `%s`", x->virtiofsd);
}

/* No xattrs: every exec would cost a getxattr(security.capability) round trip for a feature
 * images rarely use. Volumes are announced as submounts: each gets its own st_dev in the
 * guest, as on the host. */
static char **
virtiofsd_argv (const char *virtiofsd, msb_vm_share share)
{
  char **v = msb_xcalloc (16, sizeof (char *));
  size_t n = 0;
  v[n++] = msb_xstrdup (virtiofsd);
  v[n++] = msb_xstrdup ("--fd=3");
  v[n++] = msb_xstrdup ("-osource=" SHARE_DIR);
  v[n++] = msb_xstrdup (share == MSB_VM_SHARE_ROOT ? "-ocache=always" : "-ocache=auto");
  v[n++] = msb_xstrdup ("-osandbox=namespace");
  v[n++] = msb_xstrdup ("-olog_level=warn");
  v[n++] = msb_xstrdup ("-ono_xattr");
  if (share == MSB_VM_SHARE_VOLUMES)
    v[n++] = msb_xstrdup ("-oannounce_submounts");
  /* Raising RLIMIT_NOFILE needs CAP_SYS_RESOURCE on the host, which it does not have. */
  v[n++] = msb_xstrdup ("--rlimit-nofile=0");
  v[n] = NULL;
  return v;
}

bool
msb_vm_share_volume (const msb_ns_mount_plan *m)
{
  return m->kind == MSB_NS_MOUNT_BIND || m->kind == MSB_NS_MOUNT_DISK;
}

/* The plan of the volumes share: the shared mounts of `plan` at /vN. */
static msb_ns_mount_plan *
volume_mounts (const msb_ns_fs_plan *plan, size_t *n)
{
  msb_ns_mount_plan *v = msb_xcalloc (plan->n_mounts + 1, sizeof *v);
  *n = 0;
  for (size_t i = 0; i < plan->n_mounts; i++)
    if (msb_vm_share_volume (&plan->mounts[i]))
      {
        v[*n] = plan->mounts[i];
        v[*n].target = msb_xasprintf ("/v%zu", i);
        (*n)++;
      }
  return v;
}

int
msb_vm_fs_server_start (msb_runtime *rt, msb_cgroup *cg, const char *virtiofsd, msb_vm_share share,
                        const msb_ns_fs_plan *plan, int listen_fd, msb_vm_fs_server *out,
                        msb_error **err)
{
  out->pid = 0;
  out->pidfd = -1;
  _msb_cleanup_close_ int userns = -1;
  if (msb_ns_userns_create (rt->uid_base, MSB_UID_RANGE_SIZE, &userns, err) < 0)
    return -1;
  _msb_cleanup_strv_ char **layers = msb_runtime_layer_paths (rt);
  _msb_cleanup_free_ char *upper
      = plan->upper_dir ? msb_xstrdup (plan->upper_dir) : msb_xasprintf ("%s/upper", rt->sandbox_dir);
  _msb_cleanup_free_ char *work
      = plan->work_dir ? msb_xstrdup (plan->work_dir) : msb_xasprintf ("%s/work", rt->sandbox_dir);
  _msb_cleanup_free_ char *target = msb_xasprintf ("%s/rootfs", rt->sandbox_dir);
  _msb_cleanup_free_ char *runtime_dir = msb_xasprintf ("%s/runtime", rt->sandbox_dir);
  _msb_cleanup_strv_ char **argv = virtiofsd_argv (virtiofsd, share);
  msb_ns_fs_plan vols = { .uid_base = rt->uid_base, .staging_fd = -1 };
  if (share == MSB_VM_SHARE_VOLUMES)
    vols.mounts = volume_mounts (plan, &vols.n_mounts);
  fs_child_ctx x = {
    .share = share,
    .spec = { (const char *const *) layers, rt->image.layer_count, upper, work, target,
              runtime_dir, userns, rt->uid_base, plan },
    .plan = share == MSB_VM_SHARE_ROOT ? plan : &vols,
    .listen_fd = listen_fd,
    .virtiofsd = virtiofsd,
    .argv = argv,
  };
  int r = msb_vm_spawn (cg, CLONE_NEWNS,
                        share == MSB_VM_SHARE_ROOT ? "the root's file server (virtiofsd)"
                                                   : "the volumes' file server (virtiofsd)",
                        fs_child, &x, &out->pid, &out->pidfd, err);
  /* The entries share the plan's fds and strings except their targets. */
  for (size_t i = 0; i < vols.n_mounts; i++)
    free (vols.mounts[i].target);
  free (vols.mounts);
  return r;
}

bool
msb_vm_fs_server_exited (const msb_vm_fs_server *s)
{
  if (s->pidfd < 0)
    return true;
  struct pollfd p = { s->pidfd, POLLIN, 0 };
  return poll (&p, 1, 0) > 0;
}

void
msb_vm_fs_server_kill (msb_vm_fs_server *s)
{
  if (s->pidfd >= 0)
    syscall (SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

void
msb_vm_fs_server_release (msb_vm_fs_server *s)
{
  if (s->pidfd < 0)
    return;
  msb_vm_fs_server_kill (s);
  /* The runtime's loop reaps every child it sees (waitpid(-1)): ECHILD means it already did.
   * The pidfd makes the wait safe against a recycled pid. */
  siginfo_t si;
  while (waitid (P_PIDFD, (id_t) s->pidfd, &si, WEXITED) < 0 && errno == EINTR)
    ;
  close (s->pidfd);
  s->pidfd = -1;
  s->pid = 0;
}
