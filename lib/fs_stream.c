/* Streamed file transfer with a sandbox (msb/fs.h): readers, writers, whole-file read and
 * write, and the host copies.
 *
 * Reads are windowed: the reader asks for READ_WINDOW bytes per Read request and keeps two
 * windows in flight, so the sandbox never sends more than 2 × READ_WINDOW ahead of the
 * caller (the connection queues frames without limit, so the window is the flow control) and
 * the next window is already streaming when the current one is drained. Writes stream one
 * Write request's fs.data chunks; the connection's blocking send is the backpressure, and a
 * failure the sandbox reports early (ENOSPC) stops the stream at the next chunk.
 *
 * Host side of the copies: the host path is the caller's; copy_to_host writes only that file
 * (final component opened O_NOFOLLOW, must be a regular file) and only after the sandbox file
 * was opened, so a failure never clobbers the destination.
 *
 * Must never: buffer a whole stream, or trust a chunk size or byte count from the sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/fs_call.h"

#define READ_WINDOW (8u * 1024u * 1024u)
/* Host file I/O unit of the copies. */
#define HOST_CHUNK (1024u * 1024u)

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct read_window
{
  msb_conn_session *session; /* NULL = not in flight */
  uint64_t asked;
  uint64_t got;
} read_window;

struct msb_fs_reader
{
  msb_sandbox *sb;
  char *path;
  uint64_t handle;
  bool has_handle;
  uint64_t next_offset; /* where the next window starts */
  uint64_t returned;    /* bytes handed to the caller */
  read_window win[2];
  int cur;
  bool is_done;
  msb_msg current;
};

static void
window_close (read_window *w)
{
  msb_conn_session_close (w->session);
  w->session = NULL;
  w->asked = w->got = 0;
}

static int
window_start (msb_fs_reader *r, read_window *w, msb_error **err)
{
  if (msb_conn_session_open (r->sb->conn, &w->session, err) < 0)
    return -1;
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_FS_REQUEST;
  m.u.fs_request.op = MSB_FS_OP_READ;
  m.u.fs_request.handle = r->handle;
  m.u.fs_request.offset = r->next_offset;
  m.u.fs_request.has_len = true;
  m.u.fs_request.len = READ_WINDOW;
  w->asked = READ_WINDOW;
  w->got = 0;
  r->next_offset += READ_WINDOW;
  return msb_conn_session_send (w->session, 0, &m, err);
}

int
msb_fs_read_open (msb_sandbox *sb, const char *path, msb_fs_reader **out, msb_error **err)
{
  if (path == NULL || *path == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "read: the path must not be empty");
  msb_fs_reader *r = msb_xcalloc (1, sizeof *r);
  r->sb = sb;
  r->path = msb_xstrdup (path);
  if (fs_call_open (sb, path, false, &r->handle, err) < 0)
    {
      msb_fs_read_close (r);
      return -1;
    }
  r->has_handle = true;
  if (window_start (r, &r->win[0], err) < 0 || window_start (r, &r->win[1], err) < 0)
    {
      msb_fs_read_close (r);
      return msb_error_prefix (err, "read `%s`", path);
    }
  *out = r;
  return 0;
}

static int
reader_fail (msb_fs_reader *r, msb_error **err)
{
  r->is_done = true;
  return msb_error_prefix (err, "read `%s`", r->path);
}

