/* Fuzzes the wire codec the way the agent and the relay meet hostile bytes: a byte stream
 * split into frames, each body decoded; the whole input is also tried as one body so the
 * fuzzer need not learn frame headers first. Every successful decode is re-encoded and
 * decoded again: the second encoding must equal the first (the codec is stable), and peek
 * must agree with decode about the envelope.
 */
// FUZZ_SOURCES: proto/arena.c proto/cbor.c proto/envelope.c proto/frame.c
// FUZZ_SOURCES: proto/msg_bootstrap.c proto/msg_core.c proto/msg_exec.c
// FUZZ_SOURCES: proto/msg_fs_request.c proto/msg_fs_response.c proto/msg_tcp.c
// FUZZ_SOURCES: proto/payload_read.c proto/payload_write.c proto/types.c
// FUZZ_SOURCES: common/buf.c common/util.c common/error.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/proto.h"

#define FUZZ_ASSERT(cond)                                                        \
  do                                                                             \
    {                                                                            \
      if (!(cond))                                                               \
        {                                                                        \
          fprintf (stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
          abort ();                                                              \
        }                                                                        \
    }                                                                            \
  while (0)

static void
check_reencoding (const msb_msg *m)
{
  msb_buf first = MSB_BUF_INIT, second = MSB_BUF_INIT;
  msb_msg again;
  msb_proto_error_kind perr;
  char why[160];
  msb_msg_encode_body (&first, m);
  int r = msb_msg_decode (first.data, first.len, &again, &perr, why, sizeof why);
  if (r < 0)
    fprintf (stderr, "re-decode of %s failed: %s\n", m->type_name, why);
  FUZZ_ASSERT (r == 0);
  FUZZ_ASSERT (again.type == m->type);
  FUZZ_ASSERT (again.generation == MSB_PROTO_GENERATION);
  msb_msg_encode_body (&second, &again);
  FUZZ_ASSERT (first.len == second.len && memcmp (first.data, second.data, first.len) == 0);

  /* The framed form carries the same body. */
  msb_buf framed = MSB_BUF_INIT;
  msb_frame f;
  size_t consumed;
  msb_msg_write_frame (&framed, 1, 0, &again);
  if (first.len <= MSB_FRAME_MAX_BODY)
    {
      FUZZ_ASSERT (msb_frame_parse (framed.data, framed.len, &f, &consumed) == 1);
      FUZZ_ASSERT (consumed == framed.len && f.body_len == first.len);
      FUZZ_ASSERT (memcmp (f.body, first.data, first.len) == 0);
      FUZZ_ASSERT (f.flags == msb_msg_type_flags (again.type));
    }
  msb_msg_clear (&again);
  msb_buf_free (&framed);
  msb_buf_free (&first);
  msb_buf_free (&second);
}

static void
check_body (const uint8_t *body, size_t len)
{
  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  msb_msg_type peeked = MSB_MSG_UNKNOWN;
  char why[160];
  int peek_rc = msb_msg_peek_type (body, len, &peeked);
  if (msb_msg_decode (body, len, &m, &perr, why, sizeof why) < 0)
    {
      FUZZ_ASSERT (perr == MSB_PERR_MALFORMED_MESSAGE || perr == MSB_PERR_INVALID_PAYLOAD);
      FUZZ_ASSERT ((perr == MSB_PERR_MALFORMED_MESSAGE) == (peek_rc < 0));
      FUZZ_ASSERT (perr == MSB_PERR_MALFORMED_MESSAGE || peeked == m.type);
      FUZZ_ASSERT (m.arena_ == NULL && m.type_name == NULL);
      FUZZ_ASSERT (why[0] != '\0');
      msb_msg_clear (&m);
      return;
    }
  FUZZ_ASSERT (perr == MSB_PERR_NONE);
  FUZZ_ASSERT (peek_rc == 0 && peeked == m.type);
  FUZZ_ASSERT (m.type_name != NULL);
  check_reencoding (&m);
  msb_msg_clear (&m);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t off = 0;
  for (;;)
    {
      msb_frame f;
      size_t consumed = 0;
      int r = msb_frame_parse (data + off, size - off, &f, &consumed);
      if (r <= 0)
        break;
      FUZZ_ASSERT (consumed >= MSB_FRAME_HEADER_LEN && consumed <= size - off);
      FUZZ_ASSERT ((f.flags & ~MSB_FLAG_MASK) == 0);
      check_body (f.body, f.body_len);
      off += consumed;
    }
  check_body (data, size);
  return 0;
}
