/* msb — errors returned by every fallible libmsb call.
 *
 * A fallible function returns a negative value and, when its `err` argument is not NULL,
 * stores a newly allocated error in *err. The caller owns it and frees it with
 * msb_error_free(). The kind maps one to one onto the exception classes of the Python
 * package (API.md §1.19), so bindings never parse messages.
 *
 * Thread-safety: an error object belongs to one thread at a time; the functions here are
 * safe to call concurrently on different objects.
 */
#ifndef MSB_ERROR_H
#define MSB_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef enum msb_error_kind
{
  MSB_ERR_GENERIC = 1,           /* microsandbox-error */
  MSB_ERR_INVALID_CONFIG,        /* invalid-config */
  MSB_ERR_NO_DEFAULT_COMMAND,    /* no-default-command */
  MSB_ERR_SANDBOX_NOT_FOUND,     /* sandbox-not-found */
  MSB_ERR_SANDBOX_NOT_RUNNING,   /* sandbox-not-running */
  MSB_ERR_SANDBOX_ALREADY_EXISTS, /* sandbox-already-exists */
  MSB_ERR_SANDBOX_STILL_RUNNING, /* sandbox-still-running */
  MSB_ERR_EXEC_TIMEOUT,          /* exec-timeout */
  MSB_ERR_EXEC_FAILED,           /* exec-failed */
  MSB_ERR_FILESYSTEM,            /* filesystem-error */
  MSB_ERR_PATH_NOT_FOUND,        /* path-not-found */
  MSB_ERR_VOLUME_NOT_FOUND,      /* volume-not-found */
  MSB_ERR_IMAGE_NOT_FOUND,       /* image-not-found */
  MSB_ERR_IMAGE_IN_USE,          /* image-in-use */
  MSB_ERR_IMAGE_PULL_FAILED,     /* image-pull-failed */
  MSB_ERR_NETWORK_POLICY,        /* network-policy-error */
  MSB_ERR_SECRET_VIOLATION,      /* secret-violation */
  MSB_ERR_TLS,                   /* tls-error */
  MSB_ERR_IO,                    /* io-error */
  MSB_ERR_METRICS_DISABLED,      /* metrics-disabled */
  MSB_ERR_METRICS_UNAVAILABLE,   /* metrics-unavailable */
  MSB_ERR_UNSUPPORTED_OPERATION, /* unsupported-operation */
  MSB_ERR_UNSUPPORTED,           /* unsupported */
  MSB_ERR_SNAPSHOT_MIGRATION,    /* snapshot-migration */
  MSB_ERR_CLOUD_HTTP,            /* cloud-http */
  MSB_ERR_INVALID_ARGUMENT,      /* a bad argument to a call (Python: ValueError) */
  MSB_ERR_SNAPSHOT_NOT_FOUND,    /* a missing snapshot artifact (Python: FileNotFoundError) */
} msb_error_kind;

typedef struct msb_error msb_error;

/* The kind of `e` (one of msb_error_kind). */
msb_error_kind msb_error_get_kind (const msb_error *e);

/* The errno that caused `e`, or 0 when the failure did not come from a system call. */
int msb_error_get_errno (const msb_error *e);

/* The full message, with the context added by each layer it passed through, outermost
 * first ("create sandbox `x`: load image `y`: open layer `z`: No such file or directory").
 * Valid until msb_error_free(e). */
const char *msb_error_get_message (const msb_error *e);

/* The stable code of a kind, as the Python classes spell it ("sandbox-not-found"). */
const char *msb_error_kind_code (msb_error_kind kind);

/* Frees `e`; NULL is allowed. */
void msb_error_free (msb_error *e);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