int
msb_fs_read_next (msb_fs_reader *r, const uint8_t **data, size_t *len, msb_error **err)
{
  msb_msg_clear (&r->current);
  for (;;)
    {
      if (r->is_done)
        return 0;
      read_window *w = &r->win[r->cur];
      uint8_t flags = 0;
      int n = msb_conn_session_next (w->session, &r->current, &flags, -1, err);
      if (n <= 0)
        return reader_fail (r, err);
      const msb_msg *m = &r->current;
      if (m->type == MSB_MSG_FS_DATA)
        {
          size_t got = m->u.data.data.len;
          if (got > MSB_DATA_CHUNK_MAX || got > w->asked - w->got)
            {
              msb_fail (err, MSB_ERR_GENERIC, "the sandbox sent more data than was asked for");
              return reader_fail (r, err);
            }
          if (got == 0)
            continue;
          w->got += got;
          r->returned += got;
          *data = m->u.data.data.data;
          *len = got;
          return 1;
        }
      if (m->type == MSB_MSG_ERROR)
        {
          msb_fail (err, MSB_ERR_GENERIC, "the sandbox refused the read: %s",
                    m->u.error.message ? m->u.error.message : "?");
          return reader_fail (r, err);
        }
      if (m->type != MSB_MSG_FS_RESPONSE)
        continue;
      if (!m->u.fs_response.ok)
        {
          fs_error_from_response (&m->u.fs_response, err);
          return reader_fail (r, err);
        }
      /* The window is complete. Short means end of file; full means the window after the
       * next one is requested now, and reading continues with the next one. */
      bool is_eof = w->got < w->asked;
      msb_msg_clear (&r->current);
      window_close (w);
      if (is_eof)
        {
          r->is_done = true;
          return 0;
        }
      if (window_start (r, w, err) < 0)
        return reader_fail (r, err);
      r->cur = 1 - r->cur;
    }
}

uint64_t
msb_fs_reader_offset (const msb_fs_reader *r)
{
  return r->returned;
}

void
msb_fs_read_close (msb_fs_reader *r)
{
  if (r == NULL)
    return;
  msb_msg_clear (&r->current);
  window_close (&r->win[0]);
  window_close (&r->win[1]);
  if (r->has_handle)
    fs_call_close_handle (r->sb, r->handle);
  free (r->path);
  free (r);
}

int
msb_fs_read (msb_sandbox *sb, const char *path, uint8_t **data, size_t *len, msb_error **err)
{
  *data = NULL;
  *len = 0;
  msb_fs_reader *r = NULL;
  if (msb_fs_read_open (sb, path, &r, err) < 0)
    return -1;
  msb_buf b = MSB_BUF_INIT;
  const uint8_t *chunk;
  size_t n;
  int rc;
  while ((rc = msb_fs_read_next (r, &chunk, &n, err)) == 1)
    msb_buf_append (&b, chunk, n);
  msb_fs_read_close (r);
  if (rc < 0)
    {
      msb_buf_free (&b);
      return -1;
    }
  msb_buf_append_byte (&b, 0);
  *len = b.len - 1;
  *data = b.data;
  return 0;
}

/* ---- writer ----------------------------------------------------------------------------- */

struct msb_fs_writer
{
  msb_sandbox *sb;
  char *path;
  uint64_t handle;
  bool has_handle;
  msb_conn_session *session; /* the Write stream */
  msb_error *failure;         /* the first failure; later calls report it again */
  bool is_answered;           /* the sandbox already sent the terminal response */
};

static int
writer_failed (msb_fs_writer *w, msb_error **err)
{
  if (err && w->failure)
    *err = msb_error_new (msb_error_get_kind (w->failure), msb_error_get_errno (w->failure),
                          msb_error_get_message (w->failure));
  return -1;
}

/* Takes the stream's terminal response (waiting up to timeout_ms). Returns 1 when it came. */
static int
writer_take_response (msb_fs_writer *w, int timeout_ms)
{
  for (;;)
    {
      msb_msg m;
      memset (&m, 0, sizeof m);
      msb_error *e = NULL;
      int r = msb_conn_session_next (w->session, &m, NULL, timeout_ms, &e);
      if (r == 0)
        return 0;
      if (r < 0)
        {
          w->failure = e;
          msb_error_prefix (&w->failure, "write `%s`", w->path);
          w->is_answered = true;
          return 1;
        }
      if (m.type == MSB_MSG_FS_RESPONSE || m.type == MSB_MSG_ERROR)
        {
          w->is_answered = true;
          if (m.type == MSB_MSG_ERROR)
            msb_fail (&w->failure, MSB_ERR_GENERIC, "write `%s`: the sandbox refused: %s", w->path,
                      m.u.error.message ? m.u.error.message : "?");
          else if (!m.u.fs_response.ok)
            {
              fs_error_from_response (&m.u.fs_response, &w->failure);
              msb_error_prefix (&w->failure, "write `%s`", w->path);
            }
          msb_msg_clear (&m);
          return 1;
        }
      msb_msg_clear (&m);
    }
}

