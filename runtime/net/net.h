/* The network engine of one sandbox, as the runtime and the backends see it.
 *
 * The runtime process owns a user-space network per sandbox: Ethernet frames from the
 * sandbox arrive over a link (link.h), pass the msb policy filter and DNS interceptor
 * (filter.h, dns.h), and libslirp re-originates allowed traffic from the runtime's own host
 * sockets. Nothing on the host changes: no firewall rule, route, sysctl or interface outside
 * the sandbox's own namespace.
 *
 * Lifecycle, driven by runtime.c:
 *   msb_net_create   before the backend boots: compiles the policy, resolves the upstream
 *                    nameservers, creates the slirp instance and binds the published ports —
 *                    so a taken host port fails the create before anything runs — and
 *                    writes resolv.conf and hosts for the sandbox;
 *   a backend attaches the sandbox's end:
 *     ns  msb_net_attach_netns (between clone and the child's go: eth0 in its namespace),
 *     vm  msb_net_attach_stream (gives the fd to hand QEMU as `-netdev stream,addr.type=fd`);
 *   msb_net_start    once the runtime's event loop exists: the engine runs in it from then on.
 *
 * The engine lives in the runtime's one thread and one epoll loop, like the relay: slirp's
 * poll-shaped API (fill the fd set, poll, dispatch, every round) goes through a small
 * adapter (pollset.h) whose inner epoll fd the loop watches, plus a timerfd for slirp's TCP
 * timers and the interceptor's deadlines. One thread keeps what the runtime relies on:
 * nothing races, a fork or clone never copies a second thread, and when the runtime dies its
 * live lock is released together with its last thread, so a crash is seen at once. */
#ifndef MSB_RUNTIME_NET_NET_H
#define MSB_RUNTIME_NET_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/loop.h"

typedef struct msb_runtime msb_runtime;
typedef struct msb_net msb_net;

/* The guest's side of the network, for backends that configure the guest themselves. */
typedef struct msb_net_guest
{
  uint32_t guest_be;   /* 172.16.x.2 */
  uint32_t gateway_be; /* 172.16.x.1: default route, DNS, host.microsandbox.internal */
  uint8_t prefix;      /* 30 */
  unsigned mtu;        /* 1500 */
  uint8_t mac[6];      /* what the ns backend gives eth0; the vm backend may use it too */
} msb_net_guest;

/* *out = NULL when the sandbox has networking disabled (--no-net). */
int msb_net_create (msb_runtime *rt, msb_net **out, msb_error **err);
/* ns backend: creates and configures eth0 in the network namespace of `pid`. */
int msb_net_attach_netns (msb_net *net, pid_t pid, msb_error **err);
/* vm backend: a connected stream socket for QEMU (`-netdev stream,id=n0,addr.type=fd,
 * addr.str=<fd>`, or `-netdev socket,id=n0,fd=<fd>`); close-on-exec is set, the caller
 * passes it to QEMU and closes its copy. */
int msb_net_attach_stream (msb_net *net, int *qemu_fd, msb_error **err);
void msb_net_guest_config (const msb_net *net, msb_net_guest *out);
int msb_net_start (msb_net *net, msb_loop *loop, msb_error **err);
/* Bytes delivered to (rx) and sent by (tx) the sandbox. */
void msb_net_counters (const msb_net *net, uint64_t *rx, uint64_t *tx);
/* Releases everything (NULL is fine); the loop it ran in must be gone or about to be. */
void msb_net_free (msb_net *net);

#endif
