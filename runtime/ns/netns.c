/* The sandbox's network namespace before networking is configured: loopback only. The
 * namespace is owned by the initial user namespace, so root in the sandbox cannot change it;
 * two per-namespace sysctls give back what unprivileged processes expect (binding ports
 * below 1024, ICMP echo through ping sockets). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

int
msb_ns_net_setup_loopback (msb_error **err)
{
  _msb_cleanup_close_ int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "loopback: socket");
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "loopback: get flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "loopback: bring up");
  /* Best effort: older kernels lack one or the other. */
  msb_write_string_at (AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0", NULL);
  msb_write_string_at (AT_FDCWD, "/proc/sys/net/ipv4/ping_group_range", "0 2147483647", NULL);
  return 0;
}
