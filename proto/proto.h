/* The host <-> agent wire protocol, generation 7 (API.md §3): frames, the CBOR envelope and
 * the typed payload of every message. One codec, linked by the host (libmsb, the runtime's
 * relay and exec.log tap) and by the static agent.
 *
 * Decoding treats its input as hostile: every length is checked against the bytes present,
 * nesting is bounded, and a malformed body yields an error, never a crash or an unbounded
 * allocation. Nothing here does I/O.
 */
#ifndef MSB_PROTO_H
#define MSB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define MSB_PROTO_GENERATION 7u
#define MSB_FRAME_HEADER_LEN 9u        /* len(4) id(4) flags(1) */
#define MSB_FRAME_MAX_LEN 4194304u     /* max value of the len field (= 5 + body) */
#define MSB_FRAME_MAX_BODY (MSB_FRAME_MAX_LEN - 5u)

#define MSB_FLAG_TERMINAL 0x01u
#define MSB_FLAG_SESSION_START 0x02u
#define MSB_FLAG_SHUTDOWN 0x04u
#define MSB_FLAG_MASK 0x07u

/* Relay id ranges (API.md §3.4). */
#define MSB_RELAY_MAX_CLIENTS 128u
#define MSB_RELAY_ID_STEP 33554431u

/* Largest data chunk carried by one stdout/stderr/stdin/fs.data frame. */
#define MSB_DATA_CHUNK_MAX (3u * 1024u * 1024u)

/* ---- frames ---------------------------------------------------------------------------- */

typedef struct msb_frame
{
  uint32_t id;
  uint8_t flags;
  const uint8_t *body; /* points into the parsed buffer */
  size_t body_len;
} msb_frame;

/* Parses one frame from the start of buf[0..len).
 * Returns 1 and fills *f and *consumed when a complete frame is present, 0 when more bytes
 * are needed, -1 on a framing error (len < 5, len > MSB_FRAME_MAX_LEN, or flag bits outside
 * MSB_FLAG_MASK). */
int msb_frame_parse (const uint8_t *buf, size_t len, msb_frame *f, size_t *consumed);

/* Appends the 9-byte header of a frame whose body is `body_len` bytes. */
void msb_frame_put_header (msb_buf *out, uint32_t id, uint8_t flags, size_t body_len);

/* ---- messages -------------------------------------------------------------------------- */

typedef enum msb_msg_type
{
  MSB_MSG_UNKNOWN = 0,
  MSB_MSG_BOOTSTRAP,
  MSB_MSG_INIT_RESOLVED,
  MSB_MSG_INIT_ACK,
  MSB_MSG_READY,
  MSB_MSG_SHUTDOWN,
  MSB_MSG_RELAY_CLIENT_DISCONNECTED,
  MSB_MSG_CLOCK_SYNC,
  MSB_MSG_PING,
  MSB_MSG_PONG,
  MSB_MSG_TOUCH,
  MSB_MSG_TOUCHED,
  MSB_MSG_ERROR,
  MSB_MSG_EXEC_REQUEST,
  MSB_MSG_EXEC_STARTED,
  MSB_MSG_EXEC_STDIN,
  MSB_MSG_EXEC_STDIN_ERROR,
  MSB_MSG_EXEC_STDOUT,
  MSB_MSG_EXEC_STDERR,
  MSB_MSG_EXEC_EXITED,
  MSB_MSG_EXEC_FAILED,
  MSB_MSG_EXEC_RESIZE,
  MSB_MSG_EXEC_SIGNAL,
  MSB_MSG_FS_REQUEST,
  MSB_MSG_FS_DATA,
  MSB_MSG_FS_RESPONSE,
  MSB_MSG_TCP_CONNECT,
  MSB_MSG_TCP_CONNECTED,
  MSB_MSG_TCP_DATA,
  MSB_MSG_TCP_EOF,
  MSB_MSG_TCP_CLOSE,
  MSB_MSG_TCP_CLOSED,
  MSB_MSG_TCP_FAILED,
  MSB_MSG__COUNT
} msb_msg_type;

/* Wire name ("core.exec.request"); NULL for MSB_MSG_UNKNOWN. */
const char *msb_msg_type_name (msb_msg_type t);
/* Type of a wire name; MSB_MSG_UNKNOWN when not known. */
msb_msg_type msb_msg_type_from_name (const char *name, size_t len);
/* Flags the spec fixes for a type (§3.2): TERMINAL, SESSION_START, SHUTDOWN or 0. */
uint8_t msb_msg_type_flags (msb_msg_type t);
/* Generation that introduced a type (§3.5). */
uint32_t msb_msg_type_generation (msb_msg_type t);

