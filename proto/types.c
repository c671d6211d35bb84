/* The message catalog (API.md §3.5) and the enum spellings used on the wire.
 *
 * Owns: wire names, fixed flags and introducing generation of every message type; the
 * snake_case names of core.error and core.exec.failed kinds.
 * Must never: hold payload logic — this is data, kept in one table so a new type is one line.
 */
#include "proto/proto.h"

#include <string.h>

typedef struct msg_type_info
{
  const char *name;
  size_t name_len; /* the relay's tap looks names up for every frame */
  uint8_t flags;
  uint8_t generation;
} msg_type_info;

#define T MSB_FLAG_TERMINAL
#define S MSB_FLAG_SESSION_START
#define TYPE(name, flags, generation) { name, sizeof (name) - 1, flags, generation }

static const msg_type_info msg_types[MSB_MSG__COUNT] = {
  [MSB_MSG_UNKNOWN] = { NULL, 0, 0, 0 },
  [MSB_MSG_BOOTSTRAP] = TYPE ("core.bootstrap", 0, 7),
  [MSB_MSG_INIT_RESOLVED] = TYPE ("core.init.resolved", 0, 1),
  [MSB_MSG_INIT_ACK] = TYPE ("core.init.ack", 0, 1),
  [MSB_MSG_READY] = TYPE ("core.ready", 0, 1),
  [MSB_MSG_SHUTDOWN] = TYPE ("core.shutdown", MSB_FLAG_SHUTDOWN, 1),
  [MSB_MSG_RELAY_CLIENT_DISCONNECTED] = TYPE ("core.relay.client.disconnected", 0, 1),
  [MSB_MSG_CLOCK_SYNC] = TYPE ("core.clock.sync", 0, 1),
  [MSB_MSG_PING] = TYPE ("core.ping", 0, 6),
  [MSB_MSG_PONG] = TYPE ("core.pong", T, 6),
  [MSB_MSG_TOUCH] = TYPE ("core.touch", 0, 6),
  [MSB_MSG_TOUCHED] = TYPE ("core.touched", T, 6),
  [MSB_MSG_ERROR] = TYPE ("core.error", T, 5),
  [MSB_MSG_EXEC_REQUEST] = TYPE ("core.exec.request", S, 1),
  [MSB_MSG_EXEC_STARTED] = TYPE ("core.exec.started", 0, 1),
  [MSB_MSG_EXEC_STDIN] = TYPE ("core.exec.stdin", 0, 1),
  [MSB_MSG_EXEC_STDIN_ERROR] = TYPE ("core.exec.stdin.error", 0, 1),
  [MSB_MSG_EXEC_STDOUT] = TYPE ("core.exec.stdout", 0, 1),
  [MSB_MSG_EXEC_STDERR] = TYPE ("core.exec.stderr", 0, 1),
  [MSB_MSG_EXEC_EXITED] = TYPE ("core.exec.exited", T, 1),
  [MSB_MSG_EXEC_FAILED] = TYPE ("core.exec.failed", T, 1),
  [MSB_MSG_EXEC_RESIZE] = TYPE ("core.exec.resize", 0, 1),
  [MSB_MSG_EXEC_SIGNAL] = TYPE ("core.exec.signal", 0, 1),
  [MSB_MSG_FS_REQUEST] = TYPE ("core.fs.request", S, 2),
  [MSB_MSG_FS_DATA] = TYPE ("core.fs.data", 0, 2),
  [MSB_MSG_FS_RESPONSE] = TYPE ("core.fs.response", T, 2),
  [MSB_MSG_TCP_CONNECT] = TYPE ("core.tcp.connect", S, 4),
  [MSB_MSG_TCP_CONNECTED] = TYPE ("core.tcp.connected", 0, 4),
  [MSB_MSG_TCP_DATA] = TYPE ("core.tcp.data", 0, 4),
  [MSB_MSG_TCP_EOF] = TYPE ("core.tcp.eof", 0, 4),
  [MSB_MSG_TCP_CLOSE] = TYPE ("core.tcp.close", 0, 4),
  [MSB_MSG_TCP_CLOSED] = TYPE ("core.tcp.closed", T, 4),
  [MSB_MSG_TCP_FAILED] = TYPE ("core.tcp.failed", T, 4),
};

#undef T
#undef S
#undef TYPE

