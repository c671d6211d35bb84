/* The per-sandbox runtime process (`msb sandbox run`): it owns the isolation, relays agent
 * frames to up to 128 clients on agent.sock, taps exec.log, answers control requests,
 * enforces timers and records the end of the run. One per running sandbox; no daemon. */
#ifndef MSB_RUNTIME_RUNTIME_H
#define MSB_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"
#include "lib/config.h"
#include "lib/db.h"
#include "lib/home.h"
#include "lib/image/store.h"
#include "lib/state.h"
#include "runtime/backend.h"

/* Host uid/gid range of a sandbox: root inside is `uid_base` outside. */
#define MSB_UID_RANGE_SIZE 65536u
#define MSB_UID_BASE_DEFAULT 0x40000000u

typedef struct msb_runtime_opts
{
  const char *home;
  const char *name;
  int ready_fd;    /* -1 = none: gets one JSON line, ok or error, then closed */
  int watchdog_fd; /* -1 = detached: EOF/HUP means the creator died */
} msb_runtime_opts;

struct msb_runtime
{
  msb_home home;
  msb_db db;
  char *name;
  msb_sandbox_row row;
  msb_config *cfg;
  msb_image image;
  const msb_backend *backend;
  void *backend_data;

  uint32_t uid_base;
  char *sandbox_dir; /* absolute: <home>/sandboxes/<name> */
  int sandbox_dirfd;
  char *hostname;
  char **env;        /* sandbox default env: image ENV merged with config env */

  int agent_fd;
  pid_t sandbox_pid;
  struct msb_net *net; /* the sandbox's network engine (net/net.h); NULL without networking */
  int64_t run_id;
  int live_lock_fd;
};

/* Entry point of `msb sandbox run`; returns the process exit status. */
int msb_runtime_main (const msb_runtime_opts *opts);

/* Creates upper/, work/, rootfs/, runtime/ and logs/ in the sandbox directory (upper/ and
 * work/ on one filesystem, as overlayfs wants). upper/ is the sandbox's "/" and runtime/ its
 * /.msb: both belong to the sandbox's root user. rootfs/ is where the root is assembled. */
int msb_runtime_prepare_dirs (msb_runtime *rt, msb_error **err);
/* Host paths of the image's layers, lowest first, NULL-terminated (free with msb_strv_free). */
char **msb_runtime_layer_paths (const msb_runtime *rt);

/* uid base of a sandbox uid slot. */
uint32_t msb_uid_base_for_slot (int slot);

#endif
