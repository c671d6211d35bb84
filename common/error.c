/* msb_error: the error object of libmsb, the runtime and the agent. Owns nothing else. */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msb_error
{
  msb_error_kind kind;
  int errnum;
  char *message;
};

static const char *const kind_codes[] = {
  [MSB_ERR_GENERIC] = "microsandbox-error",
  [MSB_ERR_INVALID_CONFIG] = "invalid-config",
  [MSB_ERR_NO_DEFAULT_COMMAND] = "no-default-command",
  [MSB_ERR_SANDBOX_NOT_FOUND] = "sandbox-not-found",
  [MSB_ERR_SANDBOX_NOT_RUNNING] = "sandbox-not-running",
  [MSB_ERR_SANDBOX_ALREADY_EXISTS] = "sandbox-already-exists",
  [MSB_ERR_SANDBOX_STILL_RUNNING] = "sandbox-still-running",
  [MSB_ERR_EXEC_TIMEOUT] = "exec-timeout",
  [MSB_ERR_EXEC_FAILED] = "exec-failed",
  [MSB_ERR_FILESYSTEM] = "filesystem-error",
  [MSB_ERR_PATH_NOT_FOUND] = "path-not-found",
  [MSB_ERR_VOLUME_NOT_FOUND] = "volume-not-found",
  [MSB_ERR_IMAGE_NOT_FOUND] = "image-not-found",
  [MSB_ERR_IMAGE_IN_USE] = "image-in-use",
  [MSB_ERR_IMAGE_PULL_FAILED] = "image-pull-failed",
  [MSB_ERR_NETWORK_POLICY] = "network-policy-error",
  [MSB_ERR_SECRET_VIOLATION] = "secret-violation",
  [MSB_ERR_TLS] = "tls-error",
  [MSB_ERR_IO] = "io-error",
  [MSB_ERR_METRICS_DISABLED] = "metrics-disabled",
  [MSB_ERR_METRICS_UNAVAILABLE] = "metrics-unavailable",
  [MSB_ERR_UNSUPPORTED_OPERATION] = "unsupported-operation",
  [MSB_ERR_UNSUPPORTED] = "unsupported",
  [MSB_ERR_SNAPSHOT_MIGRATION] = "snapshot-migration",
  [MSB_ERR_CLOUD_HTTP] = "cloud-http",
  [MSB_ERR_INVALID_ARGUMENT] = "invalid-argument",
  [MSB_ERR_SNAPSHOT_NOT_FOUND] = "snapshot-not-found",
};

#define N_KINDS (sizeof (kind_codes) / sizeof (kind_codes[0]))

const char *
msb_error_kind_code (msb_error_kind kind)
{
  if ((unsigned) kind >= N_KINDS || kind_codes[kind] == NULL)
    return kind_codes[MSB_ERR_GENERIC];
  return kind_codes[kind];
}

msb_error_kind
msb_error_kind_from_code (const char *code)
{
  for (size_t i = 1; code && i < N_KINDS; i++)
    if (kind_codes[i] && strcmp (kind_codes[i], code) == 0)
      return (msb_error_kind) i;
  return MSB_ERR_GENERIC;
}

msb_error *
msb_error_new (msb_error_kind kind, int errnum, const char *message)
{
  msb_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    abort ();
  e->kind = kind;
  e->errnum = errnum;
  e->message = strdup (message ? message : "unknown error");
  if (e->message == NULL)
    abort ();
  return e;
}

static int
fail_va (msb_error **err, int errnum, msb_error_kind kind, const char *fmt, va_list ap)
{
  if (err == NULL)
    return -1;
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  if (errnum)
    {
      char *full = NULL;
      if (asprintf (&full, "%s: %s", msg, strerror (errnum)) < 0)
        abort ();
      free (msg);
      msg = full;
    }
  msb_error_free (*err);
  *err = msb_error_new (kind, errnum, NULL);
  free ((*err)->message);
  (*err)->message = msg;
  return -1;
}

int
msb_fail (msb_error **err, msb_error_kind kind, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fail_va (err, 0, kind, fmt, ap);
  va_end (ap);
  return -1;
}

int
msb_fail_errno (msb_error **err, int errnum, msb_error_kind kind, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fail_va (err, errnum, kind, fmt, ap);
  va_end (ap);
  return -1;
}

int
msb_error_prefix (msb_error **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  char *ctx = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    abort ();
  va_end (ap);
  char *full = NULL;
  if (asprintf (&full, "%s: %s", ctx, (*err)->message) < 0)
    abort ();
  free (ctx);
  free ((*err)->message);
  (*err)->message = full;
  return -1;
}

int
msb_error_set_kind (msb_error **err, msb_error_kind kind)
{
  if (err && *err)
    (*err)->kind = kind;
  return -1;
}

msb_error_kind
msb_error_get_kind (const msb_error *e)
{
  return e ? e->kind : MSB_ERR_GENERIC;
}

int
msb_error_get_errno (const msb_error *e)
{
  return e ? e->errnum : 0;
}

const char *
msb_error_get_message (const msb_error *e)
{
  return e ? e->message : "";
}

void
msb_error_free (msb_error *e)
{
  if (e == NULL)
    return;
  free (e->message);
  free (e);
}

void
msb_error_clear (msb_error **err)
{
  if (err)
    {
      msb_error_free (*err);
      *err = NULL;
    }
}
