/* cold_phases: where the time of a cold `msb run IMAGE -- true` goes, measured through the
 * C API in one process (so the CLI's own start-up is excluded) and, inside the create, from
 * the runtime's debug boot log.
 *
 * Each iteration does what `msb run` does for an unnamed sandbox (cli/run.c):
 *   open     msb_ctx_open (state root + SQLite)
 *   create   msb_sandbox_create of an ephemeral, attached sandbox: record, spawn the runtime,
 *            boot, agent ready, connect
 *   exec     msb_exec_run (sb, "true")
 *   close    msb_sandbox_close (the attached runtime starts its graceful stop)
 *   stop     msb_sandbox_stop: until the runtime is gone; an ephemeral sandbox's runtime
 *            deletes its record and files on the way out
 *   remove   msb_sandbox_remove, only if something was left (older builds)
 * and splits `create` with the runtime's `boot: … at X ms` lines (X counts from the runtime's
 * entry) and the wall clock of the create call:
 *   spawn    create call → runtime entry: client checks, db insert, starting the runtime
 *            (a fork of this process, or posix_spawn + exec of `msb sandbox run`, then its fork)
 *   then the runtime's own phases, and `connect` = runtime reported ready → create returned.
 * The first SHA-256 through OpenSSL costs ~0.7 ms in every fresh process: this harness's side
 * pays it once (in the warm-up); the runtime, a fresh process, and the CLI pay it every run.
 *
 * Usage: cold_phases [-n N] [-w WARMUP] [-i IMAGE]; MSB_HOME selects the state root.
 * Prints one JSON object: per phase the median / mean / min / max in milliseconds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msb/msb.h>

#define MAX_PHASES 24

typedef struct phase
{
  char name[160];
  double *ms;
  size_t n;
} phase;

static phase phases[MAX_PHASES];
static size_t n_phases;
static size_t max_samples;

static void
record (const char *name, double ms)
{
  size_t i;
  for (i = 0; i < n_phases; i++)
    if (strcmp (phases[i].name, name) == 0)
      break;
  if (i == n_phases)
    {
      if (n_phases == MAX_PHASES)
        return;
      snprintf (phases[i].name, sizeof phases[i].name, "%s", name);
      phases[i].ms = calloc (max_samples, sizeof (double));
      if (phases[i].ms == NULL)
        abort ();
      n_phases++;
    }
  if (phases[i].n < max_samples)
    phases[i].ms[phases[i].n++] = ms;
}

static double
mono_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double
real_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
die_msb (const char *what, msb_error *err)
{
  fprintf (stderr, "cold_phases: %s: %s\n", what, err ? msb_error_get_message (err) : "failed");
  exit (1);
}

/* "2026-11-28T15:57:39.786223Z debug [8555] boot: loaded at 1.40 ms" → realtime ms, phase
 * name and offset. timegm() of the date part, plus the microseconds. */
static bool
parse_boot_line (const char *line, double *when_ms, char *what, size_t what_len, double *at_ms)
{
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  long usec;
  if (sscanf (line, "%4d-%2d-%2dT%2d:%2d:%2d.%6ldZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
              &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &usec)
      != 7)
    return false;
  const char *b = strstr (line, "] boot: ");
  const char *at = b ? strstr (b, " at ") : NULL;
  if (b == NULL || at == NULL)
    return false;
  b += strlen ("] boot: ");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *when_ms = (double) timegm (&tm) * 1e3 + (double) usec / 1e3;
  snprintf (what, what_len, "%.*s", (int) (at - b), b);
  *at_ms = atof (at + 4);
  return true;
}

/* Records the runtime's phases as deltas between consecutive `boot:` lines; returns the
 * realtime of its main() (first line's time minus its offset) and of "reported ready". */
static bool
read_boot_log (const char *home, const char *name, double *main_real, double *ready_real,
               bool store)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/sandboxes/%s/logs/runtime.log", home, name);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return false;
  char line[2048], what[64], prev[64] = "main";
  double prev_at = 0, when, at;
  bool any = false;
  while (fgets (line, sizeof line, f))
    {
      if (!parse_boot_line (line, &when, what, sizeof what, &at))
        continue;
      if (!any)
        *main_real = when - at;
      any = true;
      if (store)
        {
          char label[160];
          snprintf (label, sizeof label, "rt: %s → %s", prev, what);
          record (label, at - prev_at);
        }
      snprintf (prev, sizeof prev, "%s", what);
      prev_at = at;
      *ready_real = when;
    }
  fclose (f);
  return any;
}

