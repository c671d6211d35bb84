/* The CBOR subset: shortest-form encoding, and a reader that refuses what the protocol never
 * sends (indefinite lengths, lies about lengths, unbounded nesting) without allocating. */
#include "proto/cbor.h"

#include "common/buf.h"
#include "tests/unit/test.h"

#define LIT(s) (const uint8_t *) (s), (sizeof (s) - 1)

static int
buf_is (const msb_buf *b, const uint8_t *want, size_t n)
{
  return b->len == n && memcmp (b->data, want, n) == 0;
}

TEST (test_cbor_uint_uses_shortest_head)
{
  static const struct
  {
    uint64_t v;
    const char *bytes;
    size_t n;
  } cases[] = {
    { 0, "\x00", 1 },
    { 23, "\x17", 1 },
    { 24, "\x18\x18", 2 },
    { 255, "\x18\xff", 2 },
    { 256, "\x19\x01\x00", 3 },
    { 65535, "\x19\xff\xff", 3 },
    { 65536, "\x1a\x00\x01\x00\x00", 5 },
    { 4294967295u, "\x1a\xff\xff\xff\xff", 5 },
    { 4294967296u, "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9 },
    { UINT64_MAX, "\x1b\xff\xff\xff\xff\xff\xff\xff\xff", 9 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_buf b = MSB_BUF_INIT;
      msb_cbor_put_uint (&b, cases[i].v);
      CHECK (buf_is (&b, (const uint8_t *) cases[i].bytes, cases[i].n));
      msb_buf_free (&b);
    }
}

TEST (test_cbor_negative_ints_encode_as_major_1)
{
  msb_buf b = MSB_BUF_INIT;
  msb_cbor_put_int (&b, -1);
  msb_cbor_put_int (&b, -24);
  msb_cbor_put_int (&b, -25);
  msb_cbor_put_int (&b, INT64_MIN);
  msb_cbor_put_int (&b, 10);
  CHECK (buf_is (&b, LIT ("\x20\x37\x38\x18\x3b\x7f\xff\xff\xff\xff\xff\xff\xff\x0a")));
  msb_buf_free (&b);
}

TEST (test_cbor_strings_containers_and_simple_values)
{
  msb_buf b = MSB_BUF_INIT;
  msb_cbor_put_map (&b, 2);
  msb_cbor_put_cstr (&b, "a");
  msb_cbor_put_bytes (&b, "\x01\x02", 2);
  msb_cbor_put_cstr (&b, NULL);
  msb_cbor_put_array (&b, 3);
  msb_cbor_put_bool (&b, true);
  msb_cbor_put_bool (&b, false);
  msb_cbor_put_null (&b);
  CHECK (buf_is (&b, LIT ("\xa2\x61" "a" "\x42\x01\x02\x60\x83\xf5\xf4\xf6")));
  msb_buf_free (&b);
}

TEST (test_cbor_reads_back_what_it_writes)
{
  msb_buf b = MSB_BUF_INIT;
  msb_cbor_put_map (&b, 1);
  msb_cbor_put_cstr (&b, "key");
  msb_cbor_put_array (&b, 4);
  msb_cbor_put_int (&b, INT64_MIN);
  msb_cbor_put_uint (&b, UINT64_MAX);
  msb_cbor_put_bytes (&b, "xyz", 3);
  msb_cbor_put_bool (&b, true);

  msb_cbor_reader r;
  msb_cbor_reader_init (&r, b.data, b.len);
  size_t n;
  const char *s;
  size_t len;
  int64_t i;
  uint64_t u;
  const uint8_t *d;
  bool flag = false;
  CHECK (msb_cbor_enter_map (&r, &n) == 0 && n == 1);
  CHECK (msb_cbor_read_text (&r, &s, &len) == 0 && len == 3 && memcmp (s, "key", 3) == 0);
  CHECK (s == (const char *) b.data + 2); /* zero copy */
  CHECK (msb_cbor_enter_array (&r, &n) == 0 && n == 4);
  CHECK (msb_cbor_read_int (&r, &i) == 0 && i == INT64_MIN);
  CHECK (msb_cbor_read_uint (&r, &u) == 0 && u == UINT64_MAX);
  CHECK (msb_cbor_read_bytes (&r, &d, &len) == 0 && len == 3 && memcmp (d, "xyz", 3) == 0);
  CHECK (msb_cbor_read_bool (&r, &flag) == 0 && flag);
  msb_cbor_leave (&r);
  msb_cbor_leave (&r);
  CHECK (msb_cbor_at_end (&r));
  CHECK_EQ_INT (r.depth, 0);
  msb_buf_free (&b);
}

TEST (test_cbor_accepts_non_shortest_heads)
{
  msb_cbor_reader r;
  uint64_t u = 0;
  msb_cbor_reader_init (&r, LIT ("\x1b\x00\x00\x00\x00\x00\x00\x00\x05"));
  CHECK (msb_cbor_read_uint (&r, &u) == 0 && u == 5);
}

TEST (test_cbor_int_out_of_int64_range_is_rejected)
{
  msb_cbor_reader r;
  int64_t v;
  msb_cbor_reader_init (&r, LIT ("\x3b\x80\x00\x00\x00\x00\x00\x00\x00")); /* -2^63 - 1 */
  CHECK (msb_cbor_read_int (&r, &v) < 0);
  msb_cbor_reader_init (&r, LIT ("\x1b\x80\x00\x00\x00\x00\x00\x00\x00")); /* 2^63 */
  CHECK (msb_cbor_read_int (&r, &v) < 0);
  msb_cbor_reader_init (&r, LIT ("\x3b\x7f\xff\xff\xff\xff\xff\xff\xff")); /* -2^63 */
  CHECK (msb_cbor_read_int (&r, &v) == 0 && v == INT64_MIN);
}

TEST (test_cbor_type_mismatch_is_an_error)
{
  msb_cbor_reader r;
  uint64_t u;
  const char *s;
  size_t len;
  msb_cbor_reader_init (&r, LIT ("\x61" "a"));
  CHECK (msb_cbor_read_uint (&r, &u) < 0);
  CHECK (r.error != NULL);
  msb_cbor_reader_init (&r, LIT ("\x41" "a"));
  CHECK (msb_cbor_read_text (&r, &s, &len) < 0);
}

TEST (test_cbor_truncated_items_are_rejected)
{
  static const char *const inputs[] = { "", "\x18", "\x19\x01", "\x1a\x01\x02\x03",
                                        "\x1b\x01\x02\x03\x04\x05\x06\x07", ("\x62" "a") };
  static const size_t lens[] = { 0, 1, 2, 4, 8, 2 };
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    {
      msb_cbor_reader r;
      msb_cbor_reader_init (&r, (const uint8_t *) inputs[i], lens[i]);
      CHECK (msb_cbor_skip (&r) < 0);
    }
}

TEST (test_cbor_indefinite_lengths_are_rejected)
{
  static const char *const inputs[] = {
    "\x5f\x41" "a" "\xff", /* bytes */
    "\x7f\x61" "a" "\xff", /* text */
    "\x9f\x01\xff",        /* array */
    "\xbf\x61" "a" "\x01\xff", /* map */
    "\xff",                /* a stray break */
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
    {
      msb_cbor_reader r;
      size_t n;
      msb_cbor_reader_init (&r, (const uint8_t *) inputs[i], strlen (inputs[i]));
      CHECK (msb_cbor_skip (&r) < 0);
      msb_cbor_reader_init (&r, (const uint8_t *) inputs[i], strlen (inputs[i]));
      CHECK (msb_cbor_enter_map (&r, &n) < 0);
      CHECK (r.error != NULL);
    }
  msb_cbor_reader r;
  size_t n;
  msb_cbor_reader_init (&r, LIT ("\xbf\xff"));
  CHECK (msb_cbor_enter_map (&r, &n) < 0);
  CHECK_EQ_STR (r.error, "indefinite length not supported");
}

TEST (test_cbor_reserved_additional_info_is_rejected)
{
  for (uint8_t ib = 0x1c; ib <= 0x1e; ib++)
    {
      msb_cbor_reader r;
      uint8_t in[2] = { ib, 0 };
      msb_cbor_reader_init (&r, in, sizeof in);
      CHECK (msb_cbor_skip (&r) < 0);
    }
}

TEST (test_cbor_huge_declared_lengths_fail_without_allocating)
{
  /* Each declares far more than the handful of bytes that follow; an implementation that
   * allocated or looped on the declared size would abort or hang here. */
  static const char *const inputs[] = {
    "\x5b\x7f\xff\xff\xff\xff\xff\xff\xff" "abc", /* bytes of 2^63 - 1 */
    "\x7b\xff\xff\xff\xff\xff\xff\xff\xff" "abc", /* text of 2^64 - 1 */
    "\x9b\xff\xff\xff\xff\xff\xff\xff\xff\x01",   /* array of 2^64 - 1 */
    "\xbb\x80\x00\x00\x00\x00\x00\x00\x00\x01",   /* map of 2^63 entries */
    "\x9a\x00\x01\x00\x00\x01\x01",               /* array of 65536 with 2 items */
    "\xa2\x01\x01\x01",                           /* map of 2 with 1.5 entries */
  };
  static const size_t lens[] = { 12, 12, 10, 10, 7, 4 };
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    {
      msb_cbor_reader r;
      size_t n;
      const uint8_t *d;
      msb_cbor_reader_init (&r, (const uint8_t *) inputs[i], lens[i]);
      CHECK (msb_cbor_skip (&r) < 0);
      msb_cbor_reader_init (&r, (const uint8_t *) inputs[i], lens[i]);
      if (i < 2)
        CHECK (msb_cbor_read_bytes (&r, &d, &n) < 0);
      else if (i == 3 || i == 5)
        CHECK (msb_cbor_enter_map (&r, &n) < 0);
      else
        CHECK (msb_cbor_enter_array (&r, &n) < 0);
    }
}

static void
put_nested_arrays (msb_buf *b, unsigned depth)
{
  for (unsigned i = 0; i < depth; i++)
    msb_cbor_put_array (b, 1);
  msb_cbor_put_uint (b, 0);
}

TEST (test_cbor_skip_stops_at_the_depth_limit)
{
  msb_buf ok = MSB_BUF_INIT, deep = MSB_BUF_INIT;
  put_nested_arrays (&ok, MSB_CBOR_MAX_DEPTH);
  put_nested_arrays (&deep, MSB_CBOR_MAX_DEPTH + 1);
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, ok.data, ok.len);
  CHECK (msb_cbor_skip (&r) == 0 && msb_cbor_at_end (&r));
  msb_cbor_reader_init (&r, deep.data, deep.len);
  CHECK (msb_cbor_skip (&r) < 0);
  CHECK_EQ_STR (r.error, "nesting too deep");
  msb_buf_free (&ok);
  msb_buf_free (&deep);
}

TEST (test_cbor_tag_chains_count_against_the_depth_limit)
{
  uint8_t in[100];
  memset (in, 0xc1, sizeof in - 1); /* tag 1, 99 times */
  in[sizeof in - 1] = 0x00;
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, in, sizeof in);
  CHECK (msb_cbor_skip (&r) < 0);
}

TEST (test_cbor_enter_counts_against_the_depth_limit)
{
  msb_buf b = MSB_BUF_INIT;
  put_nested_arrays (&b, MSB_CBOR_MAX_DEPTH + 1);
  msb_cbor_reader r;
  size_t n;
  unsigned entered = 0;
  msb_cbor_reader_init (&r, b.data, b.len);
  while (msb_cbor_enter_array (&r, &n) == 0)
    entered++;
  CHECK_EQ_INT (entered, MSB_CBOR_MAX_DEPTH);
  msb_buf_free (&b);
}

TEST (test_cbor_skip_steps_over_floats_tags_and_simple_values)
{
  /* [1.5 (half), 1.5 (single), 1.5 (double), undefined, simple(32), simple(16),
   *  tag 1(0), {"k": [true]}] */
  static const uint8_t in[] = { 0x88, 0xf9, 0x3e, 0x00, 0xfa, 0x3f, 0xc0, 0x00, 0x00,
                                0xfb, 0x3f, 0xf8, 0,    0,    0,    0,    0,    0,
                                0xf7, 0xf8, 0x20, 0xf0, 0xc1, 0x00, 0xa1, 0x61, 'k',
                                0x81, 0xf5, 0x07 };
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, in, sizeof in);
  CHECK_EQ_INT (msb_cbor_peek (&r), MSB_CBOR_ARRAY);
  CHECK (msb_cbor_skip (&r) == 0);
  uint64_t after = 0;
  CHECK (msb_cbor_read_uint (&r, &after) == 0 && after == 7);
  CHECK (msb_cbor_at_end (&r));
}

