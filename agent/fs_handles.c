/* Handles (OpenFile, OpenDir, CloseHandle, ReadDir, FStat, FSetStat) and data streams (Read,
 * Write) of the fs server.
 *
 * A handle belongs to the relay client that opened it (its slot, id / MSB_RELAY_ID_STEP):
 * another client naming the same number gets "unknown handle", and the client's
 * disconnection closes them all. At most FS_HANDLES_PER_CLIENT are open per client.
 *
 * A Read stream produces one FS_READ_CHUNK pread per step, and only while the host channel
 * has room (fs_streams_pump), so a 200 MiB file never sits in the agent's memory and a slow
 * host slows the disk reads down instead. A Write stream applies each core.fs.data chunk as
 * it arrives; a failed write answers at once (the host stops sending) and the rest of the
 * stream's chunks are dropped with its id.
 *
 * Must never: keep reading a file for a host that is not reading the channel, or give a
 * handle's fd to a request from another client. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/fs_internal.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Read chunks are produced while less than this is queued for the host: enough to keep the
 * socket busy, little enough that exec output (paused at 4 MiB) keeps flowing beside it. */
#define FS_PUMP_HIGH (2u * 1024u * 1024u)
/* Chunks per loop iteration, so other fds are served between them. */
#define FS_PUMP_BUDGET 4u

static unsigned
owner_of (uint32_t id)
{
  return id / MSB_RELAY_ID_STEP;
}

/* ---- handles ---------------------------------------------------------------------------- */

static fs_handle *
handle_find (agent_fs *fs, uint64_t handle, uint32_t id)
{
  for (fs_handle *h = fs->handles; h; h = h->next)
    if (h->id == handle && h->owner == owner_of (id))
      return h;
  return NULL;
}

static size_t
handles_of (agent_fs *fs, unsigned owner)
{
  size_t n = 0;
  for (fs_handle *h = fs->handles; h; h = h->next)
    n += h->owner == owner;
  return n;
}

static void
handle_free (fs_handle *h)
{
  if (h->dir)
    closedir (h->dir); /* closes h->fd */
  else if (h->fd >= 0)
    close (h->fd);
  free (h->path);
  free (h);
}

static void stream_end (agent_fs *fs, fs_stream *s);

/* Streams on a closing handle end here: their fd is about to be closed. */
static void
end_streams_of (msb_agent *a, agent_fs *fs, uint64_t handle, unsigned owner)
{
  for (fs_stream *s = fs->streams, *next; s; s = next)
    {
      next = s->next;
      if (s->handle == handle && owner_of (s->id) == owner)
        {
          if (a)
            fs_reply_error (a, s->id, "handle %llu was closed during the transfer",
                            (unsigned long long) handle);
          stream_end (fs, s);
        }
    }
}

static void
handle_unlink (agent_fs *fs, fs_handle *target)
{
  for (fs_handle **p = &fs->handles; *p; p = &(*p)->next)
    if (*p == target)
      {
        *p = target->next;
        return;
      }
}

/* Registers an fd as a handle and answers with its number. Takes the fd (and dir). */
static void
handle_add (msb_agent *a, agent_fs *fs, uint32_t id, int fd, DIR *dir, int access,
            const char *path)
{
  fs_handle *h = msb_xcalloc (1, sizeof *h);
  h->id = fs->next_handle++;
  h->owner = owner_of (id);
  h->fd = fd;
  h->dir = dir;
  h->access = access;
  h->path = msb_xstrdup (path);
  h->next = fs->handles;
  fs->handles = h;
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_HANDLE;
  m.u.fs_response.handle = h->id;
  fs_reply_msg (a, id, &m);
}

static bool
has_handle_room (msb_agent *a, agent_fs *fs, uint32_t id, const char *path)
{
  if (handles_of (fs, owner_of (id)) < FS_HANDLES_PER_CLIENT)
    return true;
  fs_reply_errno (a, id, EMFILE, "open `%s`: this client already has %u open handles", path,
                  FS_HANDLES_PER_CLIENT);
  return false;
}