/* Kinds of core.error (§3.5). */
typedef enum msb_proto_error_kind
{
  MSB_PERR_NONE = 0,
  MSB_PERR_MALFORMED_MESSAGE,
  MSB_PERR_UNSUPPORTED_MESSAGE_TYPE,
  MSB_PERR_UNSUPPORTED_PROTOCOL_GENERATION,
  MSB_PERR_INVALID_FLAGS,
  MSB_PERR_INVALID_PAYLOAD,
  MSB_PERR_INVALID_SESSION,
} msb_proto_error_kind;

const char *msb_proto_error_kind_name (msb_proto_error_kind k);
msb_proto_error_kind msb_proto_error_kind_from_name (const char *name);

/* Kinds of core.exec.failed (§3.5). */
typedef enum msb_exec_fail_kind
{
  MSB_EXEC_FAILED_OTHER = 0,
  MSB_EXEC_FAILED_NOT_FOUND,
  MSB_EXEC_FAILED_PERMISSION_DENIED,
  MSB_EXEC_FAILED_NOT_EXECUTABLE,
  MSB_EXEC_FAILED_BAD_CWD,
  MSB_EXEC_FAILED_BAD_ARGS,
  MSB_EXEC_FAILED_RESOURCE_LIMIT,
  MSB_EXEC_FAILED_USER_SETUP_FAILED,
  MSB_EXEC_FAILED_OUT_OF_MEMORY,
  MSB_EXEC_FAILED_PTY_SETUP_FAILED,
} msb_exec_fail_kind;

const char *msb_exec_fail_kind_name (msb_exec_fail_kind k);
msb_exec_fail_kind msb_exec_fail_kind_from_name (const char *name);

/* A byte string inside a decoded message: points into the decoded body (zero copy); valid as
 * long as the body buffer is. When encoding, points at caller memory. */
typedef struct msb_bytes
{
  const uint8_t *data;
  size_t len;
} msb_bytes;

typedef struct msb_rlimit_spec
{
  char *resource; /* "nofile", "cpu", "as", … (API.md §1.6 names) */
  uint64_t soft;
  uint64_t hard;
} msb_rlimit_spec;

/* core.bootstrap: host -> agent, id 0, first frame. Internal schema (host and agent ship
 * together). Keys: hostname, env, workdir, user, init{cmd,args,env}, clock_unix_nanos. */
typedef struct msb_msg_bootstrap
{
  char *hostname;      /* NULL = keep */
  char **env;          /* NULL-terminated "K=V" list: sandbox defaults (image ENV + create env) */
  char *workdir;       /* default cwd, NULL = "/" */
  char *user;          /* default user spec, NULL = root */
  char *init_cmd;      /* custom init handoff (issue 5), NULL = none */
  char **init_args;    /* NULL-terminated */
  char **init_env;     /* NULL-terminated "K=V" */
  uint64_t clock_unix_nanos; /* 0 = do not set */
} msb_msg_bootstrap;

typedef struct msb_msg_ready
{
  uint64_t boot_time_ns;
  uint64_t init_time_ns;
  uint64_t ready_time_ns;
  char *agent_version; /* NULL or "" = omitted */
} msb_msg_ready;

typedef struct msb_msg_init_resolved
{
  uint32_t uid;
  uint32_t gid;
} msb_msg_init_resolved;

typedef struct msb_msg_relay_client_disconnected
{
  uint32_t id_start;
  uint32_t id_end_exclusive;
} msb_msg_relay_client_disconnected;

typedef struct msb_msg_clock_sync
{
  uint64_t unix_time_nanos;
} msb_msg_clock_sync;

typedef struct msb_msg_touched
{
  uint64_t activity_seq;
} msb_msg_touched;

typedef struct msb_msg_error
{
  msb_proto_error_kind kind;
  char *message;
  char *offending_type; /* NULL = omitted */
} msb_msg_error;

typedef struct msb_msg_exec_request
{
  char *cmd;
  char **args; /* NULL-terminated argv[1..] */
  char **env;  /* NULL-terminated "K=V" */
  char *cwd;   /* NULL = sandbox default */
  char *user;  /* NULL = sandbox default */
  bool tty;
  uint16_t rows; /* default 24 */
  uint16_t cols; /* default 80 */
  msb_rlimit_spec *rlimits;
  size_t n_rlimits;
} msb_msg_exec_request;