int
main (int argc, char **argv)
{
  long n = 30, warmup = 3;
  const char *image = "local/busybox:latest";
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "-n") == 0 && i + 1 < argc)
        n = atol (argv[++i]);
      else if (strcmp (argv[i], "-w") == 0 && i + 1 < argc)
        warmup = atol (argv[++i]);
      else if (strcmp (argv[i], "-i") == 0 && i + 1 < argc)
        image = argv[++i];
      else
        {
          fprintf (stderr, "usage: cold_phases [-n N] [-w WARMUP] [-i IMAGE]\n");
          return 2;
        }
    }
  if (n < 1 || warmup < 0)
    return 2;
  max_samples = (size_t) n;

  msb_error *err = NULL;
  msb_config *cfg = msb_config_new ();
  if (msb_config_set_image (cfg, image, &err) < 0 || msb_config_set_log_level (cfg, "debug", &err) < 0
      || msb_config_set_ephemeral (cfg, true, &err) < 0)
    die_msb ("config", err);

  for (long it = 0; it < warmup + n; it++)
    {
      bool store = it >= warmup;
      char name[64];
      snprintf (name, sizeof name, "bench-cold-%d-%ld", (int) getpid (), it);
      double t0 = mono_ms ();
      msb_ctx *ctx;
      if (msb_ctx_open (&ctx, NULL, &err) < 0)
        die_msb ("open MSB_HOME", err);
      double t1 = mono_ms (), create_real = real_ms ();
      msb_sandbox *sb;
      if (msb_sandbox_create (ctx, name, cfg, 0, -1, &sb, &err) < 0)
        die_msb ("create", err);
      double t2 = mono_ms ();
      msb_exec_output out;
      if (msb_exec_run (sb, "true", NULL, NULL, &out, NULL, &err) < 0 || out.exit_code != 0)
        die_msb ("exec true", err);
      msb_exec_output_clear (&out);
      double t3 = mono_ms ();
      double main_real = 0, ready_real = 0;
      bool have_log = read_boot_log (msb_ctx_home (ctx), name, &main_real, &ready_real, store);
      double t4 = mono_ms (); /* reading the log is not part of any phase */
      msb_sandbox_close (sb);
      double t5 = mono_ms ();
      if (msb_sandbox_stop (ctx, name, -1, &err) < 0)
        die_msb ("stop", err);
      double t6 = mono_ms ();
      msb_sandbox_info *left = NULL;
      if (msb_sandbox_get (ctx, name, &left, NULL) == 0)
        {
          msb_sandbox_info_free (left);
          if (msb_sandbox_remove (ctx, name, &err) < 0)
            die_msb ("remove", err);
        }
      double t7 = mono_ms ();
      msb_ctx_close (ctx);
      double t8 = mono_ms ();
      if (!store)
        continue;
      record ("open (msb_ctx_open)", t1 - t0);
      record ("create (msb_sandbox_create)", t2 - t1);
      if (have_log)
        {
          record ("create: spawn → runtime main()", main_real - create_real);
          record ("create: runtime ready → create returns", (create_real + (t2 - t1)) - ready_real);
        }
      record ("exec true (msb_exec_run)", t3 - t2);
      record ("close (msb_sandbox_close)", t5 - t4);
      record ("stop (msb_sandbox_stop)", t6 - t5);
      record ("remove (if anything was left)", t7 - t6);
      record ("ctx close", t8 - t7);
      record ("total (excluding log read)", (t8 - t0) - (t4 - t3));
    }
  msb_config_free (cfg);

  printf ("{\n  \"benchmark\": \"cold_phases\",\n  \"iterations\": %ld,\n  \"phases\": [\n", n);
  for (size_t i = 0; i < n_phases; i++)
    {
      phase *p = &phases[i];
      qsort (p->ms, p->n, sizeof *p->ms, cmp_double);
      double sum = 0;
      for (size_t k = 0; k < p->n; k++)
        sum += p->ms[k];
      double med = p->n % 2 ? p->ms[p->n / 2] : (p->ms[p->n / 2 - 1] + p->ms[p->n / 2]) / 2;
      printf ("    {\"phase\": \"%s\", \"n\": %zu, \"median_ms\": %.3f, \"mean_ms\": %.3f, "
              "\"min_ms\": %.3f, \"max_ms\": %.3f}%s\n",
              p->name, p->n, med, sum / (double) p->n, p->ms[0], p->ms[p->n - 1],
              i + 1 < n_phases ? "," : "");
      free (p->ms);
    }
  printf ("  ]\n}\n");
  return 0;
}
