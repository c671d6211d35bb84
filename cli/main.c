/* msb — the command-line tool. Verbs are dispatched from a table; each lives in its own
 * file. Global flags: --help, --version, --tree and the log-level flags. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/spawn.h"

typedef struct verb
{
  const char *name;
  const char *alias;
  msb_cli_verb_fn fn;
  const char *summary;
  bool hidden;
  /* Arguments and flags, for `msb VERB --help`; NULL: the verb prints its own help. */
  const char *synopsis;
} verb;

static const verb verbs[] = {
  { "run", NULL, cli_run, "create a sandbox, run a command in it, propagate its exit code", false,
    NULL },
  { "create", NULL, cli_create, "create and boot a sandbox that waits idle", false, NULL },
  { "start", NULL, cli_start, "boot stopped sandboxes", false, "NAME… [-q|--quiet]" },
  { "stop", NULL, cli_stop, "stop sandboxes gracefully (then SIGKILL after --timeout)", false,
    "NAME… [-t|--timeout DUR] [-f|--force] [-q|--quiet]" },
  { "kill", NULL, cli_kill, "kill sandboxes immediately", false, "NAME… [-q|--quiet]" },
  { "ls", "list", cli_ls, "list sandboxes", false,
    "[-q|--quiet] [--running|--stopped] [--label K[=V]] [--format table|json]" },
  { "rm", "remove", cli_rm, "remove sandboxes and all their state", false,
    "NAME… [-f|--force] [-q|--quiet]" },
  { "exec", NULL, cli_exec, "run a command in a sandbox", false,
    "NAME [-e|--env K[=V]]… [-w|--workdir DIR] [-u|--user USER] [-t|--tty | --no-tty]\n"
    "                [--timeout DUR] [--rlimit NAME=SOFT[:HARD]]… [-q|--quiet] -- CMD [ARGS…]" },
  { "shell", NULL, cli_shell, "run the sandbox shell (interactive or with a script)", false,
    "NAME [-e|--env K[=V]]… [-w|--workdir DIR] [-u|--user USER] [-t|--tty | --no-tty] [-- SCRIPT]" },
  { "restart", NULL, cli_restart, "stop (if running) then start sandboxes", false, "NAME…" },
  { "drain", NULL, cli_drain, "let running commands finish, refuse new ones, then stop", false,
    "NAME…" },
  { "wait", NULL, cli_wait, "wait until a sandbox stops; print its exit code", false, "NAME" },
  { "ps", "status", cli_ps, "running sandboxes with their resources", false,
    "[NAME] [-a|--all] [-q|--quiet] [--format table|json]" },
  { "inspect", NULL, cli_inspect, "a sandbox's status and stored config as JSON", false,
    "NAME [--format json]" },
  { "logs", NULL, cli_logs, "output captured in a sandbox's exec.log", false,
    "NAME [--tail N] [--since T] [--until T] [-f|--follow] [--source stdout,stderr,system,…]\n"
    "                [--json] [--timestamps] [--grep TEXT] [--raw] [--show-id]" },
  { "metrics", NULL, cli_metrics, "CPU, memory, disk and network of running sandboxes", false,
    "[NAME] [-w|--watch] [-f|--follow] [--interval DUR] [--format table|json] [--sort KEY]" },
  { "ping", NULL, cli_ping, "check that sandboxes' agents answer", false, "NAME… [--touch]" },
  { "touch", NULL, cli_touch, "refresh sandboxes' idle timers", false, "NAME…" },
  { "image", NULL, cli_image,
    "manage cached images (load, ls, inspect, rm, prune, save, pull)", false,
    "load|ls|inspect|rm|prune|save|pull …  (e.g. msb image ls [-q] [--format json],\n"
    "                msb image load -i FILE|DIR [--tag REF],\n"
    "                msb image save REF… -o FILE [--format docker|oci])" },
  { "pull", NULL, cli_pull, "pull an image from a registry, with per-layer progress", false, NULL },
  { "cp", "copy", cli_cp, "copy files between a sandbox and the host (NAME:/path ↔ path)", false,
    "NAME:/PATH HOST_PATH | HOST_PATH NAME:/PATH  (- for a tar stream on stdin/stdout) [-q]" },
  { "volume", "vol", cli_volume, "manage named volumes (create, ls, inspect, rm)", false, NULL },
  { "volumes", "vols", NULL, "list volumes (= volume ls)", false, NULL },
  { "snapshot", "snap", cli_snapshot,
    "disk snapshots of stopped sandboxes (create, ls, inspect, verify, rm, reindex)", false, NULL },
  { "snapshots", NULL, NULL, "list snapshots (= snapshot ls)", false, NULL },
  { "modify", "mod", cli_modify,
    "change a sandbox's resources and config (live where possible)", false, NULL },
  { "registry", NULL, cli_registry, "registry credentials (login, logout, ls)", false,
    "login HOST [-u|--username U] [--password-stdin] [--insecure] [--ca-certs FILE]\n"
    "                | logout HOST | ls [--format json]" },
  { "images", NULL, NULL, "list cached images (= image ls)", false, NULL },
  { "rmi", NULL, NULL, "remove cached images (= image rm)", false, NULL },
  { "save", NULL, NULL, "save images to an archive (= image save)", false, NULL },
  { "load", NULL, NULL, "load an image archive (= image load)", false, NULL },
  { "doctor", "info", cli_doctor, "what this host supports, and which backend `auto` picks", false,
    NULL },
  { "sandbox", NULL, cli_sandbox, "internal: per-sandbox runtime process", true, NULL },
};

