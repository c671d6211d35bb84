/* Decoding hostile, sloppy and future input: what is rejected (and with which error kind),
 * what is ignored, and what is defaulted. */
#include "proto/proto.h"

#include "tests/unit/proto/proto_test_util.h"
#include "tests/unit/test.h"

/* Decodes `type` with the literal payload; returns the error kind (NONE on success). */
static msb_proto_error_kind
decode_kind (const char *type, const uint8_t *payload, size_t n)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  int r = decode_payload (&body, type, payload, n, &m, &perr);
  if (r == 0 && perr != MSB_PERR_NONE)
    perr = (msb_proto_error_kind) 99; /* success must not report an error */
  if (r < 0 && (m.type_name != NULL || m.arena_ != NULL))
    perr = (msb_proto_error_kind) 98; /* failure must leave nothing allocated */
  msb_msg_clear (&m);
  msb_buf_free (&body);
  return perr;
}

static msb_proto_error_kind
decode_body (const uint8_t *body, size_t n, msb_msg *m, char *why, size_t why_len)
{
  msb_proto_error_kind perr = MSB_PERR_NONE;
  msb_msg_decode (body, n, m, &perr, why, why_len);
  return perr;
}

/* ---- envelope ---- */

TEST (test_decode_unknown_type_is_not_an_error)
{
  msb_msg m;
  char why[64];
  /* The payload is not even CBOR: an unknown type's payload is never looked at. */
  CHECK_EQ_INT (decode_body (LIT ("\xa3\x61" "v" "\x07\x61" "t" "\x6b" "core.future"
                                  "\x61" "p" "\x41\xff"),
                             &m, why, sizeof why),
                MSB_PERR_NONE);
  CHECK_EQ_INT (m.type, MSB_MSG_UNKNOWN);
  CHECK_EQ_STR (m.type_name, "core.future");
  CHECK_EQ_INT (m.generation, 7);
  msb_msg_clear (&m);
}

TEST (test_decode_newer_generation_is_accepted)
{
  msb_msg m;
  CHECK_EQ_INT (decode_body (LIT ("\xa3\x61" "v" "\x09\x61" "t" "\x69" "core.ping"
                                  "\x61" "p" "\x41\xa0"),
                             &m, NULL, 0),
                MSB_PERR_NONE);
  CHECK_EQ_INT (m.generation, 9);
  CHECK_EQ_INT (m.type, MSB_MSG_PING);
  msb_msg_clear (&m);
  CHECK_EQ_INT (decode_body (LIT ("\xa3\x61" "v" "\x1b\x00\x00\x01\x00\x00\x00\x00\x00"
                                  "\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0"),
                             &m, NULL, 0),
                MSB_PERR_NONE);
  CHECK (m.generation == UINT32_MAX); /* saturated, still "newer than us" */
  msb_msg_clear (&m);
}

TEST (test_decode_envelope_keys_in_any_order_and_unknown_keys_ignored)
{
  msb_msg m;
  CHECK_EQ_INT (decode_body (LIT ("\xa4\x61" "p" "\x41\xa0\x61" "x" "\x82\x01\xf6"
                                  "\x61" "t" "\x69" "core.pong\x61" "v" "\x07"),
                             &m, NULL, 0),
                MSB_PERR_NONE);
  CHECK_EQ_INT (m.type, MSB_MSG_PONG);
  msb_msg_clear (&m);
}

