/* The envelope (API.md §3.3): body = {"v": 7, "t": "<wire name>", "p": h'<CBOR payload>'},
 * and the dispatch from message type to payload codec.
 *
 * Owns: msb_msg_encode_body, msb_msg_write_frame, msb_msg_decode, msb_msg_peek_type,
 * msb_msg_clear; the rule that a decode failure leaves nothing allocated.
 * Must never: judge the generation (negotiation is the caller's), reject an unknown type
 * (the caller answers it with unsupported_message_type), or copy a payload more than once
 * while encoding — stdout chunks of 3 MiB go through here.
 */
#include "proto/proto.h"

#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "proto/cbor.h"
#include "proto/internal.h"
#include "proto/payload.h"

typedef struct payload_codec
{
  msb_payload_encode_fn encode;
  msb_payload_decode_fn decode;
} payload_codec;

#define CODEC(name) { msb_payload_encode_##name, msb_payload_decode_##name }

static const payload_codec codecs[MSB_MSG__COUNT] = {
  [MSB_MSG_UNKNOWN] = CODEC (empty),
  [MSB_MSG_BOOTSTRAP] = CODEC (bootstrap),
  [MSB_MSG_INIT_RESOLVED] = CODEC (init_resolved),
  [MSB_MSG_INIT_ACK] = CODEC (empty),
  [MSB_MSG_READY] = CODEC (ready),
  [MSB_MSG_SHUTDOWN] = CODEC (shutdown),
  [MSB_MSG_RELAY_CLIENT_DISCONNECTED] = CODEC (relay_client_disconnected),
  [MSB_MSG_CLOCK_SYNC] = CODEC (clock_sync),
  [MSB_MSG_PING] = CODEC (empty),
  [MSB_MSG_PONG] = CODEC (empty),
  [MSB_MSG_TOUCH] = CODEC (empty),
  [MSB_MSG_TOUCHED] = CODEC (touched),
  [MSB_MSG_ERROR] = CODEC (error),
  [MSB_MSG_EXEC_REQUEST] = CODEC (exec_request),
  [MSB_MSG_EXEC_STARTED] = CODEC (exec_started),
  [MSB_MSG_EXEC_STDIN] = CODEC (data),
  [MSB_MSG_EXEC_STDIN_ERROR] = CODEC (exec_stdin_error),
  [MSB_MSG_EXEC_STDOUT] = CODEC (data),
  [MSB_MSG_EXEC_STDERR] = CODEC (data),
  [MSB_MSG_EXEC_EXITED] = CODEC (exec_exited),
  [MSB_MSG_EXEC_FAILED] = CODEC (exec_failed),
  [MSB_MSG_EXEC_RESIZE] = CODEC (exec_resize),
  [MSB_MSG_EXEC_SIGNAL] = CODEC (exec_signal),
  [MSB_MSG_FS_REQUEST] = CODEC (fs_request),
  [MSB_MSG_FS_DATA] = CODEC (data),
  [MSB_MSG_FS_RESPONSE] = CODEC (fs_response),
  [MSB_MSG_TCP_CONNECT] = CODEC (tcp_connect),
  [MSB_MSG_TCP_CONNECTED] = CODEC (empty),
  [MSB_MSG_TCP_DATA] = CODEC (data),
  [MSB_MSG_TCP_EOF] = CODEC (empty),
  [MSB_MSG_TCP_CLOSE] = CODEC (empty),
  [MSB_MSG_TCP_CLOSED] = CODEC (empty),
  [MSB_MSG_TCP_FAILED] = CODEC (tcp_failed),
};

static const payload_codec *
codec_of (msb_msg_type t)
{
  return (unsigned) t < MSB_MSG__COUNT ? &codecs[t] : &codecs[MSB_MSG_UNKNOWN];
}

enum
{
  ENV_V,
  ENV_T,
  ENV_P,
  ENV_N
};
static const char *const envelope_keys[] = { "v", "t", "p" };

/* ---- encoding ----------------------------------------------------------------------- */

/* Room left for the byte-string head of "p" before the payload is encoded in place. Five
 * bytes is the head of any payload from 64 KiB to 4 GiB, so a large data chunk is written
 * exactly once; a smaller payload is slid left by at most four bytes' worth of head. */
#define PAYLOAD_HEAD_RESERVE 5u

static void
put_payload (msb_buf *out, const msb_msg *m)
{
  size_t head_at = out->len;
  msb_buf_reserve (out, PAYLOAD_HEAD_RESERVE);
  out->len += PAYLOAD_HEAD_RESERVE;
  size_t start = out->len;
  codec_of (m->type)->encode (out, m);
  size_t plen = out->len - start;
  size_t head = msb_cbor_head_size (plen);
  if (head != PAYLOAD_HEAD_RESERVE)
    {
      if (head > PAYLOAD_HEAD_RESERVE)
        msb_buf_reserve (out, head - PAYLOAD_HEAD_RESERVE);
      memmove (out->data + head_at + head, out->data + start, plen);
      out->len = head_at + head + plen;
    }
  msb_cbor_write_head (out->data + head_at, MSB_CBOR_MAJOR_BYTES, plen);
}

void
msb_msg_encode_body (msb_buf *out, const msb_msg *m)
{
  /* An unknown type can only be sent by name (tests, forwarding); its payload is {}. */
  const char *name = msb_msg_type_name (m->type);
  if (name == NULL)
    name = m->type_name ? m->type_name : "";
  msb_cbor_put_map (out, ENV_N);
  msb_pe_key (out, envelope_keys[ENV_V]);
  msb_cbor_put_uint (out, MSB_PROTO_GENERATION);
  msb_pe_key (out, envelope_keys[ENV_T]);
  msb_cbor_put_cstr (out, name);
  msb_pe_key (out, envelope_keys[ENV_P]);
  put_payload (out, m);
}

