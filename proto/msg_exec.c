/* Payloads of the exec session (API.md §3.5, §3.6): core.exec.request, .started,
 * .stdin.error, .exited, .failed, .resize and .signal (stdin/stdout/stderr use the shared
 * data codec in msg_core.c).
 *
 * Owns: key names, defaults (rows 24, cols 80, empty args/env/rlimits, tty false) and which
 * keys are required.
 * Must never: interpret the values (resolving users, rlimit names or signals is the agent's
 * job); it only checks that each fits its C field.
 */
#include "proto/payload.h"

#define EXEC_DEFAULT_ROWS 24
#define EXEC_DEFAULT_COLS 80

/* ---- core.exec.request -------------------------------------------------------------- */

enum
{
  REQ_CMD,
  REQ_ARGS,
  REQ_ENV,
  REQ_CWD,
  REQ_USER,
  REQ_TTY,
  REQ_ROWS,
  REQ_COLS,
  REQ_RLIMITS,
  REQ_N
};
static const char *const request_keys[]
    = { "cmd", "args", "env", "cwd", "user", "tty", "rows", "cols", "rlimits" };

enum
{
  RLIM_RESOURCE,
  RLIM_SOFT,
  RLIM_HARD,
  RLIM_N
};
static const char *const rlimit_keys[] = { "resource", "soft", "hard" };

static int
rlimit_field (msb_pdec *d, unsigned f, void *out)
{
  msb_rlimit_spec *r = out;
  switch (f)
    {
    case RLIM_RESOURCE:
      return msb_pd_cstr (d, &r->resource);
    case RLIM_SOFT:
      return msb_pd_uint (d, UINT64_MAX, &r->soft);
    default:
      return msb_pd_uint (d, UINT64_MAX, &r->hard);
    }
}

static int
rlimit_elem (msb_pdec *d, void *elem)
{
  uint32_t seen;
  if (msb_pd_map (d, rlimit_keys, RLIM_N, rlimit_field, elem, &seen) < 0)
    return -1;
  return msb_pd_require (d, rlimit_keys, seen, (1u << RLIM_N) - 1);
}

static int
decode_rlimits (msb_pdec *d, msb_msg_exec_request *p)
{
  if (msb_cbor_take_null (&d->r))
    return 0;
  void *v;
  if (msb_pd_array (d, sizeof (msb_rlimit_spec), rlimit_elem, &v, &p->n_rlimits) < 0)
    return -1;
  p->rlimits = v;
  return 0;
}

static int
request_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_exec_request *p = out;
  switch (f)
    {
    case REQ_CMD:
      return msb_pd_cstr (d, &p->cmd);
    case REQ_ARGS:
      return msb_pd_strv (d, &p->args);
    case REQ_ENV:
      return msb_pd_strv (d, &p->env);
    case REQ_CWD:
      return msb_pd_cstr_or_null (d, &p->cwd);
    case REQ_USER:
      return msb_pd_cstr_or_null (d, &p->user);
    case REQ_RLIMITS:
      return decode_rlimits (d, p);
    default:
      break;
    }
  if (msb_cbor_take_null (&d->r)) /* defaulted fields read null as "use the default" */
    return 0;
  if (f == REQ_TTY)
    return msb_pd_bool (d, &p->tty);
  return msb_pd_u16 (d, f == REQ_ROWS ? &p->rows : &p->cols);
}

int
msb_payload_decode_exec_request (msb_pdec *d, msb_msg *m)
{
  msb_msg_exec_request *p = &m->u.exec_request;
  p->rows = EXEC_DEFAULT_ROWS;
  p->cols = EXEC_DEFAULT_COLS;
  uint32_t seen;
  if (msb_pd_map (d, request_keys, REQ_N, request_field, p, &seen) < 0)
    return -1;
  if (msb_pd_require (d, request_keys, seen, 1u << REQ_CMD) < 0)
    return -1;
  msb_pd_strv_default (d, &p->args);
  msb_pd_strv_default (d, &p->env);
  return 0;
}

