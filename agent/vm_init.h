/* The agent as the init of a guest kernel (vm backend). The ns backend execs the agent into a
 * root it prepared itself; on the vm backend the kernel runs the agent as /init of the
 * initramfs msb builds, and the agent prepares the same sandbox from inside: it loads the
 * virtio modules, mounts the root the host shares with virtiofs, gives it the /dev, /proc and
 * /sys of the ns backend, moves into it and talks to the host over the virtio-serial port
 * named `agent`. At the end it powers the machine off instead of exiting. */
#ifndef MSB_AGENT_VM_INIT_H
#define MSB_AGENT_VM_INIT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"

/* Whether this process is the init of an msb guest: PID 1, no channel fd from a runtime. */
bool agent_vm_is_guest_init (void);

/* Prepares the guest and its root (see above), then publishes the channel as MSB_AGENT_FD so
 * the agent starts as on the ns backend. On failure the reason is sent to the host as
 * core.error when the port is already open; the caller prints it and powers off. */
int agent_vm_boot (msb_error **err);

/* True once agent_vm_boot ran: the agent is a guest's init. */
bool agent_vm_is_active (void);

/* Guest side of core.bootstrap / core.clock.sync: the guest has its own clock. */
void agent_vm_set_clock (uint64_t unix_nanos);

/* Ends the guest: asks a custom init to stop, syncs, remounts the root read-only (best
 * effort) and powers off. Never returns; if power-off fails the kernel's panic ends QEMU. */
_Noreturn void agent_vm_power_off (msb_agent *a, int code);

/* ---- vm_mounts.c ---- */
/* Mounts the msb.vol specs (vm_mounts.c) under `rootfd`; `vols_dir` is where the volumes
 * share is mounted (NULL: none). */
int agent_vm_mount_volumes (int rootfd, const char *vols_dir, char *const *specs, msb_error **err);

/* ---- vm_devices.c ---- */
/* Loads the modules listed, in order, in /lib/modules/msb/<list> of the initramfs: `order`
 * (virtio-mmio, virtio-serial, virtiofs), `order.net` (virtio-net, beyond those). */
int agent_vm_load_modules (const char *list, msb_error **err);

/* ---- vm_net.c ---- */
/* Configures eth0 from an msb.net spec (ADDR/PREFIX,GATEWAY,MTU) with its default route. */
int agent_vm_net_configure (const char *spec, msb_error **err);
/* Opens the virtio-serial port named `name` (/dev/vportNpM; udev's /dev/virtio-ports links
 * do not exist here), waiting up to `timeout_ms` for the device to appear. */
int agent_vm_open_port (const char *name, int timeout_ms, msb_error **err);

#endif
