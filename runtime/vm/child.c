/* The vm backend's two host processes — virtiofsd (fs_server.c) and QEMU (qemu.c) — start
 * the same way the ns backend's sandbox process does: cloned straight into the sandbox's
 * cgroup (CLONE_INTO_CGROUP, or attached right after), moved into its v1 hierarchies by
 * writing "0" to pre-opened `tasks` files, dying with the runtime (PR_SET_PDEATHSIG), and
 * reporting a setup failure as "<errno>:<message>" on a close-on-exec pipe whose EOF means
 * the program is executing. This is one of the places that may print and exit: between
 * clone and exec.
 *
 * Must never: let a host fd other than the ones named reach the program. */
#include "runtime/vm/vm_child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

_Noreturn void
msb_vm_child_die_error (const msb_vm_child *c, const msb_error *e)
{
  msb_ns_child_report (c->error_fd, e);
}

_Noreturn void
msb_vm_child_die (const msb_vm_child *c, int errnum, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  char buf[1024];
  int n = errnum ? snprintf (buf, sizeof buf, "%d:%s: %s", errnum, msg, strerror (errnum))
                 : snprintf (buf, sizeof buf, "0:%s", msg);
  if (n > 0)
    (void) !write (c->error_fd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
  _exit (127);
}

void
msb_vm_child_die_with_parent (const msb_vm_child *c)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    msb_vm_child_die (c, errno, "set the parent-death signal");
  if (getppid () != c->parent)
    _exit (1);
}

static void
child_begin (msb_vm_child *c)
{
  /* The runtime blocks the signals it reads through signalfd; QEMU and virtiofsd must not
   * inherit that. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  msb_vm_child_die_with_parent (c);
  for (size_t i = 0; i < c->n_tasks_fds; i++)
    {
      if (write (c->tasks_fds[i], "0", 1) != 1)
        msb_vm_child_die (c, errno, "enter the sandbox cgroup");
      close (c->tasks_fds[i]);
    }
  c->n_tasks_fds = 0;
}

static void
close_range_safe (unsigned first, unsigned last)
{
  if (first <= last)
    syscall (SYS_close_range, first, last, 0);
}

void
msb_vm_child_arrange_fds (msb_vm_child *c, const int *fds, int n)
{
  /* Lift everything above the target range first so no dup2 clobbers a source. */
  int lifted[16];
  int base = n + 3 > 10 ? n + 3 : 10;
  for (int i = 0; i < n; i++)
    if ((lifted[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, base)) < 0)
      msb_vm_child_die (c, errno, "arrange file descriptors");
  c->error_fd = fcntl (c->error_fd, F_DUPFD_CLOEXEC, base);
  if (c->error_fd < 0)
    _exit (127);
  for (int i = 0; i < n; i++)
    if (dup2 (lifted[i], i) < 0)
      msb_vm_child_die (c, errno, "arrange file descriptors");
  close_range_safe ((unsigned) n, (unsigned) c->error_fd - 1);
  close_range_safe ((unsigned) c->error_fd + 1, ~0U);
}

int
msb_vm_spawn (msb_cgroup *cg, uint64_t clone_flags, const char *what, msb_vm_child_fn fn,
              void *arg, pid_t *out_pid, int *out_pidfd, msb_error **err)
{
  int errp[2];
  if (pipe2 (errp, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "start %s: pipe", what);
  _msb_cleanup_close_ int err_rd = errp[0];
  msb_vm_child c = { .error_fd = errp[1], .parent = getpid () };
  int n = msb_cgroup_open_v1_tasks (cg, c.tasks_fds, sizeof c.tasks_fds / sizeof c.tasks_fds[0], err);
  if (n < 0)
    {
      close (errp[1]);
      return -1;
    }
  c.n_tasks_fds = (size_t) n;
  _msb_cleanup_close_ int cgroup_fd = msb_cgroup_open_v2 (cg);
  int pidfd = -1;
  struct clone_args args;
  memset (&args, 0, sizeof args);
  args.flags = clone_flags | CLONE_PIDFD;
  args.pidfd = (uint64_t) (uintptr_t) &pidfd;
  args.exit_signal = SIGCHLD;
  bool into_cgroup = false;
  pid_t pid = -1;
  if (cgroup_fd >= 0)
    {
      struct clone_args with = args;
      with.flags |= CLONE_INTO_CGROUP;
      with.cgroup = (uint64_t) cgroup_fd;
      pid = (pid_t) syscall (SYS_clone3, &with, sizeof with);
      into_cgroup = pid >= 0;
    }
  if (pid < 0)
    pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid == 0)
    {
      close (err_rd);
      child_begin (&c);
      fn (&c, arg);
      msb_vm_child_die (&c, 0, "%s: setup returned", what);
    }
  int saved = errno;
  close (c.error_fd);
  for (size_t i = 0; i < c.n_tasks_fds; i++)
    close (c.tasks_fds[i]);
  if (pid < 0)
    return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "start %s: clone", what);
  int r = (!into_cgroup && msb_cgroup_attach_v2 (cg, pid, err) < 0)
                  || msb_ns_child_result (err_rd, err) < 0
              ? msb_error_prefix (err, "start %s", what)
              : 0;
  if (r < 0)
    {
      syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      close (pidfd);
      return -1;
    }
  *out_pid = pid;
  *out_pidfd = pidfd;
  return 0;
}