void
msb_payload_encode_exec_request (msb_buf *out, const msb_msg *m)
{
  const msb_msg_exec_request *p = &m->u.exec_request;
  msb_cbor_put_map (out, REQ_N);
  msb_pe_key (out, request_keys[REQ_CMD]);
  msb_cbor_put_cstr (out, p->cmd);
  msb_pe_key (out, request_keys[REQ_ARGS]);
  msb_pe_strv (out, p->args);
  msb_pe_key (out, request_keys[REQ_ENV]);
  msb_pe_strv (out, p->env);
  msb_pe_key (out, request_keys[REQ_CWD]);
  msb_pe_cstr_or_null (out, p->cwd);
  msb_pe_key (out, request_keys[REQ_USER]);
  msb_pe_cstr_or_null (out, p->user);
  msb_pe_key (out, request_keys[REQ_TTY]);
  msb_cbor_put_bool (out, p->tty);
  msb_pe_key (out, request_keys[REQ_ROWS]);
  msb_cbor_put_uint (out, p->rows);
  msb_pe_key (out, request_keys[REQ_COLS]);
  msb_cbor_put_uint (out, p->cols);
  msb_pe_key (out, request_keys[REQ_RLIMITS]);
  msb_cbor_put_array (out, p->n_rlimits);
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      msb_cbor_put_map (out, RLIM_N);
      msb_pe_key (out, rlimit_keys[RLIM_RESOURCE]);
      msb_cbor_put_cstr (out, p->rlimits[i].resource);
      msb_pe_key (out, rlimit_keys[RLIM_SOFT]);
      msb_cbor_put_uint (out, p->rlimits[i].soft);
      msb_pe_key (out, rlimit_keys[RLIM_HARD]);
      msb_cbor_put_uint (out, p->rlimits[i].hard);
    }
}

/* ---- core.exec.started {pid}, .exited {code}, .signal {signal} ---------------------- */

static const char *const started_keys[] = { "pid" };
static const char *const exited_keys[] = { "code" };
static const char *const signal_keys[] = { "signal" };

static int
u32_field (msb_pdec *d, unsigned f, void *out)
{
  return msb_pd_u32 (d, out);
}

static int
i32_field (msb_pdec *d, unsigned f, void *out)
{
  return msb_pd_i32 (d, out);
}

static int
decode_one (msb_pdec *d, const char *const *keys, msb_pd_field_fn fn, void *out)
{
  uint32_t seen;
  if (msb_pd_map (d, keys, 1, fn, out, &seen) < 0)
    return -1;
  return msb_pd_require (d, keys, seen, 1u);
}

static void
encode_one_int (msb_buf *out, const char *key, int64_t v)
{
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, key);
  msb_cbor_put_int (out, v);
}

void
msb_payload_encode_exec_started (msb_buf *out, const msb_msg *m)
{
  encode_one_int (out, started_keys[0], m->u.exec_started.pid);
}

int
msb_payload_decode_exec_started (msb_pdec *d, msb_msg *m)
{
  return decode_one (d, started_keys, u32_field, &m->u.exec_started.pid);
}

void
msb_payload_encode_exec_exited (msb_buf *out, const msb_msg *m)
{
  encode_one_int (out, exited_keys[0], m->u.exec_exited.code);
}

int
msb_payload_decode_exec_exited (msb_pdec *d, msb_msg *m)
{
  return decode_one (d, exited_keys, i32_field, &m->u.exec_exited.code);
}

void
msb_payload_encode_exec_signal (msb_buf *out, const msb_msg *m)
{
  encode_one_int (out, signal_keys[0], m->u.exec_signal.signal);
}

int
msb_payload_decode_exec_signal (msb_pdec *d, msb_msg *m)
{
  return decode_one (d, signal_keys, i32_field, &m->u.exec_signal.signal);
}

/* ---- core.exec.resize {rows, cols} -------------------------------------------------- */

static const char *const resize_keys[] = { "rows", "cols" };

static int
resize_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_exec_resize *p = out;
  return msb_pd_u16 (d, f == 0 ? &p->rows : &p->cols);
}

void
msb_payload_encode_exec_resize (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 2);
  msb_pe_key (out, resize_keys[0]);
  msb_cbor_put_uint (out, m->u.exec_resize.rows);
  msb_pe_key (out, resize_keys[1]);
  msb_cbor_put_uint (out, m->u.exec_resize.cols);
}

int
msb_payload_decode_exec_resize (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, resize_keys, 2, resize_field, &m->u.exec_resize, &seen) < 0)
    return -1;
  return msb_pd_require (d, resize_keys, seen, 3u);
}

