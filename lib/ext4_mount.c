/* Detached ext4 mounts (see ext4_mount.h). The loop device is bound with LO_FLAGS_AUTOCLEAR
 * (runtime/ns/loopdev.c): its fd is closed as soon as the superblock holds the device, so the
 * device lives exactly as long as the mount. */
#include "lib/ext4_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/volumes.h"

int
msb_ext4_mount_detached (int image_fd, bool readonly, int *root_fd, msb_error **err)
{
  char dev[32];
  _msb_cleanup_close_ int loop = msb_ns_loop_attach (image_fd, readonly, dev, err);
  if (loop < 0)
    return msb_error_prefix (err, "attach the ext4 image to a loop device");
  _msb_cleanup_close_ int fs = (int) syscall (SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
  if (fs < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "fsopen ext4");
  /* nodev, nosuid, noexec: the host never runs or opens devices from an image whose content
   * came from a sandbox; noatime: reading a layer to copy it changes nothing in it. */
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0
      || (readonly && syscall (SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
      || syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "mount the ext4 image on %s", dev);
  _msb_cleanup_close_ int mnt
      = (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOATIME
                           | (readonly ? MOUNT_ATTR_RDONLY : 0));
  if (mnt < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "fsmount the ext4 image");
  int fd = openat (mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open the root of the ext4 image");
  *root_fd = fd;
  return 0;
}

int
msb_ext4_unmount_sync (int *root_fd, msb_error **err)
{
  if (*root_fd < 0)
    return 0;
  int r = 0;
  if (syncfs (*root_fd) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "flush the ext4 image");
  close (*root_fd);
  *root_fd = -1;
  return r;
}