static int
writer_send (msb_fs_writer *w, const void *data, size_t len)
{
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_FS_DATA;
  m.u.data.data.data = data;
  m.u.data.data.len = len;
  msb_error *e = NULL;
  if (msb_conn_session_send (w->session, 0, &m, &e) < 0)
    {
      w->failure = e;
      msb_error_prefix (&w->failure, "write `%s`", w->path);
      return -1;
    }
  return 0;
}

int
msb_fs_write_open (msb_sandbox *sb, const char *path, msb_fs_writer **out, msb_error **err)
{
  if (path == NULL || *path == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "write: the path must not be empty");
  msb_fs_writer *w = msb_xcalloc (1, sizeof *w);
  w->sb = sb;
  w->path = msb_xstrdup (path);
  if (fs_call_open (sb, path, true, &w->handle, err) < 0)
    {
      free (w->path);
      free (w);
      return -1;
    }
  w->has_handle = true;
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_FS_REQUEST;
  m.u.fs_request.op = MSB_FS_OP_WRITE;
  m.u.fs_request.handle = w->handle;
  if (msb_conn_session_open (sb->conn, &w->session, err) < 0
      || msb_conn_session_send (w->session, 0, &m, err) < 0)
    {
      msb_error_prefix (err, "write `%s`", path);
      w->is_answered = true;
      msb_fs_write_close (w, NULL);
      return -1;
    }
  *out = w;
  return 0;
}

int
msb_fs_write_chunk (msb_fs_writer *w, const void *data, size_t len, msb_error **err)
{
  if (w->failure || w->is_answered)
    {
      if (w->failure == NULL)
        msb_fail (&w->failure, MSB_ERR_GENERIC, "write `%s`: the stream is already finished",
                  w->path);
      return writer_failed (w, err);
    }
  const uint8_t *p = data;
  for (size_t off = 0; off < len;)
    {
      size_t n = len - off > MSB_DATA_CHUNK_MAX ? MSB_DATA_CHUNK_MAX : len - off;
      if (writer_send (w, p + off, n) < 0)
        return writer_failed (w, err);
      off += n;
      /* An early answer is a failure (the sandbox answers success only after the end). */
      if (writer_take_response (w, 0) == 1)
        {
          if (w->failure == NULL)
            msb_fail (&w->failure, MSB_ERR_GENERIC, "write `%s`: the sandbox ended the stream early",
                      w->path);
          return writer_failed (w, err);
        }
    }
  return 0;
}

int
msb_fs_write_close (msb_fs_writer *w, msb_error **err)
{
  if (w == NULL)
    return 0;
  if (w->failure == NULL && !w->is_answered && writer_send (w, NULL, 0) == 0)
    writer_take_response (w, -1);
  int r = w->failure ? writer_failed (w, err) : 0;
  msb_conn_session_close (w->session);
  if (w->has_handle)
    fs_call_close_handle (w->sb, w->handle);
  msb_error_free (w->failure);
  free (w->path);
  free (w);
  return r;
}

int
msb_fs_write (msb_sandbox *sb, const char *path, const void *data, size_t len, msb_error **err)
{
  msb_fs_writer *w = NULL;
  if (msb_fs_write_open (sb, path, &w, err) < 0)
    return -1;
  if (msb_fs_write_chunk (w, data, len, err) < 0)
    {
      msb_fs_write_close (w, NULL);
      return -1;
    }
  return msb_fs_write_close (w, err);
}

/* ---- host copies ------------------------------------------------------------------------ */

