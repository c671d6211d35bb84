/* The sandbox's first process, between clone and exec of msb-agent. This is the one place
 * besides main that may print and exit: a failure is written to the error pipe, which the
 * parent turns into the create error. Order matters:
 *   1. die with the parent; enter the sandbox's v1 cgroups (we were cloned into the v2 one):
 *      writing "0" to `tasks` moves the calling thread without the global threadgroup lock,
 *      whose first writer would wait ~10 ms for an RCU grace period;
 *   2. as real root: root filesystem, API filesystems, pivot_root, hostname, loopback;
 *   3. wait for the parent's go (it attaches us to v2 itself only on kernels without
 *      CLONE_INTO_CGROUP); a new cgroup namespace makes the sandbox cgroup its root;
 *   4. join the sandbox user namespace and become its root — from here on no capability
 *      reaches the mount, network, uts or ipc namespaces, which the initial namespace owns —
 *      and, as that user, apply the first boot's patches and write /.msb/scripts;
 *   5. drop capabilities, set no_new_privs, load seccomp, leave only the agent channel open,
 *      and execveat the agent binary held by fd (it is not inside the sandbox root). */
#include "runtime/ns/child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/ns/volumes.h"

#define AGENT_FD 3

void
msb_ns_child_report (int error_fd, const msb_error *e)
{
  char buf[1024];
  int n = snprintf (buf, sizeof buf, "%d:%s", msb_error_get_errno (e), msb_error_get_message (e));
  if (n > 0)
    (void) !write (error_fd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
  _exit (127);
}

int
msb_ns_child_result (int error_fd, msb_error **err)
{
  char buf[1024];
  ssize_t n = msb_read_full (error_fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  char *colon = strchr (buf, ':');
  msb_error_clear (err);
  if (err)
    *err = msb_error_new (MSB_ERR_GENERIC, atoi (buf), colon ? colon + 1 : buf);
  return -1;
}

__attribute__ ((noreturn)) static void
die (const msb_ns_child *c, msb_error *e)
{
  msb_ns_child_report (c->error_fd, e);
}

__attribute__ ((noreturn)) static void
die_errno (const msb_ns_child *c, const char *what)
{
  msb_error *e = NULL;
  msb_fail_errno (&e, errno, MSB_ERR_GENERIC, "%s", what);
  die (c, e);
}

static void
wait_for_parent (const msb_ns_child *c)
{
  char go = 0;
  if (msb_read_full (c->go_fd, &go, 1) != 1)
    _exit (1); /* the runtime is gone */
}

static void
enter_cgroups (msb_ns_child *c)
{
  for (size_t i = 0; i < c->n_cgroup_tasks_fds; i++)
    {
      if (write (c->cgroup_tasks_fds[i], "0", 1) != 1)
        die_errno (c, "enter the sandbox cgroup");
      close (c->cgroup_tasks_fds[i]);
    }
  c->n_cgroup_tasks_fds = 0;
}

static void
become_sandbox_root (const msb_ns_child *c)
{
  if (setns (c->userns_fd, CLONE_NEWUSER) < 0)
    die_errno (c, "join the sandbox user namespace");
  if (setgroups (0, NULL) < 0 || setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    die_errno (c, "become root of the sandbox user namespace");
  /* Changing credentials cleared the parent-death signal. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_errno (c, "set parent-death signal");
}

static void
confine (const msb_ns_child *c)
{
  msb_error *e = NULL;
  if (msb_ns_caps_drop (&e) < 0)
    die (c, e);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_errno (c, "set no_new_privs");
  if (msb_ns_seccomp_load (&e) < 0)
    die (c, e);
}

static void
close_range_safe (unsigned first, unsigned last)
{
  if (first <= last)
    syscall (SYS_close_range, first, last, 0);
}

/* stdio to /dev/null, the channel to fd 3, everything else closed: no host fd reaches the
 * sandbox. The agent binary and the error pipe survive (close-on-exec) until execveat. */
static void
arrange_fds (msb_ns_child *c)
{
  /* Move what we still need above the stdio + channel range so the dup2s cannot clobber it. */
  int chan = fcntl (c->agent_channel_fd, F_DUPFD_CLOEXEC, 10);
  c->error_fd = fcntl (c->error_fd, F_DUPFD_CLOEXEC, 10);
  c->agent_exe_fd = fcntl (c->agent_exe_fd, F_DUPFD_CLOEXEC, 10);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (chan < 0 || c->error_fd < 0 || c->agent_exe_fd < 0 || null < 0)
    die_errno (c, "arrange file descriptors");
  if (dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0 || dup2 (chan, AGENT_FD) < 0)
    die_errno (c, "set up stdio");
  unsigned lo = (unsigned) (c->error_fd < c->agent_exe_fd ? c->error_fd : c->agent_exe_fd);
  unsigned hi = (unsigned) (c->error_fd < c->agent_exe_fd ? c->agent_exe_fd : c->error_fd);
  close_range_safe (AGENT_FD + 1, lo - 1);
  close_range_safe (lo + 1, hi - 1);
  close_range_safe (hi + 1, ~0U);
}

void
msb_ns_child_run (const msb_ns_child *in)
{
  msb_ns_child c = *in;
  msb_error *e = NULL;
  /* The runtime blocks the signals it reads through signalfd; the agent must not inherit that. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    die_errno (&c, "set parent-death signal");
  enter_cgroups (&c);
  msb_ns_net_open_low_ports ();
  if (msb_ns_rootfs_enter (&c.rootfs, &e) < 0)
    die (&c, e);
  if (c.hostname && sethostname (c.hostname, strlen (c.hostname)) < 0)
    die_errno (&c, "set hostname");
  if (msb_ns_net_setup_loopback (&e) < 0 || (c.net_files && msb_ns_net_bind_files (c.rootfs.uid_base, &e) < 0))
    die (&c, e);
  wait_for_parent (&c);
  if (unshare (CLONE_NEWCGROUP) < 0)
    die_errno (&c, "create cgroup namespace");
  become_sandbox_root (&c);
  if (c.fs && msb_ns_guest_setup (c.fs, &e) < 0)
    die (&c, e);
  arrange_fds (&c);
  confine (&c);
  static char *const argv[] = { "msb-agent", NULL };
  static char *const envp[] = { "MSB_AGENT_FD=3", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  syscall (SYS_execveat, c.agent_exe_fd, "", argv, envp, AT_EMPTY_PATH);
  die_errno (&c, "execute msb-agent");
}
