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

int
cli_unknown_flag (const char *verb, const char *flag, int code)
{
  return cli_failf (code, "%s: unknown flag `%s` (`msb %s --help` lists the flags)", verb, flag, verb);
}

/* The token of `spec` that names `arg` (NULL if none); *takes_value when it ends in '='. */
static const char *
spec_lookup (const char *spec, const char *arg, bool *takes_value)
{
  size_t arg_len = strlen (arg);
  for (const char *t = spec; *t;)
    {
      size_t tok_len = strcspn (t, " ");
      *takes_value = tok_len > 0 && t[tok_len - 1] == '=';
      size_t names_len = tok_len - (*takes_value ? 1 : 0);
      for (const char *a = t; a < t + names_len;)
        {
          size_t alias_len = strcspn (a, "|= ");
          if (alias_len == arg_len && strncmp (a, arg, arg_len) == 0)
            return t;
          a += alias_len + 1;
        }
      t += tok_len + (t[tok_len] == ' ');
    }
  return NULL;
}

int
cli_check_flags (const char *verb, int argc, char **argv, const char *spec, int code)
{
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (arg[0] != '-' || arg[1] == '\0')
        continue;
      bool takes_value;
      if (spec_lookup (spec, arg, &takes_value) == NULL)
        {
          const char *eq = strchr (arg, '=');
          char *name = eq ? strndup (arg, (size_t) (eq - arg)) : NULL;
          bool known = name && spec_lookup (spec, name, &takes_value) && takes_value;
          free (name);
          if (known)
            return cli_failf (code, "%s: give the value of `%.*s` as the next argument (`%.*s %s`)",
                              verb, (int) (eq - arg), arg, (int) (eq - arg), arg, eq + 1);
          return cli_unknown_flag (verb, arg, code);
        }
      if (takes_value && ++i >= argc)
        return cli_failf (code, "%s: %s needs a value", verb, arg);
    }
  return 0;
}

bool
cli_has_flag (int argc, char **argv, const char *name, const char *alias)
{
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], name) == 0 || (alias && strcmp (argv[i], alias) == 0))
      return true;
  return false;
}

int
cli_each_name (msb_ctx *ctx, int argc, char **argv, int first, cli_name_fn fn, void *data,
               bool echo)
{
  int status = 0, names = 0;
  for (int i = first; i < argc; i++)
    {
      if (argv[i][0] == '-')
        continue;
      names++;
      msb_error *err = NULL;
      if (fn (ctx, argv[i], data, &err) < 0)
        status = cli_fail (err, 1);
      else if (echo)
        puts (argv[i]);
    }
  return names ? status : -1;
}

int
cli_each_sandbox (int argc, char **argv, cli_name_fn fn, void *data, bool echo)
{
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int status = cli_each_name (ctx, argc, argv, 1, fn, data, echo);
  msb_ctx_close (ctx);
  return status;
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

bool
cli_is_format_json (int argc, char **argv, int *i)
{
  if (strcmp (argv[*i], "--format=json") == 0)
    return true;
  if (strcmp (argv[*i], "--format") == 0 && *i + 1 < argc && strcmp (argv[*i + 1], "json") == 0)
    {
      ++*i;
      return true;
    }
  return false;
}

void
cli_human_size (uint64_t bytes, char *out, size_t n)
{
  static const char *const units[] = { "B", "K", "M", "G", "T" };
  double v = (double) bytes;
  size_t u = 0;
  while (v >= 1024 && u < 4)
    {
      v /= 1024;
      u++;
    }
  snprintf (out, n, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}
