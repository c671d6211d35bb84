/* The root filesystem of a vm sandbox: the ns backend's root, served to the guest by
 * virtiofsd.
 *
 * A child in a private mount namespace assembles exactly what the ns backend's sandbox
 * process assembles — the overlay of the cached image layers (idmapped into the sandbox's
 * uid range, so nothing is copied per sandbox) and the sandbox's writable layer, /.msb, the
 * volumes with their id mappings — at <sandbox>/rootfs, then joins the sandbox's user
 * namespace as its root, applies the first boot's patches and /.msb/scripts inside it, and
 * executes virtiofsd on that tree. The mounts exist only in that namespace and disappear with
 * virtiofsd.
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

/* Where virtiofsd finds the root: a path root of the sandbox's user namespace can traverse.
 * The sandbox directory is 0700 and owned by host root; in the child's mount namespace a
 * fresh tmpfs covers /tmp and the assembled root is moved into it, once nothing else needs
 * a host path under /tmp (bind volumes are resolved before). */
#define SHARE_PARENT "/tmp"
#define SHARE_DIR "/tmp/root"

typedef struct fs_child_ctx
{
  msb_rootfs_spec spec;
  const msb_ns_fs_plan *plan;
  int listen_fd;
  const char *virtiofsd;
  char *const *argv;
} fs_child_ctx;

static void
assemble_root (msb_vm_child *c, const fs_child_ctx *x)
{
  msb_error *e = NULL;
  /* As real root, in our own mount namespace: nothing may propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    msb_vm_child_die (c, errno, "make mounts private");
  if (x->plan && x->plan->upper_image && msb_ns_upper_disk_mount (x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (msb_ns_overlay_mount (&x->spec, &e) < 0)
    msb_vm_child_die_error (c, e);
  _msb_cleanup_close_ int rootfd = open (x->spec.target, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (rootfd < 0)
    msb_vm_child_die (c, errno, "open the sandbox root");
  if (msb_ns_bind_runtime_dir (rootfd, x->spec.runtime_dir, x->spec.uid_base, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (x->plan && msb_ns_volumes_mount (rootfd, x->plan, &e) < 0)
    msb_vm_child_die_error (c, e);
  if (mount ("tmpfs", SHARE_PARENT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=64k") < 0)
    msb_vm_child_die (c, errno, "mount a tmpfs at %s", SHARE_PARENT);
  if (mkdir (SHARE_DIR, 0755) < 0)
    msb_vm_child_die (c, errno, "create %s", SHARE_DIR);
  if (mount (x->spec.target, SHARE_DIR, NULL, MS_MOVE, NULL) < 0)
    msb_vm_child_die (c, errno, "move the sandbox root to %s", SHARE_DIR);
}

/* Patches and scripts are written by the sandbox's root inside its root (chroot), as on the
 * ns backend; then back to the host's root, where virtiofsd finds /proc and itself. */
static void
guest_setup (msb_vm_child *c, const fs_child_ctx *x)
{
  if (x->plan == NULL)
    return;
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
  assemble_root (c, x);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    msb_vm_child_die (c, errno, "open /dev/null");
  if (setns (x->spec.userns_fd, CLONE_NEWUSER) < 0)
    msb_vm_child_die (c, errno, "join the sandbox user namespace");
  if (setgroups (0, NULL) < 0 || setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    msb_vm_child_die (c, errno, "become root of the sandbox user namespace");
  msb_vm_child_die_with_parent (c);
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

static char **
layer_paths (msb_runtime *rt)
{
  char **v = msb_xcalloc (rt->image.layer_count + 1, sizeof (char *));
  for (size_t i = 0; i < rt->image.layer_count; i++)
    v[i] = msb_image_layer_path (&rt->home, rt->image.diff_ids[i]);
  return v;
}

/* cache=auto: the guest caches metadata and data for a second — volumes may be shared with
 * other sandboxes and the host, so no longer. No xattrs: every exec would cost a
 * getxattr(security.capability) round trip for a feature images rarely use. */
static char **
virtiofsd_argv (const char *virtiofsd)
{
  char **v = msb_xcalloc (16, sizeof (char *));
  size_t n = 0;
  v[n++] = msb_xstrdup (virtiofsd);
  v[n++] = msb_xstrdup ("--fd=3");
  v[n++] = msb_xstrdup ("-osource=" SHARE_DIR);
  v[n++] = msb_xstrdup ("-ocache=auto");
  v[n++] = msb_xstrdup ("-osandbox=namespace");
  v[n++] = msb_xstrdup ("-olog_level=warn");
  v[n++] = msb_xstrdup ("-ono_xattr");
  v[n++] = msb_xstrdup ("-oannounce_submounts");
  /* Raising RLIMIT_NOFILE needs CAP_SYS_RESOURCE on the host, which it does not have. */
  v[n++] = msb_xstrdup ("--rlimit-nofile=0");
  v[n] = NULL;
  return v;
}

int
msb_vm_fs_server_start (msb_runtime *rt, msb_cgroup *cg, const char *virtiofsd, int listen_fd,
                        msb_vm_fs_server *out, msb_error **err)
{
  out->pid = 0;
  out->pidfd = -1;
  _msb_cleanup_close_ int userns = -1;
  if (msb_ns_userns_create (rt->uid_base, MSB_UID_RANGE_SIZE, &userns, err) < 0)
    return -1;
  __attribute__ ((cleanup (msb_ns_fs_plan_clear))) msb_ns_fs_plan plan = { .staging_fd = -1 };
  if (msb_ns_fs_prepare (rt, &plan, err) < 0)
    return msb_error_prefix (err, "prepare the sandbox filesystem");
  _msb_cleanup_strv_ char **layers = layer_paths (rt);
  _msb_cleanup_free_ char *upper
      = plan.upper_dir ? msb_xstrdup (plan.upper_dir) : msb_xasprintf ("%s/upper", rt->sandbox_dir);
  _msb_cleanup_free_ char *work
      = plan.work_dir ? msb_xstrdup (plan.work_dir) : msb_xasprintf ("%s/work", rt->sandbox_dir);
  _msb_cleanup_free_ char *target = msb_xasprintf ("%s/rootfs", rt->sandbox_dir);
  _msb_cleanup_free_ char *runtime_dir = msb_xasprintf ("%s/runtime", rt->sandbox_dir);
  _msb_cleanup_strv_ char **argv = virtiofsd_argv (virtiofsd);
  fs_child_ctx x = {
    .spec = { (const char *const *) layers, rt->image.layer_count, upper, work, target,
              runtime_dir, userns, rt->uid_base, &plan },
    .plan = &plan,
    .listen_fd = listen_fd,
    .virtiofsd = virtiofsd,
    .argv = argv,
  };
  int r = msb_vm_spawn (cg, CLONE_NEWNS, "the filesystem server (virtiofsd)", fs_child, &x,
                        &out->pid, &out->pidfd, err);
  msb_ns_fs_finish (rt, &plan, r == 0);
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
