/* `msb logs NAME`: read exec.log (API.md §2): --tail, --since/--until (RFC 3339 or a
 * duration back from now), -f/--follow, --source, --json (raw exec.log lines), --timestamps,
 * --show-id. Works on stopped sandboxes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct logs_opts
{
  const char *name;
  msb_log_query q;
  bool follow, json, timestamps, show_id;
} logs_opts;

/* RFC 3339 ("2026-11-28T15:53:20.226Z", "…T16:53:20+01:00"; without a zone, UTC like
 * exec.log itself) or a duration back from now ("5m"). Milliseconds are kept: exec.log
 * entries are that precise, and --since/--until must be able to split two of them. */
static int
parse_time (const char *s, int64_t *ms)
{
  double secs;
  if (cli_parse_duration (s, &secs) == 0)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      *ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t) (secs * 1000);
      return 0;
    }
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  const char *rest = strptime (s, "%Y-%m-%d", &tm);
  if (rest == NULL || (*rest != 'T' && *rest != 't' && *rest != ' '))
    return -1;
  rest = strptime (rest + 1, "%H:%M:%S", &tm);
  if (rest == NULL)
    return -1;
  int64_t frac = 0;
  if (*rest == '.')
    {
      int digits = 0;
      for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
        if (digits < 3)
          frac = frac * 10 + (*rest - '0');
      if (digits == 0)
        return -1;
      for (; digits < 3; digits++)
        frac *= 10;
    }
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z')
    rest++;
  else if (*rest == '+' || *rest == '-')
    {
      int hh, mm, n = 0;
      if (sscanf (rest + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 || hh > 23 || mm > 59)
        return -1;
      offset_s = (int64_t) (hh * 3600 + mm * 60) * (*rest == '-' ? -1 : 1);
      rest += 1 + n;
    }
  if (*rest != '\0')
    return -1;
  *ms = ((int64_t) timegm (&tm) - offset_s) * 1000 + frac;
  return 0;
}

static int
parse_sources (const char *s, unsigned *out)
{
  *out = 0;
  char *copy = strdup (s), *save = NULL;
  int r = 0;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      if (strcmp (tok, "stdout") == 0) *out |= MSB_LOG_STDOUT;
      else if (strcmp (tok, "stderr") == 0) *out |= MSB_LOG_STDERR;
      else if (strcmp (tok, "output") == 0) *out |= MSB_LOG_OUTPUT;
      else if (strcmp (tok, "system") == 0) *out |= MSB_LOG_SYSTEM;
      else if (strcmp (tok, "all") == 0) *out |= MSB_LOG_ALL;
      else r = -1;
    }
  free (copy);
  return r;
}

static int
parse_args (int argc, char **argv, logs_opts *o)
{
  memset (o, 0, sizeof *o);
  o->q.size = sizeof o->q;
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--tail") == 0 && v)
        o->q.tail = strtoul (argv[++i], NULL, 10);
      else if ((strcmp (a, "--since") == 0 || strcmp (a, "--until") == 0) && v)
        {
          int64_t *slot = a[2] == 's' ? &o->q.since_ms : &o->q.until_ms;
          if (parse_time (argv[++i], slot) < 0)
            return cli_failf (-1, "logs: %s: expected RFC 3339 or a duration like 5m, got `%s`", a, v);
        }
      else if ((strcmp (a, "--source") == 0 || strcmp (a, "--sources") == 0) && v)
        {
          if (parse_sources (argv[++i], &o->q.sources) < 0)
            return cli_failf (-1, "logs: --source: expected stdout,stderr,output,system,all, got `%s`", v);
        }
      else if (strcmp (a, "-f") == 0 || strcmp (a, "--follow") == 0)
        o->follow = true;
      else if (strcmp (a, "--json") == 0)
        o->json = true;
      else if (strcmp (a, "--timestamps") == 0)
        o->timestamps = true;
      else if (strcmp (a, "--show-id") == 0)
        o->show_id = true;
      else if (strcmp (a, "--raw") == 0)
        ;
      else if (a[0] != '-' && o->name == NULL)
        o->name = a;
      else
        return cli_failf (-1, "logs: unexpected argument `%s`", a);
    }
  if (o->name == NULL)
    return cli_failf (-1, "logs: a sandbox name is required");
  return 0;
}

static void
print_entry (const logs_opts *o, const msb_log_entry *e)
{
  if (o->json)
    {
      time_t t = (time_t) (e->timestamp_ms / 1000);
      struct tm tm;
      gmtime_r (&t, &tm);
      char ts[64];
      snprintf (ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                (int) (e->timestamp_ms % 1000));
      json_t *j = json_pack ("{s:s, s:s, s:s%}", "t", ts, "s", msb_log_source_name (e->source), "d",
                             (const char *) e->data, e->len);
      if (e->session_id)
        json_object_set_new (j, "id", json_integer ((json_int_t) e->session_id));
      char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
      json_decref (j);
      if (text)
        printf ("%s\n", text);
      free (text);
      return;
    }
  if (o->timestamps)
    printf ("%.3f ", (double) e->timestamp_ms / 1000.0);
  if (o->show_id && e->session_id)
    printf ("[%llu] ", (unsigned long long) e->session_id);
  FILE *dst = e->source == MSB_LOG_STDERR ? stderr : stdout;
  fwrite (e->data, 1, e->len, dst);
}

int
cli_logs (int argc, char **argv)
{
  logs_opts o;
  if (parse_args (argc, argv, &o) < 0)
    return 1;
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  char *cursor = NULL;
  int status = 0;
  for (;;)
    {
      msb_log_entry *entries = NULL;
      size_t n = 0;
      msb_error *err = NULL;
      o.q.after_cursor = cursor;
      if (msb_sandbox_logs (ctx, o.name, &o.q, &entries, &n, &err) < 0)
        {
          status = cli_fail (err, 1);
          break;
        }
      for (size_t i = 0; i < n; i++)
        print_entry (&o, &entries[i]);
      if (n)
        {
          free (cursor);
          cursor = strdup (entries[n - 1].cursor);
        }
      msb_log_entries_free (entries, n);
      fflush (stdout);
      if (!o.follow)
        break;
      o.q.tail = 0;
      usleep (200 * 1000);
    }
  free (cursor);
  msb_ctx_close (ctx);
  return status;
}