TEST (test_decode_malformed_envelopes)
{
  static const struct
  {
    const char *body;
    size_t n;
    const char *what;
  } cases[] = {
#define C(s, what) { s, sizeof (s) - 1, what }
    C ("", "empty body"),
    C ("\x83\x01\x02\x03", "array instead of map"),
    C ("\xa2\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0", "v missing"),
    C ("\xa3\x61" "v" "\x61" "7" "\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0", "v text"),
    C ("\xa3\x61" "v" "\x20\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0", "v negative"),
    C ("\xa3\x61" "v" "\xf6\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0", "v null"),
    C ("\xa2\x61" "v" "\x07\x61" "p" "\x41\xa0", "t missing"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x49" "core.ping\x61" "p" "\x41\xa0", "t bytes"),
    C ("\xa2\x61" "v" "\x07\x61" "t" "\x69" "core.ping", "p missing"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x69" "core.ping\x61" "p" "\xa0", "p a map"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x69" "core.ping\x61" "p" "\x42\xa0", "p truncated"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0\x00", "trailing"),
    C ("\xa4\x61" "v" "\x07\x61" "t" "\x69" "core.ping\x61" "t" "\x69" "core.pong"
       "\x61" "p" "\x41\xa0", "duplicate t"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x69" "core\0ping\x61" "p" "\x41\xa0", "NUL in t"),
    C ("\xbf\x61" "v" "\x07\x61" "t" "\x69" "core.ping\x61" "p" "\x41\xa0\xff", "indefinite"),
    C ("\xa3\x61" "v" "\x07\x61" "t" "\x7f\x69" "core.ping\xff\x61" "p" "\x41\xa0",
       "indefinite t"),
#undef C
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_msg m;
      char why[96] = "";
      msb_proto_error_kind k
          = decode_body ((const uint8_t *) cases[i].body, cases[i].n, &m, why, sizeof why);
      if (k != MSB_PERR_MALFORMED_MESSAGE)
        fprintf (stderr, "  case `%s` gave kind %d\n", cases[i].what, (int) k);
      CHECK_EQ_INT (k, MSB_PERR_MALFORMED_MESSAGE);
      CHECK (why[0] != '\0');
      CHECK (m.type_name == NULL && m.arena_ == NULL);
      msb_msg_clear (&m);
    }
}

TEST (test_decode_deep_nesting_in_envelope_is_malformed)
{
  msb_buf body = MSB_BUF_INIT;
  msb_cbor_put_map (&body, 4);
  msb_cbor_put_cstr (&body, "x");
  for (int i = 0; i < 1000; i++)
    msb_cbor_put_array (&body, 1);
  msb_cbor_put_null (&body);
  msb_cbor_put_cstr (&body, "v");
  msb_cbor_put_uint (&body, 7);
  msb_cbor_put_cstr (&body, "t");
  msb_cbor_put_cstr (&body, "core.ping");
  msb_cbor_put_cstr (&body, "p");
  msb_cbor_put_bytes (&body, "\xa0", 1);
  msb_msg m;
  char why[96];
  CHECK_EQ_INT (decode_body (body.data, body.len, &m, why, sizeof why),
                MSB_PERR_MALFORMED_MESSAGE);
  CHECK (strstr (why, "nesting too deep") != NULL);
  msb_buf_free (&body);
}

TEST (test_decode_peek_type_reads_only_the_envelope)
{
  msb_msg_type t = MSB_MSG_PING;
  CHECK_EQ_INT (msb_msg_peek_type (LIT ("\xa3\x61" "v" "\x07\x61" "t" "\x70" "core.exec.stdout"
                                        "\x61" "p" "\x41\xff"),
                                   &t),
                0);
  CHECK_EQ_INT (t, MSB_MSG_EXEC_STDOUT);
  CHECK_EQ_INT (msb_msg_peek_type (LIT ("\xa3\x61" "v" "\x07\x61" "t" "\x61" "x"
                                        "\x61" "p" "\x41\xa0"),
                                   &t),
                0);
  CHECK_EQ_INT (t, MSB_MSG_UNKNOWN);
  CHECK_EQ_INT (msb_msg_peek_type (LIT ("\xa1\x61" "t" "\x61" "x"), &t), -1);
  CHECK_EQ_INT (msb_msg_peek_type (LIT ("\xa4\x61" "v" "\x07\x61" "t" "\x69" "core.ping"
                                        "\x61" "t" "\x70" "core.exec.stdout"
                                        "\x61" "p" "\x41\xa0"),
                                   &t),
                -1);
}

/* ---- payloads ---- */

TEST (test_decode_payload_not_a_map_is_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.exited", LIT ("\x01")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.ping", LIT ("\xf6")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request", LIT ("\x80")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.fs.request", LIT ("")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.pong", LIT ("\xa0\xa0")), MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_shutdown_accepts_null_and_empty_map)
{
  CHECK_EQ_INT (decode_kind ("core.shutdown", LIT ("\xf6")), MSB_PERR_NONE);
  CHECK_EQ_INT (decode_kind ("core.shutdown", LIT ("\xa0")), MSB_PERR_NONE);
  CHECK_EQ_INT (decode_kind ("core.shutdown", LIT ("\x01")), MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_failure_keeps_only_type_and_generation)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  char why[128];
  put_envelope (&body, "core.exec.request", LIT ("\xa2\x63" "cmd" "\x62" "ls"
                                                 "\x64" "rows" "\x61" "x"));
  CHECK_EQ_INT (msb_msg_decode (body.data, body.len, &m, &perr, why, sizeof why), -1);
  CHECK_EQ_INT (perr, MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (m.type, MSB_MSG_EXEC_REQUEST); /* so core.error can name offending_type */
  CHECK_EQ_INT (m.generation, 7);
  CHECK (m.type_name == NULL && m.arena_ == NULL && m.u.exec_request.cmd == NULL);
  CHECK (strstr (why, "rows") != NULL);
  msb_msg_clear (&m);
  msb_msg_clear (&m); /* twice is fine */
  msb_buf_free (&body);
}

TEST (test_decode_unknown_payload_keys_are_ignored)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  /* {"x": [1.5, tag(1) 0, undefined, {"y": h''}], 1: 2, "code": 3} */
  CHECK_EQ_INT (decode_payload (&body, "core.exec.exited",
                                LIT ("\xa3\x61" "x" "\x84\xf9\x3e\x00\xc1\x00\xf7\xa1\x61" "y"
                                     "\x40\x01\x02\x64" "code" "\x03"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.exec_exited.code, 3);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_exec_request_defaults)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (decode_payload (&body, "core.exec.request", LIT ("\xa1\x63" "cmd" "\x62" "ls"),
                                &m, &perr),
                0);
  const msb_msg_exec_request *r = &m.u.exec_request;
  CHECK_EQ_STR (r->cmd, "ls");
  CHECK (r->args != NULL && r->args[0] == NULL);
  CHECK (r->env != NULL && r->env[0] == NULL);
  CHECK (r->cwd == NULL && r->user == NULL && !r->tty);
  CHECK_EQ_INT (r->rows, 24);
  CHECK_EQ_INT (r->cols, 80);
  CHECK_EQ_INT (r->n_rlimits, 0);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_null_reads_as_the_default)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (decode_payload (&body, "core.exec.request",
                                LIT ("\xa6\x63" "cmd" "\x62" "ls\x64" "rows" "\xf6"
                                     "\x64" "cols" "\xf6\x64" "args" "\xf6"
                                     "\x63" "tty" "\xf6\x67" "rlimits" "\xf6"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.exec_request.rows, 24);
  CHECK_EQ_INT (m.u.exec_request.cols, 80);
  CHECK (m.u.exec_request.args != NULL && m.u.exec_request.args[0] == NULL);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_read_dir_limit_defaults_to_128)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (decode_payload (&body, "core.fs.request",
                                LIT ("\xa1\x62" "op" "\xa1\x67" "ReadDir" "\xa1\x66" "handle"
                                     "\x05"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.fs_request.op, MSB_FS_OP_READ_DIR);
  CHECK (m.u.fs_request.handle == 5);
  CHECK (!m.u.fs_request.has_limit && m.u.fs_request.limit == 128);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_fs_op_ignores_fields_of_other_variants)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (decode_payload (&body, "core.fs.request",
                                LIT ("\xa1\x62" "op" "\xa1\x64" "Stat" "\xa2\x64" "path"
                                     "\x62" "/x" "\x66" "handle" "\x09"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.fs_request.op, MSB_FS_OP_STAT);
  CHECK (m.u.fs_request.handle == 0);
  CHECK (!m.u.fs_request.follow_symlink);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_missing_required_keys_are_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.exited", LIT ("\xa0")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request", LIT ("\xa1\x63" "tty" "\xf5")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.stdout", LIT ("\xa0")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.resize", LIT ("\xa1\x64" "rows" "\x01")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.fs.request", LIT ("\xa1\x62" "op" "\xa1\x64" "Stat\xa0")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.fs.response", LIT ("\xa0")), MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.error", LIT ("\xa1\x67" "message" "\x60")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.tcp.connect", LIT ("\xa1\x64" "host" "\x60")),
                MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_wrong_value_types_are_invalid)
{
  static const struct
  {
    const char *type;
    const char *payload;
    size_t n;
  } cases[] = {
#define C(t, p) { t, p, sizeof (p) - 1 }
    C ("core.exec.request", "\xa1\x63" "cmd" "\x05"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x64" "rows" "\x61" "x"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x64" "rows" "\x1a\x00\x01\x00\x00"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x64" "rows" "\x20"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x63" "tty" "\x01"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x64" "args" "\x61" "x"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x64" "args" "\x81\x01"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x63" "cwd" "\x01"),
    C ("core.exec.request", "\xa2\x63" "cmd" "\x60\x67" "rlimits" "\x81\xa1\x64" "soft" "\x01"),
    C ("core.exec.request", "\xa1\x63" "cmd" "\xf6"),
    C ("core.exec.exited", "\xa1\x64" "code" "\x1a\x80\x00\x00\x00"),
    C ("core.exec.exited", "\xa1\x64" "code" "\x3a\x80\x00\x00\x00"),
    C ("core.exec.exited", "\xa1\x64" "code" "\xf9\x3c\x00"),
    C ("core.exec.started", "\xa1\x63" "pid" "\x20"),
    C ("core.exec.started", "\xa1\x63" "pid" "\x1b\x00\x00\x00\x01\x00\x00\x00\x00"),
    C ("core.exec.stdout", "\xa1\x64" "data" "\x61" "x"),
    C ("core.exec.stdin.error", "\xa1\x65" "errno" "\x61" "x"),
    C ("core.ready", "\xa1\x6c" "boot_time_ns" "\x20"),
    C ("core.error", "\xa1\x64" "kind" "\x01"),
    C ("core.fs.request", "\xa1\x62" "op" "\x64" "Stat"),
    C ("core.fs.request", "\xa1\x62" "op" "\xa2\x64" "List\xa1\x64" "path\x60"
                          "\x64" "Stat\xa1\x64" "path\x60"),
    C ("core.fs.request", "\xa1\x62" "op" "\xa1\x64" "Nope\xa0"),
    C ("core.fs.request", "\xa1\x62" "op" "\xa1\x64" "Read\xa2\x66" "handle" "\x01"
                          "\x63" "len" "\x20"),
    C ("core.fs.request", "\xa1\x62" "op" "\xa1\x68" "OpenFile\xa2\x64" "path\x60"
                          "\x67" "options" "\xa1\x64" "read" "\x01"),
    C ("core.fs.request", "\xa1\x62" "op" "\xa1\x67" "SetStat\xa2\x64" "path\x60"
                          "\x65" "attrs" "\xa1\x64" "mode" "\x1b\x00\x00\x00\x01\x00\x00\x00\x00"),
    C ("core.fs.response", "\xa1\x62" "ok" "\x01"),
    C ("core.fs.response", "\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x64" "Nope\x01"),
    C ("core.fs.response", "\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x66" "Handle\x20"),
    C ("core.fs.response", "\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x64" "List\xa0"),
    C ("core.fs.response", "\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x64" "Stat\xa1\x64" "path\x60"),
    C ("core.tcp.connect", "\xa2\x64" "host" "\x60\x64" "port" "\x1a\x00\x01\x00\x00"),
    C ("core.bootstrap", "\xa1\x64" "init" "\xa1\x64" "args" "\x80"),
    C ("core.init.resolved", "\xa1\x6c" "default_user" "\xa1\x63" "uid" "\x01"),
#undef C
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_proto_error_kind k
          = decode_kind (cases[i].type, (const uint8_t *) cases[i].payload, cases[i].n);
      if (k != MSB_PERR_INVALID_PAYLOAD)
        fprintf (stderr, "  case %zu (%s) gave kind %d\n", i, cases[i].type, (int) k);
      CHECK_EQ_INT (k, MSB_PERR_INVALID_PAYLOAD);
    }
}

TEST (test_decode_nul_in_text_that_becomes_a_c_string_is_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.request", LIT ("\xa1\x63" "cmd" "\x63" "a\0b")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.fs.request",
                             LIT ("\xa1\x62" "op" "\xa1\x66" "Remove\xa1\x64" "path"
                                  "\x66" "/etc\0x")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request",
                             LIT ("\xa2\x63" "cmd" "\x60\x63" "env" "\x81\x63" "A\0B")),
                MSB_PERR_INVALID_PAYLOAD);
  /* Byte strings may hold anything. */
  CHECK_EQ_INT (decode_kind ("core.exec.stdin", LIT ("\xa1\x64" "data" "\x43" "a\0b")),
                MSB_PERR_NONE);
}

TEST (test_decode_duplicate_payload_keys_are_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.exited", LIT ("\xa2\x64" "code" "\x01\x64" "code" "\x02")),
                MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_trailing_bytes_after_payload_are_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.exited", LIT ("\xa1\x64" "code" "\x01\x00")),
                MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_indefinite_length_payloads_are_invalid)
{
  CHECK_EQ_INT (decode_kind ("core.exec.exited", LIT ("\xbf\x64" "code" "\x01\xff")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.stdout", LIT ("\xa1\x64" "data" "\x5f\x41" "a" "\xff")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request",
                             LIT ("\xa2\x63" "cmd" "\x60\x64" "args" "\x9f\x60\xff")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.ping", LIT ("\xbf\xff")), MSB_PERR_INVALID_PAYLOAD);
}

TEST (test_decode_deep_nesting_in_payload_is_invalid)
{
  msb_buf payload = MSB_BUF_INIT;
  msb_cbor_put_map (&payload, 2);
  msb_cbor_put_cstr (&payload, "x");
  for (int i = 0; i < 100000; i++)
    msb_cbor_put_map (&payload, 1), msb_cbor_put_cstr (&payload, "");
  msb_cbor_put_null (&payload);
  msb_cbor_put_cstr (&payload, "code");
  msb_cbor_put_uint (&payload, 0);
  CHECK_EQ_INT (decode_kind ("core.exec.exited", payload.data, payload.len),
                MSB_PERR_INVALID_PAYLOAD);
  msb_buf_free (&payload);
}

TEST (test_decode_huge_declared_counts_are_invalid)
{
  /* args declares 2^32 - 1 strings, rlimits 2^64 - 1 maps, a List 2^31 entries, cmd a
   * text of 2^63 bytes: none of it exists, so nothing may be allocated for it. */
  CHECK_EQ_INT (decode_kind ("core.exec.request",
                             LIT ("\xa2\x63" "cmd" "\x60\x64" "args" "\x9a\xff\xff\xff\xff\x60")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request",
                             LIT ("\xa2\x63" "cmd" "\x60\x67" "rlimits"
                                  "\x9b\xff\xff\xff\xff\xff\xff\xff\xff\xa0")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.fs.response",
                             LIT ("\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x64" "List"
                                  "\x9a\x80\x00\x00\x00\xa0")),
                MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_INT (decode_kind ("core.exec.request",
                             LIT ("\xa1\x63" "cmd" "\x7b\x7f\xff\xff\xff\xff\xff\xff\xff" "a")),
                MSB_PERR_INVALID_PAYLOAD);
  /* Many real, tiny items are fine: every one of them is in the input. */
  msb_buf payload = MSB_BUF_INIT;
  msb_cbor_put_map (&payload, 2);
  msb_cbor_put_cstr (&payload, "cmd");
  msb_cbor_put_cstr (&payload, "x");
  msb_cbor_put_cstr (&payload, "args");
  msb_cbor_put_array (&payload, 100000);
  for (int i = 0; i < 100000; i++)
    msb_cbor_put_cstr (&payload, "");
  CHECK_EQ_INT (decode_kind ("core.exec.request", payload.data, payload.len), MSB_PERR_NONE);
  msb_buf_free (&payload);
}

TEST (test_decode_unknown_enum_values_fall_back)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg m;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (decode_payload (&body, "core.exec.failed",
                                LIT ("\xa1\x64" "kind" "\x67" "new_one"), &m, &perr),
                0);
  CHECK_EQ_INT (m.u.exec_failed.kind, MSB_EXEC_FAILED_OTHER);
  CHECK_EQ_STR (m.u.exec_failed.message, "");
  CHECK (!m.u.exec_failed.has_errno && m.u.exec_failed.stage == NULL);
  msb_msg_clear (&m);
  msb_buf_reset (&body);

  CHECK_EQ_INT (decode_payload (&body, "core.error", LIT ("\xa1\x64" "kind" "\x67" "new_one"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.error.kind, MSB_PERR_NONE);
  CHECK_EQ_STR (m.u.error.message, "");
  msb_msg_clear (&m);
  msb_buf_reset (&body);

  CHECK_EQ_INT (decode_payload (&body, "core.fs.response",
                                LIT ("\xa2\x62" "ok" "\xf5\x64" "data" "\xa1\x64" "Stat"
                                     "\xa2\x64" "path" "\x61" "s" "\x64" "kind" "\x66" "socket"),
                                &m, &perr),
                0);
  CHECK_EQ_INT (m.u.fs_response.kind, MSB_FS_RESP_STAT);
  CHECK_EQ_INT (m.u.fs_response.stat.kind, MSB_FS_KIND_OTHER);
  CHECK (!m.u.fs_response.stat.has_modified && m.u.fs_response.stat.size == 0);
  msb_msg_clear (&m);
  msb_buf_free (&body);
}

TEST (test_decode_without_perr_or_errbuf)
{
  msb_msg m;
  CHECK_EQ_INT (msb_msg_decode (LIT ("\x00"), &m, NULL, NULL, 0), -1);
  char tiny[4];
  msb_proto_error_kind perr;
  CHECK_EQ_INT (msb_msg_decode (LIT ("\x00"), &m, &perr, tiny, sizeof tiny), -1);
  CHECK_EQ_INT (strlen (tiny), 3);
  msb_msg zero = { 0 };
  msb_msg_clear (&zero);
}

TEST_MAIN (TEST_ENTRY (test_decode_unknown_type_is_not_an_error),
           TEST_ENTRY (test_decode_newer_generation_is_accepted),
           TEST_ENTRY (test_decode_envelope_keys_in_any_order_and_unknown_keys_ignored),
           TEST_ENTRY (test_decode_malformed_envelopes),
           TEST_ENTRY (test_decode_deep_nesting_in_envelope_is_malformed),
           TEST_ENTRY (test_decode_peek_type_reads_only_the_envelope),
           TEST_ENTRY (test_decode_payload_not_a_map_is_invalid),
           TEST_ENTRY (test_decode_shutdown_accepts_null_and_empty_map),
           TEST_ENTRY (test_decode_failure_keeps_only_type_and_generation),
           TEST_ENTRY (test_decode_unknown_payload_keys_are_ignored),
           TEST_ENTRY (test_decode_exec_request_defaults),
           TEST_ENTRY (test_decode_null_reads_as_the_default),
           TEST_ENTRY (test_decode_read_dir_limit_defaults_to_128),
           TEST_ENTRY (test_decode_fs_op_ignores_fields_of_other_variants),
           TEST_ENTRY (test_decode_missing_required_keys_are_invalid),
           TEST_ENTRY (test_decode_wrong_value_types_are_invalid),
           TEST_ENTRY (test_decode_nul_in_text_that_becomes_a_c_string_is_invalid),
           TEST_ENTRY (test_decode_duplicate_payload_keys_are_invalid),
           TEST_ENTRY (test_decode_trailing_bytes_after_payload_are_invalid),
           TEST_ENTRY (test_decode_indefinite_length_payloads_are_invalid),
           TEST_ENTRY (test_decode_deep_nesting_in_payload_is_invalid),
           TEST_ENTRY (test_decode_huge_declared_counts_are_invalid),
           TEST_ENTRY (test_decode_unknown_enum_values_fall_back),
           TEST_ENTRY (test_decode_without_perr_or_errbuf))
