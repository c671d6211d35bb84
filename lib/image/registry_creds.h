/* Stored registry credentials (`msb registry login`): one file per registry host,
 * $MSB_HOME/secrets/registries/<host>.json = {"username": …, "password": …}, mode 0600 in a
 * 0700 directory, written through a temp file and rename. Owns those files only.
 *
 * A password never appears in an error message, a log line or a listing; buffers that held
 * one are wiped before they are freed. */
#ifndef MSB_LIB_IMAGE_REGISTRY_CREDS_H
#define MSB_LIB_IMAGE_REGISTRY_CREDS_H

#include <stdbool.h>

#include "common/error.h"
#include "lib/home.h"

/* Checks `host` can name a credentials file (a registry host[:port]); the normalised host
 * (see msb_registry_host_normalize) goes to *norm. MSB_ERR_INVALID_CONFIG otherwise. */
int msb_registry_creds_host (const char *host, char **norm, msb_error **err);

/* Stores (replaces) the credentials of `host`. */
int msb_registry_creds_store (const msb_home *home, const char *host, const char *username,
                              const char *password, msb_error **err);

/* Loads the credentials of `host`; none stored → 0 with *username = *password = NULL.
 * Free *password with msb_secret_free. */
int msb_registry_creds_load (const msb_home *home, const char *host, char **username,
                             char **password, msb_error **err);

/* Removes them; *existed (may be NULL) tells whether there were any. */
int msb_registry_creds_remove (const msb_home *home, const char *host, bool *existed,
                               msb_error **err);

/* Hosts with stored credentials and their user names, sorted by host, NULL-terminated
 * (never NULL on success). */
int msb_registry_creds_list (const msb_home *home, char ***hosts, char ***usernames,
                             msb_error **err);

#endif
