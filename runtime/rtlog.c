#include "runtime/rtlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static msb_rt_level current = MSB_RT_INFO;
static const char *const names[] = { "error", "warn", "info", "debug", "trace" };

void
msb_rtlog_set_level (const char *name)
{
  for (int i = 0; name && i < 5; i++)
    if (strcmp (names[i], name) == 0)
      current = (msb_rt_level) i;
}

void
msb_rtlog (msb_rt_level level, const char *fmt, ...)
{
  if (level > current)
    return;
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r (&ts.tv_sec, &tm);
  char line[2048];
  static struct timespec start;
  if (start.tv_sec == 0)
    clock_gettime (CLOCK_MONOTONIC, &start);
  int n = snprintf (line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s [%d] ",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                    tm.tm_sec, ts.tv_nsec / 1000, names[level], (int) getpid ());
  va_list ap;
  va_start (ap, fmt);
  if (n > 0 && (size_t) n < sizeof line)
    n += vsnprintf (line + n, sizeof line - (size_t) n, fmt, ap);
  va_end (ap);
  if (n >= (int) sizeof line - 1)
    n = (int) sizeof line - 2;
  line[n++] = '\n';
  (void) !write (STDERR_FILENO, line, (size_t) n);
}
