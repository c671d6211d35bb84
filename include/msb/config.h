/* msb_config — the options of a sandbox, built with setters and stored with the sandbox as
 * its config JSON (API.md §1.20). New options arrive as new setters, never as changed
 * signatures. Setters validate their argument and fail with MSB_ERR_INVALID_CONFIG (or
 * MSB_ERR_INVALID_ARGUMENT for a negative duration) naming the option. A config is not
 * thread-safe; it is copied by msb_sandbox_create(), so it can be freed right after. */
#ifndef MSB_CONFIG_H
#define MSB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_config msb_config;

/* A config with the defaults: 1 cpu, 512 MiB, shell /bin/sh, pull policy if-missing. */
msb_config *msb_config_new (void);
void msb_config_free (msb_config *cfg);

/* Parses a stored config JSON (§1.20), e.g. SandboxHandle.config_json. */
int msb_config_from_json (const char *json, msb_config **out, msb_error **err);
/* Serialises to the §1.20 JSON (the caller frees the string with free()). */
char *msb_config_to_json (const msb_config *cfg);

/* The root: an OCI reference ("alpine", "host:5000/app:1.2", "repo@sha256:…"). Required. */
int msb_config_set_image (msb_config *cfg, const char *reference, msb_error **err);
/* vCPUs (1..128; a CPU-time limit for the namespace backend). */
int msb_config_set_cpus (msb_config *cfg, unsigned cpus, msb_error **err);
/* Memory limit in MiB (≥ 16). */
int msb_config_set_memory_mib (msb_config *cfg, unsigned mib, msb_error **err);
/* Maximum number of processes (extension; default 2048; 0 = unlimited). */
int msb_config_set_pids_limit (msb_config *cfg, unsigned limit, msb_error **err);
/* Adds or replaces one environment variable for every command (merged over image ENV). */
int msb_config_set_env (msb_config *cfg, const char *key, const char *value, msb_error **err);
/* Default working directory (absolute path) for commands. */
int msb_config_set_workdir (msb_config *cfg, const char *path, msb_error **err);
/* Default user: "name", "uid", "name:group" or "uid:gid". */
int msb_config_set_user (msb_config *cfg, const char *user, msb_error **err);
/* Hostname (default: the sandbox name sanitised into a valid hostname). */
int msb_config_set_hostname (msb_config *cfg, const char *hostname, msb_error **err);
/* Interpreter of msb_shell() (default "/bin/sh"). */
int msb_config_set_shell (msb_config *cfg, const char *shell, msb_error **err);
/* ENTRYPOINT / CMD overrides (NULL-terminated vectors; NULL clears the override). Used only by
 * command resolution of `msb run` and exec_default, never by msb_exec_*. */
int msb_config_set_entrypoint (msb_config *cfg, const char *const *argv, msb_error **err);
int msb_config_set_cmd (msb_config *cfg, const char *const *argv, msb_error **err);
/* Extension: a main command, like a container's main process: the sandbox runs it when it
 * boots (output in its exec.log) and stops when it exits, recording its exit code. */
int msb_config_set_main_command (msb_config *cfg, const char *const *argv, msb_error **err);
/* Adds a label (keys prefixed "sandbox.", "microsandbox.", "service." are reserved). */
int msb_config_set_label (msb_config *cfg, const char *key, const char *value, msb_error **err);
/* Pull policy: "always", "if-missing" (default) or "never". */
int msb_config_set_pull_policy (msb_config *cfg, const char *policy, msb_error **err);
/* Lifetime cap and idle timeout in seconds (negative → MSB_ERR_INVALID_ARGUMENT; 0 = none). */
int msb_config_set_max_duration (msb_config *cfg, double seconds, msb_error **err);
int msb_config_set_idle_timeout (msb_config *cfg, double seconds, msb_error **err);
/* Delete the sandbox record once it reaches a terminal state. */
int msb_config_set_ephemeral (msb_config *cfg, bool ephemeral, msb_error **err);
/* Isolation backend: "ns", "vm" or "auto" (default: $MSB_BACKEND, else auto). */
int msb_config_set_backend (msb_config *cfg, const char *backend, msb_error **err);
/* Runtime log verbosity: trace, debug, info, warn, error. */
int msb_config_set_log_level (msb_config *cfg, const char *level, msb_error **err);

/* Getters used by clients that render a config (NULL when unset). */
const char *msb_config_get_image (const msb_config *cfg);
unsigned msb_config_get_cpus (const msb_config *cfg);
unsigned msb_config_get_memory_mib (const msb_config *cfg);
const char *msb_config_get_shell (const msb_config *cfg);
const char *const *msb_config_get_entrypoint (const msb_config *cfg);
const char *const *msb_config_get_cmd (const msb_config *cfg);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
