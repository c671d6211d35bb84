/* Reading exec.log (API.md §3.8) and its rotations, plus the runtime's own log merged in as
 * "system" entries when asked. Files only: works for stopped sandboxes too.
 *
 * Cursors are "<inode>:<offset>": the inode identifies a log file across rotations (a
 * rename keeps it), the offset is where the entry's line ends. Resuming after a cursor
 * skips every file older than the cursor's and, in its file, every line before the offset;
 * if that file has been rotated away entirely, everything still on disk is newer. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/internal.h"
#include "lib/state.h"

#define MAX_LOG_FILE (64u * 1024u * 1024u)

typedef struct entry_list
{
  msb_log_entry *items;
  size_t n, cap;
} entry_list;

const char *
msb_log_source_name (msb_log_source s)
{
  switch (s)
    {
    case MSB_LOG_STDOUT: return "stdout";
    case MSB_LOG_STDERR: return "stderr";
    case MSB_LOG_OUTPUT: return "output";
    case MSB_LOG_SYSTEM: return "system";
    default: return "unknown";
    }
}

static msb_log_source
source_from_name (const char *s)
{
  if (s == NULL)
    return 0;
  if (strcmp (s, "stdout") == 0)
    return MSB_LOG_STDOUT;
  if (strcmp (s, "stderr") == 0)
    return MSB_LOG_STDERR;
  if (strcmp (s, "output") == 0)
    return MSB_LOG_OUTPUT;
  if (strcmp (s, "system") == 0)
    return MSB_LOG_SYSTEM;
  return 0;
}

/* "2026-11-28T15:53:20.226Z" or with microseconds → ms since the epoch; -1 if malformed. */
static int64_t
parse_timestamp (const char *t)
{
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  const char *rest = strptime (t, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return -1;
  int64_t ms = (int64_t) timegm (&tm) * 1000;
  if (*rest == '.')
    {
      long frac = 0;
      int digits = 0;
      for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
        if (digits < 3)
          frac = frac * 10 + (*rest - '0');
      while (digits > 0 && digits < 3)
        frac *= 10, digits++;
      ms += frac;
    }
  return ms;
}

static void
push (entry_list *l, int64_t ts, msb_log_source src, uint64_t id, const void *data, size_t len,
      char *cursor)
{
  if (l->n == l->cap)
    {
      l->cap = l->cap ? l->cap * 2 : 256;
      l->items = msb_xrealloc (l->items, l->cap * sizeof *l->items);
    }
  msb_log_entry *e = &l->items[l->n++];
  e->timestamp_ms = ts;
  e->source = src;
  e->session_id = id;
  e->data = msb_xmalloc (len + 1);
  memcpy (e->data, data, len);
  e->data[len] = 0;
  e->len = len;
  e->cursor = cursor;
}

typedef struct resume
{
  bool active;
  uint64_t ino;
  uint64_t offset;
  bool found;   /* the cursor's file still exists */
  bool passed;  /* we are past the cursor's file */
} resume;

static bool
wanted (const msb_log_query *q, unsigned sources, int64_t ts, msb_log_source src)
{
  if (!(sources & src))
    return false;
  if (q && q->since_ms && ts < q->since_ms)
    return false;
  if (q && q->until_ms && ts >= q->until_ms)
    return false;
  return true;
}

static void
parse_exec_line (const char *line, uint64_t ino, uint64_t end, const msb_log_query *q,
                 unsigned sources, entry_list *out)
{
  json_t *j = json_loads (line, JSON_ALLOW_NUL, NULL);
  if (j == NULL)
    return;
  int64_t ts = parse_timestamp (json_string_value (json_object_get (j, "t")) ?: "");
  msb_log_source src = source_from_name (json_string_value (json_object_get (j, "s")));
  json_t *d = json_object_get (j, "d");
  if (ts >= 0 && src && json_is_string (d) && wanted (q, sources, ts, src))
    push (out, ts, src, (uint64_t) json_integer_value (json_object_get (j, "id")),
          json_string_value (d), json_string_length (d),
          msb_xasprintf ("%" PRIu64 ":%" PRIu64, ino, end));
  json_decref (j);
}

/* runtime.log: "<timestamp> <level> [<pid>] <message>" */
static void
parse_runtime_line (const char *line, uint64_t ino, uint64_t end, const msb_log_query *q,
                    unsigned sources, entry_list *out)
{
  const char *sp = strchr (line, ' ');
  if (sp == NULL)
    return;
  _msb_cleanup_free_ char *t = msb_xstrndup (line, (size_t) (sp - line));
  int64_t ts = parse_timestamp (t);
  if (ts < 0 || !wanted (q, sources, ts, MSB_LOG_SYSTEM))
    return;
  _msb_cleanup_free_ char *text = msb_xasprintf ("%s\n", sp + 1);
  push (out, ts, MSB_LOG_SYSTEM, 0, text, strlen (text),
        msb_xasprintf ("r%" PRIu64 ":%" PRIu64, ino, end));
}

typedef void (*line_fn) (const char *line, uint64_t ino, uint64_t end, const msb_log_query *q,
                         unsigned sources, entry_list *out);

static void
read_lines (int dirfd, const char *file, line_fn fn, resume *rs, const msb_log_query *q,
            unsigned sources, entry_list *out)
{
  _msb_cleanup_close_ int fd = openat (dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return;
  uint64_t start = 0;
  if (rs && rs->active && !rs->passed)
    {
      if ((uint64_t) st.st_ino == rs->ino)
        {
          start = rs->offset;
          rs->passed = true;
        }
      else if (rs->found)
        return; /* older than the cursor's file */
    }
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  if (msb_read_file_at (AT_FDCWD, path, MAX_LOG_FILE, &data, &len, NULL) < 0)
    return;
  for (size_t off = start < len ? start : len; off < len;)
    {
      char *nl = memchr (data + off, '\n', len - off);
      if (nl == NULL)
        break; /* a line still being written */
      *nl = '\0';
      size_t end = (size_t) (nl - data) + 1;
      fn (data + off, (uint64_t) st.st_ino, end, q, sources, out);
      off = end;
    }
}

static int
parse_cursor (const char *c, resume *rs, bool *runtime_file)
{
  memset (rs, 0, sizeof *rs);
  if (c == NULL || *c == '\0')
    return 0;
  *runtime_file = c[0] == 'r';
  unsigned long long ino, off;
  if (sscanf (c + (*runtime_file ? 1 : 0), "%llu:%llu", &ino, &off) != 2)
    return -1;
  rs->active = true;
  rs->ino = ino;
  rs->offset = off;
  return 0;
}

/* Whether the cursor's inode is still among the files; if not, everything on disk is newer. */
static void
locate_cursor (int dirfd, const char *const *files, size_t n, resume *rs)
{
  for (size_t i = 0; rs->active && i < n; i++)
    {
      struct stat st;
      if (fstatat (dirfd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t) st.st_ino == rs->ino)
        rs->found = true;
    }
  if (rs->active && !rs->found)
    rs->passed = true;
}

/* Merges the two chronological runs [0, mid) and [mid, n) keeping their internal order. */
static void
merge_runs (entry_list *l, size_t mid)
{
  msb_log_entry *merged = msb_xmalloc ((l->n ? l->n : 1) * sizeof *merged);
  size_t a = 0, b = mid, k = 0;
  while (a < mid || b < l->n)
    {
      bool take_a = b >= l->n || (a < mid && l->items[a].timestamp_ms <= l->items[b].timestamp_ms);
      merged[k++] = l->items[take_a ? a++ : b++];
    }
  free (l->items);
  l->items = merged;
  l->cap = l->n;
}

static void
read_all (int dirfd, const msb_log_query *q, unsigned sources, entry_list *out)
{
  static const char *const exec_files[] = { "exec.log.3", "exec.log.2", "exec.log.1", "exec.log" };
  static const char *const rt_files[] = { "runtime.log" };
  resume rs;
  bool cursor_in_runtime = false;
  parse_cursor (q ? q->after_cursor : NULL, &rs, &cursor_in_runtime);
  resume exec_rs = rs, rt_rs = rs;
  if (rs.active && cursor_in_runtime)
    exec_rs.active = false;
  if (rs.active && !cursor_in_runtime)
    rt_rs.active = false;
  locate_cursor (dirfd, exec_files, 4, &exec_rs);
  for (size_t i = 0; i < 4; i++)
    read_lines (dirfd, exec_files[i], parse_exec_line, &exec_rs, q, sources, out);
  if (sources & MSB_LOG_SYSTEM)
    {
      size_t first = out->n;
      locate_cursor (dirfd, rt_files, 1, &rt_rs);
      read_lines (dirfd, "runtime.log", parse_runtime_line, &rt_rs, q, sources, out);
      if (out->n > first && first > 0)
        merge_runs (out, first);
    }
}

int
msb_sandbox_logs (msb_ctx *ctx, const char *name, const msb_log_query *q, msb_log_entry **out,
                  size_t *n, msb_error **err)
{
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_require (&ctx->db, name, err);
  if (r < 0)
    return -1;
  unsigned sources = q && q->sources ? q->sources : (MSB_LOG_STDOUT | MSB_LOG_STDERR | MSB_LOG_OUTPUT);
  _msb_cleanup_free_ char *rel = msb_xasprintf ("sandboxes/%s/logs", name);
  _msb_cleanup_close_ int dirfd = openat (ctx->home.root_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  entry_list list = { 0 };
  if (dirfd >= 0)
    read_all (dirfd, q, sources, &list);
  if (q && q->tail && list.n > q->tail)
    {
      size_t drop = list.n - q->tail;
      for (size_t i = 0; i < drop; i++)
        {
          free (list.items[i].data);
          free (list.items[i].cursor);
        }
      memmove (list.items, list.items + drop, q->tail * sizeof *list.items);
      list.n = q->tail;
    }
  *out = list.items;
  *n = list.n;
  return 0;
}

void
msb_log_entries_free (msb_log_entry *entries, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (entries[i].data);
      free (entries[i].cursor);
    }
  free (entries);
}