void
msb_msg_write_frame (msb_buf *out, uint32_t id, uint8_t extra_flags, const msb_msg *m)
{
  size_t header_at = out->len;
  msb_buf_reserve (out, MSB_FRAME_HEADER_LEN);
  out->len += MSB_FRAME_HEADER_LEN;
  msb_msg_encode_body (out, m);
  uint8_t flags = (uint8_t) ((msb_msg_type_flags (m->type) | extra_flags) & MSB_FLAG_MASK);
  msb_frame_header_write (out->data + header_at, id, flags,
                          out->len - header_at - MSB_FRAME_HEADER_LEN);
}

/* ---- decoding ----------------------------------------------------------------------- */

typedef struct envelope
{
  uint64_t v;
  const char *t;
  size_t t_len;
  const uint8_t *p;
  size_t p_len;
} envelope;

static int
envelope_field (msb_pdec *d, unsigned f, void *out)
{
  envelope *e = out;
  switch (f)
    {
    case ENV_V:
      return msb_cbor_read_uint (&d->r, &e->v);
    case ENV_T:
      return msb_cbor_read_text (&d->r, &e->t, &e->t_len);
    default:
      return msb_cbor_read_bytes (&d->r, &e->p, &e->p_len);
    }
}

/* Unknown envelope keys are skipped like payload keys; duplicates of v/t/p are not, so the
 * relay's tap (peek_type) and the agent can never read two different types from one body. */
static int
envelope_parse (const uint8_t *body, size_t len, envelope *e, msb_pdec *d)
{
  uint32_t seen;
  msb_cbor_reader_init (&d->r, body, len);
  if (msb_pd_map (d, envelope_keys, ENV_N, envelope_field, e, &seen) < 0)
    return -1;
  if (msb_pd_require (d, envelope_keys, seen, (1u << ENV_N) - 1) < 0)
    return -1;
  d->key = NULL;
  if (!msb_cbor_at_end (&d->r))
    return msb_pd_fail (d, "trailing bytes after the envelope");
  if (memchr (e->t, '\0', e->t_len) != NULL)
    return msb_pd_fail (d, "message type contains a NUL byte");
  return 0;
}

static void
format_reason (char *errbuf, size_t errbuf_len, const char *where, const msb_pdec *d)
{
  if (errbuf == NULL || errbuf_len == 0)
    return;
  const char *why = d->why ? d->why : d->r.error ? d->r.error : "invalid";
  if (d->key)
    snprintf (errbuf, errbuf_len, "%s: key `%s`: %s", where, d->key, why);
  else
    snprintf (errbuf, errbuf_len, "%s: %s", where, why);
}

/* Leaves only what a caller needs to answer core.error: the type (its wire name is
 * msb_msg_type_name(m->type)) and the generation. The arena is the caller's to drop. */
static int
decode_failed (msb_msg *m, msb_proto_error_kind kind, msb_proto_error_kind *perr)
{
  msb_msg_type type = m->type;
  uint32_t generation = m->generation;
  memset (m, 0, sizeof *m);
  m->type = type;
  m->generation = generation;
  *perr = kind;
  return -1;
}

int
msb_msg_decode (const uint8_t *body, size_t len, msb_msg *m, msb_proto_error_kind *perr,
                char *errbuf, size_t errbuf_len)
{
  msb_proto_error_kind ignored;
  _msb_cleanup_arena_ msb_arena *arena = NULL; /* freed on every failure path */
  envelope e = { 0 };
  msb_pdec d = { .arena = &arena };
  memset (m, 0, sizeof *m);
  if (perr == NULL)
    perr = &ignored;
  *perr = MSB_PERR_NONE;
  if (errbuf && errbuf_len)
    errbuf[0] = '\0';

  if (envelope_parse (body, len, &e, &d) < 0)
    {
      format_reason (errbuf, errbuf_len, "envelope", &d);
      return decode_failed (m, MSB_PERR_MALFORMED_MESSAGE, perr);
    }
  m->generation = e.v > UINT32_MAX ? UINT32_MAX : (uint32_t) e.v;
  m->type = msb_msg_type_from_name (e.t, e.t_len);
  m->type_name = msb_arena_strndup (&arena, e.t, e.t_len);
  if (m->type != MSB_MSG_UNKNOWN)
    {
      d = (msb_pdec){ .arena = &arena };
      msb_cbor_reader_init (&d.r, e.p, e.p_len);
      if (codec_of (m->type)->decode (&d, m) < 0
          || (!msb_cbor_at_end (&d.r) && msb_pd_fail (&d, "trailing bytes after the payload") < 0))
        {
          format_reason (errbuf, errbuf_len, m->type_name, &d);
          return decode_failed (m, MSB_PERR_INVALID_PAYLOAD, perr);
        }
    }
  m->arena_ = msb_steal_pointer (&arena);
  return 0;
}

int
msb_msg_peek_type (const uint8_t *body, size_t len, msb_msg_type *type)
{
  envelope e = { 0 };
  msb_pdec d = { 0 };
  if (envelope_parse (body, len, &e, &d) < 0)
    return -1;
  *type = msb_msg_type_from_name (e.t, e.t_len);
  return 0;
}

void
msb_msg_clear (msb_msg *m)
{
  msb_arena *arena = m->arena_;
  msb_arena_free (&arena);
  memset (m, 0, sizeof *m);
}
