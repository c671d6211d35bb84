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
#include <msb/volume.h>

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
/* Boot-time ceilings for live resize (API.md max_cpus / max_memory): at least cpus / memory
 * (default: equal to them). Stored with the config; the namespace backend has no hotplug, so
 * they only bound later changes. */
int msb_config_set_max_cpus (msb_config *cfg, unsigned max_cpus, msb_error **err);
int msb_config_set_max_memory_mib (msb_config *cfg, unsigned max_mib, msb_error **err);
/* Guest transparent huge pages: "always", "madvise" (default) or "never" (API.md thp). */
int msb_config_set_thp (msb_config *cfg, const char *policy, msb_error **err);
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

/* Credentials for the registry of the image (API.md RegistryAuth): used by the pull of a
 * create, kept in memory only — never written into the stored config JSON. NULL user and
 * password clear them. */
int msb_config_set_registry_auth (msb_config *cfg, const char *username, const char *password,
                                  msb_error **err);
/* Plain HTTP / unverified TLS allowed for the image's registry (registry_insecure). */
int msb_config_set_registry_insecure (msb_config *cfg, bool insecure, msb_error **err);
/* Extra CA roots for the image's registry (registry_ca_certs): a PEM file, or PEM data. */
int msb_config_add_registry_ca_file (msb_config *cfg, const char *path, msb_error **err);
int msb_config_add_registry_ca_pem (msb_config *cfg, const char *pem, msb_error **err);
/* The pull policy ("always", "if-missing", "never"). */
const char *msb_config_get_pull_policy (const msb_config *cfg);

/* ---- volumes (API.md §1.13) ----
 * Guest paths are absolute, without "." or ".." components, and not under /proc, /sys or
 * /.msb; each guest path takes one mount. Volumes are mounted before the agent starts, over
 * whatever the image has there (a symlink in the image at a mount point is refused). Device
 * nodes are never usable through a volume (nodev is always set). */
enum
{
  MSB_MOUNT_READONLY = 1u << 0,
  MSB_MOUNT_NOEXEC = 1u << 1,
  MSB_MOUNT_NOSUID = 1u << 2,
  MSB_MOUNT_NODEV = 1u << 3,
};

/* A host directory at `guest_path` (a relative host path is taken from the current
 * directory; it must exist). Ownership: when the directory's owner is not root, the sandbox's
 * root is mapped to that owner (and its group to the directory's group), so files the
 * sandbox writes there belong to the directory's owner on the host; other sandbox users map
 * to the sandbox's own unprivileged range. A directory owned by root is not mapped: the
 * sandbox writes as its unprivileged host uid and needs the directory's permissions to do
 * so — no sandbox ever creates a file owned by the host's root. */
int msb_config_add_bind_mount (msb_config *cfg, const char *host_path, const char *guest_path,
                               unsigned flags, msb_error **err);

typedef enum msb_named_mode
{
  MSB_NAMED_EXISTING = 0,    /* the volume must exist (else MSB_ERR_VOLUME_NOT_FOUND at create) */
  MSB_NAMED_CREATE,          /* created at sandbox create; an existing one is an error */
  MSB_NAMED_ENSURE_EXISTS,   /* created at sandbox create when missing */
} msb_named_mode;

/* Options of msb_config_add_named_mount(); zero-initialise and set `size`. NULL = existing. */
typedef struct msb_named_mount_opts
{
  uint32_t size;
  unsigned flags;        /* MSB_MOUNT_* */
  msb_named_mode mode;
  msb_volume_kind kind;  /* for create / ensure-exists */
  uint64_t size_mib;     /* disk volumes created here */
  uint64_t quota_mib;    /* directory volumes created here */
} msb_named_mount_opts;

int msb_config_add_named_mount (msb_config *cfg, const char *volume, const char *guest_path,
                                const msb_named_mount_opts *opts, msb_error **err);
/* A tmpfs of `size_mib` (0 = the kernel default, half of RAM, still charged to the sandbox's
 * memory limit); writes beyond it fail with ENOSPC. */
int msb_config_add_tmpfs_mount (msb_config *cfg, const char *guest_path, uint64_t size_mib,
                                unsigned flags, msb_error **err);

/* ---- patches (API.md §1.14) ----
 * Applied in order to the sandbox's writable root at its first boot, before the agent starts,
 * as the sandbox's root user; every path resolves inside the sandbox root. Writing to a path
 * that already exists fails unless `replace`; mkdir and remove are idempotent. A failing patch
 * fails the create with an error naming the patch, and nothing of the sandbox is left.
 * `mode` < 0 = default (0644 files, 0755 directories, the host file's mode for copy_file).
 * Missing parent directories are created. */
int msb_config_add_patch_text (msb_config *cfg, const char *path, const char *content, int mode,
                               bool replace, msb_error **err);
int msb_config_add_patch_file (msb_config *cfg, const char *path, const void *content,
                               size_t len, int mode, bool replace, msb_error **err);
/* Appends to a file (copied up from the image when needed; created when missing). */
int msb_config_add_patch_append (msb_config *cfg, const char *path, const char *content,
                                 msb_error **err);
int msb_config_add_patch_mkdir (msb_config *cfg, const char *path, int mode, msb_error **err);
int msb_config_add_patch_remove (msb_config *cfg, const char *path, msb_error **err);
/* Host file / host directory tree → guest path (host paths are read when the sandbox first
 * boots, with the caller's privileges; symlinks in a tree are copied as symlinks). */
int msb_config_add_patch_copy_file (msb_config *cfg, const char *host_src, const char *guest_dst,
                                    int mode, bool replace, msb_error **err);
int msb_config_add_patch_copy_dir (msb_config *cfg, const char *host_src, const char *guest_dst,
                                   bool replace, msb_error **err);
int msb_config_add_patch_symlink (msb_config *cfg, const char *target, const char *link,
                                  bool replace, msb_error **err);

/* ---- scripts, init, writable layer ---- */

/* A script: /.msb/scripts/<name> (executable, on every command's PATH) holding `body`.
 * Names: 1..255 bytes, no '/', not "." or "..". NULL body removes it. */
int msb_config_set_script (msb_config *cfg, const char *name, const char *body, msb_error **err);

/* A custom init (API.md §1.18): after the agent's setup, `cmd` becomes PID 1 of the sandbox
 * (argv[0] = cmd, then `args`; environment `env`, "K=V") while the agent keeps serving
 * commands; a graceful stop asks it to shut down (SIGTERM; SIGRTMIN+4 for systemd). `cmd` is
 * an absolute guest path or "auto" (the image ENTRYPOINT, else /sbin/init,
 * /lib/systemd/systemd, /usr/lib/systemd/systemd). NULL cmd removes the init. */
int msb_config_set_init (msb_config *cfg, const char *cmd, const char *const *args,
                         const char *const *env, msb_error **err);

/* Bounds the sandbox's writable layer to `mib` MiB (image option upper_size_mib): the layer
 * lives on a sparse ext4 image, and filling it fails with ENOSPC inside the sandbox. 0 = no
 * limit (a directory). Takes effect when the sandbox is created. */
int msb_config_set_upper_size_mib (msb_config *cfg, unsigned mib, msb_error **err);

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
