/* Internal interface of the namespace backend. The parent side (ns_backend.c) prepares the
 * user namespace, cgroups and channel; the child side (child.c) builds the root filesystem
 * and drops privileges between clone and exec. */
#ifndef MSB_RUNTIME_NS_H
#define MSB_RUNTIME_NS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/backend.h"

/* ---- userns.c ---- */
/* A user namespace mapping 0..count-1 inside to base..base+count-1 outside; returns its fd.
 * It is used both to idmap the image layers and, at the end of the child's setup, to become
 * the sandbox's root. */
int msb_ns_userns_create (uint32_t base, uint32_t count, int *out_fd, msb_error **err);
/* A user namespace with the given uid_map / gid_map text ("inside outside count" lines). */
int msb_ns_userns_from_maps (const char *uid_map, const char *gid_map, int *out_fd,
                             msb_error **err);

/* ---- cgroup*.c ---- */
typedef struct msb_cgroup msb_cgroup;

typedef struct msb_cgroup_limits
{
  unsigned cpus;      /* CPU-time quota in whole cpus; 0 = none */
  uint64_t memory_bytes; /* 0 = none */
  unsigned pids;      /* 0 = none */
} msb_cgroup_limits;

/* Creates the sandbox's cgroup(s) (v2, or the v1 controllers the host has) and applies the
 * limits. `id` names it (the H12 of the sandbox name). */
int msb_cgroup_create (const char *id, const msb_cgroup_limits *limits, msb_cgroup **out,
                       msb_error **err);
/* An O_DIRECTORY fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), or -1 without one. */
int msb_cgroup_open_v2 (msb_cgroup *cg);
/* Moves `pid` into the v2 cgroup (when not cloned into it) — the slow path. */
int msb_cgroup_attach_v2 (msb_cgroup *cg, pid_t pid, msb_error **err);
/* Opens the `tasks` file of every v1 hierarchy for writing, for the child to move itself
 * with "0": a thread moving itself skips the global threadgroup lock whose first writer
 * waits for an RCU grace period (~10 ms per sandbox otherwise). Returns the count. */
int msb_cgroup_open_v1_tasks (msb_cgroup *cg, int *fds, size_t max, msb_error **err);
/* Usage counters. */
int msb_cgroup_read_usage (msb_cgroup *cg, msb_cgroup_sample *s, msb_error **err);
/* Live resize (resize.c): rewrites the cpu quota and the memory limit (0 = keep) and reads
 * back what the kernel enforces. All or nothing: a failed memory limit restores the cpus. */
int msb_cgroup_resize (msb_cgroup *cg, unsigned cpus, uint64_t memory_bytes, unsigned *actual_cpus,
                       uint64_t *actual_memory, msb_error **err);
/* Kills what is left inside and removes the cgroup(s); frees cg. */
void msb_cgroup_destroy (msb_cgroup *cg);
/* Same for a cgroup left by a dead runtime, found by id. */
void msb_cgroup_destroy_by_id (const char *id);

/* ---- seccomp.c / caps.c ---- */
/* Loads the default seccomp filter into the calling thread (after no_new_privs). */
int msb_ns_seccomp_load (msb_error **err);
/* Reduces the bounding, permitted, effective and inheritable sets to the default set and
 * clears the ambient set. */
int msb_ns_caps_drop (msb_error **err);

/* ---- netns.c ---- */
/* Brings up loopback in the current network namespace and sets the per-namespace sysctls that
 * let an unprivileged sandbox bind low ports and use ping sockets. */
int msb_ns_net_setup_loopback (msb_error **err);
void msb_ns_net_open_low_ports (void);
/* Binds the resolv.conf and hosts the runtime wrote into /.msb (net/guest_files.c) over
 * /etc/resolv.conf and /etc/hosts (nosuid, nodev, noexec). Runs in the child after
 * pivot_root, as real root. */
int msb_ns_net_bind_files (uint32_t uid_base, msb_error **err);

/* ---- rootfs.c / mounts.c ---- */
typedef struct msb_rootfs_spec
{
  const char *const *layers; /* bottom → top, absolute host paths */
  size_t n_layers;
  const char *upper;     /* absolute */
  const char *work;      /* absolute */
  const char *target;    /* absolute, empty directory: where the root is assembled */
  const char *runtime_dir; /* absolute: bound at /.msb */
  int userns_fd;         /* idmap for the layers */
  uint32_t uid_base;
  /* Volumes and the size-limited upper (volumes.h); NULL = none. */
  const struct msb_ns_fs_plan *fs;
} msb_rootfs_spec;

/* Mounts the overlay root at spec->target (layers idmapped into the sandbox's range),
 * then /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and /.msb inside it, masks the
 * usual /proc and /sys paths and pivots into it. Runs in the child, in a fresh mount
 * namespace, as real root. */
int msb_ns_rootfs_enter (const msb_rootfs_spec *spec, msb_error **err);

/* Mounts the API filesystems and masks paths under an assembled root (`rootfd`), and binds
 * `runtime_dir` at /.msb (NULL: the root already has it — the vm backend's guest). */
int msb_ns_mount_api_filesystems (int rootfd, uint32_t uid_base, const char *runtime_dir,
                                  msb_error **err);

/* The pieces of msb_ns_rootfs_enter the vm backend reuses to assemble the root it shares
 * with its guest: the overlay at spec->target, and the /.msb bind (nosuid, nodev). */
int msb_ns_overlay_mount (const msb_rootfs_spec *spec, msb_error **err);
int msb_ns_bind_runtime_dir (int rootfd, const char *runtime_dir, uint32_t uid_base,
                             msb_error **err);

/* ---- child.c: the setup-failure pipe of a cloned child (both backends) ---- */
/* Writes `e` as "<errno>:<message>" to the write end and exits 127. The write end is
 * CLOEXEC: a reader that gets EOF knows the child executed its program. */
__attribute__ ((noreturn)) void msb_ns_child_report (int error_fd, const msb_error *e);
/* Reads the pipe: 0 at EOF, else -1 with the child's error (MSB_ERR_GENERIC). */
int msb_ns_child_result (int error_fd, msb_error **err);

#endif
