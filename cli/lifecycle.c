/* `msb start|stop|kill|rm|restart NAME…`: lifecycle verbs over several names; the exit status
 * is 1 if any name failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Runs fn on each sandbox named in argv, echoing the names unless -q; at least one is needed. */
static int
for_each_name (int argc, char **argv, cli_name_fn fn, void *opts)
{
  bool is_quiet = cli_has_flag (argc, argv, "-q", "--quiet");
  int status = cli_each_sandbox (argc, argv, fn, opts, !is_quiet);
  if (status < 0)
    return cli_failf (1, "%s: at least one sandbox name is required", argv[0]);
  return status;
}

static int
start_one (msb_ctx *ctx, const char *name, void *opts, msb_error **err)
{
  msb_sandbox *sb = NULL;
  if (msb_sandbox_start (ctx, name, MSB_SANDBOX_DETACHED, &sb, err) < 0)
    return -1;
  msb_sandbox_close (sb);
  return 0;
}

int
cli_start (int argc, char **argv)
{
  if (cli_check_flags ("start", argc, argv, "-q|--quiet", 1))
    return 1;
  return for_each_name (argc, argv, start_one, NULL);
}

typedef struct stop_opts
{
  int timeout_ms;
  bool force;
} stop_opts;

static int
stop_one (msb_ctx *ctx, const char *name, void *opts, msb_error **err)
{
  stop_opts *o = opts;
  if (o->force)
    return msb_sandbox_kill (ctx, name, -1, err);
  return msb_sandbox_stop (ctx, name, o->timeout_ms, err);
}

int
cli_stop (int argc, char **argv)
{
  if (cli_check_flags ("stop", argc, argv, "-q|--quiet -f|--force -t|--timeout=", 1))
    return 1;
  stop_opts o = { -1, cli_has_flag (argc, argv, "-f", "--force") };
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "-t") == 0 || strcmp (argv[i], "--timeout") == 0)
      {
        double s;
        if (cli_parse_duration (argv[i + 1], &s) < 0)
          return cli_failf (1, "stop: --timeout: invalid duration `%s`", argv[i + 1]);
        o.timeout_ms = (int) (s * 1000);
        argv[i + 1] = "-";
      }
  return for_each_name (argc, argv, stop_one, &o);
}

int
cli_kill (int argc, char **argv)
{
  if (cli_check_flags ("kill", argc, argv, "-q|--quiet", 1))
    return 1;
  stop_opts o = { 0, true };
  return for_each_name (argc, argv, stop_one, &o);
}

static int
rm_one (msb_ctx *ctx, const char *name, void *opts, msb_error **err)
{
  if (*(bool *) opts)
    return msb_sandbox_remove_force (ctx, name, -1, err);
  return msb_sandbox_remove (ctx, name, err);
}

int
cli_rm (int argc, char **argv)
{
  if (cli_check_flags ("rm", argc, argv, "-q|--quiet -f|--force", 1))
    return 1;
  bool force = cli_has_flag (argc, argv, "-f", "--force");
  return for_each_name (argc, argv, rm_one, &force);
}

static int
restart_one (msb_ctx *ctx, const char *name, void *opts, msb_error **err)
{
  if (msb_sandbox_stop (ctx, name, -1, err) < 0)
    return -1;
  return start_one (ctx, name, opts, err);
}

int
cli_restart (int argc, char **argv)
{
  if (cli_check_flags ("restart", argc, argv, "", 1))
    return 1;
  /* Unlike the verbs above, restart with no name is not an error. */
  return cli_each_sandbox (argc, argv, restart_one, NULL, true) > 0;
}