#define N_VERBS (sizeof verbs / sizeof verbs[0])

static int
usage (FILE *out)
{
  fprintf (out, "msb %s — run untrusted code in sandboxes made from OCI images\n\n"
                "usage: msb [--help|--version] COMMAND [ARGS…]\n\ncommands:\n",
           msb_version ());
  for (size_t i = 0; i < N_VERBS; i++)
    if (!verbs[i].hidden)
      fprintf (out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  return out == stdout ? 0 : 1;
}

/* The verb named or aliased `cmd` (names and aliases are unique), or NULL. */
static const verb *
find_verb (const char *cmd)
{
  for (size_t i = 0; i < N_VERBS; i++)
    if (strcmp (cmd, verbs[i].name) == 0 || (verbs[i].alias && strcmp (cmd, verbs[i].alias) == 0))
      return &verbs[i];
  return NULL;
}

static bool
is_log_flag (const char *a)
{
  static const char *const flags[] = { "--error", "--warn", "--info", "--debug", "--trace" };
  for (size_t i = 0; i < 5; i++)
    if (strcmp (a, flags[i]) == 0)
      return true;
  return false;
}

/* Shorthands such as `msb images …` = `msb image ls …`, `msb volumes …` = `msb volume ls …`:
 * runs fn as `VERB SUB ARGS…`. */
static int
run_as_subcommand (msb_cli_verb_fn fn, const char *verb_name, const char *sub, int argc,
                   char **argv)
{
  char *args[argc + 2];
  args[0] = (char *) verb_name;
  args[1] = (char *) sub;
  for (int i = 1; i < argc; i++)
    args[i + 1] = argv[i];
  args[argc + 1] = NULL;
  return fn (argc + 1, args);
}

int
main (int argc, char **argv)
{
  msb_spawn_set_inprocess_runtime (cli_runtime_entry);
  int first = 1;
  while (first < argc && is_log_flag (argv[first]))
    first++;
  if (first >= argc)
    return usage (stderr);
  const char *cmd = argv[first];
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0
      || strcmp (cmd, "--tree") == 0)
    return usage (stdout);
  if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "-V") == 0)
    {
      printf ("msb %s\n", msb_version ());
      return 0;
    }
  char **vargv = argv + first;
  int vargc = argc - first;
  if (strcmp (cmd, "images") == 0)
    return run_as_subcommand (cli_image, "image", "ls", vargc, vargv);
  if (strcmp (cmd, "load") == 0)
    return run_as_subcommand (cli_image, "image", "load", vargc, vargv);
  if (strcmp (cmd, "volumes") == 0 || strcmp (cmd, "vols") == 0)
    return run_as_subcommand (cli_volume, "volume", "ls", vargc, vargv);
  if (strcmp (cmd, "snapshots") == 0)
    return run_as_subcommand (cli_snapshot, "snapshot", "ls", vargc, vargv);
  if (strcmp (cmd, "rmi") == 0)
    return run_as_subcommand (cli_image, "image", "rm", vargc, vargv);
  if (strcmp (cmd, "save") == 0)
    return run_as_subcommand (cli_image, "image", "save", vargc, vargv);
  const verb *v = find_verb (cmd);
  if (v && v->synopsis && vargc == 2
      && (strcmp (vargv[1], "--help") == 0 || strcmp (vargv[1], "-h") == 0))
    {
      printf ("usage: msb %s %s\n\n%s\n", v->name, v->synopsis, v->summary);
      return 0;
    }
  if (v && v->fn)
    return v->fn (vargc, vargv);
  fprintf (stderr, "msb: unknown command `%s`\n\n", cmd);
  return usage (stderr);
}
