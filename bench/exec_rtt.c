/* exec_rtt: round trip of `true` in a running sandbox through the C API, against the two
 * things a user could do instead, timed the same way in the same process:
 *
 *   msb      msb_exec_run (sb, "true", …): request → agent spawns → exited event back
 *   nsenter  fork + exec + wait of `nsenter -a -t <agent pid> true` (enter every namespace
 *            of the running sandbox and run the same binary)
 *   local    fork + exec + wait of /bin/true on the host: the floor of any process launch
 *
 * Usage: exec_rtt [-n N] [-N N_NSENTER] [-w WARMUP] [-i IMAGE] [--no-nsenter]
 * MSB_HOME selects the state root (use a scratch one). Prints one JSON object on stdout:
 * per method the sample count and min / median / mean / p90 / p99 / max in microseconds.
 * Samples are taken in interleaved rounds so drift on a busy machine hits every method alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msb/msb.h>

extern char **environ;

enum
{
  M_MSB,
  M_NSENTER,
  M_LOCAL,
  N_METHODS
};
static const char *const method_names[N_METHODS] = { "msb_exec_run", "nsenter", "local_spawn" };

typedef struct samples
{
  double *us;
  size_t n, cap;
} samples;

static void
push (samples *s, double us)
{
  if (s->n == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 1024;
      s->us = realloc (s->us, s->cap * sizeof *s->us);
      if (s->us == NULL)
        abort ();
    }
  s->us[s->n++] = us;
}

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double
pct (const samples *s, double p)
{
  size_t k = (size_t) (p / 100.0 * (double) s->n + 0.999999);
  if (k < 1)
    k = 1;
  if (k > s->n)
    k = s->n;
  return s->us[k - 1];
}

static double
median (const samples *s)
{
  return s->n % 2 ? s->us[s->n / 2] : (s->us[s->n / 2 - 1] + s->us[s->n / 2]) / 2;
}

static void
die_msb (const char *what, msb_error *err)
{
  fprintf (stderr, "exec_rtt: %s: %s\n", what, err ? msb_error_get_message (err) : "failed");
  exit (1);
}

/* fork + exec + wait, stdio on /dev/null; the time a shell or a supervisor would pay. */
static int
spawn_wait (char *const argv[])
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int r = posix_spawn (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0)
    return -1;
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int
run_msb (msb_sandbox *sb)
{
  msb_exec_output out;
  msb_error *err = NULL;
  if (msb_exec_run (sb, "true", NULL, NULL, &out, NULL, &err) < 0)
    die_msb ("msb_exec_run", err);
  int code = out.exit_code;
  msb_exec_output_clear (&out);
  return code;
}

/* The sandbox's PID 1 (msb-agent) is the runtime's child named msb-agent. */
static pid_t
agent_pid_of (pid_t runtime)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/task/%d/children", runtime, runtime);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return -1;
  pid_t found = -1;
  int pid;
  while (found < 0 && fscanf (f, "%d", &pid) == 1)
    {
      char comm_path[64], comm[32] = "";
      snprintf (comm_path, sizeof comm_path, "/proc/%d/comm", pid);
      FILE *c = fopen (comm_path, "re");
      if (c && fgets (comm, sizeof comm, c) && strncmp (comm, "msb-agent", 9) == 0)
        found = pid;
      if (c)
        fclose (c);
    }
  fclose (f);
  return found;
}

