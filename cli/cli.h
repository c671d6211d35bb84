/* Shared pieces of the msb command-line tool: the verb table, error printing, exit codes and
 * the parsers for sizes, durations and create flags. Each verb lives in its own file and is
 * a thin translation from flags to libmsb calls. */
#ifndef MSB_CLI_H
#define MSB_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <jansson.h>
#include <msb/msb.h>

/* Exit statuses of run/exec (API.md §2). */
enum
{
  MSB_EXIT_TIMEOUT = 124,
  MSB_EXIT_MSB_FAILED = 125,
  MSB_EXIT_NOT_EXECUTABLE = 126,
  MSB_EXIT_NOT_FOUND = 127,
  MSB_EXIT_SIGNALED = 255,
};

typedef int (*msb_cli_verb_fn) (int argc, char **argv);

/* Prints "msb: <message>" to stderr and frees err. Returns `code`. */
int cli_fail (msb_error *err, int code);
/* Prints "msb: <printf message>" to stderr. Returns `code`. */
int cli_failf (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* "msb: <verb>: unknown flag `X` (`msb <verb> --help` lists the flags)". Returns `code`. */
int cli_unknown_flag (const char *verb, const char *flag, int code);

/* Refuses an argument that starts with '-' and is not in `spec`: flags separated by spaces,
 * aliases by '|', and a trailing '=' on those that take a value ("-q|--quiet --format=");
 * such a value follows as the next argument. Returns 0, or prints why and returns `code`. */
int cli_check_flags (const char *verb, int argc, char **argv, const char *spec, int code);

/* Opens the context (MSB_HOME); on failure prints and returns NULL. */
msb_ctx *cli_ctx (void);

/* Whether `name` (or `alias`, may be NULL) is among argv[1..]. */
bool cli_has_flag (int argc, char **argv, const char *name, const char *alias);

typedef int (*cli_name_fn) (msb_ctx *ctx, const char *name, void *data, msb_error **err);
/* Calls fn on each of argv[first..] that does not start with '-' (so a flag's value must be
 * consumed or overwritten with "-" first), printing each failure and, when `echo`, each name
 * that succeeded. Returns 1 if any failed, else 0, or -1 when argv held no name at all. */
int cli_each_name (msb_ctx *ctx, int argc, char **argv, int first, cli_name_fn fn, void *data,
                   bool echo);
/* cli_each_name over argv[1..] in a context of its own (1 when that does not open). */
int cli_each_sandbox (int argc, char **argv, cli_name_fn fn, void *data, bool echo);

/* "512", "512M", "1G", "2g" → MiB. */
int cli_parse_size_mib (const char *s, unsigned *mib);
/* "30", "30s", "5m", "1h", "1d", "1.5s" → seconds. */
int cli_parse_duration (const char *s, double *seconds);

/* Create flags shared by `run` and `create`. */
typedef struct cli_create_opts
{
  const char *name;
  msb_config *cfg;
  bool replace;
  double replace_timeout; /* < 0 = default */
  bool quiet;
  const char *from_snapshot; /* --from-snapshot: boot from this snapshot instead of an image */
} cli_create_opts;

/* Consumes one create flag at argv[*i] (advancing *i past its value). Returns 1 when the
 * flag was a create flag, 0 when it is not one, -1 on a bad value (already printed). */
int cli_create_flag (cli_create_opts *o, int argc, char **argv, int *i);
const char *cli_create_flags_help (void);
/* The filesystem create flags (-v, --tmpfs, --script, --init, --root-disk, patches), same
 * contract as cli_create_flag; called by it first (create_fs_flags.c). */
int cli_create_fs_flag (cli_create_opts *o, int argc, char **argv, int *i);
const char *cli_create_fs_flags_help (void);
/* The network create flags (-p, --net, --net-rule, --net-default, --no-net), same contract
 * (create_net_flags.c). */
int cli_create_net_flag (cli_create_opts *o, int argc, char **argv, int *i);
const char *cli_create_net_flags_help (void);
/* The pieces the three create-flag files share. cli_flag_value matches argv[*i] as `-x VALUE`,
 * `--long VALUE` or `--long=VALUE` (either name may be NULL): it sets *matched and returns the
 * value, advancing *i past a separate one, or NULL when the value is missing. */
const char *cli_flag_value (int argc, char **argv, int *i, const char *shortf, const char *longf,
                            bool *matched);
/* "msb: FLAG: invalid value `VALUE`: WHAT" ("(missing)" for a NULL value). Returns -1. */
int cli_flag_bad_value (const char *flag, const char *value, const char *what);
/* 1 when the setter that filled err succeeded; otherwise prints err and returns -1. */
int cli_flag_applied (msb_error *err);

/* Runs cmd in sb bridging this process's stdio (PTY when `tty`), returns the exit status to
 * use for msb (the command's own, or 124/125/126/127/255). */
int cli_exec_attached (msb_sandbox *sb, const char *cmd, const char *const *args,
                       msb_exec_opts *opts, double timeout_s);

/* "2026-11-28T15:00:00Z" from ms since the epoch. */
void cli_rfc3339 (int64_t ms, char *out, size_t n);
/* Prints a JSON value on stdout (pretty unless compact). */
void cli_print_json (json_t *value, bool compact);
/* Whether argv[*i] is `--format=json`, or `--format json` (then *i moves onto the value). */
bool cli_is_format_json (int argc, char **argv, int *i);
/* 1536 → "1.5K", 512 → "512B": bytes in the largest unit up to T. */
void cli_human_size (uint64_t bytes, char *out, size_t n);

/* Whether stdin and stdout are terminals (auto TTY). */
bool cli_is_interactive (void);

/* Verbs. */
int cli_run (int argc, char **argv);
int cli_create (int argc, char **argv);
int cli_start (int argc, char **argv);
int cli_stop (int argc, char **argv);
int cli_kill (int argc, char **argv);
int cli_ls (int argc, char **argv);
int cli_rm (int argc, char **argv);
int cli_exec (int argc, char **argv);
int cli_shell (int argc, char **argv);
int cli_image (int argc, char **argv);
int cli_sandbox (int argc, char **argv);
int cli_runtime_entry (const char *home, const char *name, int ready_fd, int watchdog_fd);
int cli_logs (int argc, char **argv);
int cli_metrics (int argc, char **argv);
int cli_ps (int argc, char **argv);
int cli_inspect (int argc, char **argv);
int cli_ping (int argc, char **argv);
int cli_touch (int argc, char **argv);
int cli_drain (int argc, char **argv);
int cli_wait (int argc, char **argv);
int cli_restart (int argc, char **argv);
/* Disk snapshots and live modification (cli/snapshot.c, cli/modify.c). */
int cli_snapshot (int argc, char **argv);
int cli_modify (int argc, char **argv);
int cli_doctor (int argc, char **argv);


/* Pull / registry verbs (cli/pull.c, cli/registry.c) and the pull progress renderer
 * (cli/pull_progress.c), shared with run and create. */
int cli_pull (int argc, char **argv);
/* Volumes and copies (cli/volume.c, cli/cp.c). */
int cli_volume (int argc, char **argv);
int cli_cp (int argc, char **argv);
int cli_registry (int argc, char **argv);
/* `image inspect|rm|prune|save|pull` (cli/image_manage.c); argv[1] is the subcommand. */
int cli_image_more (int argc, char **argv);
typedef struct cli_pull_progress cli_pull_progress;
/* Renders to `out`; bars when `tty`; `verbose_cached` also reports a cached image. */
cli_pull_progress *cli_pull_progress_new (FILE *out, bool tty, bool verbose_cached);
void cli_pull_progress_event (const msb_pull_event *ev, void *data);
/* Frees it; returns whether anything was downloaded. */
int cli_pull_progress_finish (cli_pull_progress *p);
/* Before `run` / `create`: pulls the config's image when it is not cached (and the policy
 * allows), with progress bars on a terminal, so `run` can read the image's ENTRYPOINT/CMD.
 * Returns 0, or -1 with the error printed. */
int cli_pull_for_create (msb_ctx *ctx, const msb_config *cfg);

#endif