TEST (test_cbor_one_byte_simple_below_32_is_malformed)
{
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, LIT ("\xf8\x14"));
  CHECK (msb_cbor_skip (&r) < 0);
}

TEST (test_cbor_peek_classifies_initial_bytes)
{
  static const struct
  {
    uint8_t ib;
    msb_cbor_type t;
  } cases[] = {
    { 0x00, MSB_CBOR_UINT },   { 0x20, MSB_CBOR_NINT }, { 0x40, MSB_CBOR_BYTES },
    { 0x60, MSB_CBOR_TEXT },   { 0x80, MSB_CBOR_ARRAY }, { 0xa0, MSB_CBOR_MAP },
    { 0xc0, MSB_CBOR_TAG },    { 0xf4, MSB_CBOR_BOOL }, { 0xf5, MSB_CBOR_BOOL },
    { 0xf6, MSB_CBOR_NULL },   { 0xf7, MSB_CBOR_UNDEFINED }, { 0xf9, MSB_CBOR_FLOAT },
    { 0xe0, MSB_CBOR_SIMPLE }, { 0xff, MSB_CBOR_INVALID }, { 0x9f, MSB_CBOR_INVALID },
    { 0x1c, MSB_CBOR_INVALID },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_cbor_reader r;
      msb_cbor_reader_init (&r, &cases[i].ib, 1);
      CHECK_EQ_INT (msb_cbor_peek (&r), cases[i].t);
    }
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, NULL, 0);
  CHECK_EQ_INT (msb_cbor_peek (&r), MSB_CBOR_END);
}

