/* Child-side setup between fork() and execve() (see spawn.h). Order matters:
 *   setsid → pty as controlling terminal → stdio → rlimits → chdir → groups, gid, uid →
 *   signal mask and dispositions → execve with a PATH search in the child's environment.
 * setsid first: TIOCSCTTY needs a session leader without a terminal. rlimits before the user
 * switch: once the uid changes the child can only lower limits. chdir also runs with the
 * agent's credentials (the specified order), so a directory the target user cannot search
 * still becomes its working directory, as with `docker run -u`. The mask is restored last so
 * a signal sent to the new process group while it is being set up stays pending until the
 * child is ready to die from it.
 * Along with main(), the only code allowed to _exit(). */
#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The exit status of a child that could not exec, as a shell would report it. */
#define SPAWN_FAILED_EXIT 127

_Noreturn static void __attribute__ ((format (printf, 4, 5)))
report_and_exit (const agent_spawn_spec *spec, agent_spawn_stage stage, int errnum,
                 const char *fmt, ...)
{
  agent_spawn_report r = { .stage = stage, .errnum = errnum };
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (r.message, sizeof r.message, fmt, ap);
  va_end (ap);
  ssize_t n;
  do
    n = write (spec->report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  _exit (SPAWN_FAILED_EXIT);
}

static int
setup_stdio (const agent_spawn_spec *spec)
{
  /* The agent keeps 0-2 open (on /dev/null), so every fd here is >= 3 and dup2 never
   * clobbers a source it still needs. dup2 clears O_CLOEXEC on the copies. */
  if (dup2 (spec->stdin_fd, 0) < 0 || dup2 (spec->stdout_fd, 1) < 0 || dup2 (spec->stderr_fd, 2) < 0)
    return -1;
  return 0;
}

static int
apply_rlimits (const agent_spawn_spec *spec, size_t *failed_index)
{
  /* The agent raised its own soft nofile for its many session fds; children start from
   * what the sandbox gave the agent. */
  setrlimit (RLIMIT_NOFILE, &spec->nofile_base);
  for (size_t i = 0; i < spec->n_rlimits; i++)
    if (setrlimit (spec->rlimits[i].resource, &spec->rlimits[i].limit) < 0)
      {
        *failed_index = i;
        return -1;
      }
  return 0;
}

static bool
groups_already_set (const agent_spawn_spec *spec)
{
  gid_t current[256];
  int n = getgroups (256, current);
  if (n < 0 || (size_t) n != spec->n_groups)
    return false;
  for (size_t i = 0; i < spec->n_groups; i++)
    if (current[i] != spec->groups[i])
      return false;
  return true;
}

static int
switch_user (const agent_spawn_spec *spec)
{
  /* setgroups needs CAP_SETGID even to set the current list, and is denied outright in a
   * user namespace whose setgroups file says "deny"; skip it when it would change nothing
   * or cannot be done at all. */
  if (!groups_already_set (spec) && spec->can_setgroups
      && setgroups (spec->n_groups, spec->groups) < 0)
    return -1;
  if (setgid (spec->gid) < 0 || setuid (spec->uid) < 0)
    return -1;
  return 0;
}

static int
reset_signals (const agent_spawn_spec *spec)
{
  /* Handlers are reset by execve, ignored dispositions and the mask are not. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember (spec->ignored_signals, sig) == 1)
      signal (sig, SIG_DFL);
  sigset_t none;
  sigemptyset (&none);
  return sigprocmask (SIG_SETMASK, &none, NULL);
}

/* execve of one candidate; on EACCES tells a directory apart (EISDIR → not_executable). */
static int
try_exec (const char *file, const agent_spawn_spec *spec, char *failed_path)
{
  execve (file, spec->argv, spec->envp);
  int errnum = errno;
  struct stat st;
  if (errnum == EACCES && stat (file, &st) == 0 && S_ISDIR (st.st_mode))
    errnum = EISDIR;
  if (errnum != ENOENT && errnum != ENOTDIR)
    snprintf (failed_path, PATH_MAX, "%s", file);
  return errnum;
}

/* execvpe() semantics on the child's own PATH, minus the /bin/sh retry on ENOEXEC: a file
 * that is not an executable is reported as such instead of being run as a script. */
static int
exec_command (const agent_spawn_spec *spec, char *failed_path)
{
  if (strchr (spec->cmd, '/'))
    return try_exec (spec->cmd, spec, failed_path);
  size_t cmd_len = strlen (spec->cmd);
  int result = ENOENT;
  char candidate[PATH_MAX];
  for (const char *dir = spec->path; dir;)
    {
      const char *end = strchrnul (dir, ':');
      size_t dir_len = (size_t) (end - dir);
      const char *next = *end ? end + 1 : NULL;
      if (dir_len + 1 + cmd_len + 1 <= sizeof candidate)
        {
          /* An empty element is the current directory, as in execvp. */
          memcpy (candidate, dir, dir_len);
          size_t off = dir_len;
          if (dir_len > 0)
            candidate[off++] = '/';
          memcpy (candidate + off, spec->cmd, cmd_len + 1);
          int errnum = try_exec (candidate, spec, failed_path);
          if (errnum == EACCES || errnum == EISDIR)
            result = errnum;
          else if (errnum != ENOENT && errnum != ENOTDIR && errnum != ELOOP
                   && errnum != ENAMETOOLONG && errnum != ESTALE && errnum != ENODEV
                   && errnum != ETIMEDOUT)
            return errnum;
        }
      dir = next;
    }
  return result;
}

_Noreturn static void
report_exec_failure (const agent_spawn_spec *spec, int errnum, const char *failed_path)
{
  if (errnum == ENOENT && !strchr (spec->cmd, '/'))
    report_and_exit (spec, AGENT_SPAWN_STAGE_EXEC, errnum, "`%s`: command not found in PATH",
                     spec->cmd);
  if (*failed_path && strcmp (failed_path, spec->cmd) != 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_EXEC, errnum, "exec `%s` (%s): %s", spec->cmd,
                     failed_path, strerror (errnum));
  report_and_exit (spec, AGENT_SPAWN_STAGE_EXEC, errnum, "exec `%s`: %s", spec->cmd,
                   strerror (errnum));
}

_Noreturn void
agent_spawn_child (const agent_spawn_spec *spec)
{
  static char failed_path[PATH_MAX];
  size_t bad = 0;
  if (setsid () < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_SPAWN, errno, "start `%s`: setsid: %s", spec->cmd,
                     strerror (errno));
  if (spec->has_tty && ioctl (spec->stdin_fd, TIOCSCTTY, 0) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_PTY, errno,
                     "make the pty the controlling terminal of `%s`: %s", spec->cmd,
                     strerror (errno));
  if (setup_stdio (spec) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_SPAWN, errno, "start `%s`: set up stdio: %s",
                     spec->cmd, strerror (errno));
  /* Every agent fd is O_CLOEXEC already; this keeps it so even if one was missed. */
  close_range (3u, ~0u, CLOSE_RANGE_CLOEXEC);
  if (apply_rlimits (spec, &bad) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_RLIMIT, errno,
                     "set rlimit %s of `%s` to soft %llu, hard %llu: %s", spec->rlimits[bad].name,
                     spec->cmd, (unsigned long long) spec->rlimits[bad].limit.rlim_cur,
                     (unsigned long long) spec->rlimits[bad].limit.rlim_max, strerror (errno));
  if (chdir (spec->cwd) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_CHDIR, errno, "chdir to `%s`: %s", spec->cwd,
                     strerror (errno));
  if (switch_user (spec) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_USER, errno, "switch to user `%s` (uid %u, gid %u): %s",
                     spec->user_spec, (unsigned) spec->uid, (unsigned) spec->gid, strerror (errno));
  if (reset_signals (spec) < 0)
    report_and_exit (spec, AGENT_SPAWN_STAGE_SPAWN, errno, "start `%s`: reset signals: %s",
                     spec->cmd, strerror (errno));
  int errnum = exec_command (spec, failed_path);
  report_exec_failure (spec, errnum, failed_path);
}
