/* The sandbox's network namespace as the sandbox's first process sees it: loopback, and —
 * with networking — the resolver files the runtime wrote (eth0 itself is the runtime's
 * doing, net/tap.c). The namespace is owned by the initial user namespace, so root in the
 * sandbox cannot change it; two per-namespace sysctls give back what unprivileged processes
 * expect (binding ports below 1024, ICMP echo through ping sockets). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
  return 0;
}

/* The network namespace belongs to the host's user namespace (the runtime creates it as real
 * root), so the sandbox's root holds no CAP_NET_BIND_SERVICE over it: let every uid bind low
 * ports and open ping sockets in this namespace only. /proc/sys/net shows the namespace of the
 * writer, so this runs before the sandbox's own read-only /proc replaces the host's. Best
 * effort: older kernels lack one or the other. */
void
msb_ns_net_open_low_ports (void)
{
  msb_write_string_at (AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0", NULL);
  msb_write_string_at (AT_FDCWD, "/proc/sys/net/ipv4/ping_group_range", "0 2147483647", NULL);
}

/* One of /etc/resolv.conf, /etc/hosts: the image decides what is at that path (a file, a
 * symlink, nothing), so it is resolved inside the root and must end at a regular file — one
 * is created when the image has none. A symlink that leads nowhere stays as it is (the
 * sandbox then has the image's behaviour). */
static int
bind_etc_file (int root, const char *name, uint32_t uid_base, msb_error **err)
{
  char src[64], rel[64];
  snprintf (src, sizeof src, "/.msb/%s", name);
  snprintf (rel, sizeof rel, "etc/%s", name);
  _msb_cleanup_close_ int tree = (int) syscall (SYS_open_tree, AT_FDCWD, src,
                                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
  if (tree < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open %s", src);
  struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int t = (int) syscall (SYS_openat2, root, rel, &how, sizeof how);
  if (t < 0 && errno == ENOENT)
    {
      struct open_how dir_how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                  .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
      int etc = (int) syscall (SYS_openat2, root, "etc", &dir_how, sizeof dir_how);
      if (etc < 0 && errno == ENOENT && mkdirat (root, "etc", 0755) == 0)
        {
          (void) !fchownat (root, "etc", uid_base, uid_base, AT_SYMLINK_NOFOLLOW);
          etc = (int) syscall (SYS_openat2, root, "etc", &dir_how, sizeof dir_how);
        }
      if (etc < 0)
        return 0;
      int f = openat (etc, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (f >= 0)
        {
          (void) !fchown (f, uid_base, uid_base);
          close (f);
          t = openat (etc, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
      close (etc);
    }
  if (t < 0)
    return 0;
  _msb_cleanup_close_ int target = t;
  struct stat st;
  if (fstat (target, &st) < 0 || !S_ISREG (st.st_mode))
    return 0;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "set the mount flags of /etc/%s", name);
  if (syscall (SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "bind /etc/%s", name);
  return 0;
}

int
msb_ns_net_bind_files (uint32_t uid_base, msb_error **err)
{
  _msb_cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the sandbox root");
  if (bind_etc_file (root, "resolv.conf", uid_base, err) < 0 || bind_etc_file (root, "hosts", uid_base, err) < 0)
    return -1;
  return 0;
}
