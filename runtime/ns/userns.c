/* User namespaces held by fd. A short-lived helper process unshares a user namespace, the
 * parent writes its maps and keeps an fd to it; the helper then exits (the fd keeps the
 * namespace alive). Used for the sandbox's own namespace and for the id mappings of
 * idmapped volume mounts (idmap.c).
 *
 * Owning the sandbox's namespace by fd, not by the sandbox's init, lets the child do all
 * privileged setup as real root first and join the namespace as its last step, so the
 * sandbox's mount, pid, net, uts and ipc namespaces stay owned by the initial user namespace
 * and root inside cannot remount, reconfigure the network or set the hostname. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

static void
reap (pid_t pid)
{
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* The helper must never outlive the runtime: a SIGKILLed runtime cannot reap it, and a
 * lingering copy would keep the runtime's descriptors — its live lock above all, so the dead
 * sandbox would look alive forever. It keeps only the sync pipe and dies with its parent
 * (checked after arming, in case the parent died first). */
__attribute__ ((noreturn)) static void
helper_main (int wr, pid_t parent)
{
  syscall (SYS_close_range, 3, (unsigned) wr - 1, 0);
  syscall (SYS_close_range, (unsigned) wr + 1, ~0U, 0);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (1);
  char ok = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
  (void) !write (wr, &ok, 1);
  pause ();
  _exit (0);
}

static int
write_map (pid_t pid, const char *file, const char *map, msb_error **err)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  if (msb_write_string_at (AT_FDCWD, path, map, err) < 0)
    return msb_error_prefix (err, "write %s of a user namespace", file);
  return 0;
}

int
msb_ns_userns_from_maps (const char *uid_map, const char *gid_map, int *out_fd, msb_error **err)
{
  int sync[2];
  if (pipe2 (sync, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create user namespace: pipe");
  _msb_cleanup_close_ int rd = sync[0];
  _msb_cleanup_close_ int wr = sync[1];
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create user namespace: fork");
  if (pid == 0)
    helper_main (wr, parent);
  close (wr);
  wr = -1;
  char ok = 0;
  if (msb_read_full (rd, &ok, 1) != 1 || ok != 'y')
    {
      reap (pid);
      return msb_fail (err, MSB_ERR_UNSUPPORTED,
                       "create user namespace: unshare(CLONE_NEWUSER) failed (are user "
                       "namespaces enabled? see /proc/sys/user/max_user_namespaces)");
    }
  if (write_map (pid, "uid_map", uid_map, err) < 0 || write_map (pid, "gid_map", gid_map, err) < 0)
    {
      reap (pid);
      return -1;
    }
  char nspath[64];
  snprintf (nspath, sizeof nspath, "/proc/%d/ns/user", (int) pid);
  int fd = open (nspath, O_RDONLY | O_CLOEXEC);
  int saved = errno;
  reap (pid);
  if (fd < 0)
    return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "open `%s`", nspath);
  *out_fd = fd;
  return 0;
}

int
msb_ns_userns_create (uint32_t base, uint32_t count, int *out_fd, msb_error **err)
{
  char map[64];
  snprintf (map, sizeof map, "0 %u %u\n", base, count);
  return msb_ns_userns_from_maps (map, map, out_fd, err);
}
