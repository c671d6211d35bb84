/* struct msb_config: the options of one sandbox (the public msb_config is this struct behind
 * an opaque pointer), its validation and its §1.20 JSON form. */
#ifndef MSB_LIB_CONFIG_H
#define MSB_LIB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <msb/config.h>

#include "lib/config_fs.h"
#include "lib/kv.h"
#include "lib/net_spec.h"

struct msb_config
{
  char *image;
  unsigned cpus;
  unsigned max_cpus;
  unsigned memory_mib;
  unsigned max_memory_mib;
  bool max_cpus_set;   /* max_* follow cpus/memory until set explicitly */
  bool max_memory_set;
  uint8_t thp;        /* msb_thp_policy (lib/config_resources.c): 0 = madvise */
  unsigned pids_limit;
  char *workdir;
  char *shell;
  char *hostname;
  char *user;
  char *log_level;
  char *backend;      /* "ns", "vm", "auto" or NULL (= $MSB_BACKEND / auto) */
  char **entrypoint;  /* NULL = image ENTRYPOINT */
  char **cmd;         /* NULL = image CMD */
  char **main_cmd;    /* extension: run at boot, the sandbox stops when it exits; NULL = none */
  msb_kvlist env;
  msb_kvlist labels;
  msb_kvlist scripts;
  char *pull_policy;  /* "always", "if-missing", "never" */
  int64_t max_duration_secs;  /* 0 = none */
  int64_t idle_timeout_secs;  /* 0 = none */
  bool ephemeral;
  /* registry_auth, registry_insecure, registry_ca_certs (lib/config_registry.c): for the pull
   * of a create only; never serialised into the config JSON. */
  struct
  {
    char *username;
    char *password;
    bool insecure;
    char **ca_files;
    char *ca_pem;
  } registry;
  /* volumes, patches, init, upper size (lib/config_fs.c, lib/config_fs_json.c). */
  msb_config_files files;
  /* network: policy, ports, dns (lib/config_net.c, lib/config_net_json.c). */
  msb_config_net net;
};

msb_config *msb_config_copy (const msb_config *cfg);

/* "always" / "never" of a non-default thp policy (lib/config_resources.c). */
const char *msb_config_thp_name (uint8_t thp);

/* The registry part of a config: wiped and freed / deep-copied (lib/config_registry.c). */
void msb_config_registry_clear (msb_config *cfg);
void msb_config_registry_copy (msb_config *dst, const msb_config *src);

/* Checks what setters cannot check alone (an image is set, …). */
int msb_config_validate (const msb_config *cfg, msb_error **err);

/* The hostname a sandbox gets: cfg->hostname, else `name` sanitised (RFC 1123 label). */
char *msb_config_effective_hostname (const msb_config *cfg, const char *name);

/* JSON of the config with the sandbox name (§1.20). */
char *msb_config_to_json_named (const msb_config *cfg, const char *name);

#endif