static bool
is_known (msb_msg_type t)
{
  return t > MSB_MSG_UNKNOWN && t < MSB_MSG__COUNT;
}

const char *
msb_msg_type_name (msb_msg_type t)
{
  return is_known (t) ? msg_types[t].name : NULL;
}

msb_msg_type
msb_msg_type_from_name (const char *name, size_t len)
{
  if (name == NULL)
    return MSB_MSG_UNKNOWN;
  for (int t = MSB_MSG_UNKNOWN + 1; t < MSB_MSG__COUNT; t++)
    {
      if (msg_types[t].name && msg_types[t].name_len == len
          && memcmp (msg_types[t].name, name, len) == 0)
        return (msb_msg_type) t;
    }
  return MSB_MSG_UNKNOWN;
}

uint8_t
msb_msg_type_flags (msb_msg_type t)
{
  return is_known (t) ? msg_types[t].flags : 0;
}

uint32_t
msb_msg_type_generation (msb_msg_type t)
{
  return is_known (t) ? msg_types[t].generation : 0;
}

/* ---- enum spellings ----------------------------------------------------------------- */

static const char *const proto_error_kinds[] = {
  [MSB_PERR_NONE] = "none",
  [MSB_PERR_MALFORMED_MESSAGE] = "malformed_message",
  [MSB_PERR_UNSUPPORTED_MESSAGE_TYPE] = "unsupported_message_type",
  [MSB_PERR_UNSUPPORTED_PROTOCOL_GENERATION] = "unsupported_protocol_generation",
  [MSB_PERR_INVALID_FLAGS] = "invalid_flags",
  [MSB_PERR_INVALID_PAYLOAD] = "invalid_payload",
  [MSB_PERR_INVALID_SESSION] = "invalid_session",
};

static const char *const exec_fail_kinds[] = {
  [MSB_EXEC_FAILED_OTHER] = "other",
  [MSB_EXEC_FAILED_NOT_FOUND] = "not_found",
  [MSB_EXEC_FAILED_PERMISSION_DENIED] = "permission_denied",
  [MSB_EXEC_FAILED_NOT_EXECUTABLE] = "not_executable",
  [MSB_EXEC_FAILED_BAD_CWD] = "bad_cwd",
  [MSB_EXEC_FAILED_BAD_ARGS] = "bad_args",
  [MSB_EXEC_FAILED_RESOURCE_LIMIT] = "resource_limit",
  [MSB_EXEC_FAILED_USER_SETUP_FAILED] = "user_setup_failed",
  [MSB_EXEC_FAILED_OUT_OF_MEMORY] = "out_of_memory",
  [MSB_EXEC_FAILED_PTY_SETUP_FAILED] = "pty_setup_failed",
};

#define N_ELEMS(a) (sizeof (a) / sizeof ((a)[0]))

static int
index_of (const char *const *names, size_t n, const char *name)
{
  for (size_t i = 0; name && i < n; i++)
    if (strcmp (names[i], name) == 0)
      return (int) i;
  return -1;
}

/* "none" is not a wire kind; it names MSB_PERR_NONE so that an unknown kind received from a
 * newer peer still encodes and decodes to the same value. */
const char *
msb_proto_error_kind_name (msb_proto_error_kind k)
{
  if ((unsigned) k >= N_ELEMS (proto_error_kinds))
    return proto_error_kinds[MSB_PERR_NONE];
  return proto_error_kinds[k];
}

msb_proto_error_kind
msb_proto_error_kind_from_name (const char *name)
{
  int i = index_of (proto_error_kinds, N_ELEMS (proto_error_kinds), name);
  return i < 0 ? MSB_PERR_NONE : (msb_proto_error_kind) i;
}

const char *
msb_exec_fail_kind_name (msb_exec_fail_kind k)
{
  if ((unsigned) k >= N_ELEMS (exec_fail_kinds))
    return exec_fail_kinds[MSB_EXEC_FAILED_OTHER];
  return exec_fail_kinds[k];
}

/* Unknown kinds (a newer agent) read as "other": the failure is still a failure. */
msb_exec_fail_kind
msb_exec_fail_kind_from_name (const char *name)
{
  int i = index_of (exec_fail_kinds, N_ELEMS (exec_fail_kinds), name);
  return i < 0 ? MSB_EXEC_FAILED_OTHER : (msb_exec_fail_kind) i;
}