/* ---- core.exec.stdin.error and core.exec.failed ------------------------------------- */

/* Both carry {errno: i32|null, errno_name: text|null, message: text}; failed adds kind and
 * stage. The shared keys come first so one field function serves both. */
enum
{
  ERR_ERRNO,
  ERR_ERRNO_NAME,
  ERR_MESSAGE,
  ERR_KIND,
  ERR_STAGE,
  ERR_N
};
static const char *const errno_keys[] = { "errno", "errno_name", "message", "kind", "stage" };

typedef struct errno_fields
{
  bool *has_errno;
  int32_t *errnum;
  char **errno_name;
  char **message;
  msb_exec_fail_kind *kind; /* NULL for stdin.error */
  char **stage;
} errno_fields;

static int
errno_field (msb_pdec *d, unsigned f, void *out)
{
  errno_fields *p = out;
  char *kind;
  if (p->kind == NULL && f >= ERR_KIND)
    return msb_cbor_skip (&d->r); /* not a key of stdin.error */
  switch (f)
    {
    case ERR_ERRNO:
      return msb_pd_opt_i32 (d, p->has_errno, p->errnum);
    case ERR_ERRNO_NAME:
      return msb_pd_cstr_or_null (d, p->errno_name);
    case ERR_MESSAGE:
      return msb_pd_cstr (d, p->message);
    case ERR_KIND:
      if (msb_pd_cstr (d, &kind) < 0)
        return -1;
      *p->kind = msb_exec_fail_kind_from_name (kind);
      return 0;
    default:
      return msb_pd_cstr_or_null (d, p->stage);
    }
}

static void
encode_errno_fields (msb_buf *out, bool has_errno, int32_t errnum, const char *errno_name,
                     const char *message)
{
  msb_pe_key (out, errno_keys[ERR_ERRNO]);
  msb_pe_opt_int (out, has_errno, errnum);
  msb_pe_key (out, errno_keys[ERR_ERRNO_NAME]);
  msb_pe_cstr_or_null (out, errno_name);
  msb_pe_key (out, errno_keys[ERR_MESSAGE]);
  msb_cbor_put_cstr (out, message);
}

static int
decode_errno_fields (msb_pdec *d, errno_fields *fields, uint32_t required)
{
  uint32_t seen;
  if (msb_pd_map (d, errno_keys, ERR_N, errno_field, fields, &seen) < 0)
    return -1;
  if (msb_pd_require (d, errno_keys, seen, required) < 0)
    return -1;
  if (*fields->message == NULL) /* a reason-less report still reads as a string */
    *fields->message = msb_arena_strndup (d->arena, "", 0);
  return 0;
}

void
msb_payload_encode_exec_stdin_error (msb_buf *out, const msb_msg *m)
{
  const msb_msg_exec_stdin_error *p = &m->u.exec_stdin_error;
  msb_cbor_put_map (out, 3);
  encode_errno_fields (out, p->has_errno, p->errnum, p->errno_name, p->message);
}

int
msb_payload_decode_exec_stdin_error (msb_pdec *d, msb_msg *m)
{
  msb_msg_exec_stdin_error *p = &m->u.exec_stdin_error;
  errno_fields fields = { &p->has_errno, &p->errnum, &p->errno_name, &p->message, NULL, NULL };
  return decode_errno_fields (d, &fields, 0);
}

void
msb_payload_encode_exec_failed (msb_buf *out, const msb_msg *m)
{
  const msb_msg_exec_failed *p = &m->u.exec_failed;
  msb_cbor_put_map (out, 5);
  msb_pe_key (out, errno_keys[ERR_KIND]);
  msb_cbor_put_cstr (out, msb_exec_fail_kind_name (p->kind));
  encode_errno_fields (out, p->has_errno, p->errnum, p->errno_name, p->message);
  msb_pe_key (out, errno_keys[ERR_STAGE]);
  msb_pe_cstr_or_null (out, p->stage);
}

int
msb_payload_decode_exec_failed (msb_pdec *d, msb_msg *m)
{
  msb_msg_exec_failed *p = &m->u.exec_failed;
  errno_fields fields
      = { &p->has_errno, &p->errnum, &p->errno_name, &p->message, &p->kind, &p->stage };
  return decode_errno_fields (d, &fields, 1u << ERR_KIND);
}
