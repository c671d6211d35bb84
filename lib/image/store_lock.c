/* cache/locks/store.lock (see store_lock.h). */
#include "lib/image/store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"

int
msb_image_store_lock (const msb_home *home, bool exclusive, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (home->root_fd, "cache/locks/store.lock",
                                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open %s/cache/locks/store.lock", home->root);
  while (flock (fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
    if (errno != EINTR)
      return msb_fail_errno (err, errno, MSB_ERR_IO, "lock the image store");
  return msb_steal_fd (&fd);
}
