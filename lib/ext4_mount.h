/* Host-side access to the files inside an ext4 image (snapshot artifacts, size-limited
 * writable layers) without mounting it anywhere: the filesystem is attached to an
 * auto-clearing loop device and mounted with the new mount API as a detached mount, reachable
 * only through the returned fd. No mount namespace (the host's included) ever sees it, and it
 * goes away — unmounted, the loop device released — when the last fd into it is closed, so a
 * crash leaves nothing mounted.
 *
 * The image must not be in use by anyone else (a running sandbox): ext4 does not support two
 * mounts of one filesystem through different devices. */
#ifndef MSB_LIB_EXT4_MOUNT_H
#define MSB_LIB_EXT4_MOUNT_H

#include <stdbool.h>

#include "common/error.h"

/* Mounts the ext4 image open as `image_fd` (O_RDWR, or O_RDONLY with `readonly`) and returns
 * an O_RDONLY|O_DIRECTORY fd of its root in *root_fd. Close every fd opened below it, then
 * root_fd, to unmount; writes are durable in the image after msb_ext4_unmount_sync. */
int msb_ext4_mount_detached (int image_fd, bool readonly, int *root_fd, msb_error **err);

/* Flushes the filesystem of `root_fd` (syncfs) and closes it: once it returns, and no other fd
 * into the filesystem is open, the image file holds the final content (unmounted cleanly). */
int msb_ext4_unmount_sync (int *root_fd, msb_error **err);

#endif
