/* The size-limited writable layer (upper_size_mib): the overlay's upper and work directories
 * live on a sparse ext4 image, sandboxes/<name>/upper.ext4, made at the first boot and kept
 * until the sandbox is removed. The sandbox's first process mounts it through an
 * auto-clearing loop device at sandboxes/<name>/upper-disk inside its own mount namespace
 * (invisible to the host, gone with the sandbox), before the overlay is assembled. Writes
 * beyond the size fail with ENOSPC inside the sandbox; the host's disk only ever holds the
 * blocks actually written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/ext4_image.h"
#include "runtime/ns/volumes.h"
#include "runtime/runtime.h"

#define UPPER_IMAGE "upper.ext4"
#define UPPER_MNT "upper-disk"

int
msb_ns_upper_disk_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err)
{
  unsigned mib = rt->cfg->files.upper_size_mib;
  if (mib == 0)
    return 0;
  struct stat st;
  if (fstatat (rt->sandbox_dirfd, UPPER_IMAGE, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != ENOENT)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "stat `%s/%s`", rt->sandbox_dir, UPPER_IMAGE);
      if (msb_ext4_image_create (rt->sandbox_dirfd, UPPER_IMAGE, mib, rt->uid_base, rt->uid_base,
                                 err)
          < 0)
        return msb_error_prefix (err, "create the writable layer of %u MiB", mib);
    }
  else if (!S_ISREG (st.st_mode))
    return msb_fail (err, MSB_ERR_IO, "`%s/%s` is not a file", rt->sandbox_dir, UPPER_IMAGE);
  /* The size limit was raised since the image was made (modify root_disk_size): grown here,
   * offline, before anything mounts it. */
  else if ((uint64_t) st.st_size < (uint64_t) mib << 20
           && msb_ext4_image_grow (rt->sandbox_dirfd, UPPER_IMAGE, mib, err) < 0)
    return msb_error_prefix (err, "grow the writable layer to %u MiB", mib);
  if (mkdirat (rt->sandbox_dirfd, UPPER_MNT, 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/%s`", rt->sandbox_dir, UPPER_MNT);
  plan->upper_image = msb_xasprintf ("%s/%s", rt->sandbox_dir, UPPER_IMAGE);
  plan->upper_mnt = msb_xasprintf ("%s/%s", rt->sandbox_dir, UPPER_MNT);
  plan->upper_dir = msb_xasprintf ("%s/upper", plan->upper_mnt);
  plan->work_dir = msb_xasprintf ("%s/work", plan->upper_mnt);
  return 0;
}

int
msb_ns_upper_disk_mount (const msb_ns_fs_plan *plan, msb_error **err)
{
  if (plan->upper_image == NULL)
    return 0;
  _msb_cleanup_close_ int image = open (plan->upper_image, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (image < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the writable layer image");
  char dev[32];
  _msb_cleanup_close_ int loop = msb_ns_loop_attach (image, false, dev, err);
  if (loop < 0)
    return msb_error_prefix (err, "writable layer");
  /* Our mounts are private to this namespace (rootfs.c made them so before calling us). */
  if (mount (dev, plan->upper_mnt, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount the writable layer image");
  _msb_cleanup_close_ int mnt = open (plan->upper_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (mnt < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the writable layer");
  if (mkdirat (mnt, "upper", 0755) == 0)
    {
      /* The upper root is the sandbox's "/": its root user owns it. */
      if (fchownat (mnt, "upper", plan->uid_base, plan->uid_base, AT_SYMLINK_NOFOLLOW) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "chown the writable layer");
    }
  else if (errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the writable layer's upper");
  if (mkdirat (mnt, "work", 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the writable layer's work");
  return 0;
}
