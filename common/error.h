/* Internal side of msb_error: constructors and context prefixes. Every fallible internal
 * function takes `msb_error **err` last, returns a negative value on failure and fills *err
 * (when err is not NULL) through these helpers, which all return -1 so a failure reads
 *     return msb_fail (err, MSB_ERR_INVALID_CONFIG, "cpus must be at least 1");
 */
#ifndef MSB_COMMON_ERROR_H
#define MSB_COMMON_ERROR_H

#include <msb/error.h>

/* Sets *err to a new error of `kind` with a printf-style message. Returns -1. */
int msb_fail (msb_error **err, msb_error_kind kind, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Same, with the system error `errnum`, whose strerror text ends the message. Returns -1. */
int msb_fail_errno (msb_error **err, int errnum, msb_error_kind kind, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Prepends "<context>: " to the message of *err (no-op when err or *err is NULL). Returns -1. */
int msb_error_prefix (msb_error **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Replaces the kind of *err, keeping its message; for layers that know better (a missing
 * file under an image root is MSB_ERR_IMAGE_NOT_FOUND, not MSB_ERR_IO). Returns -1. */
int msb_error_set_kind (msb_error **err, msb_error_kind kind);

/* Builds an error from parts (used when an error crosses a process boundary). */
msb_error *msb_error_new (msb_error_kind kind, int errnum, const char *message);

/* Maps a stable code ("sandbox-not-found") back to its kind; MSB_ERR_GENERIC if unknown. */
msb_error_kind msb_error_kind_from_code (const char *code);

/* Frees *err and sets it to NULL. */
void msb_error_clear (msb_error **err);

static inline void
msb_cleanup_error_fn (msb_error **e)
{
  msb_error_free (*e);
}
#define _msb_cleanup_error_ __attribute__ ((cleanup (msb_cleanup_error_fn)))

#endif
