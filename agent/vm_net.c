/* The network of a vm guest: eth0 (virtio-net, wired by QEMU to the runtime's network engine)
 * configured as the kernel command line says, `msb.net=ADDR/PREFIX,GATEWAY,MTU`: the same
 * address, route and MTU the ns backend gives its eth0 (runtime/net/tap.c). The resolver
 * files are bound from /.msb by runtime/ns/netns.c once the root is entered. */
#include "agent/vm_init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define IFNAME "eth0"
#define LINK_TIMEOUT_MS 5000

static void
set_sin (struct sockaddr *sa, struct in_addr a)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
  memcpy (sa, &sin, sizeof sin);
}

static int
parse (const char *spec, struct in_addr *addr, unsigned *prefix, struct in_addr *gw, unsigned *mtu,
       msb_error **err)
{
  char a[32], g[32];
  if (sscanf (spec, "%31[0-9.]/%u,%31[0-9.],%u", a, prefix, g, mtu) != 4 || *prefix > 32
      || inet_pton (AF_INET, a, addr) != 1 || inet_pton (AF_INET, g, gw) != 1 || *mtu < 576)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "malformed msb.net=%s", spec);
  return 0;
}

/* virtio-net registers eth0 while its module loads; the retry covers a slow probe. */
static int
wait_for_link (int s, struct ifreq *ifr, msb_error **err)
{
  uint64_t deadline = msb_now_mono_ns () + LINK_TIMEOUT_MS * 1000000ull;
  while (ioctl (s, SIOCGIFFLAGS, ifr) < 0)
    {
      if (errno != ENODEV || msb_now_mono_ns () >= deadline)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "find the network interface " IFNAME);
      struct timespec ts = { 0, 2000000 };
      nanosleep (&ts, NULL);
    }
  return 0;
}

int
agent_vm_net_configure (const char *spec, msb_error **err)
{
  struct in_addr addr, gw;
  unsigned prefix, mtu;
  if (parse (spec, &addr, &prefix, &gw, &mtu, err) < 0)
    return -1;
  _msb_cleanup_close_ int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: socket");
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, IFNAME);
  if (wait_for_link (s, &ifr, err) < 0)
    return -1;
  struct in_addr mask = { htonl (prefix ? ~0u << (32 - prefix) : 0) };
  set_sin (&ifr.ifr_addr, addr);
  if (ioctl (s, SIOCSIFADDR, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: set the address of " IFNAME);
  set_sin (&ifr.ifr_netmask, mask);
  if (ioctl (s, SIOCSIFNETMASK, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: set the netmask of " IFNAME);
  ifr.ifr_mtu = (int) mtu;
  if (ioctl (s, SIOCSIFMTU, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: set the MTU of " IFNAME);
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: flags of " IFNAME);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: bring up " IFNAME);
  struct rtentry rt;
  memset (&rt, 0, sizeof rt);
  struct in_addr any = { 0 };
  set_sin (&rt.rt_dst, any);
  set_sin (&rt.rt_genmask, any);
  set_sin (&rt.rt_gateway, gw);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  rt.rt_dev = (char *) IFNAME;
  if (ioctl (s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "network: add the default route");
  return 0;
}