void
fs_op_open_file (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  if (!has_handle_room (a, fs, id, r->path ? r->path : ""))
    return;
  const msb_fs_open_options *o = &r->open;
  bool wants_write = o->write || o->append;
  int access = o->read && wants_write ? O_RDWR : wants_write ? O_WRONLY : O_RDONLY;
  int flags = access | O_NOCTTY | O_NONBLOCK;
  if (o->append)
    flags |= O_APPEND;
  if (o->create || o->create_new)
    flags |= O_CREAT;
  if (o->create_new)
    flags |= O_EXCL;
  if (o->truncate && wants_write)
    flags |= O_TRUNC;
  mode_t mode = o->has_mode ? (mode_t) (o->mode & 07777) : 0644;
  /* O_NONBLOCK: opening a FIFO or a device must not hang the loop; only regular files are
   * served, which the check below makes sure of before anything is read. */
  int fd = fs_path_open (fs, r->path, flags, mode);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      fs_reply_errno (a, id, saved, "open `%s`", r->path);
      return;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      fs_reply_errno (a, id, S_ISDIR (st.st_mode) ? EISDIR : EINVAL, "open `%s`%s", r->path,
                      S_ISDIR (st.st_mode) ? "" : ": not a regular file");
      return;
    }
  msb_set_nonblock (fd, false);
  handle_add (a, fs, id, fd, NULL, access, r->path);
}

void
fs_op_open_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  if (!has_handle_room (a, fs, id, r->path ? r->path : ""))
    return;
  int fd = fs_path_open (fs, r->path, O_RDONLY | O_DIRECTORY, 0);
  DIR *dir = fd < 0 ? NULL : fdopendir (fd);
  if (dir == NULL)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      fs_reply_errno (a, id, saved, "open directory `%s`", r->path);
      return;
    }
  handle_add (a, fs, id, fd, dir, O_RDONLY, r->path);
}

static fs_handle *
handle_or_reply (msb_agent *a, agent_fs *fs, uint32_t id, uint64_t handle, bool want_dir)
{
  fs_handle *h = handle_find (fs, handle, id);
  if (h == NULL || (h->dir != NULL) != want_dir)
    {
      fs_reply_errno (a, id, EBADF, "%s handle %llu", h ? (want_dir ? "not a directory" : "a directory")
                                                       : "unknown", (unsigned long long) handle);
      return NULL;
    }
  return h;
}

void
fs_op_close_handle (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_find (fs, r->handle, id);
  if (h == NULL)
    {
      fs_reply_errno (a, id, EBADF, "unknown handle %llu", (unsigned long long) r->handle);
      return;
    }
  end_streams_of (a, fs, h->id, h->owner);
  handle_unlink (fs, h);
  handle_free (h);
  fs_reply_ok (a, id);
}

void
fs_op_read_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_or_reply (a, fs, id, r->handle, true);
  if (h == NULL)
    return;
  size_t limit = r->has_limit ? (size_t) r->limit : 128;
  if (limit == 0 || limit > FS_READ_DIR_LIMIT_MAX)
    limit = limit == 0 ? 128 : FS_READ_DIR_LIMIT_MAX;
  msb_fs_entry_info *entries = NULL;
  char **paths = NULL;
  size_t n = 0;
  bool is_end;
  if (fs_collect_entries (h->dir, h->path, limit, false, &entries, &n, &paths, &is_end) < 0)
    {
      fs_reply_errno (a, id, errno, "read directory `%s`", h->path);
      return;
    }
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_LIST;
  m.u.fs_response.entries = entries;
  m.u.fs_response.n_entries = n; /* an empty page is the end of the directory */
  fs_reply_msg (a, id, &m);
  fs_free_entries (entries, paths, n);
}

