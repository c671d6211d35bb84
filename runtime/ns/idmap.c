/* User namespaces that only describe an id mapping, for idmapped mounts of volumes: the
 * sandbox's own namespace maps 0..65535 to its uid range; a volume needs a different picture
 * (a named volume's range, or a bind directory's owner for the sandbox's root). Same helper
 * pattern as userns.c: a short-lived child unshares, the parent writes the maps and keeps an
 * fd to the namespace; the child never outlives the runtime and keeps none of its fds.
 *
 * Must never: map anything to or from host uid or gid 0 — the callers build the maps, this
 * file refuses such a map outright, so an idmapped mount can never produce a root-owned
 * file. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/volumes.h"

static void
reap (pid_t pid)
{
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* "inside outside count" lines. In a mount's id mapping "inside" is the id stored on disk and
 * "outside" the id processes see, so a range whose inside starts at 0 would let a sandbox
 * write files owned by the host's root: refused, as is making host-root files visible. */
static int
map_text (const msb_ns_idmap_range *r, size_t n, char *buf, size_t len, msb_error **err)
{
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    {
      if (r[i].inside == 0 || r[i].outside == 0 || r[i].count == 0)
        return msb_fail (err, MSB_ERR_GENERIC, "refusing an id mapping onto the host's root");
      int w = snprintf (buf + off, len - off, "%u %u %u\n", r[i].inside, r[i].outside, r[i].count);
      if (w < 0 || (size_t) w >= len - off)
        return msb_fail (err, MSB_ERR_GENERIC, "id mapping too long");
      off += (size_t) w;
    }
  return 0;
}

int
msb_ns_idmap_userns (const msb_ns_idmap *map, int *out_fd, msb_error **err)
{
  char uids[256], gids[256];
  if (map_text (map->uid, map->n_uid, uids, sizeof uids, err) < 0
      || map_text (map->gid, map->n_gid, gids, sizeof gids, err) < 0)
    return -1;
  int sync[2];
  if (pipe2 (sync, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "id mapping: pipe");
  _msb_cleanup_close_ int rd = sync[0];
  _msb_cleanup_close_ int wr = sync[1];
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "id mapping: fork");
  if (pid == 0)
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
  close (wr);
  wr = -1;
  char ok = 0;
  if (msb_read_full (rd, &ok, 1) != 1 || ok != 'y')
    {
      reap (pid);
      return msb_fail (err, MSB_ERR_UNSUPPORTED, "id mapping: unshare(CLONE_NEWUSER) failed");
    }
  char path[64];
  int r = 0;
  snprintf (path, sizeof path, "/proc/%d/uid_map", (int) pid);
  if (msb_write_string_at (AT_FDCWD, path, uids, err) < 0)
    r = -1;
  snprintf (path, sizeof path, "/proc/%d/gid_map", (int) pid);
  if (r == 0 && msb_write_string_at (AT_FDCWD, path, gids, err) < 0)
    r = -1;
  int fd = -1;
  if (r == 0)
    {
      snprintf (path, sizeof path, "/proc/%d/ns/user", (int) pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open `%s`", path);
    }
  reap (pid);
  if (r < 0)
    return msb_error_prefix (err, "create the id mapping of a volume");
  *out_fd = fd;
  return 0;
}
