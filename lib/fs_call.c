/* Filesystem requests over the relay (see fs_call.h). Everything in a reply is checked
 * against what was asked before it is used: an unexpected message type, a response of the
 * wrong variant or a core.error are errors, and an error text is bounded and only ever
 * shown, never parsed beyond its trailing "(ENAME)". */
#include "lib/fs_call.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* How long a CloseHandle may take before it is left to the disconnect cleanup. */
#define CLOSE_TIMEOUT_MS 5000

/* errno of a name like "ENOENT", 0 if unknown. */
static int
errno_from_name (const char *name, size_t len)
{
  for (int e = 1; e < 200; e++)
    {
      const char *n = strerrorname_np (e);
      if (n && strlen (n) == len && memcmp (n, name, len) == 0)
        return e;
    }
  return 0;
}

/* The agent ends its messages with "(ENAME)". */
static int
errno_of_text (const char *text)
{
  size_t n = strlen (text);
  if (n < 4 || text[n - 1] != ')')
    return 0;
  const char *open = memrchr (text, '(', n);
  if (open == NULL || open[1] != 'E')
    return 0;
  return errno_from_name (open + 1, (size_t) (text + n - 1 - (open + 1)));
}

int
fs_error_from_response (const msb_msg_fs_response *r, msb_error **err)
{
  const char *text = r->error && *r->error ? r->error : "the sandbox reported a failure";
  char bounded[1024];
  snprintf (bounded, sizeof bounded, "%s", text);
  msb_error_clear (err);
  if (err)
    *err = msb_error_new (MSB_ERR_FILESYSTEM, errno_of_text (bounded), bounded);
  return -1;
}

void
fs_call_end (fs_call *c)
{
  msb_msg_clear (&c->reply);
  msb_conn_session_close (c->session);
  c->session = NULL;
}

int
fs_call_run (msb_sandbox *sb, const msb_msg_fs_request *req, int timeout_ms, fs_call *c,
             const char *what, msb_error **err)
{
  memset (c, 0, sizeof *c);
  if (sb == NULL || !msb_conn_is_alive (sb->conn))
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "%s: sandbox `%s` is not running", what,
                     sb ? sb->name : "?");
  if (msb_conn_session_open (sb->conn, &c->session, err) < 0)
    return msb_error_prefix (err, "%s", what);
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_FS_REQUEST;
  m.u.fs_request = *req;
  if (msb_conn_session_send (c->session, 0, &m, err) < 0)
    return msb_error_prefix (err, "%s", what);
  for (;;)
    {
      uint8_t flags = 0;
      msb_msg_clear (&c->reply);
      int r = msb_conn_session_next (c->session, &c->reply, &flags, timeout_ms, err);
      if (r < 0)
        return msb_error_prefix (err, "%s", what);
      if (r == 0)
        return msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox did not answer within %d ms",
                         what, timeout_ms);
      if (c->reply.type == MSB_MSG_ERROR)
        return msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox refused the request: %s", what,
                         c->reply.u.error.message ? c->reply.u.error.message : "?");
      if (c->reply.type != MSB_MSG_FS_RESPONSE)
        continue; /* data frames belong to streams, which do not use this call */
      if (!c->reply.u.fs_response.ok)
        {
          fs_error_from_response (&c->reply.u.fs_response, err);
          return msb_error_prefix (err, "%s", what);
        }
      return 0;
    }
}

int
fs_call_simple (msb_sandbox *sb, const msb_msg_fs_request *req, const char *what,
                msb_error **err)
{
  fs_call c;
  int r = fs_call_run (sb, req, -1, &c, what, err);
  fs_call_end (&c);
  return r;
}

int
fs_call_open (msb_sandbox *sb, const char *path, bool write, uint64_t *handle, msb_error **err)
{
  msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_FILE, .path = (char *) path };
  req.open.read = !write;
  req.open.write = req.open.create = req.open.truncate = write;
  _msb_cleanup_free_ char *what = msb_xasprintf ("open `%s`", path);
  fs_call c;
  int r = fs_call_run (sb, &req, -1, &c, what, err);
  if (r == 0 && c.reply.u.fs_response.kind != MSB_FS_RESP_HANDLE)
    r = msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox answered without a handle", what);
  if (r == 0)
    *handle = c.reply.u.fs_response.handle;
  fs_call_end (&c);
  return r;
}

void
fs_call_close_handle (msb_sandbox *sb, uint64_t handle)
{
  msb_msg_fs_request req = { .op = MSB_FS_OP_CLOSE_HANDLE, .handle = handle };
  fs_call c;
  msb_error *e = NULL;
  fs_call_run (sb, &req, CLOSE_TIMEOUT_MS, &c, "close handle", &e);
  msb_error_free (e);
  fs_call_end (&c);
}

/* ---- conversions ------------------------------------------------------------------------ */

msb_fs_entry_kind
fs_kind_from_wire (msb_fs_kind kind)
{
  switch (kind)
    {
    case MSB_FS_KIND_FILE:
      return MSB_FS_FILE;
    case MSB_FS_KIND_DIR:
      return MSB_FS_DIRECTORY;
    case MSB_FS_KIND_SYMLINK:
      return MSB_FS_SYMLINK;
    default:
      return MSB_FS_OTHER;
    }
}

static int64_t
ms_of (bool has, int64_t seconds)
{
  if (!has || seconds < -9223372036854775LL || seconds > 9223372036854775LL)
    return -1;
  return seconds * 1000;
}

void
fs_metadata_from_wire (const msb_fs_entry_info *e, msb_fs_metadata *out)
{
  memset (out, 0, sizeof *out);
  out->kind = fs_kind_from_wire (e->kind);
  out->size = e->size;
  out->mode = e->mode;
  out->readonly = (e->mode & 0200) == 0;
  out->modified_ms = ms_of (e->has_mtime || e->has_modified, e->has_mtime ? e->mtime : e->modified);
  out->accessed_ms = ms_of (e->has_atime, e->atime);
  out->created_ms = -1;
  out->uid = e->uid;
  out->gid = e->gid;
}

void
fs_entry_from_wire (const msb_fs_entry_info *e, msb_fs_entry *out)
{
  memset (out, 0, sizeof *out);
  out->path = msb_xstrdup (e->path ? e->path : "");
  out->kind = fs_kind_from_wire (e->kind);
  out->size = e->size;
  out->mode = e->mode;
  out->modified_ms = ms_of (e->has_mtime || e->has_modified, e->has_mtime ? e->mtime : e->modified);
  out->uid = e->uid;
  out->gid = e->gid;
}
