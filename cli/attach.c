/* Bridging this process's terminal or pipes to a command in a sandbox: stdin forwarded
 * (until EOF in pipe mode), stdout and stderr written as they arrive, the terminal in raw
 * mode with window-size changes forwarded when a PTY is used, and SIGINT/SIGTERM/SIGHUP
 * forwarded to the command's process group in pipe mode. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct bridge
{
  msb_exec *ex;
  bool tty;
  bool stdin_open;
  bool stdout_ok;
  bool done;
  int exit_status;
  int sigfd;
} bridge;

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
write_out (bridge *b, int fd, const uint8_t *data, size_t len)
{
  while (len > 0 && (fd == STDERR_FILENO || b->stdout_ok))
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (fd == STDOUT_FILENO)
            b->stdout_ok = false; /* reader went away: keep running, drop output */
          return;
        }
      data += n;
      len -= (size_t) n;
    }
}

static int
failed_status (const msb_exec_event *ev)
{
  fprintf (stderr, "msb: %s\n", ev->message ? ev->message : "command failed to start");
  switch (ev->fail_kind)
    {
    case MSB_EXEC_FAIL_NOT_FOUND:
      return MSB_EXIT_NOT_FOUND;
    case MSB_EXEC_FAIL_PERMISSION_DENIED:
    case MSB_EXEC_FAIL_NOT_EXECUTABLE:
      return MSB_EXIT_NOT_EXECUTABLE;
    default:
      return MSB_EXIT_MSB_FAILED;
    }
}

/* Takes every queued event without blocking. */
static int
drain_events (bridge *b)
{
  for (;;)
    {
      msb_exec_event ev;
      msb_error *err = NULL;
      int r = msb_exec_next (b->ex, &ev, 0, &err);
      if (r < 0 && msb_error_get_kind (err) == MSB_ERR_EXEC_TIMEOUT)
        {
          msb_error_free (err);
          return 0;
        }
      if (r < 0)
        {
          b->done = true;
          b->exit_status = cli_fail (err, MSB_EXIT_MSB_FAILED);
          return -1;
        }
      if (r == 0)
        {
          b->done = true;
          return 0;
        }
      switch (ev.type)
        {
        case MSB_EXEC_EVENT_STDOUT:
          write_out (b, STDOUT_FILENO, ev.data, ev.len);
          break;
        case MSB_EXEC_EVENT_STDERR:
          write_out (b, STDERR_FILENO, ev.data, ev.len);
          break;
        case MSB_EXEC_EVENT_EXITED:
          b->exit_status = ev.code < 0 ? MSB_EXIT_SIGNALED : ev.code;
          break;
        case MSB_EXEC_EVENT_FAILED:
          b->exit_status = failed_status (&ev);
          break;
        default:
          break;
        }
    }
}

static void
forward_stdin (bridge *b)
{
  uint8_t buf[65536];
  ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n > 0)
    {
      msb_exec_write_stdin (b->ex, buf, (size_t) n, NULL);
      return;
    }
  b->stdin_open = false;
  if (!b->tty)
    msb_exec_close_stdin (b->ex, NULL);
}

static void
forward_winsize (bridge *b)
{
  struct winsize ws;
  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    msb_exec_resize (b->ex, ws.ws_row, ws.ws_col, NULL);
}

static void
handle_signals (bridge *b)
{
  struct signalfd_siginfo si;
  while (read (b->sigfd, &si, sizeof si) == (ssize_t) sizeof si)
    {
      if (si.ssi_signo == SIGWINCH)
        forward_winsize (b);
      else
        msb_exec_signal (b->ex, (int) si.ssi_signo, NULL);
    }
}

static int
setup_signals (sigset_t *old)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  sigprocmask (SIG_BLOCK, &set, old);
  return signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
kill_after_timeout (bridge *b, double timeout_s)
{
  fprintf (stderr, "msb: command timed out after %gs\n", timeout_s);
  msb_exec_signal (b->ex, SIGKILL, NULL);
  uint64_t deadline = now_ns () + 5000000000ull;
  while (!b->done && now_ns () < deadline)
    {
      struct pollfd p = { msb_exec_event_fd (b->ex), POLLIN, 0 };
      poll (&p, 1, 100);
      drain_events (b);
    }
  b->exit_status = MSB_EXIT_TIMEOUT;
}

static void
pump (bridge *b, double timeout_s)
{
  uint64_t deadline = timeout_s > 0 ? now_ns () + (uint64_t) (timeout_s * 1e9) : 0;
  while (!b->done)
    {
      struct pollfd p[3] = {
        { msb_exec_event_fd (b->ex), POLLIN, 0 },
        { b->sigfd, POLLIN, 0 },
        { b->stdin_open ? STDIN_FILENO : -1, POLLIN, 0 },
      };
      int wait_ms = -1;
      if (deadline)
        {
          uint64_t now = now_ns ();
          if (now >= deadline)
            {
              kill_after_timeout (b, timeout_s);
              return;
            }
          wait_ms = (int) ((deadline - now) / 1000000u) + 1;
        }
      if (poll (p, 3, wait_ms) < 0 && errno != EINTR)
        break;
      if (p[1].revents)
        handle_signals (b);
      if (p[2].revents)
        forward_stdin (b);
      if (p[0].revents || !b->done)
        drain_events (b);
    }
}

int
cli_exec_attached (msb_sandbox *sb, const char *cmd, const char *const *args, msb_exec_opts *opts,
                   double timeout_s)
{
  bridge b = { .tty = opts->tty, .stdin_open = true, .stdout_ok = true, .exit_status = 0 };
  signal (SIGPIPE, SIG_IGN);
  struct winsize ws;
  if (b.tty && ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    {
      opts->rows = ws.ws_row;
      opts->cols = ws.ws_col;
    }
  opts->stdin_mode = MSB_STDIN_PIPE;
  msb_error *err = NULL;
  if (msb_exec_start (sb, cmd, args, opts, &b.ex, &err) < 0)
    return cli_fail (err, MSB_EXIT_MSB_FAILED);
  struct termios saved;
  bool raw = b.tty && isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
  if (raw)
    {
      struct termios t = saved;
      cfmakeraw (&t);
      tcsetattr (STDIN_FILENO, TCSANOW, &t);
    }
  sigset_t old;
  b.sigfd = setup_signals (&old);
  pump (&b, timeout_s);
  if (raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved);
  close (b.sigfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
  msb_exec_free (b.ex);
  return b.exit_status;
}
