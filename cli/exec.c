/* `msb exec NAME -- CMD ARGS…` and `msb shell NAME [-- SCRIPT]`: run in an existing sandbox.
 * A stopped sandbox is started for the command and stops again once no client uses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_ENV 256
#define MAX_RLIMITS 16

typedef struct exec_flags
{
  const char *name;
  msb_exec_opts opts;
  const char *env[MAX_ENV + 1];
  char *env_owned[MAX_ENV];
  size_t n_env;
  msb_rlimit rlimits[MAX_RLIMITS];
  char *rlimit_names[MAX_RLIMITS];
  int tty; /* -1 auto */
  double timeout;
  int rest; /* index after `--`, or argc */
} exec_flags;

static int
parse_rlimit (exec_flags *f, const char *v)
{
  if (f->opts.n_rlimits == MAX_RLIMITS)
    return -1;
  const char *eq = strchr (v, '=');
  if (eq == NULL)
    return -1;
  char *end;
  unsigned long long soft = strtoull (eq + 1, &end, 10), hard = soft;
  if (*end == ':')
    hard = strtoull (end + 1, &end, 10);
  if (*end)
    return -1;
  size_t i = f->opts.n_rlimits++;
  f->rlimit_names[i] = strndup (v, (size_t) (eq - v));
  f->rlimits[i] = (msb_rlimit) { f->rlimit_names[i], soft, hard };
  return 0;
}

/* `-e K=V`, or `-e K` to pass this process's value of K (empty when unset), as for create. */
static void
add_env (exec_flags *f, const char *v)
{
  if (*v && strchr (v, '=') == NULL)
    {
      const char *host = getenv (v);
      if (asprintf (&f->env_owned[f->n_env], "%s=%s", v, host ? host : "") < 0)
        abort ();
      v = f->env_owned[f->n_env];
    }
  f->env[f->n_env++] = v;
}

static int
parse_flags (int argc, char **argv, exec_flags *f)
{
  memset (f, 0, sizeof *f);
  f->opts.size = sizeof f->opts;
  f->tty = -1;
  f->rest = argc;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      const char *next = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--") == 0)
        {
          f->rest = i + 1;
          break;
        }
      if (strcmp (a, "-t") == 0 || strcmp (a, "--tty") == 0)
        f->tty = 1;
      else if (strcmp (a, "--no-tty") == 0)
        f->tty = 0;
      else if (strcmp (a, "-q") == 0 || strcmp (a, "--quiet") == 0)
        ;
      else if ((strcmp (a, "-e") == 0 || strcmp (a, "--env") == 0) && next && f->n_env < MAX_ENV)
        add_env (f, argv[++i]);
      else if ((strcmp (a, "-w") == 0 || strcmp (a, "--workdir") == 0) && next)
        f->opts.cwd = argv[++i];
      else if ((strcmp (a, "-u") == 0 || strcmp (a, "--user") == 0) && next)
        f->opts.user = argv[++i];
      else if (strcmp (a, "--timeout") == 0 && next)
        {
          if (cli_parse_duration (argv[++i], &f->timeout) < 0)
            return cli_failf (-1, "--timeout: invalid duration `%s`", argv[i]);
        }
      else if (strcmp (a, "--rlimit") == 0 && next)
        {
          if (parse_rlimit (f, argv[++i]) < 0)
            return cli_failf (-1, "--rlimit: expected RESOURCE=SOFT[:HARD], got `%s`", argv[i]);
        }
      else if (a[0] != '-' && f->name == NULL)
        f->name = a;
      else
        return cli_failf (-1, "%s: unexpected argument `%s`", argv[0], a);
    }
  if (f->name == NULL)
    return cli_failf (-1, "%s: a sandbox name is required", argv[0]);
  f->opts.env = f->n_env ? f->env : NULL;
  f->opts.rlimits = f->rlimits;
  return 0;
}

static void
free_flags (exec_flags *f)
{
  for (size_t i = 0; i < f->opts.n_rlimits; i++)
    free (f->rlimit_names[i]);
  for (size_t i = 0; i < f->n_env; i++)
    free (f->env_owned[i]);
}

/* Connects, or starts a stopped sandbox for the duration of the command. */
static int
open_sandbox (msb_ctx *ctx, const char *name, msb_sandbox **sb, bool *started)
{
  msb_error *err = NULL;
  *started = false;
  if (msb_sandbox_connect (ctx, name, -1, sb, &err) == 0)
    return 0;
  if (msb_error_get_kind (err) != MSB_ERR_SANDBOX_NOT_RUNNING)
    return cli_fail (err, -1);
  msb_error_free (err);
  err = NULL;
  if (msb_sandbox_start (ctx, name, MSB_SANDBOX_UNTIL_UNUSED, sb, &err) < 0)
    return cli_fail (err, -1);
  *started = true;
  return 0;
}

static int
run_in (exec_flags *f, const char *cmd, const char *const *args, bool shell)
{
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return MSB_EXIT_MSB_FAILED;
  msb_sandbox *sb = NULL;
  bool started;
  int status = MSB_EXIT_MSB_FAILED;
  if (open_sandbox (ctx, f->name, &sb, &started) == 0)
    {
      f->opts.tty = f->tty < 0 ? cli_is_interactive () : f->tty == 1;
      if (shell)
        cmd = msb_sandbox_shell (sb);
      status = cli_exec_attached (sb, cmd, args, &f->opts, f->timeout);
      msb_sandbox_close (sb);
      /* It stops by itself once unused; wait a moment so a following command sees it
       * stopped, unless another client keeps it running. */
      if (started)
        msb_sandbox_wait (ctx, f->name, 3000, NULL, NULL);
    }
  msb_ctx_close (ctx);
  return status;
}

int
cli_exec (int argc, char **argv)
{
  exec_flags f;
  if (parse_flags (argc, argv, &f) < 0)
    return MSB_EXIT_MSB_FAILED;
  if (f.rest >= argc)
    return cli_failf (MSB_EXIT_MSB_FAILED, "exec: a command is required (msb exec NAME -- CMD ARGS…)");
  int status = run_in (&f, argv[f.rest], (const char *const *) argv + f.rest + 1, false);
  free_flags (&f);
  return status;
}

int
cli_shell (int argc, char **argv)
{
  exec_flags f;
  if (parse_flags (argc, argv, &f) < 0)
    return MSB_EXIT_MSB_FAILED;
  const char *script_args[] = { "-c", f.rest < argc ? argv[f.rest] : NULL, NULL };
  const char *const *args = f.rest < argc ? script_args : NULL;
  int status = run_in (&f, NULL, args, true);
  free_flags (&f);
  return status;
}
