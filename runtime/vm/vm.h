/* Internal interface of the vm backend: a sandbox as a QEMU microVM.
 *
 *   host.c       what the host offers: QEMU, virtiofsd, guest kernel and initramfs (env,
 *                config.json, build defaults), the accelerator, the TSC frequency
 *   kvm.c        whether /dev/kvm really runs guest code at hardware speed
 *   fs_server.c  the sandbox's root, assembled as on the ns backend and served to the guest
 *                by virtiofsd inside the sandbox's user namespace
 *   qemu.c       the QEMU command line and the unprivileged QEMU process
 *   console.c    the guest console log (logs/kernel.log) for boot errors
 *   vm_backend.c the msb_backend table
 */
#ifndef MSB_RUNTIME_VM_H
#define MSB_RUNTIME_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/backend.h"

typedef struct msb_cgroup msb_cgroup;
typedef struct msb_ns_fs_plan msb_ns_fs_plan;

/* virtiofs tag of the root and name of the agent's virtio-serial port; the guest side reads
 * them from the kernel command line (agent/vm_init.c). */
#define MSB_VM_ROOT_TAG "msbroot"
#define MSB_VM_VOLUMES_TAG "msbvols"
#define MSB_VM_AGENT_PORT "agent"

typedef enum msb_vm_accel
{
  MSB_VM_ACCEL_TCG = 0,
  MSB_VM_ACCEL_KVM,
} msb_vm_accel;

/* ---- host.c ---- */
typedef struct msb_vm_host
{
  char *qemu;      /* qemu-system-x86_64 */
  char *virtiofsd;
  char *kernel;    /* bzImage, or an ELF vmlinux with a PVH entry */
  char *initramfs; /* built by scripts/make-vm-initramfs.py for that kernel */
} msb_vm_host;

/* Resolves the four paths. Each comes from its environment variable (MSB_QEMU,
 * MSB_VIRTIOFSD, MSB_VM_KERNEL — or MSB_LIBKRUNFW_PATH —, MSB_VM_INITRAMFS), else from the
 * "vm" object of <home>/config.json (keys qemu, virtiofsd, kernel, initramfs; home NULL =
 * $MSB_HOME or ~/.microsandbox), else from the defaults: PATH, /usr/lib/qemu, the files the
 * build made next to msb, the kernel the build was made for. Fails with MSB_ERR_UNSUPPORTED
 * naming what is missing. */
int msb_vm_host_resolve (const char *home, msb_vm_host *h, msb_error **err);
void msb_vm_host_clear (msb_vm_host *h);

/* The accelerator to use: MSB_VM_ACCEL=kvm|tcg|auto (default auto: KVM when usable). Fails
 * when kvm is demanded and unusable. */
int msb_vm_accel_choose (msb_vm_accel *out, msb_error **err);
const char *msb_vm_accel_name (msb_vm_accel a);

/* Host TSC frequency in kHz (for the guest's tsc_early_khz under TCG), 0 if unknown. */
uint32_t msb_vm_tsc_khz (void);

/* ---- kvm.c ---- */
/* Whether KVM can run guests here: /dev/kvm opens, the API version is 12, a VM and a vCPU
 * can be created, and a vCPU runs a short loop at hardware speed (nested setups without
 * hardware support emulate every instruction and boot a kernel in minutes). The result is
 * computed once per process, and remembered for the boot (kvm_verdict.c). On false, `why`
 * says what failed. */
bool msb_vm_kvm_usable (char *why, size_t why_len);
/* The same, probed now whatever was remembered (msb doctor); the verdict is remembered. */
bool msb_vm_kvm_usable_fresh (char *why, size_t why_len);

/* ---- kvm_verdict.c ---- */
/* The probe's verdict for this boot and this /dev/kvm, if one was stored (root only). */
bool msb_vm_kvm_verdict_load (bool *usable, char *why, size_t why_len);
void msb_vm_kvm_verdict_store (bool usable, const char *why);

/* ---- fs_server.c ---- */
typedef struct msb_vm_fs_server
{
  pid_t pid;
  int pidfd;
} msb_vm_fs_server;

