/* `msb sandbox run` (hidden): the entry of a sandbox's runtime process. It is spawned by
 * libmsb, forks the real runtime into its own session and exits at once, so the runtime is
 * never the child of the program that created the sandbox (nothing to reap there). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/runtime.h"

/* Everything except stdio and the two descriptors we were given is closed: a caller's stray
 * inheritable fd must not be held open for the sandbox's lifetime. */
static void
close_other_fds (int a, int b)
{
  int keep[2] = { a < b ? a : b, a < b ? b : a };
  unsigned lo = 3;
  for (int i = 0; i < 2; i++)
    {
      if (keep[i] < 3)
        continue;
      if ((unsigned) keep[i] > lo)
        syscall (SYS_close_range, lo, (unsigned) keep[i] - 1, 0);
      lo = (unsigned) keep[i] + 1;
    }
  syscall (SYS_close_range, lo, ~0U, 0);
}

/* The runtime entry, reached from `msb sandbox run` or forked directly by libmsb inside
 * this executable (lib/spawn.h). */
int
cli_runtime_entry (const char *home, const char *name, int ready_fd, int watchdog_fd)
{
  close_other_fds (ready_fd, watchdog_fd);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
      close (null);
    }
  setsid ();
  msb_runtime_opts o = { .home = home, .name = name, .ready_fd = ready_fd, .watchdog_fd = watchdog_fd };
  return msb_runtime_main (&o);
}

int
cli_sandbox (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "run") != 0)
    return cli_failf (1, "sandbox: internal command; usage: msb sandbox run --name NAME …");
  msb_runtime_opts o = { .ready_fd = -1, .watchdog_fd = -1 };
  bool foreground = false;
  for (int i = 2; i < argc; i++)
    {
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (argv[i], "--name") == 0 && v)
        o.name = argv[++i];
      else if (strcmp (argv[i], "--home") == 0 && v)
        o.home = argv[++i];
      else if (strcmp (argv[i], "--ready-fd") == 0 && v)
        o.ready_fd = atoi (argv[++i]);
      else if (strcmp (argv[i], "--watchdog-fd") == 0 && v)
        o.watchdog_fd = atoi (argv[++i]);
      else if (strcmp (argv[i], "--foreground") == 0)
        foreground = true;
      else
        return cli_failf (1, "sandbox run: unexpected argument `%s`", argv[i]);
    }
  if (o.name == NULL)
    return cli_failf (1, "sandbox run: --name is required");
  close_other_fds (o.ready_fd, o.watchdog_fd);
  if (!foreground)
    {
      pid_t pid = fork ();
      if (pid < 0)
        return cli_failf (1, "sandbox run: fork: %s", strerror (errno));
      if (pid > 0)
        _exit (0);
      setsid ();
    }
  return msb_runtime_main (&o);
}
