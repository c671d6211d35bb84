/* Where msb's own binaries are: the `msb` executable (the runtime process is `msb sandbox`)
 * and `msb-agent`. Looked up in the environment (MSB_PATH, MSB_AGENT_PATH), next to the
 * running executable or library, in the build tree, then in the install prefix. */
#ifndef MSB_LIB_PATHS_H
#define MSB_LIB_PATHS_H

#include <stddef.h>

#include "common/error.h"

/* Absolute path of helper `name` ("msb" or "msb-agent"), newly allocated; NULL + *err when
 * it cannot be found. */
char *msb_find_helper (const char *name, msb_error **err);

/* A short path usable in sockaddr_un for `file` inside directory fd `dirfd`
 * ("/proc/self/fd/<dirfd>/<file>"): MSB_HOME may be longer than sun_path allows. */
int msb_sock_path (int dirfd, const char *file, char *out, size_t out_len);

#endif
