#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

int
cli_fail (msb_error *err, int code)
{
  fprintf (stderr, "msb: %s\n", err ? msb_error_get_message (err) : "unknown error");
  msb_error_free (err);
  return code;
}

int
cli_failf (int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("msb: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  return code;
}

msb_ctx *
cli_ctx (void)
{
  msb_ctx *ctx = NULL;
  msb_error *err = NULL;
  if (msb_ctx_open (&ctx, NULL, &err) < 0)
    {
      cli_fail (err, 1);
      return NULL;
    }
  return ctx;
}

int
cli_parse_size_mib (const char *s, unsigned *mib)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || v <= 0 || !isfinite (v))
    return -1;
  double factor = 1; /* plain numbers are MiB */
  switch (tolower ((unsigned char) *end))
    {
    case '\0': break;
    case 'k': factor = 1.0 / 1024; break;
    case 'm': factor = 1; break;
    case 'g': factor = 1024; break;
    case 't': factor = 1024 * 1024; break;
    default: return -1;
    }
  if (*end && end[1] && strcasecmp (end + 1, "i") && strcasecmp (end + 1, "b")
      && strcasecmp (end + 1, "ib"))
    return -1;
  double m = v * factor;
  if (m < 1 || m > 4294967295.0)
    return -1;
  *mib = (unsigned) m;
  return 0;
}

int
cli_parse_duration (const char *s, double *seconds)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || v < 0 || !isfinite (v))
    return -1;
  double factor = 1;
  if (strcmp (end, "ms") == 0)
    factor = 0.001;
  else if (*end == '\0' || strcmp (end, "s") == 0)
    factor = 1;
  else if (strcmp (end, "m") == 0)
    factor = 60;
  else if (strcmp (end, "h") == 0)
    factor = 3600;
  else if (strcmp (end, "d") == 0)
    factor = 86400;
  else
    return -1;
  *seconds = v * factor;
  return 0;
}

bool
cli_is_interactive (void)
{
  return isatty (STDIN_FILENO) && isatty (STDOUT_FILENO);
}

void
cli_rfc3339 (int64_t ms, char *out, size_t n)
{
  time_t t = (time_t) (ms / 1000);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
cli_print_json (json_t *value, bool compact)
{
  char *text = json_dumps (value, compact ? JSON_COMPACT : JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (text)
    puts (text);
  free (text);
}