int
msb_fs_copy_from_host (msb_sandbox *sb, const char *host_path, const char *guest_path,
                       msb_error **err)
{
  if (host_path == NULL || *host_path == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "copy_from_host: the host path is empty");
  _msb_cleanup_close_ int fd = open (host_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "copy `%s` into the sandbox: open", host_path);
  if (!S_ISREG (st.st_mode))
    return msb_fail_errno (err, S_ISDIR (st.st_mode) ? EISDIR : EINVAL, MSB_ERR_IO,
                           "copy `%s` into the sandbox: not a regular file", host_path);
  msb_set_nonblock (fd, false);
  msb_fs_writer *w = NULL;
  if (msb_fs_write_open (sb, guest_path, &w, err) < 0)
    return msb_error_prefix (err, "copy `%s` into the sandbox", host_path);
  _msb_cleanup_free_ uint8_t *buf = msb_xmalloc (HOST_CHUNK);
  for (;;)
    {
      ssize_t n = read (fd, buf, HOST_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          msb_fs_write_close (w, NULL);
          return msb_fail_errno (err, saved, MSB_ERR_IO, "copy `%s` into the sandbox: read",
                                 host_path);
        }
      if (n == 0)
        break;
      if (msb_fs_write_chunk (w, buf, (size_t) n, err) < 0)
        {
          msb_fs_write_close (w, NULL);
          return msb_error_prefix (err, "copy `%s` into the sandbox", host_path);
        }
    }
  if (msb_fs_write_close (w, err) < 0)
    return msb_error_prefix (err, "copy `%s` into the sandbox", host_path);
  return 0;
}

/* Opens the host destination: the caller's directory, and in it exactly the named entry,
 * never a symlink found there and never anything but a regular file. Not truncated yet. */
static int
open_host_destination (const char *host_path, msb_error **err)
{
  _msb_cleanup_free_ char *dir_copy = msb_xstrdup (host_path);
  _msb_cleanup_free_ char *base_copy = msb_xstrdup (host_path);
  const char *dir = dirname (dir_copy);
  const char *base = basename (base_copy);
  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || strcmp (base, "/") == 0)
    return msb_fail_errno (err, EISDIR, MSB_ERR_IO, "write `%s`", host_path);
  _msb_cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s`: open directory `%s`", host_path, dir);
  /* O_NONBLOCK: a FIFO planted at the destination must not hang the open. */
  int fd = openat (dfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
  if (fd < 0 && errno == ELOOP)
    return msb_fail_errno (err, ELOOP, MSB_ERR_IO,
                           "write `%s`: it is a symbolic link, which is never followed", host_path);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s`", host_path);
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      int saved = errno;
      close (fd);
      return msb_fail_errno (err, S_ISREG (st.st_mode) ? saved : EINVAL, MSB_ERR_IO,
                             "write `%s`: not a regular file", host_path);
    }
  msb_set_nonblock (fd, false);
  return fd;
}

int
msb_fs_copy_to_host (msb_sandbox *sb, const char *guest_path, const char *host_path,
                     msb_error **err)
{
  if (host_path == NULL || *host_path == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "copy_to_host: the host path is empty");
  msb_fs_reader *r = NULL;
  if (msb_fs_read_open (sb, guest_path, &r, err) < 0)
    return msb_error_prefix (err, "copy `%s` to the host", guest_path);
  int fd = open_host_destination (host_path, err);
  if (fd < 0 || ftruncate (fd, 0) < 0)
    {
      if (fd >= 0)
        {
          msb_fail_errno (err, errno, MSB_ERR_IO, "truncate `%s`", host_path);
          close (fd);
        }
      msb_fs_read_close (r);
      return msb_error_prefix (err, "copy `%s` to the host", guest_path);
    }
  const uint8_t *chunk;
  size_t n;
  int rc;
  while ((rc = msb_fs_read_next (r, &chunk, &n, err)) == 1)
    if (msb_write_full (fd, chunk, n) < 0)
      {
        rc = msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s`", host_path);
        break;
      }
  msb_fs_read_close (r);
  if (rc == 0 && close (fd) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "copy `%s` to the host: close `%s`",
                           guest_path, host_path);
  if (rc < 0)
    {
      close (fd);
      return msb_error_prefix (err, "copy `%s` to the host", guest_path);
    }
  return 0;
}
