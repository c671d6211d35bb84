#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"

extern char **environ;

static msb_runtime_entry_fn inprocess_runtime;

void
msb_spawn_set_inprocess_runtime (msb_runtime_entry_fn fn)
{
  inprocess_runtime = fn;
}

bool
msb_spawn_is_inprocess (void)
{
  return inprocess_runtime != NULL;
}

/* Fork, fork again and let the grandchild run the runtime: like `msb sandbox run` without
 * the exec. Only async-signal-safe calls happen before the entry takes over. */
static int
fork_runtime (const msb_home *home, const char *name, int ready_wr, int watchdog_rd, pid_t *pid,
              msb_error **err)
{
  fflush (NULL);
  *pid = fork ();
  if (*pid < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "fork the runtime");
  if (*pid > 0)
    return 0;
  pid_t runtime = fork ();
  if (runtime != 0)
    _exit (runtime < 0 ? 1 : 0);
  _exit (inprocess_runtime (home->root, name, ready_wr, watchdog_rd));
}

/* posix_spawn (vfork speed even from a large process such as Python), with the two pipe
 * ends we pass made inheritable (adddup2 onto itself clears close-on-exec) and stdio on
 * /dev/null so the runtime never holds the caller's terminal or pipes. */
static int
spawn_msb (const char *msb, char **argv, int ready_wr, int watchdog_rd, pid_t *pid,
           msb_error **err)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, ready_wr, ready_wr);
  if (watchdog_rd >= 0)
    posix_spawn_file_actions_adddup2 (&fa, watchdog_rd, watchdog_rd);
  int r = posix_spawn (pid, msb, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0)
    return msb_fail_errno (err, r, MSB_ERR_GENERIC, "start runtime `%s`", msb);
  return 0;
}

static int
read_report (int fd, int timeout_ms, char **out, msb_error **err)
{
  msb_buf b = MSB_BUF_INIT;
  uint64_t deadline = msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u;
  for (;;)
    {
      uint64_t now = msb_now_mono_ns ();
      struct pollfd pfd = { fd, POLLIN, 0 };
      int r = now >= deadline ? 0 : poll (&pfd, 1, (int) ((deadline - now) / 1000000u) + 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          msb_buf_free (&b);
          return msb_fail (err, MSB_ERR_GENERIC, "the sandbox did not start within %d ms",
                           timeout_ms);
        }
      ssize_t n = read (fd, msb_buf_reserve (&b, 4096), 4095);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      b.len += (size_t) n;
    }
  msb_buf_append_byte (&b, 0);
  *out = (char *) b.data;
  return 0;
}

static int
parse_report (const char *text, const char *name, msb_error **err)
{
  json_t *j = json_loads (text, JSON_DISABLE_EOF_CHECK, NULL);
  if (j == NULL)
    return msb_fail (err, MSB_ERR_GENERIC,
                     "the runtime of sandbox `%s` exited without a report (see its logs/runtime.log)",
                     name);
  int r = 0;
  if (!json_is_true (json_object_get (j, "ok")))
    {
      msb_error_kind kind = msb_error_kind_from_code (json_string_value (json_object_get (j, "kind")));
      const char *msg = json_string_value (json_object_get (j, "message"));
      int errnum = (int) json_integer_value (json_object_get (j, "errno"));
      if (err)
        *err = msb_error_new (kind, errnum, msg ? msg : "the sandbox failed to start");
      r = -1;
    }
  json_decref (j);
  return r;
}

int
msb_spawn_runtime (const msb_home *home, const char *name, bool detached, int timeout_ms,
                   int *watchdog_fd, msb_error **err)
{
  _msb_cleanup_free_ char *msb = inprocess_runtime ? NULL : msb_find_helper ("msb", err);
  if (msb == NULL && inprocess_runtime == NULL)
    return -1;
  int ready[2], wd[2] = { -1, -1 };
  if (pipe2 (ready, O_CLOEXEC) < 0 || (!detached && pipe2 (wd, O_CLOEXEC) < 0))
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create runtime pipes");
  _msb_cleanup_close_ int ready_rd = ready[0];
  _msb_cleanup_close_ int ready_wr = ready[1];
  _msb_cleanup_close_ int wd_rd = wd[0];
  _msb_cleanup_close_ int wd_wr = wd[1];
  char rfd[16], wfd[16];
  snprintf (rfd, sizeof rfd, "%d", ready_wr);
  snprintf (wfd, sizeof wfd, "%d", wd_rd);
  char *argv[] = { "msb", "sandbox", "run", "--name", (char *) name, "--home", home->root,
                   "--ready-fd", rfd, detached ? NULL : "--watchdog-fd", wfd, NULL };
  pid_t pid;
  int r = inprocess_runtime ? fork_runtime (home, name, ready_wr, wd_rd, &pid, err)
                            : spawn_msb (msb, argv, ready_wr, wd_rd, &pid, err);
  if (r < 0)
    return -1;
  /* The spawned process forks the real runtime and exits at once. */
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  close (ready_wr);
  ready_wr = -1;
  _msb_cleanup_free_ char *report = NULL;
  if (read_report (ready_rd, timeout_ms, &report, err) < 0 || parse_report (report, name, err) < 0)
    return -1;
  if (!detached)
    *watchdog_fd = msb_steal_fd (&wd_wr);
  return 0;
}
