/* The MSB_HOME tree (API.md §4): resolving the root, creating its directories, and the
 * per-sandbox names derived from a sandbox name (the hashed socket and lock names). */
#ifndef MSB_LIB_HOME_H
#define MSB_LIB_HOME_H

#include "common/error.h"

typedef struct msb_home
{
  char *root;  /* absolute path of MSB_HOME */
  int root_fd; /* O_PATH|O_DIRECTORY fd of root */
} msb_home;

/* Opens `root` (NULL = $MSB_HOME, else ~/.microsandbox), creating the standard
 * subdirectories (db, cache, sandboxes, volumes, snapshots, run/…) when missing. */
int msb_home_open (msb_home *home, const char *root, msb_error **err);
void msb_home_close (msb_home *home);

/* "<root>/<rel>", newly allocated. */
char *msb_home_path (const msb_home *home, const char *rel);

/* Hex of the first 12 (H12) or 16 (H16) bytes of SHA-256(name), into out (25 / 33 bytes). */
void msb_name_hash12 (const char *name, char out[25]);
void msb_name_hash16 (const char *name, char out[33]);

/* The host-wide id of sandbox `name` of this state root (its cgroup directories are named
 * after it): hex of the first 12 bytes of SHA-256("<dev>:<ino>:<name>") of the root directory.
 * Host-global resources must not be named after the sandbox name alone: two state roots may
 * each hold a sandbox `x`, and tearing one down must not touch the other. The root's identity,
 * not its path, so every spelling of MSB_HOME agrees. */
void msb_sandbox_host_id (const msb_home *home, const char *name, char out[25]);

/* Relative paths of a sandbox's pieces. Newly allocated. */
char *msb_sandbox_dir_rel (const char *name);           /* sandboxes/<name> */
char *msb_sandbox_run_dir_rel (const char *name);       /* run/sandboxes/<H12> */
char *msb_sandbox_agent_sock_rel (const char *name);    /* run/sandboxes/<H12>/agent.sock */
char *msb_sandbox_control_sock_rel (const char *name);  /* run/sandboxes/<H12>/control.sock */
char *msb_sandbox_lock_rel (const char *name);          /* run/locks/<H16>.lock (lifecycle) */
char *msb_sandbox_live_lock_rel (const char *name);     /* run/locks/<H16>.live (held by runtime) */

static inline void
msb_cleanup_home_fn (msb_home *h)
{
  msb_home_close (h);
}
#define _msb_cleanup_home_ __attribute__ ((cleanup (msb_cleanup_home_fn)))

#endif
