/* capi_ops: the C-API side of the Python binding benchmark (bench/python/run.sh). Times the
 * two operations the Python benchmark times, the same way, so the ratio is the binding's
 * overhead:
 *
 *   lifecycle  msb_sandbox_create + msb_shell ("true") + msb_sandbox_stop (remove untimed)
 *   exec       msb_shell ("true") in one running sandbox (the exec round trip)
 *
 * Usage: capi_ops lifecycle|exec N [IMAGE]. MSB_HOME selects the state root (use a scratch
 * one). Prints one JSON object: {"op", "n", "median_us", "mean_us", "p90_us", "min_us"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msb/msb.h>

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

static void
check (int r, const char *what, msb_error *err)
{
  if (r < 0)
    {
      fprintf (stderr, "capi_ops: %s: %s\n", what, err ? msb_error_get_message (err) : "failed");
      exit (1);
    }
}

static void
shell_true (msb_sandbox *sb)
{
  msb_exec_output out;
  msb_error *err = NULL;
  check (msb_shell (sb, "true", NULL, &out, &err), "msb_shell", err);
  if (out.exit_code != 0)
    {
      fprintf (stderr, "capi_ops: `true` exited %d\n", out.exit_code);
      exit (1);
    }
  msb_exec_output_clear (&out);
}

static msb_sandbox *
create (msb_ctx *ctx, const char *name, const char *image)
{
  msb_error *err = NULL;
  msb_config *cfg = msb_config_new ();
  check (msb_config_set_image (cfg, image, &err), "set image", err);
  msb_sandbox *sb = NULL;
  check (msb_sandbox_create (ctx, name, cfg, MSB_SANDBOX_REPLACE, -1, &sb, &err), "create", err);
  msb_config_free (cfg);
  return sb;
}

int
main (int argc, char **argv)
{
  if (argc < 3 || (strcmp (argv[1], "lifecycle") != 0 && strcmp (argv[1], "exec") != 0))
    {
      fprintf (stderr, "usage: capi_ops lifecycle|exec N [IMAGE]\n");
      return 2;
    }
  int n = atoi (argv[2]);
  const char *image = argc > 3 ? argv[3] : "local/busybox:latest";
  if (n < 1)
    n = 1;
  msb_error *err = NULL;
  msb_ctx *ctx = NULL;
  check (msb_ctx_open (&ctx, NULL, &err), "open MSB_HOME", err);
  double *us = calloc ((size_t) n, sizeof *us);
  char name[64];
  snprintf (name, sizeof name, "bench-capi-%d", (int) getpid ());
  if (strcmp (argv[1], "exec") == 0)
    {
      msb_sandbox *sb = create (ctx, name, image);
      for (int i = 0; i < 20; i++)
        shell_true (sb); /* warm-up */
      for (int i = 0; i < n; i++)
        {
          double t0 = now_us ();
          shell_true (sb);
          us[i] = now_us () - t0;
        }
      msb_sandbox_close (sb);
      check (msb_sandbox_kill (ctx, name, -1, &err), "kill", err);
      check (msb_sandbox_remove (ctx, name, &err), "remove", err);
    }
  else
    for (int i = 0; i < n; i++)
      {
        double t0 = now_us ();
        msb_sandbox *sb = create (ctx, name, image);
        shell_true (sb);
        check (msb_sandbox_stop (ctx, name, -1, &err), "stop", err);
        us[i] = now_us () - t0;
        msb_sandbox_close (sb);
        check (msb_sandbox_remove (ctx, name, &err), "remove", err);
      }
  qsort (us, (size_t) n, sizeof *us, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += us[i];
  size_t p90 = (size_t) (0.9 * n + 0.999999);
  printf ("{\"op\": \"%s\", \"n\": %d, \"median_us\": %.1f, \"mean_us\": %.1f, \"p90_us\": %.1f, "
          "\"min_us\": %.1f}\n",
          argv[1], n, n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2, sum / n,
          us[(p90 ? p90 : 1) - 1], us[0]);
  free (us);
  msb_ctx_close (ctx);
  return 0;
}
