/* The sandbox's `eth0` (ns backend): a TAP device created inside the sandbox's network
 * namespace, addressed and routed there, whose fd the runtime keeps.
 *
 * Why a helper thread that setns()es, rather than the sandbox's first process creating the
 * device and passing the fd back: a network namespace is a per-thread attribute, so a
 * short-lived thread can enter the sandbox's namespace, create and configure the device
 * and exit, while the runtime's own threads never leave the runtime's namespace (nothing to
 * restore, no window where a runtime socket could be opened in the sandbox's namespace). The
 * sandbox's first process is meanwhile held on its go pipe, so the device is complete before
 * anything in the sandbox runs, and that process — which becomes the sandbox — never holds
 * the TAP fd, not even between clone and exec. The namespace belongs to the initial user
 * namespace: root inside the sandbox cannot reconfigure the device, add another or route
 * around it. The device lives as long as the sandbox's namespace, which the fd keeps alive. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/net/net_internal.h"

typedef struct tap_job
{
  pid_t pid;
  const msb_net_tap_spec *spec;
  int fd;
  msb_error *err;
} tap_job;

static int
fail (tap_job *j, const char *what)
{
  msb_fail_errno (&j->err, errno, MSB_ERR_GENERIC, "%s", what);
  return -1;
}

static void
sin_set (struct sockaddr *sa, uint32_t be)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = be };
  memcpy (sa, &sin, sizeof sin);
}

static int
configure (tap_job *j, int tun)
{
  const msb_net_tap_spec *s = j->spec;
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", s->ifname);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl (tun, TUNSETIFF, &ifr) < 0)
    return fail (j, "create the TAP device");
  /* Persistent: closing the fd then only detaches it, and the device goes with the sandbox's
   * namespace, unregistered by the kernel's namespace cleanup in the background. Without it
   * the close unregisters the device there and then, and the runtime's stop would wait out
   * its RCU grace periods (~20 ms). The fd pins the namespace, so nothing outlives both. */
  if (ioctl (tun, TUNSETPERSIST, 1) < 0)
    return fail (j, "make the TAP device persistent");
  _msb_cleanup_close_ int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return fail (j, "socket in the sandbox's network namespace");
  /* A stable, locally administered MAC: 02:4d:53 ("MS") and the low bytes of the address. */
  const uint8_t *ip = (const uint8_t *) &s->guest_be;
  uint8_t mac[6] = { 0x02, 0x4d, 0x53, ip[1], ip[2], ip[3] };
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy (ifr.ifr_hwaddr.sa_data, mac, 6);
  if (ioctl (sock, SIOCSIFHWADDR, &ifr) < 0)
    return fail (j, "set the MAC address of eth0");
  ifr.ifr_mtu = (int) s->mtu;
  if (ioctl (sock, SIOCSIFMTU, &ifr) < 0)
    return fail (j, "set the MTU of eth0");
  /* IPv4 only for now: no router solicitations or DAD probes for the filter to drop. */
  char knob[96];
  snprintf (knob, sizeof knob, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", s->ifname);
  msb_write_string_at (AT_FDCWD, knob, "1", NULL);
  sin_set (&ifr.ifr_addr, s->guest_be);
  if (ioctl (sock, SIOCSIFADDR, &ifr) < 0)
    return fail (j, "set the address of eth0");
  sin_set (&ifr.ifr_netmask, htonl (~0u << (32 - s->prefix)));
  if (ioctl (sock, SIOCSIFNETMASK, &ifr) < 0)
    return fail (j, "set the netmask of eth0");
  sin_set (&ifr.ifr_broadaddr, s->gateway_be | htonl (~(~0u << (32 - s->prefix))));
  if (ioctl (sock, SIOCSIFBRDADDR, &ifr) < 0)
    return fail (j, "set the broadcast address of eth0");
  if (ioctl (sock, SIOCGIFFLAGS, &ifr) < 0)
    return fail (j, "read the flags of eth0");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (sock, SIOCSIFFLAGS, &ifr) < 0)
    return fail (j, "bring eth0 up");
  struct rtentry rt;
  memset (&rt, 0, sizeof rt);
  sin_set (&rt.rt_dst, 0);
  sin_set (&rt.rt_genmask, 0);
  sin_set (&rt.rt_gateway, s->gateway_be);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  char dev[IFNAMSIZ];
  snprintf (dev, sizeof dev, "%s", s->ifname);
  rt.rt_dev = dev;
  if (ioctl (sock, SIOCADDRT, &rt) < 0)
    return fail (j, "add the default route via the gateway");
  return 0;
}

static void *
tap_thread (void *arg)
{
  tap_job *j = arg;
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int) j->pid);
  _msb_cleanup_close_ int ns = open (path, O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    {
      fail (j, "open the sandbox's network namespace");
      return NULL;
    }
  /* This thread only: the runtime's other threads stay where they are. */
  if (setns (ns, CLONE_NEWNET) < 0)
    {
      fail (j, "enter the sandbox's network namespace");
      return NULL;
    }
  _msb_cleanup_close_ int tun = open ("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (tun < 0)
    {
      fail (j, "open /dev/net/tun");
      return NULL;
    }
  if (configure (j, tun) == 0)
    j->fd = msb_steal_fd (&tun);
  return NULL;
}

int
msb_net_tap_create_in (pid_t pid, const msb_net_tap_spec *spec, int *out_fd, msb_error **err)
{
  tap_job j = { .pid = pid, .spec = spec, .fd = -1 };
  pthread_t t;
  int r = pthread_create (&t, NULL, tap_thread, &j);
  if (r != 0)
    return msb_fail_errno (err, r, MSB_ERR_GENERIC, "start the network setup thread");
  pthread_join (t, NULL);
  if (j.fd < 0)
    {
      if (err)
        *err = j.err;
      else
        msb_error_free (j.err);
      return msb_error_prefix (err, "set up eth0 of the sandbox");
    }
  *out_fd = j.fd;
  return 0;
}
