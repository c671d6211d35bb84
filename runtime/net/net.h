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
 *   msb_net_start    after boot: the engine thread runs until msb_net_free.
 *
 * Why a thread: slirp's API is poll(2)-shaped (fill the fd set, poll, dispatch, every
 * round), which does not map onto the runtime's epoll loop without re-registering every
 * socket each round; and a bulk transfer must not add latency to the relay's agent frames
 * (or the reverse). The engine thread owns slirp, the link, the filter, the interceptor and
 * the pin set outright; the only shared state is the atomic byte counters and the stop
 * eventfd. The thread starts only after the sandbox's first process was cloned, so no fork
 * or clone ever copies a process with a second thread in it. */
#ifndef MSB_RUNTIME_NET_NET_H
#define MSB_RUNTIME_NET_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

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
int msb_net_start (msb_net *net, msb_error **err);
/* Bytes delivered to (rx) and sent by (tx) the sandbox: safe from any thread. */
void msb_net_counters (const msb_net *net, uint64_t *rx, uint64_t *tx);
/* Stops the engine and releases everything (NULL is fine). */
void msb_net_free (msb_net *net);

#endif
