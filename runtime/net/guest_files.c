/* /etc/resolv.conf and /etc/hosts of a networked sandbox: written by the runtime into
 * sandboxes/<name>/runtime/ (the directory the sandbox sees as /.msb) at every boot and bound
 * over the image's files by the backend, so the image itself is never edited. They belong to
 * the sandbox's root, which may edit them as on any Linux system (and patches may append to
 * them); that changes nothing about where DNS goes — every query to port 53 is the engine's.
 *
 * The sandbox owns what is inside that directory and may have left anything there in an
 * earlier run (a symlink to a host file, a directory): the files are therefore created under
 * a fresh name with O_EXCL | O_NOFOLLOW and renamed over whatever is there, never opened by
 * their final name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/net/dns.h"
#include "runtime/net/net_internal.h"

static int
replace_file (int dirfd, const char *name, const char *text, uint32_t owner, msb_error **err)
{
  char tmp[64];
  snprintf (tmp, sizeof tmp, ".%s.%d", name, (int) getpid ());
  unlinkat (dirfd, tmp, 0);
  _msb_cleanup_close_ int fd
      = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || fchown (fd, owner, owner) < 0 || fchmod (fd, 0644) < 0
      || msb_write_full (fd, text, strlen (text)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write the sandbox's %s", name);
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      /* A directory the sandbox made under that name: remove it and try once more. */
      if ((errno != EISDIR && errno != ENOTEMPTY && errno != EEXIST)
          || msb_rm_rf_at (dirfd, name, NULL) < 0 || renameat (dirfd, tmp, dirfd, name) < 0)
        {
          int saved = errno;
          unlinkat (dirfd, tmp, 0);
          return msb_fail_errno (err, saved, MSB_ERR_IO, "install the sandbox's %s", name);
        }
    }
  return 0;
}

int
msb_net_write_guest_files (int sandbox_dirfd, const char *hostname, uint32_t guest_be,
                           uint32_t gateway_be, uint32_t owner, msb_error **err)
{
  if (mkdirat (sandbox_dirfd, "runtime", 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create the sandbox's runtime directory");
  _msb_cleanup_close_ int dir = openat (sandbox_dirfd, "runtime", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open the sandbox's runtime directory");
  char gw[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &gateway_be, gw, sizeof gw);
  inet_ntop (AF_INET, &guest_be, guest, sizeof guest);
  _msb_cleanup_free_ char *resolv = msb_xasprintf (
      "# Written by msb: the gateway answers DNS for this sandbox.\nnameserver %s\n", gw);
  _msb_cleanup_free_ char *hosts = msb_xasprintf (
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n%s\t%s\n", guest,
      hostname && *hostname ? hostname : "sandbox", gw, MSB_NET_DNS_NAME_HOST);
  if (replace_file (dir, "resolv.conf", resolv, owner, err) < 0
      || replace_file (dir, "hosts", hosts, owner, err) < 0)
    return -1;
  return 0;
}