static const char *
find_in_path (const char *name)
{
  static char buf[4096];
  const char *path = getenv ("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const char *p = path; *p;)
    {
      const char *e = strchr (p, ':');
      size_t n = e ? (size_t) (e - p) : strlen (p);
      snprintf (buf, sizeof buf, "%.*s/%s", (int) n, p, name);
      if (access (buf, X_OK) == 0)
        return buf;
      p += n + (e != NULL);
    }
  return NULL;
}

static void
print_stats (FILE *o, int m, samples *s, bool last)
{
  qsort (s->us, s->n, sizeof *s->us, cmp_double);
  double sum = 0;
  for (size_t i = 0; i < s->n; i++)
    sum += s->us[i];
  fprintf (o,
           "    \"%s\": {\"n\": %zu, \"min_us\": %.1f, \"median_us\": %.1f, \"mean_us\": %.1f, "
           "\"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}%s\n",
           method_names[m], s->n, s->n ? s->us[0] : 0, s->n ? median (s) : 0,
           s->n ? sum / (double) s->n : 0, s->n ? pct (s, 90) : 0, s->n ? pct (s, 99) : 0,
           s->n ? s->us[s->n - 1] : 0, last ? "" : ",");
}

int
main (int argc, char **argv)
{
  long n = 2000, n_nsenter = 300, warmup = 100;
  const char *image = "local/busybox:latest";
  bool with_nsenter = true;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "-n") == 0 && i + 1 < argc)
        n = atol (argv[++i]);
      else if (strcmp (argv[i], "-N") == 0 && i + 1 < argc)
        n_nsenter = atol (argv[++i]);
      else if (strcmp (argv[i], "-w") == 0 && i + 1 < argc)
        warmup = atol (argv[++i]);
      else if (strcmp (argv[i], "-i") == 0 && i + 1 < argc)
        image = argv[++i];
      else if (strcmp (argv[i], "--no-nsenter") == 0)
        with_nsenter = false;
      else
        {
          fprintf (stderr, "usage: exec_rtt [-n N] [-N N_NSENTER] [-w WARMUP] [-i IMAGE] "
                           "[--no-nsenter]\n");
          return 2;
        }
    }
  if (n < 1 || n_nsenter < 0 || warmup < 0)
    return 2;

  msb_error *err = NULL;
  msb_ctx *ctx;
  if (msb_ctx_open (&ctx, NULL, &err) < 0)
    die_msb ("open MSB_HOME", err);
  msb_config *cfg = msb_config_new ();
  if (msb_config_set_image (cfg, image, &err) < 0)
    die_msb ("image", err);
  char name[64];
  snprintf (name, sizeof name, "bench-rtt-%d", (int) getpid ());
  msb_sandbox *sb;
  /* Attached: if this program dies, the runtime stops the sandbox; removed below. */
  if (msb_sandbox_create (ctx, name, cfg, MSB_SANDBOX_REPLACE, -1, &sb, &err) < 0)
    die_msb ("create sandbox", err);
  msb_config_free (cfg);

  msb_sandbox_info *info;
  if (msb_sandbox_get (ctx, name, &info, &err) < 0)
    die_msb ("get sandbox", err);
  pid_t agent = agent_pid_of (msb_sandbox_info_pid (info));
  msb_sandbox_info_free (info);

  char agent_s[16];
  snprintf (agent_s, sizeof agent_s, "%d", (int) agent);
  const char *nsenter = find_in_path ("nsenter");
  char *nsenter_argv[] = { (char *) (nsenter ? nsenter : "nsenter"), "-a", "-t", agent_s, "true",
                           NULL };
  char *local_argv[] = { "/bin/true", NULL };
  if (with_nsenter && (agent <= 0 || nsenter == NULL))
    {
      fprintf (stderr, "exec_rtt: %s; skipping nsenter\n",
               agent <= 0 ? "agent pid not found" : "nsenter not in PATH");
      with_nsenter = false;
    }
  if (with_nsenter && spawn_wait (nsenter_argv) != 0)
    {
      fprintf (stderr, "exec_rtt: `nsenter -a -t %d true` failed; skipping nsenter\n", (int) agent);
      with_nsenter = false;
    }

  /* Warm up every path (page cache, the agent's allocator, the relay's buffers). */
  for (long i = 0; i < warmup; i++)
    {
      if (run_msb (sb) != 0 || spawn_wait (local_argv) != 0)
        {
          fprintf (stderr, "exec_rtt: `true` did not exit 0 during warm-up\n");
          return 1;
        }
      if (with_nsenter && i < warmup / 10 + 1)
        spawn_wait (nsenter_argv);
    }

  samples s[N_METHODS] = { 0 };
  const long rounds = 20;
  for (long r = 0; r < rounds; r++)
    {
      long per = n / rounds + (r < n % rounds);
      long per_ns = with_nsenter ? n_nsenter / rounds + (r < n_nsenter % rounds) : 0;
      for (long i = 0; i < per; i++)
        {
          double t0 = now_us ();
          int code = run_msb (sb);
          double t1 = now_us ();
          if (code != 0)
            {
              fprintf (stderr, "exec_rtt: msb exec `true` exited %d\n", code);
              return 1;
            }
          push (&s[M_MSB], t1 - t0);
        }
      for (long i = 0; i < per_ns; i++)
        {
          double t0 = now_us ();
          int code = spawn_wait (nsenter_argv);
          double t1 = now_us ();
          if (code != 0)
            {
              fprintf (stderr, "exec_rtt: nsenter exited %d\n", code);
              return 1;
            }
          push (&s[M_NSENTER], t1 - t0);
        }
      for (long i = 0; i < per; i++)
        {
          double t0 = now_us ();
          int code = spawn_wait (local_argv);
          double t1 = now_us ();
          if (code != 0)
            return 1;
          push (&s[M_LOCAL], t1 - t0);
        }
    }

  msb_sandbox_close (sb);
  if (msb_sandbox_kill (ctx, name, -1, &err) < 0 || msb_sandbox_remove (ctx, name, &err) < 0)
    {
      fprintf (stderr, "exec_rtt: cleanup of `%s`: %s\n", name, msb_error_get_message (err));
      msb_error_free (err);
    }
  msb_ctx_close (ctx);

  printf ("{\n  \"benchmark\": \"exec_rtt\",\n  \"command\": \"true\",\n  \"agent_pid_found\": %s,\n"
          "  \"methods\": {\n",
          agent > 0 ? "true" : "false");
  for (int m = 0; m < N_METHODS; m++)
    if (s[m].n)
      print_stats (stdout, m, &s[m], m == M_LOCAL); /* local always runs, and runs last */
  printf ("  }\n}\n");
  for (int m = 0; m < N_METHODS; m++)
    free (s[m].us);
  return 0;
}