typedef struct msb_msg_exec_started
{
  uint32_t pid;
} msb_msg_exec_started;

/* core.exec.stdin / stdout / stderr and core.fs.data / core.tcp.data */
typedef struct msb_msg_data
{
  msb_bytes data;
} msb_msg_data;

typedef struct msb_msg_exec_stdin_error
{
  bool has_errno;
  int32_t errnum;
  char *errno_name; /* NULL = null */
  char *message;
} msb_msg_exec_stdin_error;

typedef struct msb_msg_exec_exited
{
  int32_t code; /* -1 if killed by a signal */
} msb_msg_exec_exited;

typedef struct msb_msg_exec_failed
{
  msb_exec_fail_kind kind;
  bool has_errno;
  int32_t errnum;
  char *errno_name;
  char *message;
  char *stage; /* NULL = null */
} msb_msg_exec_failed;

typedef struct msb_msg_exec_resize
{
  uint16_t rows;
  uint16_t cols;
} msb_msg_exec_resize;

typedef struct msb_msg_exec_signal
{
  int32_t signal;
} msb_msg_exec_signal;

/* ---- filesystem (§3.7) ---- */

typedef enum msb_fs_op_kind
{
  MSB_FS_OP_INVALID = 0,
  MSB_FS_OP_REAL_PATH,
  MSB_FS_OP_STAT,
  MSB_FS_OP_SET_STAT,
  MSB_FS_OP_LIST,
  MSB_FS_OP_READ_LINK,
  MSB_FS_OP_SYMLINK,
  MSB_FS_OP_MKDIR,
  MSB_FS_OP_REMOVE,
  MSB_FS_OP_REMOVE_DIR,
  MSB_FS_OP_COPY,
  MSB_FS_OP_RENAME,
  MSB_FS_OP_OPEN_FILE,
  MSB_FS_OP_OPEN_DIR,
  MSB_FS_OP_CLOSE_HANDLE,
  MSB_FS_OP_READ,
  MSB_FS_OP_WRITE,
  MSB_FS_OP_READ_DIR,
  MSB_FS_OP_FSTAT,
  MSB_FS_OP_FSET_STAT,
} msb_fs_op_kind;

/* Optional attributes of SetStat / FSetStat. */
typedef struct msb_fs_attrs
{
  bool has_mode, has_uid, has_gid, has_size, has_atime, has_mtime;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint64_t size;
  int64_t atime; /* Unix seconds */
  int64_t mtime;
} msb_fs_attrs;

typedef struct msb_fs_open_options
{
  bool read, write, append, create, truncate, create_new;
  bool has_mode;
  uint32_t mode;
} msb_fs_open_options;

typedef struct msb_msg_fs_request
{
  msb_fs_op_kind op;
  char *path;             /* RealPath Stat SetStat List ReadLink Mkdir Remove RemoveDir OpenFile OpenDir */
  char *target;           /* Symlink */
  char *link_path;        /* Symlink */
  char *src;              /* Copy Rename */
  char *dst;              /* Copy Rename */
  bool follow_symlink;    /* Stat SetStat */
  bool recursive;         /* RemoveDir */
  bool has_mode;          /* Mkdir */
  uint32_t mode;          /* Mkdir */
  msb_fs_attrs attrs;     /* SetStat FSetStat */
  msb_fs_open_options open; /* OpenFile */
  uint64_t handle;        /* CloseHandle Read Write ReadDir FStat FSetStat */
  uint64_t offset;        /* Read Write */
  bool has_len;           /* Read Write (len null = to EOF / unchecked) */
  uint64_t len;
  bool has_limit;         /* ReadDir (default 128) */
  uint64_t limit;
} msb_msg_fs_request;

typedef enum msb_fs_kind
{
  MSB_FS_KIND_FILE = 0,
  MSB_FS_KIND_DIR,
  MSB_FS_KIND_SYMLINK,
  MSB_FS_KIND_OTHER,
} msb_fs_kind;

typedef struct msb_fs_entry_info
{
  char *path;
  msb_fs_kind kind;
  uint64_t size;
  uint32_t mode; /* st_mode */
  bool has_modified, has_atime, has_mtime;
  int64_t modified; /* Unix seconds */
  int64_t atime;
  int64_t mtime;
  uint32_t uid;
  uint32_t gid;
} msb_fs_entry_info;

