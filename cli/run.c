/* `msb run IMAGE [-- CMD ARGS…]`: create a sandbox, run the resolved command attached to this
 * terminal, propagate its exit status. An unnamed run is removed when it finishes; a named
 * one is stopped and kept. The command after `--` replaces the image CMD and keeps its
 * ENTRYPOINT; without one, ENTRYPOINT + CMD run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/cli.h"

static char *
generated_name (void)
{
  unsigned char r[4];
  if (getrandom (r, sizeof r, 0) != sizeof r)
    memset (r, 0, sizeof r);
  char *name = NULL;
  if (asprintf (&name, "run-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]) < 0)
    abort ();
  return name;
}

/* argv of the command: entrypoint (config, else image) + (user command, else config/image CMD).
 * `image` names the cached image (a reference, or a snapshot's manifest digest). */
static char **
resolve_command (msb_ctx *ctx, const msb_config *cfg, const char *image, char **user_cmd,
                 int n_user)
{
  msb_image_info *img = NULL;
  if (image)
    msb_image_get (ctx, image, &img, NULL);
  const char *const *ep = msb_config_get_entrypoint (cfg);
  if (ep == NULL && img)
    ep = msb_image_info_entrypoint (img);
  const char *const *cmd = (const char *const *) user_cmd;
  if (n_user == 0)
    cmd = msb_config_get_cmd (cfg) ? msb_config_get_cmd (cfg) : img ? msb_image_info_cmd (img) : NULL;
  size_t n_ep = 0, n_cmd = (size_t) n_user;
  while (ep && ep[n_ep])
    n_ep++;
  if (n_user == 0)
    while (cmd && cmd[n_cmd])
      n_cmd++;
  char **argv = calloc (n_ep + n_cmd + 1, sizeof (char *));
  for (size_t i = 0; i < n_ep; i++)
    argv[i] = strdup (ep[i]);
  for (size_t i = 0; i < n_cmd; i++)
    argv[n_ep + i] = strdup (cmd[i]);
  msb_image_info_free (img);
  return argv;
}

static void
free_str (char **s)
{
  free (*s);
}
#define _msb_cli_snapshot_image_ __attribute__ ((cleanup (free_str)))

static void
free_argv (char **v)
{
  for (char **p = v; p && *p; p++)
    free (*p);
  free (v);
}

static int
create_sandbox (msb_ctx *ctx, const char *name, cli_create_opts *o, unsigned flags,
                msb_sandbox **sb, msb_error **err)
{
  msb_create_opts co = {
    .size = sizeof co,
    .flags = flags,
    .has_replace_grace = o->replace_timeout >= 0,
    .replace_grace_ms = o->replace_timeout < 0 ? 0 : (int) (o->replace_timeout * 1000),
    .snapshot = o->from_snapshot,
  };
  return msb_sandbox_create_ex (ctx, name, o->cfg, &co, sb, err);
}

/* `run -d`: the command is the sandbox's main command; the sandbox stops when it exits. */
static int
run_detached (msb_ctx *ctx, const char *name, cli_create_opts *o, unsigned flags,
              const char *const *cmd)
{
  msb_error *err = NULL;
  msb_sandbox *sb = NULL;
  if (msb_config_set_main_command (o->cfg, cmd, &err) < 0
      || create_sandbox (ctx, name, o, flags | MSB_SANDBOX_DETACHED, &sb, &err) < 0)
    return cli_fail (err, MSB_EXIT_MSB_FAILED);
  msb_sandbox_close (sb);
  puts (name);
  return 0;
}

static int
usage (FILE *to)
{
  fprintf (to, "usage: msb run [flags] IMAGE [-- CMD ARGS…]\n%s"
                   "  -d, --detach               print the name and leave it running; it stops when CMD exits\n"
                   "  -t, --tty                  allocate a terminal (default: when interactive)\n"
                   "      --no-tty               never allocate a terminal\n"
                   "      --timeout DUR          kill the command after DUR (exit 124)\n",
           cli_create_flags_help ());
  return to == stdout ? 0 : MSB_EXIT_MSB_FAILED;
}

