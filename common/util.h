/* Small system helpers shared by libmsb, the runtime, the CLI and the agent. Nothing here
 * links beyond libc: the agent is static. */
#ifndef MSB_COMMON_UTIL_H
#define MSB_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

void *msb_xmalloc (size_t n);
void *msb_xcalloc (size_t n, size_t size);
void *msb_xrealloc (void *p, size_t n);
char *msb_xstrdup (const char *s);
char *msb_xstrndup (const char *s, size_t n);
char *msb_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Number of entries of a NULL-terminated string vector. */
size_t msb_strv_len (char *const *v);
/* Deep copy of a NULL-terminated string vector (NULL stays NULL). */
char **msb_strv_dup (char *const *v);

/* read()/write() until done, retrying EINTR. read returns bytes read (< n only at EOF). */
ssize_t msb_read_full (int fd, void *buf, size_t n);
int msb_write_full (int fd, const void *buf, size_t n);

/* Reads `fd` to EOF, up to `max` bytes, NUL-terminated; -1 with errno (EFBIG: over `max`). */
int msb_read_fd_all (int fd, size_t max, char **out, size_t *out_len);
/* Reads a whole file relative to `dirfd` (AT_FDCWD for cwd), up to `max` bytes, NUL-terminated. */
int msb_read_file_at (int dirfd, const char *path, size_t max, char **out, size_t *out_len,
                      msb_error **err);
/* Writes a file through a temp file in the same directory and rename(), so readers see the
 * old or the new content, never a mix. */
int msb_write_file_atomic_at (int dirfd, const char *path, const void *data, size_t n, mode_t mode,
                              msb_error **err);
/* Writes a short string to an existing file (for /proc and cgroup knobs). */
int msb_write_string_at (int dirfd, const char *path, const char *value, msb_error **err);

/* Newly allocated copy of `path` up to its last slash (all of it when it has none). */
char *msb_path_dirname (const char *path);

/* mkdir -p relative to dirfd; existing directories are fine. */
int msb_mkdir_p_at (int dirfd, const char *path, mode_t mode, msb_error **err);
/* rm -rf of `name` inside `dirfd`, never following symlinks; a missing entry is success. */
int msb_rm_rf_at (int dirfd, const char *name, msb_error **err);

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds / milliseconds. */
uint64_t msb_now_mono_ns (void);
uint64_t msb_now_realtime_ns (void);
int64_t msb_now_ms (void);

/* Lowercase hex of `n` bytes into `out` (2n+1 bytes). */
void msb_hex (const uint8_t *data, size_t n, char *out);

/* Sets or clears O_NONBLOCK / FD_CLOEXEC. */
int msb_set_nonblock (int fd, bool on);
int msb_set_cloexec (int fd, bool on);

#endif