typedef enum msb_fs_response_kind
{
  MSB_FS_RESP_NONE = 0, /* data: null */
  MSB_FS_RESP_STAT,
  MSB_FS_RESP_LIST,
  MSB_FS_RESP_HANDLE,
  MSB_FS_RESP_PATH,
} msb_fs_response_kind;

typedef struct msb_msg_fs_response
{
  bool ok;
  char *error; /* NULL = null */
  msb_fs_response_kind kind;
  msb_fs_entry_info stat;     /* STAT */
  msb_fs_entry_info *entries; /* LIST */
  size_t n_entries;
  uint64_t handle;            /* HANDLE */
  char *path;                 /* PATH */
} msb_msg_fs_response;

/* ---- tcp (§3.5, gen 4) ---- */

typedef struct msb_msg_tcp_connect
{
  char *host;
  uint16_t port;
} msb_msg_tcp_connect;

typedef struct msb_msg_tcp_failed
{
  char *error;
} msb_msg_tcp_failed;

/* A decoded or to-be-encoded message. Text fields and string vectors of a decoded message
 * live in the message's own arena (freed by msb_msg_clear); msb_bytes fields point into the
 * body that was decoded. */
typedef struct msb_msg
{
  msb_msg_type type;
  uint32_t generation;  /* envelope "v"; set to MSB_PROTO_GENERATION when encoding */
  char *type_name;      /* decoded wire name (also for unknown types); when encoding, used
                         * only as the wire name of MSB_MSG_UNKNOWN (payload {}) */
  union
  {
    msb_msg_bootstrap bootstrap;
    msb_msg_ready ready;
    msb_msg_init_resolved init_resolved;
    msb_msg_relay_client_disconnected relay_client_disconnected;
    msb_msg_clock_sync clock_sync;
    msb_msg_touched touched;
    msb_msg_error error;
    msb_msg_exec_request exec_request;
    msb_msg_exec_started exec_started;
    msb_msg_data data; /* exec.stdin/stdout/stderr, fs.data, tcp.data */
    msb_msg_exec_stdin_error exec_stdin_error;
    msb_msg_exec_exited exec_exited;
    msb_msg_exec_failed exec_failed;
    msb_msg_exec_resize exec_resize;
    msb_msg_exec_signal exec_signal;
    msb_msg_fs_request fs_request;
    msb_msg_fs_response fs_response;
    msb_msg_tcp_connect tcp_connect;
    msb_msg_tcp_failed tcp_failed;
  } u;
  void *arena_; /* private */
} msb_msg;

/* Appends one complete frame (header + envelope) carrying `m` with id `id` and the flags the
 * spec fixes for m->type, OR-ed with `extra_flags`. */
void msb_msg_write_frame (msb_buf *out, uint32_t id, uint8_t extra_flags, const msb_msg *m);

/* Appends only the envelope body of `m` (no frame header). */
void msb_msg_encode_body (msb_buf *out, const msb_msg *m);

/* Decodes an envelope body into *m (zeroed first). Returns 0 on success. On failure returns
 * -1, sets *perr (MALFORMED_MESSAGE for a bad envelope, INVALID_PAYLOAD for a bad payload of a
 * known type) and, when errbuf is not NULL, a short reason. An unknown type is NOT a failure:
 * it decodes with m->type == MSB_MSG_UNKNOWN and m->type_name set, so the caller can answer
 * UNSUPPORTED_MESSAGE_TYPE naming it. Unknown payload keys are ignored; missing optional keys
 * take their defaults; decoded string vectors are never NULL (possibly empty).
 * After a failure nothing is left allocated, but m->type and m->generation are kept, so an
 * INVALID_PAYLOAD answer can name msb_msg_type_name(m->type) as offending_type. */
int msb_msg_decode (const uint8_t *body, size_t len, msb_msg *m, msb_proto_error_kind *perr,
                    char *errbuf, size_t errbuf_len);

/* Decodes only the envelope's "t" into *type without touching the payload (the relay's tap
 * uses this to skip frames it does not care about). Returns 0 or -1. */
int msb_msg_peek_type (const uint8_t *body, size_t len, msb_msg_type *type);

/* Releases what msb_msg_decode allocated; safe on a zeroed or already cleared message. */
void msb_msg_clear (msb_msg *m);

#endif