TEST (test_cbor_take_null_consumes_only_null)
{
  msb_cbor_reader r;
  msb_cbor_reader_init (&r, LIT ("\xf6\x01"));
  CHECK (msb_cbor_take_null (&r));
  CHECK (!msb_cbor_take_null (&r));
  CHECK_EQ_INT (msb_cbor_remaining (&r), 1);
}

TEST_MAIN (TEST_ENTRY (test_cbor_uint_uses_shortest_head),
           TEST_ENTRY (test_cbor_negative_ints_encode_as_major_1),
           TEST_ENTRY (test_cbor_strings_containers_and_simple_values),
           TEST_ENTRY (test_cbor_reads_back_what_it_writes),
           TEST_ENTRY (test_cbor_accepts_non_shortest_heads),
           TEST_ENTRY (test_cbor_int_out_of_int64_range_is_rejected),
           TEST_ENTRY (test_cbor_type_mismatch_is_an_error),
           TEST_ENTRY (test_cbor_truncated_items_are_rejected),
           TEST_ENTRY (test_cbor_indefinite_lengths_are_rejected),
           TEST_ENTRY (test_cbor_reserved_additional_info_is_rejected),
           TEST_ENTRY (test_cbor_huge_declared_lengths_fail_without_allocating),
           TEST_ENTRY (test_cbor_skip_stops_at_the_depth_limit),
           TEST_ENTRY (test_cbor_tag_chains_count_against_the_depth_limit),
           TEST_ENTRY (test_cbor_enter_counts_against_the_depth_limit),
           TEST_ENTRY (test_cbor_skip_steps_over_floats_tags_and_simple_values),
           TEST_ENTRY (test_cbor_one_byte_simple_below_32_is_malformed),
           TEST_ENTRY (test_cbor_peek_classifies_initial_bytes),
           TEST_ENTRY (test_cbor_take_null_consumes_only_null))
