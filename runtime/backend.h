/* The isolation backend interface: one table of operations per backend (ns, vm), in the
 * spirit of crun's custom handlers. The runtime process drives a backend through it and
 * never looks inside. */
#ifndef MSB_RUNTIME_BACKEND_H
#define MSB_RUNTIME_BACKEND_H

#include <stdint.h>

#include "common/error.h"

typedef struct msb_runtime msb_runtime;
typedef struct msb_home msb_home;

typedef struct msb_cgroup_sample
{
  uint64_t cpu_usage_ns;
  uint64_t memory_bytes;
  uint64_t memory_limit_bytes;
  uint64_t disk_read_bytes;
  uint64_t disk_write_bytes;
} msb_cgroup_sample;

typedef struct msb_backend
{
  const char *name;
  /* Can this host run the backend? Fails with a message saying what is missing. */
  int (*probe) (msb_error **err);
  /* Starts the sandbox; on success rt->agent_fd is the agent channel and rt->sandbox_pid the
   * process whose exit ends the sandbox. */
  int (*boot) (msb_runtime *rt, msb_error **err);
  /* Forces the sandbox down now (SIGKILL). */
  void (*kill) (msb_runtime *rt);
  /* Resource usage of the sandbox. */
  int (*sample) (msb_runtime *rt, msb_cgroup_sample *s, msb_error **err);
  /* Releases what boot created (cgroups, …) after the sandbox is gone. */
  void (*cleanup) (msb_runtime *rt);
  /* Optional: adds what the backend knows about a failed boot (boot or the wait for
   * core.ready) to *err — the vm backend appends the guest console's last lines. */
  void (*explain_boot_failure) (msb_runtime *rt, msb_error **err);
  /* Optional: live resize of the running sandbox to `cpus` and `memory_bytes` (0 = keep),
   * filling what is enforced afterwards. NULL = the backend cannot (modify() then needs a
   * restart). */
  int (*resize) (msb_runtime *rt, unsigned cpus, uint64_t memory_bytes, unsigned *actual_cpus,
                 uint64_t *actual_memory, msb_error **err);
} msb_backend;

extern const msb_backend msb_backend_ns;
extern const msb_backend msb_backend_vm;

/* Removes what a dead runtime of sandbox `name` may have left behind (cgroups, sockets,
 * processes). Safe to call when nothing is left. */
void msb_backend_cleanup_leftovers (const msb_home *home, const char *name);

/* Backend named by `name` ("ns", "vm", "auto" or NULL = $MSB_BACKEND, else auto). Fails with
 * MSB_ERR_UNSUPPORTED when the backend cannot run here. */
int msb_backend_select (const char *name, const msb_backend **out, msb_error **err);

#endif
