/* The environment of an exec session (API.md §3.6): sandbox defaults overridden key by key
 * by the request, PATH defaulted and prefixed with /.msb/scripts, HOME from the target user,
 * TERM for a tty. Pure string work; no I/O. */
#ifndef MSB_AGENT_ENV_H
#define MSB_AGENT_ENV_H

#include <stdbool.h>

#define AGENT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define AGENT_SCRIPTS_DIR "/.msb/scripts"

/* Builds a new NULL-terminated "K=V" vector (free with msb_strv_free). `base` and
 * `overrides` may be NULL; entries without '=' or with an empty key are skipped. `home` is
 * used when HOME is not set (NULL = "/"). */
char **agent_env_build (char *const *base, char *const *overrides, const char *home,
                        bool has_tty);

/* Value of `key` in `env`, or NULL. */
const char *agent_env_get (char *const *env, const char *key);

#endif
