/* One filesystem request over a sandbox connection (API.md §3.7): a fresh session,
 * core.fs.request, frames until the TERMINAL one. Shared by the public fs calls (fs.c) and
 * the streams (fs_stream.c). Replies are hostile input: a reply of the wrong shape is an
 * error, never trusted. */
#ifndef MSB_LIB_FS_CALL_H
#define MSB_LIB_FS_CALL_H

#include <msb/fs.h>

#include "lib/internal.h"
#include "proto/proto.h"

/* A finished call: `reply` points into the session's last frame, so both live until
 * fs_call_end(). */
typedef struct fs_call
{
  msb_conn_session *session;
  msb_msg reply;
} fs_call;

/* Sends `req` and waits (timeout_ms < 0 = forever) for its response. A response with ok =
 * false becomes MSB_ERR_FILESYSTEM carrying the sandbox's message and the errno it names;
 * `what` prefixes every error ("stat `/x`"). On success c->reply is a core.fs.response with
 * ok = true; release with fs_call_end() in every case. */
int fs_call_run (msb_sandbox *sb, const msb_msg_fs_request *req, int timeout_ms, fs_call *c,
                 const char *what, msb_error **err);
void fs_call_end (fs_call *c);

/* Runs a request whose reply carries no data. */
int fs_call_simple (msb_sandbox *sb, const msb_msg_fs_request *req, const char *what,
                    msb_error **err);

/* Opens a file and returns its handle. */
int fs_call_open (msb_sandbox *sb, const char *path, bool write, uint64_t *handle,
                  msb_error **err);
/* Closes a handle, waiting a bounded time for the answer (best effort). */
void fs_call_close_handle (msb_sandbox *sb, uint64_t handle);

/* Turns a core.fs.response failure into an error (kind MSB_ERR_FILESYSTEM). */
int fs_error_from_response (const msb_msg_fs_response *r, msb_error **err);

/* exists() from the result and error of a stat: a filesystem error (no such path, not a
 * directory...) means "no"; any other (sandbox gone, bad reply) stays an error. Takes
 * `stat_err`. */
int fs_exists_from_stat (int stat_result, msb_error *stat_err, bool *out, msb_error **err);

/* Entry conversions. */
msb_fs_entry_kind fs_kind_from_wire (msb_fs_kind kind);
void fs_metadata_from_wire (const msb_fs_entry_info *e, msb_fs_metadata *out);
void fs_entry_from_wire (const msb_fs_entry_info *e, msb_fs_entry *out);

#endif
