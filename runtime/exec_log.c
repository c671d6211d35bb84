/* The exec.log tap. Lines are written with one write(2) each (O_APPEND), so concurrent
 * readers never see half a line; rotation renames under the runtime's exclusive ownership of
 * the file (only the runtime of a sandbox writes its log). */
#include "runtime/exec_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"

struct msb_exec_log
{
  int dirfd;
  int fd;
  uint64_t size;
  msb_buf line;
};

static int
open_current (msb_exec_log *log, msb_error **err)
{
  log->fd = openat (log->dirfd, "exec.log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                    0600);
  if (log->fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open exec.log");
  struct stat st;
  log->size = fstat (log->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
  /* A runtime killed in the middle of a line (SIGKILL cuts a multi-page write short) leaves
   * it without its newline: end it, or the next line would be glued to it and both lost. */
  char last = '\n';
  if (log->size > 0 && pread (log->fd, &last, 1, (off_t) log->size - 1) == 1 && last != '\n'
      && msb_write_full (log->fd, "\n", 1) == 0)
    log->size++;
  return 0;
}

int
msb_exec_log_open (int logs_dirfd, msb_exec_log **out, msb_error **err)
{
  msb_exec_log *log = msb_xcalloc (1, sizeof *log);
  log->dirfd = fcntl (logs_dirfd, F_DUPFD_CLOEXEC, 0);
  if (log->dirfd < 0 || open_current (log, err) < 0)
    {
      if (log->dirfd < 0)
        msb_fail_errno (err, errno, MSB_ERR_IO, "open logs directory");
      msb_exec_log_close (log);
      return -1;
    }
  *out = log;
  return 0;
}

static void
rotate (msb_exec_log *log)
{
  close (log->fd);
  char from[32], to[32];
  for (int i = MSB_EXEC_LOG_KEEP - 1; i >= 1; i--)
    {
      snprintf (from, sizeof from, "exec.log.%d", i);
      snprintf (to, sizeof to, "exec.log.%d", i + 1);
      renameat (log->dirfd, from, log->dirfd, to);
    }
  renameat (log->dirfd, "exec.log", log->dirfd, "exec.log.1");
  if (open_current (log, NULL) < 0)
    log->fd = -1;
}

static void
put (msb_buf *b, const char *s)
{
  msb_buf_append (b, s, strlen (s));
}

static void
put_timestamp (msb_buf *b)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r (&ts.tv_sec, &tm);
  char t[96];
  snprintf (t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
  put (b, t);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_seq_len (const uint8_t *p, size_t n)
{
  uint8_t c = p[0];
  size_t len;
  uint32_t min;
  if (c < 0x80)
    return 1;
  if ((c & 0xe0) == 0xc0)
    len = 2, min = 0x80;
  else if ((c & 0xf0) == 0xe0)
    len = 3, min = 0x800;
  else if ((c & 0xf8) == 0xf0)
    len = 4, min = 0x10000;
  else
    return 0;
  if (len > n)
    return 0;
  uint32_t cp = c & (0x7f >> len);
  for (size_t i = 1; i < len; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

void
msb_json_escape_utf8 (msb_buf *out, const uint8_t *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n;)
    {
      uint8_t c = p[i];
      if (c >= 0x80)
        {
          size_t len = utf8_seq_len (p + i, n - i);
          if (len == 0)
            {
              put (out, "\xef\xbf\xbd");
              i++;
            }
          else
            {
              msb_buf_append (out, p + i, len);
              i += len;
            }
          continue;
        }
      i++;
      switch (c)
        {
        case '"': put (out, "\\\""); break;
        case '\\': put (out, "\\\\"); break;
        case '\n': put (out, "\\n"); break;
        case '\r': put (out, "\\r"); break;
        case '\t': put (out, "\\t"); break;
        case '\b': put (out, "\\b"); break;
        case '\f': put (out, "\\f"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            {
              char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
              put (out, u);
            }
          else
            msb_buf_append_byte (out, c);
        }
    }
}

void
msb_exec_log_write (msb_exec_log *log, const char *source, const uint8_t *data, size_t len,
                    uint64_t session_id)
{
  if (log == NULL || log->fd < 0)
    return;
  msb_buf *b = &log->line;
  msb_buf_reset (b);
  put (b, "{\"t\":\"");
  put_timestamp (b);
  put (b, "\",\"s\":\"");
  put (b, source);
  put (b, "\",\"d\":\"");
  msb_json_escape_utf8 (b, data, len);
  put (b, "\"");
  if (session_id)
    {
      char id[32];
      snprintf (id, sizeof id, ",\"id\":%llu", (unsigned long long) session_id);
      put (b, id);
    }
  put (b, "}\n");
  if (msb_write_full (log->fd, b->data, b->len) == 0)
    log->size += b->len;
  if (log->size >= MSB_EXEC_LOG_ROTATE_BYTES)
    rotate (log);
}

void
msb_exec_log_system (msb_exec_log *log, const char *text)
{
  size_t n = strlen (text);
  if (n && text[n - 1] == '\n')
    {
      msb_exec_log_write (log, "system", (const uint8_t *) text, n, 0);
      return;
    }
  _msb_cleanup_free_ char *with_nl = msb_xasprintf ("%s\n", text);
  msb_exec_log_write (log, "system", (const uint8_t *) with_nl, n + 1, 0);
}

void
msb_exec_log_close (msb_exec_log *log)
{
  if (log == NULL)
    return;
  if (log->fd >= 0)
    close (log->fd);
  if (log->dirfd >= 0)
    close (log->dirfd);
  msb_buf_free (&log->line);
  free (log);
}