typedef enum msb_vm_share
{
  MSB_VM_SHARE_ROOT,    /* the root (cache=always), with patches and scripts applied */
  MSB_VM_SHARE_VOLUMES, /* bind, named and disk volumes as /vN (cache=auto) */
} msb_vm_share;

/* Starts virtiofsd for `share` (see fs_server.c) serving the vhost-user socket `listen_fd`,
 * as root of the sandbox's user namespace, once its tree is assembled (and, for the root,
 * the plan's patches and scripts applied). Returns once virtiofsd executes, or with the
 * setup error. */
int msb_vm_fs_server_start (msb_runtime *rt, msb_cgroup *cg, const char *virtiofsd,
                            msb_vm_share share, const msb_ns_fs_plan *plan, int listen_fd,
                            msb_vm_fs_server *out, msb_error **err);
/* Whether a planned mount is served by the volumes share (else it is a guest tmpfs). */
typedef struct msb_ns_mount_plan msb_ns_mount_plan;
bool msb_vm_share_volume (const msb_ns_mount_plan *m);
/* True once the server process has exited. */
bool msb_vm_fs_server_exited (const msb_vm_fs_server *s);
void msb_vm_fs_server_kill (msb_vm_fs_server *s);
/* Waits for the server to be gone (the cgroup teardown killed it) and releases it. */
void msb_vm_fs_server_release (msb_vm_fs_server *s);

/* ---- qemu.c ---- */
typedef struct msb_vm_launch
{
  const msb_vm_host *host;
  msb_vm_accel accel;
  unsigned cpus;
  unsigned memory_mib;
  uint32_t tsc_khz;   /* TCG only; 0 = let the guest calibrate */
  const char *label;  /* process name suffix (the sandbox's host id) */
  bool is_debug;      /* guest phase timings on the console */
  uid_t uid;          /* QEMU runs as this host uid/gid … */
  gid_t gid;
  int kvm_gid;        /* … plus /dev/kvm's group when using KVM (-1 = none) */
  int agent_fd;       /* socket: the host end of the agent port is the relay */
  int fs_fd;          /* socket connected to the root's virtiofsd */
  int vols_fd;        /* socket connected to the volumes' virtiofsd, -1 = none */
  char *const *mounts; /* msb.vol specs for the guest (agent/vm_mounts.c), NULL-terminated */
  int net_fd;         /* stream socket to the network engine (runtime/net), -1 = no network */
  char net_spec[96];  /* msb.net for the guest: ADDR/PREFIX,GATEWAY,MTU (agent/vm_net.c) */
  uint8_t mac[6];
  int console_fd;     /* logs/kernel.log: guest console and QEMU's own messages */
} msb_vm_launch;

/* The QEMU argv for `l`, with the kernel, initramfs and sockets at the fds QEMU gets them
 * at (qemu.c). Fails when the kernel command line would be too long. */
int msb_vm_qemu_argv (const msb_vm_launch *l, char ***out, msb_error **err);
/* A planned mount as an msb.vol spec ("FLAGS,SOURCE,TARGET"); `index` names its directory
 * in the volumes share. */
char *msb_vm_mount_spec (unsigned flags, bool is_tmpfs, uint64_t size_mib, size_t index,
                         const char *target);
/* Starts QEMU in `cg` as l->uid; returns its pid and a pidfd. */
int msb_vm_qemu_start (const msb_vm_launch *l, msb_cgroup *cg, pid_t *pid, int *pidfd,
                       msb_error **err);

/* ---- console.c ---- */
/* Adds the last lines of logs/kernel.log of the sandbox at `sandbox_dirfd` to *err. */
void msb_vm_console_explain (int sandbox_dirfd, msb_error **err);

/* ---- vm_backend.c ---- */
/* `auto` picks the vm backend: KVM usable and QEMU, virtiofsd, kernel and initramfs found.
 * On false, `why` says what is missing. */
bool msb_vm_auto_eligible (char *why, size_t why_len);

#endif