int
cli_run (int argc, char **argv)
{
  cli_create_opts o = { .cfg = msb_config_new (), .replace_timeout = -1 };
  const char *image = NULL;
  int tty = -1, i;
  bool detach = false;
  double timeout = 0;
  for (i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    {
      int r = cli_create_flag (&o, argc, argv, &i);
      if (r < 0)
        return MSB_EXIT_MSB_FAILED;
      if (r > 0)
        continue;
      if (strcmp (argv[i], "-d") == 0 || strcmp (argv[i], "--detach") == 0)
        detach = true;
      else if (strcmp (argv[i], "-t") == 0 || strcmp (argv[i], "--tty") == 0)
        tty = 1;
      else if (strcmp (argv[i], "--no-tty") == 0)
        tty = 0;
      else if (strcmp (argv[i], "--timeout") == 0 && i + 1 < argc)
        {
          if (cli_parse_duration (argv[++i], &timeout) < 0)
            return cli_failf (MSB_EXIT_MSB_FAILED, "--timeout: invalid duration `%s`", argv[i]);
        }
      else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        return usage (stdout);
      else if (argv[i][0] == '-')
        return cli_unknown_flag ("run", argv[i], MSB_EXIT_MSB_FAILED);
      else if (image)
        return usage (stderr);
      else
        image = argv[i];
    }
  if (image == NULL && o.from_snapshot == NULL)
    return usage (stderr);
  if (image && o.from_snapshot)
    return cli_failf (MSB_EXIT_MSB_FAILED, "run: IMAGE and --from-snapshot are mutually exclusive");
  msb_error *err = NULL;
  if (image && msb_config_set_image (o.cfg, image, &err) < 0)
    return cli_fail (err, MSB_EXIT_MSB_FAILED);
  char **user_cmd = i < argc ? argv + i + 1 : NULL;
  int n_user = i < argc ? argc - i - 1 : 0;
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return MSB_EXIT_MSB_FAILED;
  /* The command comes from the image config: pull it first when it is not cached. A
   * snapshot's image is its pinned manifest (pulled by the create when missing). */
  _msb_cli_snapshot_image_ char *snap_image = NULL;
  if (o.from_snapshot)
    {
      msb_snapshot *snap = NULL;
      if (msb_snapshot_open (ctx, o.from_snapshot, &snap, &err) < 0)
        {
          msb_config_free (o.cfg);
          msb_ctx_close (ctx);
          return cli_fail (err, MSB_EXIT_MSB_FAILED);
        }
      const char *d = msb_snapshot_image_manifest_digest (snap);
      snap_image = d ? strdup (d) : NULL;
      msb_snapshot_free (snap);
    }
  else if (cli_pull_for_create (ctx, o.cfg) < 0)
    {
      msb_config_free (o.cfg);
      msb_ctx_close (ctx);
      return MSB_EXIT_MSB_FAILED;
    }
  char *name = o.name ? strdup (o.name) : generated_name ();
  bool ephemeral = o.name == NULL && !detach;
  /* An unnamed run removes itself: its runtime deletes the record and files when it ends. */
  if (ephemeral)
    msb_config_set_ephemeral (o.cfg, true, NULL);
  unsigned flags = o.replace ? MSB_SANDBOX_REPLACE : 0;
  msb_sandbox *sb = NULL;
  int status;
  char **cmd = resolve_command (ctx, o.cfg, o.from_snapshot ? snap_image : image, user_cmd, n_user);
  if (cmd[0] == NULL)
    status = cli_failf (MSB_EXIT_MSB_FAILED, "no command given and the image has no ENTRYPOINT or CMD");
  else if (detach)
    status = run_detached (ctx, name, &o, flags, (const char *const *) cmd);
  else if (create_sandbox (ctx, name, &o, flags, &sb, &err) < 0)
    status = cli_fail (err, MSB_EXIT_MSB_FAILED);
  else
    {
      msb_exec_opts eo = { .size = sizeof eo };
      eo.tty = tty < 0 ? cli_is_interactive () : tty == 1;
      status = cli_exec_attached (sb, cmd[0], (const char *const *) cmd + 1, &eo, timeout);
      msb_sandbox_close (sb);
      if (msb_sandbox_stop (ctx, name, -1, &err) < 0)
        cli_fail (err, 0);
    }
  free_argv (cmd);
  free (name);
  msb_config_free (o.cfg);
  msb_ctx_close (ctx);
  return status;
}