void
fs_op_fstat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_find (fs, r->handle, id);
  struct stat st;
  if (h == NULL || fstat (h->fd, &st) < 0)
    {
      fs_reply_errno (a, id, h ? errno : EBADF, "stat handle %llu", (unsigned long long) r->handle);
      return;
    }
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_STAT;
  fs_entry_from_stat (&m.u.fs_response.stat, h->path, &st);
  fs_reply_msg (a, id, &m);
}

void
fs_op_fset_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_find (fs, r->handle, id);
  if (h == NULL)
    {
      fs_reply_errno (a, id, EBADF, "unknown handle %llu", (unsigned long long) r->handle);
      return;
    }
  if (fs_apply_attrs (h->fd, &r->attrs) < 0)
    {
      fs_reply_errno (a, id, errno, "set attributes of `%s`", h->path);
      return;
    }
  fs_reply_ok (a, id);
}

void
fs_handles_forget_owner (agent_fs *fs, unsigned owner)
{
  for (fs_handle **p = &fs->handles; *p;)
    {
      fs_handle *h = *p;
      if (h->owner != owner)
        {
          p = &h->next;
          continue;
        }
      end_streams_of (NULL, fs, h->id, owner);
      *p = h->next;
      handle_free (h);
    }
}

/* ---- streams ---------------------------------------------------------------------------- */

