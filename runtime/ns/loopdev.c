/* Loop devices for ext4 images (disk volumes, size-limited upper layers). A device is taken
 * from /dev/loop-control and configured with LO_FLAGS_AUTOCLEAR in one LOOP_CONFIGURE call:
 * the kernel detaches it when its last user goes away — the mount in the sandbox's private
 * mount namespace, which dies with the sandbox — so a crashed runtime leaves no device
 * behind. The caller keeps the returned fd open until the filesystem is mounted (closing it
 * earlier would detach the device at once).
 *
 * Must never: hand a device to a caller before it is bound to the caller's file (another
 * process may grab a free device between GET_FREE and CONFIGURE: that is retried). */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/volumes.h"

#define LOOP_ATTEMPTS 32

int
msb_ns_loop_attach (int backing_fd, bool readonly, char dev_path[32], msb_error **err)
{
  _msb_cleanup_close_ int ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0)
    return msb_fail_errno (err, errno, MSB_ERR_UNSUPPORTED, "open /dev/loop-control");
  struct loop_config cfg;
  memset (&cfg, 0, sizeof cfg);
  cfg.fd = (uint32_t) backing_fd;
  cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (readonly ? LO_FLAGS_READ_ONLY : 0);
  for (int attempt = 0; attempt < LOOP_ATTEMPTS; attempt++)
    {
      int n = ioctl (ctl, LOOP_CTL_GET_FREE);
      if (n < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "find a free loop device");
      snprintf (dev_path, 32, "/dev/loop%d", n);
      int fd = open (dev_path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
      if (fd < 0)
        {
          if (errno == ENOENT)
            continue; /* the node appears asynchronously on some hosts: try another */
          return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open `%s`", dev_path);
        }
      if (ioctl (fd, LOOP_CONFIGURE, &cfg) == 0)
        return fd;
      int saved = errno;
      close (fd);
      if (saved != EBUSY)
        return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "configure `%s`", dev_path);
    }
  return msb_fail (err, MSB_ERR_GENERIC, "no free loop device after %d attempts", LOOP_ATTEMPTS);
}
