/* Framing (API.md §3.2): [len u32 BE][id u32 BE][flags u8][body], len = 5 + body length. */
#include "proto/proto.h"

#include "tests/unit/test.h"

#define LIT(s) (const uint8_t *) (s), (sizeof (s) - 1)

TEST (test_frame_header_is_len_id_flags_big_endian)
{
  msb_buf b = MSB_BUF_INIT;
  msb_frame_put_header (&b, 0x01020304u, MSB_FLAG_TERMINAL, 0x10);
  CHECK_EQ_INT (b.len, 9);
  CHECK_MEM (b.data, "\x00\x00\x00\x15\x01\x02\x03\x04\x01", 9);
  msb_buf_free (&b);
}

TEST (test_frame_parse_returns_a_complete_frame)
{
  msb_frame f;
  size_t consumed = 0;
  CHECK_EQ_INT (msb_frame_parse (LIT ("\x00\x00\x00\x07\x00\x00\x00\x2a\x02hi" "extra"), &f,
                                 &consumed),
                1);
  CHECK_EQ_INT (consumed, 11);
  CHECK_EQ_INT (f.id, 42);
  CHECK_EQ_INT (f.flags, MSB_FLAG_SESSION_START);
  CHECK_EQ_INT (f.body_len, 2);
  CHECK_MEM (f.body, "hi", 2);
}

TEST (test_frame_parse_accepts_an_empty_body)
{
  msb_frame f;
  size_t consumed = 0;
  CHECK_EQ_INT (msb_frame_parse (LIT ("\x00\x00\x00\x05\x00\x00\x00\x00\x00"), &f, &consumed), 1);
  CHECK_EQ_INT (consumed, 9);
  CHECK_EQ_INT (f.body_len, 0);
}

TEST (test_frame_parse_needs_more_for_every_truncation)
{
  static const uint8_t full[] = { 0, 0, 0, 8, 0, 0, 0, 1, 0, 'a', 'b', 'c' };
  for (size_t n = 0; n < sizeof full; n++)
    {
      msb_frame f;
      size_t consumed = 99;
      CHECK_EQ_INT (msb_frame_parse (full, n, &f, &consumed), 0);
      CHECK_EQ_INT (consumed, 99);
    }
  msb_frame f;
  size_t consumed;
  CHECK_EQ_INT (msb_frame_parse (full, sizeof full, &f, &consumed), 1);
}

TEST (test_frame_len_below_5_is_a_framing_error)
{
  msb_frame f;
  size_t consumed;
  for (uint8_t len = 0; len < 5; len++)
    {
      uint8_t in[9] = { 0, 0, 0, len, 0, 0, 0, 1, 0 };
      CHECK_EQ_INT (msb_frame_parse (in, sizeof in, &f, &consumed), -1);
      /* Known from the first four bytes: no need to wait for the rest. */
      CHECK_EQ_INT (msb_frame_parse (in, 4, &f, &consumed), -1);
    }
}

TEST (test_frame_len_above_4_mib_is_a_framing_error)
{
  msb_frame f;
  size_t consumed;
  CHECK_EQ_INT (msb_frame_parse (LIT ("\x00\x40\x00\x01"), &f, &consumed), -1);
  CHECK_EQ_INT (msb_frame_parse (LIT ("\xff\xff\xff\xff"), &f, &consumed), -1);
  /* Exactly the maximum is still a frame; it is incomplete here. */
  CHECK_EQ_INT (msb_frame_parse (LIT ("\x00\x40\x00\x00\x00\x00\x00\x01\x00"), &f, &consumed), 0);
}

TEST (test_frame_maximum_len_parses_when_complete)
{
  size_t total = 4 + MSB_FRAME_MAX_LEN;
  uint8_t *in = calloc (1, total);
  in[1] = 0x40; /* len = 0x00400000 */
  msb_frame f;
  size_t consumed;
  CHECK_EQ_INT (msb_frame_parse (in, total, &f, &consumed), 1);
  CHECK_EQ_INT (f.body_len, MSB_FRAME_MAX_BODY);
  CHECK_EQ_INT (consumed, total);
  free (in);
}

TEST (test_frame_unknown_flag_bits_are_a_framing_error)
{
  for (unsigned bit = 3; bit < 8; bit++)
    {
      uint8_t in[9] = { 0, 0, 0, 5, 0, 0, 0, 1, (uint8_t) (1u << bit) };
      msb_frame f;
      size_t consumed;
      CHECK_EQ_INT (msb_frame_parse (in, sizeof in, &f, &consumed), -1);
    }
  uint8_t all_known[9] = { 0, 0, 0, 5, 0, 0, 0, 1, MSB_FLAG_MASK };
  msb_frame f;
  size_t consumed;
  CHECK_EQ_INT (msb_frame_parse (all_known, sizeof all_known, &f, &consumed), 1);
}

TEST (test_frame_back_to_back_frames_parse_in_sequence)
{
  msb_buf b = MSB_BUF_INIT;
  for (uint32_t id = 1; id <= 3; id++)
    {
      msb_frame_put_header (&b, id, 0, id);
      for (uint32_t i = 0; i < id; i++)
        msb_buf_append_byte (&b, (uint8_t) id);
    }
  size_t off = 0;
  for (uint32_t id = 1; id <= 3; id++)
    {
      msb_frame f;
      size_t consumed;
      CHECK_EQ_INT (msb_frame_parse (b.data + off, b.len - off, &f, &consumed), 1);
      CHECK_EQ_INT (f.id, id);
      CHECK_EQ_INT (f.body_len, id);
      off += consumed;
    }
  CHECK_EQ_INT (off, b.len);
  msb_buf_free (&b);
}

TEST_MAIN (TEST_ENTRY (test_frame_header_is_len_id_flags_big_endian),
           TEST_ENTRY (test_frame_parse_returns_a_complete_frame),
           TEST_ENTRY (test_frame_parse_accepts_an_empty_body),
           TEST_ENTRY (test_frame_parse_needs_more_for_every_truncation),
           TEST_ENTRY (test_frame_len_below_5_is_a_framing_error),
           TEST_ENTRY (test_frame_len_above_4_mib_is_a_framing_error),
           TEST_ENTRY (test_frame_maximum_len_parses_when_complete),
           TEST_ENTRY (test_frame_unknown_flag_bits_are_a_framing_error),
           TEST_ENTRY (test_frame_back_to_back_frames_parse_in_sequence))