fs_stream *
fs_stream_find (agent_fs *fs, uint32_t id)
{
  for (fs_stream *s = fs->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void
stream_end (agent_fs *fs, fs_stream *s)
{
  for (fs_stream **p = &fs->streams; *p; p = &(*p)->next)
    if (*p == s)
      {
        *p = s->next;
        break;
      }
  fs->n_streams--;
  free (s);
}

/* Appends (round-robin: new streams go last). */
static fs_stream *
stream_new (agent_fs *fs, uint32_t id, const fs_handle *h, const msb_msg_fs_request *r, bool is_write)
{
  fs_stream *s = msb_xcalloc (1, sizeof *s);
  s->id = id;
  s->handle = h->id;
  s->fd = h->fd;
  s->is_write = is_write;
  s->offset = r->offset;
  s->has_len = r->has_len;
  s->len = r->len;
  fs_stream **p = &fs->streams;
  while (*p)
    p = &(*p)->next;
  *p = s;
  fs->n_streams++;
  return s;
}

static bool
stream_admissible (msb_agent *a, agent_fs *fs, uint32_t id, const fs_handle *h, bool is_write)
{
  bool ok_access = is_write ? h->access != O_RDONLY : h->access != O_WRONLY;
  if (!ok_access)
    {
      fs_reply_errno (a, id, EBADF, "%s `%s`: the handle was not opened for %s",
                      is_write ? "write" : "read", h->path, is_write ? "writing" : "reading");
      return false;
    }
  if (fs->n_streams >= FS_STREAMS_MAX)
    {
      fs_reply_errno (a, id, EBUSY, "%s `%s`: too many transfers in flight",
                      is_write ? "write" : "read", h->path);
      return false;
    }
  return true;
}

void
fs_op_read (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_or_reply (a, fs, id, r->handle, false);
  if (h == NULL || !stream_admissible (a, fs, id, h, false))
    return;
  if (r->offset > (uint64_t) INT64_MAX)
    {
      fs_reply_errno (a, id, EINVAL, "read `%s` at offset %llu", h->path,
                      (unsigned long long) r->offset);
      return;
    }
  if (r->has_len && r->len == 0)
    {
      fs_reply_ok (a, id);
      return;
    }
  stream_new (fs, id, h, r, false);
}

void
fs_op_write (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  fs_handle *h = handle_or_reply (a, fs, id, r->handle, false);
  if (h == NULL || !stream_admissible (a, fs, id, h, true))
    return;
  if (r->offset > (uint64_t) INT64_MAX)
    {
      fs_reply_errno (a, id, EINVAL, "write `%s` at offset %llu", h->path,
                      (unsigned long long) r->offset);
      return;
    }
  stream_new (fs, id, h, r, true);
}

void
fs_stream_on_data (msb_agent *a, agent_fs *fs, fs_stream *s, const uint8_t *data, size_t len)
{
  if (len == 0)
    {
      if (s->has_len && s->done != s->len)
        fs_reply_error (a, s->id, "write: %llu bytes were announced, %llu arrived (EIO)",
                        (unsigned long long) s->len, (unsigned long long) s->done);
      else
        fs_reply_ok (a, s->id);
      stream_end (fs, s);
      return;
    }
  if ((s->has_len && len > s->len - s->done) || s->offset + len > (uint64_t) INT64_MAX)
    {
      fs_reply_error (a, s->id, "write: more data than announced (EFBIG)");
      stream_end (fs, s);
      return;
    }
  size_t off = 0;
  while (off < len)
    {
      ssize_t n = pwrite (s->fd, data + off, len - off, (off_t) s->offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          /* Answer now so the host stops sending; what it still sends on this id is
           * dropped as data for an unknown stream. */
          fs_reply_errno (a, s->id, n < 0 ? errno : EIO, "write at offset %llu",
                          (unsigned long long) s->offset);
          stream_end (fs, s);
          return;
        }
      off += (size_t) n;
      s->offset += (uint64_t) n;
      s->done += (uint64_t) n;
    }
}

/* One chunk of a read stream. Returns false when the stream ended. */
static bool
read_step (msb_agent *a, agent_fs *fs, fs_stream *s)
{
  size_t want = FS_READ_CHUNK;
  if (s->has_len && s->len - s->done < want)
    want = (size_t) (s->len - s->done);
  ssize_t n;
  do
    n = pread (s->fd, fs->chunk, want, (off_t) s->offset);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      fs_reply_errno (a, s->id, errno, "read at offset %llu", (unsigned long long) s->offset);
      stream_end (fs, s);
      return false;
    }
  if (n > 0)
    {
      msb_msg m = { .type = MSB_MSG_FS_DATA, .generation = MSB_PROTO_GENERATION };
      m.u.data.data = (msb_bytes){ fs->chunk, (size_t) n };
      agent_channel_send (&a->channel, s->id, &m);
      s->offset += (uint64_t) n;
      s->done += (uint64_t) n;
    }
  if (n == 0 || (s->has_len && s->done == s->len))
    {
      fs_reply_ok (a, s->id);
      stream_end (fs, s);
      return false;
    }
  return true;
}

bool
fs_streams_pump (msb_agent *a, agent_fs *fs)
{
  for (unsigned step = 0; step < FS_PUMP_BUDGET; step++)
    {
      if (agent_channel_pending (&a->channel) >= FS_PUMP_HIGH)
        return false; /* the loop waits for the host to drain the channel */
      fs_stream *s = fs->streams;
      while (s && s->is_write)
        s = s->next;
      if (s == NULL)
        return false;
      /* Rotate: the stream served now goes last, so concurrent reads share the channel. */
      if (read_step (a, fs, s) && s->next)
        {
          for (fs_stream **p = &fs->streams; *p; p = &(*p)->next)
            if (*p == s)
              {
                *p = s->next;
                break;
              }
          fs_stream **p = &fs->streams;
          while (*p)
            p = &(*p)->next;
          *p = s;
          s->next = NULL;
        }
    }
  for (fs_stream *s = fs->streams; s; s = s->next)
    if (!s->is_write)
      return agent_channel_pending (&a->channel) < FS_PUMP_HIGH;
  return false;
}

void
fs_streams_forget_range (agent_fs *fs, uint32_t start, uint32_t end)
{
  for (fs_stream *s = fs->streams, *next; s; s = next)
    {
      next = s->next;
      if (s->id >= start && s->id < end)
        stream_end (fs, s);
    }
}
