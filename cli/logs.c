/* `msb logs NAME`: read exec.log (API.md §2): --tail, --since/--until (RFC 3339 or a
 * duration back from now), -f/--follow, --source, --grep RE, --json (raw exec.log lines),
 * --timestamps, --show-id, --color-sessions / --color auto|always|never. Works on stopped
 * sandboxes. */
#include <jansson.h>
#include <regex.h>
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
  bool has_grep;
  regex_t grep;
  bool color_sessions;
  const char *color; /* auto, always, never */
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
  o->color = "auto";
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
      else if (strcmp (a, "--grep") == 0 && v)
        {
          if (o->has_grep)
            regfree (&o->grep);
          if (regcomp (&o->grep, argv[++i], REG_EXTENDED | REG_NOSUB) != 0)
            return cli_failf (-1, "logs: --grep: invalid regular expression `%s`", v);
          o->has_grep = true;
        }
      else if (strcmp (a, "--color") == 0 && v)
        {
          o->color = argv[++i];
          if (strcmp (v, "auto") != 0 && strcmp (v, "always") != 0 && strcmp (v, "never") != 0)
            return cli_failf (-1, "logs: --color: expected auto, always or never, got `%s`", v);
        }
      else if (strcmp (a, "--color-sessions") == 0)
        o->color_sessions = true;
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
  FILE *dst = e->source == MSB_LOG_STDERR ? stderr : stdout;
  /* One color per session (system lines dim), so interleaved commands stay readable. */
  bool colored = o->color_sessions
                 && (strcmp (o->color, "always") == 0
                     || (strcmp (o->color, "auto") == 0 && isatty (fileno (dst))));
  if (colored)
    fprintf (dst, e->session_id ? "\033[%dm" : "\033[2m", 31 + (int) (e->session_id % 6));
  if (o->timestamps)
    fprintf (dst, "%.3f ", (double) e->timestamp_ms / 1000.0);
  if (o->show_id && e->session_id)
    fprintf (dst, "[%llu] ", (unsigned long long) e->session_id);
  fwrite (e->data, 1, e->len, dst);
  if (colored)
    fputs ("\033[0m", dst);
}

/* --grep: drops the entries whose text does not match; then, since a tail counts matching
 * entries, keeps the last `tail` of them (the query itself was run without the tail). */
static size_t
grep_entries (const logs_opts *o, msb_log_entry *entries, size_t n, size_t tail)
{
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if (regexec (&o->grep, (const char *) entries[i].data, 0, NULL, 0) == 0)
      {
        msb_log_entry t = entries[kept];
        entries[kept++] = entries[i];
        entries[i] = t;
      }
  if (tail && kept > tail)
    {
      size_t drop = kept - tail;
      for (size_t i = 0; i < tail; i++)
        {
          msb_log_entry t = entries[i];
          entries[i] = entries[i + drop];
          entries[i + drop] = t;
        }
      return tail;
    }
  return kept;
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
  size_t tail = o.q.tail;
  if (o.has_grep)
    o.q.tail = 0; /* the tail counts matching entries: applied after the grep */
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
      if (n)
        {
          free (cursor);
          cursor = strdup (entries[n - 1].cursor);
        }
      size_t shown = o.has_grep ? grep_entries (&o, entries, n, tail) : n;
      for (size_t i = 0; i < shown; i++)
        print_entry (&o, &entries[i]);
      msb_log_entries_free (entries, n);
      fflush (stdout);
      fflush (stderr);
      if (!o.follow)
        break;
      o.q.tail = tail = 0;
      usleep (200 * 1000);
    }
  free (cursor);
  if (o.has_grep)
    regfree (&o.grep);
  msb_ctx_close (ctx);
  return status;
}
