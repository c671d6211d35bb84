/* Pieces of the network engine shared between its files (not for the rest of the runtime). */
#ifndef MSB_RUNTIME_NET_INTERNAL_H
#define MSB_RUNTIME_NET_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define MSB_NET_PREFIX 30
#define MSB_NET_MTU 1500
#define MSB_NET_IFNAME "eth0"

/* ---- tap.c ---- */
typedef struct msb_net_tap_spec
{
  const char *ifname;
  uint32_t guest_be;
  uint32_t gateway_be;
  uint8_t prefix;
  unsigned mtu;
} msb_net_tap_spec;

/* Creates and configures the TAP device in the network namespace of `pid`; returns its fd
 * (non-blocking, close-on-exec). */
int msb_net_tap_create_in (pid_t pid, const msb_net_tap_spec *spec, int *out_fd, msb_error **err);

/* ---- guest_files.c ---- */
/* Writes resolv.conf (nameserver = the gateway) and hosts (localhost, the hostname,
 * host.microsandbox.internal = the gateway), owned by `owner` (the sandbox's root on the
 * host), into the sandbox's runtime directory, where the backend binds them over
 * /etc/resolv.conf and /etc/hosts. */
int msb_net_write_guest_files (int sandbox_dirfd, const char *hostname, uint32_t guest_be,
                               uint32_t gateway_be, uint32_t owner, msb_error **err);

#endif
