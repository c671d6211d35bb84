/* A tiny init for the custom-init tests: records who it is, reaps orphans like an init must,
 * and shuts down cleanly on SIGTERM (what the agent sends on a graceful stop). Signals are
 * blocked outside sigsuspend, so a SIGTERM cannot slip in between the check and the wait. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal (int sig)
{
  if (sig == SIGTERM)
    stop = 1;
}

int
main (int argc, char **argv)
{
  sigset_t block, old;
  sigemptyset (&block);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGCHLD);
  sigprocmask (SIG_BLOCK, &block, &old);
  signal (SIGTERM, on_signal);
  signal (SIGCHLD, on_signal);
  FILE *f = fopen ("/tmp/init-pid", "w");
  if (f)
    {
      const char *mark = getenv ("INIT_MARK");
      fprintf (f, "%d %s %s\n", (int) getpid (), argc > 1 ? argv[1] : "-", mark ? mark : "-");
      fclose (f);
    }
  while (!stop)
    {
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      sigsuspend (&old);
    }
  f = fopen ("/tmp/init-stopped", "w");
  if (f)
    fclose (f);
  return 0;
}
