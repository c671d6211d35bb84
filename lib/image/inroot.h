/* Path handling confined to a layer root. Layer tars are hostile: every path they name is
 * normalised here and every lookup goes through openat2(RESOLVE_IN_ROOT) from the root fd,
 * so "..", absolute paths and symlinks planted by earlier entries all stay inside the root.
 * Never builds a host path by concatenation; never follows a magic link. */
#ifndef MSB_LIB_IMAGE_INROOT_H
#define MSB_LIB_IMAGE_INROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Normalises a tar path: strips leading "/" and "./", collapses "//" and "." and resolves
 * ".." lexically. Sets *out to the result ("" for the root itself, newly allocated).
 * A ".." that would climb above the root, an over-long path or component, or an empty
 * name is an MSB_ERR_IMAGE_PULL_FAILED error naming `path`. */
int msb_inroot_normalize (const char *path, char **out, msb_error **err);

/* openat2(root_fd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), retrying EAGAIN/EINTR.
 * O_CLOEXEC is added. Returns the fd or -1 with errno set. */
int msb_inroot_open (int root_fd, const char *rel, int flags, int mode);

/* Opens the directory that will hold normalised path `rel` (O_RDONLY|O_DIRECTORY), creating
 * missing parents inside the root with mode 0755 (what docker gives implied parents).
 * *leaf points into rel at the last component. Fails for rel == "". */
int msb_inroot_open_parent (int root_fd, const char *rel, const char **leaf, int *out_fd,
                            msb_error **err);

#endif
