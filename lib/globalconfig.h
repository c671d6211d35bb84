/* $MSB_HOME/config.json, the global configuration (API.md §4). This file owns reading it;
 * today it knows the `registries` section (mirrors, insecure registries, extra CA files per
 * registry host), and ignores keys it does not know so other sections can be added freely:
 *
 *   {
 *     "registries": {
 *       "docker.io":       { "mirrors": ["127.0.0.1:5000", "https://mirror.corp.example"] },
 *       "127.0.0.1:5000":  { "insecure": true },
 *       "registry.corp.example": { "ca_file": "/etc/msb/corp-root.pem" }
 *     }
 *   }
 *
 * A missing file is an empty configuration; a malformed one is MSB_ERR_INVALID_CONFIG naming
 * the file and the key, so a typo never silently turns a mirror off. */
#ifndef MSB_LIB_GLOBALCONFIG_H
#define MSB_LIB_GLOBALCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "lib/home.h"

/* config.json larger than this is refused. */
#define MSB_GLOBAL_CONFIG_MAX (1u << 20)

typedef struct msb_registry_settings
{
  char *host;      /* normalised registry host ("docker.io", "127.0.0.1:5000") */
  char **mirrors;  /* NULL-terminated, tried in order before the registry itself; may be NULL */
  bool insecure;   /* plain HTTP allowed, TLS certificates not verified */
  char **ca_files; /* NULL-terminated extra PEM roots trusted for this host; may be NULL */
} msb_registry_settings;

typedef struct msb_global_config
{
  msb_registry_settings *registries;
  size_t n_registries;
} msb_global_config;

/* Reads <home>/config.json into *out (zeroed first). */
int msb_global_config_load (const msb_home *home, msb_global_config *out, msb_error **err);

/* Parses a config.json document (`what` names it in errors). */
int msb_global_config_parse (const char *json, size_t len, const char *what,
                             msb_global_config *out, msb_error **err);

void msb_global_config_clear (msb_global_config *c);

/* The settings of registry `host` (normalised first), or NULL. */
const msb_registry_settings *msb_global_config_registry (const msb_global_config *c,
                                                         const char *host);

/* The name a registry host is known by: "index.docker.io" and "registry-1.docker.io" are
 * "docker.io"; anything else is lowercased. Newly allocated. */
char *msb_registry_host_normalize (const char *host);

#endif
