/* Private structures of the agent's filesystem server (fs*.c), shared between its files:
 * the server state, open handles, data streams and background jobs, and the helpers that
 * resolve a host-supplied path inside the sandbox root and answer a request.
 *
 * Must never: resolve a host-supplied path any other way than through fs_path.c (openat2
 * with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS from the root fd), or let one relay client
 * reach another client's handles. */
#ifndef MSB_AGENT_FS_INTERNAL_H
#define MSB_AGENT_FS_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "common/buf.h"
#include "proto/proto.h"

/* Open handles per relay client (API.md §3.7). */
#define FS_HANDLES_PER_CLIENT 1024u
/* Streams and jobs in flight, all clients together: each holds memory or a process. */
#define FS_STREAMS_MAX 4096u
#define FS_JOBS_MAX 64u
/* Largest fs.data chunk the agent sends: one pread per chunk, so it also bounds how long one
 * slow disk read holds the loop. */
#define FS_READ_CHUNK (1024u * 1024u)
/* Encoded List/ReadDir replies stay well inside one 4 MiB frame. */
#define FS_LIST_BYTES_MAX (3u * 1024u * 1024u)
#define FS_READ_DIR_LIMIT_MAX 4096u

typedef struct fs_handle
{
  uint64_t id;
  unsigned owner; /* relay slot of the client that opened it */
  int fd;         /* file, or the directory's fd for DIR handles */
  DIR *dir;       /* OpenDir only */
  int access;     /* O_RDONLY / O_WRONLY / O_RDWR (files) */
  char *path;     /* as the client named it: messages and ReadDir entry paths */
  struct fs_handle *next;
} fs_handle;

typedef struct fs_stream
{
  uint32_t id;        /* frame id of the Read or Write request */
  uint64_t handle;
  int fd;             /* borrowed from the handle; the stream ends when the handle closes */
  bool is_write;
  uint64_t offset;
  bool has_len;
  uint64_t len;       /* requested (Read) or announced (Write) byte count */
  uint64_t done;      /* bytes read or written so far */
  struct fs_stream *next;
} fs_stream;

typedef struct fs_job
{
  uint32_t id;        /* 0 once its client is gone: the result is dropped */
  pid_t pid;
  agent_watch w;      /* result pipe (AGENT_WATCH_FS_JOB) */
  msb_buf result;
  char *what;         /* "copy `/a` to `/b`" */
  struct fs_job *next;
} fs_job;

struct agent_fs
{
  int root_fd;        /* O_PATH directory: "/" of the sandbox (or MSB_AGENT_FS_ROOT) */
  char *root_path;    /* its path as /proc/self/fd shows it, without a trailing '/' ("" for /) */
  uint64_t next_handle;
  fs_handle *handles;
  fs_stream *streams;
  size_t n_streams;
  fs_job *jobs;
  size_t n_jobs;
  bool is_inline_jobs; /* run Copy/RemoveDir in the loop (fuzzing): no fork */
  uint8_t *chunk;      /* FS_READ_CHUNK bytes, reused by every read */
};

/* ---- fs_path.c ---- */

/* Opens `path` inside the root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
 * `flags` may carry O_NOFOLLOW (act on a final symlink itself) and O_CREAT. Returns the fd or
 * -1 with errno. Empty paths are EINVAL. */
int fs_path_open (const agent_fs *fs, const char *path, int flags, mode_t mode);

/* Splits `path` into its parent, opened as an O_PATH directory inside the root, and its
 * last component (pointing into `path`, or into *leaf_buf). A path without a last component
 * ("/", ".", "a/..") fails with EINVAL. Returns the parent fd or -1 with errno. */
int fs_path_open_parent (const agent_fs *fs, const char *path, char **leaf_buf,
                         const char **leaf);

/* mkdir -p inside the root; existing directories are fine. Returns 0 or -1 with errno. */
int fs_path_mkdir_parents (const agent_fs *fs, const char *path, mode_t mode);

/* The sandbox path of an fd opened inside the root (via /proc/self/fd). NULL + errno. */
char *fs_path_of_fd (const agent_fs *fs, int fd);

/* "<dir>/<name>" without doubling the '/'. */
char *fs_path_join (const char *dir, const char *name);

/* ---- fs.c: replies ---- */

void fs_reply_ok (msb_agent *a, uint32_t id);
void fs_reply_msg (msb_agent *a, uint32_t id, msb_msg *m);
/* A failed request: "<what>: <strerror> (<ENAME>)"; the host maps the name back to errno. */
void fs_reply_errno (msb_agent *a, uint32_t id, int errnum, const char *what_fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
void fs_reply_error (msb_agent *a, uint32_t id, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Fills an FsEntryInfo from a stat result (path is borrowed). */
void fs_entry_from_stat (msb_fs_entry_info *e, const char *path, const struct stat *st);

/* ---- fs_ops.c: one request, one reply ---- */

void fs_op_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_set_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_list (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_read_link (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_symlink (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_mkdir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_remove (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_rename (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_real_path (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
/* Appends directory entries of `dir` to a List reply until `limit` entries or the byte cap;
 * *is_end when the directory is exhausted. Entries are sorted by name when `sorted`. */
int fs_collect_entries (DIR *dir, const char *dir_path, size_t limit, bool sorted,
                        msb_fs_entry_info **out, size_t *n, char ***paths, bool *is_end);
void fs_free_entries (msb_fs_entry_info *e, char **paths, size_t n);
/* Applies SetStat/FSetStat attributes to an fd (O_PATH or open). */
int fs_apply_attrs (int fd, const msb_fs_attrs *attrs);

/* ---- fs_handles.c: handles and streams ---- */

void fs_op_open_file (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_open_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_close_handle (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_read (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_write (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_read_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_fstat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_fset_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
fs_stream *fs_stream_find (agent_fs *fs, uint32_t id);
void fs_stream_on_data (msb_agent *a, agent_fs *fs, fs_stream *s, const uint8_t *data,
                        size_t len);
/* Sends what the read streams have while the channel has room; true when it stopped only
 * because of its per-call budget. */
bool fs_streams_pump (msb_agent *a, agent_fs *fs);
void fs_handles_forget_owner (agent_fs *fs, unsigned owner);
void fs_streams_forget_range (agent_fs *fs, uint32_t start, uint32_t end);

/* ---- fs_jobs.c: work that may take long runs in a forked worker ---- */

void fs_op_copy (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_op_remove_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r);
void fs_jobs_forget_range (agent_fs *fs, uint32_t start, uint32_t end);
bool fs_job_id_in_use (const agent_fs *fs, uint32_t id);

#endif
