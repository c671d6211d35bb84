/* The fs server's entry points (see fs.h): state, request routing, replies. A request's
 * session id identifies its reply; an id already carrying a stream or a job is refused, so
 * a client cannot make two replies share one terminal frame. Paths, handles and sizes in a
 * request are hostile: fs_path.c resolves the paths, fs_handles.c checks that a handle
 * belongs to the client (relay slot) that uses it. */
#include "agent/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/fs_internal.h"
#include "common/util.h"

static agent_fs *
fs_of (msb_agent *a)
{
  return a->fs;
}

int
agent_fs_init (msb_agent *a, msb_error **err)
{
  agent_fs *fs = msb_xcalloc (1, sizeof *fs);
  fs->next_handle = 1;
  fs->root_fd = -1;
  fs->chunk = msb_xmalloc (FS_READ_CHUNK);
  a->fs = fs;
  /* Tests run the agent on the host and point it at a scratch root; the runtime never sets
   * this (the agent's environment is fixed by the backend), so inside a sandbox it is "/". */
  const char *root = getenv ("MSB_AGENT_FS_ROOT");
  if (root == NULL || *root == '\0')
    root = "/";
  fs->root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fs->root_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_FILESYSTEM, "open the filesystem root `%s`", root);
  char link[64], buf[4097];
  snprintf (link, sizeof link, "/proc/self/fd/%d", fs->root_fd);
  ssize_t n = readlink (link, buf, sizeof buf - 1);
  if (n <= 0)
    n = (ssize_t) strlen (strncpy (buf, root, sizeof buf - 1));
  buf[n] = '\0';
  while (n > 0 && buf[n - 1] == '/')
    buf[--n] = '\0';
  fs->root_path = msb_xstrdup (buf);
  unsetenv ("MSB_AGENT_FS_ROOT");
  return 0;
}

/* ---- replies ---------------------------------------------------------------------------- */

void
fs_reply_msg (msb_agent *a, uint32_t id, msb_msg *m)
{
  m->type = MSB_MSG_FS_RESPONSE;
  m->generation = MSB_PROTO_GENERATION;
  agent_channel_send (&a->channel, id, m);
}

void
fs_reply_ok (msb_agent *a, uint32_t id)
{
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  fs_reply_msg (a, id, &m);
}

static void
reply_text (msb_agent *a, uint32_t id, const char *text)
{
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = false;
  m.u.fs_response.error = (char *) text;
  fs_reply_msg (a, id, &m);
}

void
fs_reply_error (msb_agent *a, uint32_t id, const char *fmt, ...)
{
  char text[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (text, sizeof text, fmt, ap);
  va_end (ap);
  reply_text (a, id, text);
}

void
fs_reply_errno (msb_agent *a, uint32_t id, int errnum, const char *what_fmt, ...)
{
  char what[768];
  va_list ap;
  va_start (ap, what_fmt);
  vsnprintf (what, sizeof what, what_fmt, ap);
  va_end (ap);
  const char *name = strerrorname_np (errnum);
  char text[1024];
  snprintf (text, sizeof text, "%s: %s (%s)", what, strerror (errnum), name ? name : "EIO");
  reply_text (a, id, text);
}

void
fs_entry_from_stat (msb_fs_entry_info *e, const char *path, const struct stat *st)
{
  memset (e, 0, sizeof *e);
  e->path = (char *) path;
  e->kind = S_ISREG (st->st_mode)   ? MSB_FS_KIND_FILE
            : S_ISDIR (st->st_mode) ? MSB_FS_KIND_DIR
            : S_ISLNK (st->st_mode) ? MSB_FS_KIND_SYMLINK
                                    : MSB_FS_KIND_OTHER;
  e->size = (uint64_t) st->st_size;
  e->mode = st->st_mode;
  e->has_modified = e->has_mtime = e->has_atime = true;
  e->modified = e->mtime = st->st_mtim.tv_sec;
  e->atime = st->st_atim.tv_sec;
  e->uid = st->st_uid;
  e->gid = st->st_gid;
}

/* ---- routing ---------------------------------------------------------------------------- */

typedef void (*fs_op_fn) (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);

static const fs_op_fn ops[] = {
  [MSB_FS_OP_REAL_PATH] = fs_op_real_path,   [MSB_FS_OP_STAT] = fs_op_stat,
  [MSB_FS_OP_SET_STAT] = fs_op_set_stat,     [MSB_FS_OP_LIST] = fs_op_list,
  [MSB_FS_OP_READ_LINK] = fs_op_read_link,   [MSB_FS_OP_SYMLINK] = fs_op_symlink,
  [MSB_FS_OP_MKDIR] = fs_op_mkdir,           [MSB_FS_OP_REMOVE] = fs_op_remove,
  [MSB_FS_OP_REMOVE_DIR] = fs_op_remove_dir, [MSB_FS_OP_COPY] = fs_op_copy,
  [MSB_FS_OP_RENAME] = fs_op_rename,         [MSB_FS_OP_OPEN_FILE] = fs_op_open_file,
  [MSB_FS_OP_OPEN_DIR] = fs_op_open_dir,     [MSB_FS_OP_CLOSE_HANDLE] = fs_op_close_handle,
  [MSB_FS_OP_READ] = fs_op_read,             [MSB_FS_OP_WRITE] = fs_op_write,
  [MSB_FS_OP_READ_DIR] = fs_op_read_dir,     [MSB_FS_OP_FSTAT] = fs_op_fstat,
  [MSB_FS_OP_FSET_STAT] = fs_op_fset_stat,
};

void
agent_fs_on_request (msb_agent *a, uint32_t id, const msb_msg_fs_request *req)
{
  agent_fs *fs = fs_of (a);
  if (id == 0)
    {
      agent_channel_send_error (&a->channel, id, MSB_PERR_INVALID_SESSION, "core.fs.request",
                                "id 0 is the control id, not a session id");
      return;
    }
  if (fs == NULL || fs->root_fd < 0)
    {
      fs_reply_error (a, id, "the filesystem service is not available in this sandbox");
      return;
    }
  if (fs_stream_find (fs, id) || fs_job_id_in_use (fs, id))
    {
      agent_channel_send_error (&a->channel, id, MSB_PERR_INVALID_SESSION, "core.fs.request",
                                "session id %u is already in use", id);
      return;
    }
  unsigned op = (unsigned) req->op;
  if (op >= sizeof ops / sizeof ops[0] || ops[op] == NULL)
    {
      fs_reply_error (a, id, "unsupported filesystem operation");
      return;
    }
  ops[op](a, fs, id, req);
}

void
agent_fs_on_data (msb_agent *a, uint32_t id, const uint8_t *data, size_t len)
{
  agent_fs *fs = fs_of (a);
  fs_stream *s = fs && id ? fs_stream_find (fs, id) : NULL;
  if (s && s->is_write)
    fs_stream_on_data (a, fs, s, data, len);
}

void
agent_fs_forget_range (msb_agent *a, uint32_t start, uint32_t end)
{
  agent_fs *fs = fs_of (a);
  if (fs == NULL || start == 0 || end <= start)
    return;
  fs_streams_forget_range (fs, start, end);
  fs_jobs_forget_range (fs, start, end);
  fs_handles_forget_owner (fs, start / MSB_RELAY_ID_STEP);
}

bool
agent_fs_pump (msb_agent *a)
{
  agent_fs *fs = fs_of (a);
  if (fs == NULL || fs->streams == NULL || a->is_shutting_down)
    return false;
  return fs_streams_pump (a, fs);
}
