/* Golden bytes: frames written out by hand from API.md §3.2-3.5, so an encoder change that
 * would break interoperability with other implementations fails here, not in the field. */
#include "proto/proto.h"

#include "tests/unit/proto/proto_test_util.h"
#include "tests/unit/test.h"

static int
frame_is (const msb_msg *m, uint32_t id, uint8_t extra_flags, const uint8_t *want, size_t n)
{
  msb_buf b = MSB_BUF_INIT;
  msb_msg_write_frame (&b, id, extra_flags, m);
  int same = b.len == n && memcmp (b.data, want, n) == 0;
  if (!same)
    {
      fprintf (stderr, "  got %zu bytes:", b.len);
      for (size_t i = 0; i < b.len; i++)
        fprintf (stderr, " %02x", b.data[i]);
      fprintf (stderr, "\n");
    }
  msb_buf_free (&b);
  return same;
}

/* Decoding the golden frame gives back a message that encodes to the same frame. */
static int
golden_decodes (const uint8_t *frame, size_t n, msb_msg_type type)
{
  msb_frame f;
  size_t consumed;
  msb_msg m;
  msb_proto_error_kind perr;
  if (msb_frame_parse (frame, n, &f, &consumed) != 1 || consumed != n)
    return 0;
  if (msb_msg_decode (f.body, f.body_len, &m, &perr, NULL, 0) < 0)
    return 0;
  msb_buf again = MSB_BUF_INIT;
  msb_msg_write_frame (&again, f.id, f.flags, &m);
  int ok = m.type == type && again.len == n && memcmp (again.data, frame, n) == 0;
  msb_buf_free (&again);
  msb_msg_clear (&m);
  return ok;
}

static const uint8_t ping_frame[] = "\x00\x00\x00\x19" /* len 25 */
                                    "\x00\x00\x00\x07" /* id 7 */
                                    "\x00"             /* flags */
                                    "\xa3"             /* map(3) */
                                    "\x61" "v" "\x07"
                                    "\x61" "t" "\x69" "core.ping"
                                    "\x61" "p" "\x41\xa0"; /* bytes(1) {} */

TEST (test_golden_ping_id_7)
{
  msb_msg m = { .type = MSB_MSG_PING };
  CHECK (frame_is (&m, 7, 0, ping_frame, sizeof ping_frame - 1));
  CHECK (golden_decodes (ping_frame, sizeof ping_frame - 1, MSB_MSG_PING));
}

static const uint8_t shutdown_frame[] = "\x00\x00\x00\x1d" /* len 29 */
                                        "\x00\x00\x00\x00" /* id 0 */
                                        "\x04"             /* SHUTDOWN */
                                        "\xa3"
                                        "\x61" "v" "\x07"
                                        "\x61" "t" "\x6d" "core.shutdown"
                                        "\x61" "p" "\x41\xf6"; /* bytes(1) null */

TEST (test_golden_shutdown_id_0_carries_null)
{
  msb_msg m = { .type = MSB_MSG_SHUTDOWN };
  CHECK (frame_is (&m, 0, 0, shutdown_frame, sizeof shutdown_frame - 1));
  CHECK (golden_decodes (shutdown_frame, sizeof shutdown_frame - 1, MSB_MSG_SHUTDOWN));
}

static const uint8_t exited_frame[] = "\x00\x00\x00\x26" /* len 38 */
                                      "\x02\x00\x00\x00" /* id 33554432 (slot 1's first) */
                                      "\x01"             /* TERMINAL */
                                      "\xa3"
                                      "\x61" "v" "\x07"
                                      "\x61" "t" "\x70" "core.exec.exited"
                                      "\x61" "p" "\x47"  /* bytes(7) */
                                      "\xa1\x64" "code" "\x20"; /* {"code": -1} */

TEST (test_golden_exec_exited_minus_1_is_terminal)
{
  msb_msg m = { .type = MSB_MSG_EXEC_EXITED, .u.exec_exited.code = -1 };
  CHECK (frame_is (&m, 33554432u, 0, exited_frame, sizeof exited_frame - 1));
  CHECK (golden_decodes (exited_frame, sizeof exited_frame - 1, MSB_MSG_EXEC_EXITED));
}

static const uint8_t request_frame[] =
    "\x00\x00\x00\x83" /* len 131 */
    "\x00\x00\x00\x05" /* id 5 */
    "\x02"             /* SESSION_START */
    "\xa3"
    "\x61" "v" "\x07"
    "\x61" "t" "\x71" "core.exec.request"
    "\x61" "p" "\x58\x62" /* bytes(98) */
    "\xa9"
    "\x63" "cmd" "\x62" "ls"
    "\x64" "args" "\x81\x62" "-l"
    "\x63" "env" "\x81\x63" "A=1"
    "\x63" "cwd" "\xf6"
    "\x64" "user" "\xf6"
    "\x63" "tty" "\xf4"
    "\x64" "rows" "\x18\x18"
    "\x64" "cols" "\x18\x50"
    "\x67" "rlimits" "\x81\xa3"
    "\x68" "resource" "\x66" "nofile"
    "\x64" "soft" "\x19\x04\x00"
    "\x64" "hard" "\x19\x10\x00";

TEST (test_golden_exec_request_with_args_env_rlimits)
{
  char *args[] = { "-l", NULL };
  char *env[] = { "A=1", NULL };
  msb_rlimit_spec rl = { .resource = "nofile", .soft = 1024, .hard = 4096 };
  msb_msg m = { .type = MSB_MSG_EXEC_REQUEST };
  m.u.exec_request = (msb_msg_exec_request){ .cmd = "ls", .args = args, .env = env,
                                             .rows = 24, .cols = 80, .rlimits = &rl,
                                             .n_rlimits = 1 };
  CHECK (frame_is (&m, 5, 0, request_frame, sizeof request_frame - 1));
  CHECK (golden_decodes (request_frame, sizeof request_frame - 1, MSB_MSG_EXEC_REQUEST));
}

static const uint8_t ready_frame[] = "\x00\x00\x00\x46" /* len 70 */
                                     "\x00\x00\x00\x00"
                                     "\x00"
                                     "\xa3"
                                     "\x61" "v" "\x07"
                                     "\x61" "t" "\x6a" "core.ready"
                                     "\x61" "p" "\x58\x2c" /* bytes(44) */
                                     "\xa3"
                                     "\x6c" "boot_time_ns" "\x01"
                                     "\x6c" "init_time_ns" "\x02"
                                     "\x6d" "ready_time_ns" "\x03";

static const uint8_t ready_version_frame[] = "\x00\x00\x00\x5a" /* len 90 */
                                             "\x00\x00\x00\x00"
                                             "\x00"
                                             "\xa3"
                                             "\x61" "v" "\x07"
                                             "\x61" "t" "\x6a" "core.ready"
                                             "\x61" "p" "\x58\x40" /* bytes(64) */
                                             "\xa4"
                                             "\x6c" "boot_time_ns" "\x01"
                                             "\x6c" "init_time_ns" "\x02"
                                             "\x6d" "ready_time_ns" "\x03"
                                             "\x6d" "agent_version" "\x65" "0.1.0";

TEST (test_golden_ready_omits_empty_agent_version)
{
  msb_msg m = { .type = MSB_MSG_READY };
  m.u.ready = (msb_msg_ready){ 1, 2, 3, NULL };
  CHECK (frame_is (&m, 0, 0, ready_frame, sizeof ready_frame - 1));
  m.u.ready.agent_version = "";
  CHECK (frame_is (&m, 0, 0, ready_frame, sizeof ready_frame - 1));
  CHECK (golden_decodes (ready_frame, sizeof ready_frame - 1, MSB_MSG_READY));
}

TEST (test_golden_ready_with_agent_version)
{
  msb_msg m = { .type = MSB_MSG_READY };
  m.u.ready = (msb_msg_ready){ 1, 2, 3, "0.1.0" };
  CHECK (frame_is (&m, 0, 0, ready_version_frame, sizeof ready_version_frame - 1));
  CHECK (golden_decodes (ready_version_frame, sizeof ready_version_frame - 1, MSB_MSG_READY));
}

static const uint8_t error_frame[] = "\x00\x00\x00\x58" /* len 88 */
                                     "\x00\x00\x00\x00"
                                     "\x01"
                                     "\xa3"
                                     "\x61" "v" "\x07"
                                     "\x61" "t" "\x6a" "core.error"
                                     "\x61" "p" "\x58\x3e" /* bytes(62) */
                                     "\xa3"
                                     "\x64" "kind" "\x78\x18" "unsupported_message_type"
                                     "\x67" "message" "\x62" "no"
                                     "\x6e" "offending_type" "\x63" "x.y";

TEST (test_golden_error_names_offending_type)
{
  msb_msg m = { .type = MSB_MSG_ERROR };
  m.u.error = (msb_msg_error){ MSB_PERR_UNSUPPORTED_MESSAGE_TYPE, "no", "x.y" };
  CHECK (frame_is (&m, 0, 0, error_frame, sizeof error_frame - 1));
  CHECK (golden_decodes (error_frame, sizeof error_frame - 1, MSB_MSG_ERROR));
}

static const uint8_t fs_stat_frame[] = "\x00\x00\x00\x44" /* len 68 */
                                       "\x00\x00\x00\x09"
                                       "\x02"
                                       "\xa3"
                                       "\x61" "v" "\x07"
                                       "\x61" "t" "\x6f" "core.fs.request"
                                       "\x61" "p" "\x58\x25" /* bytes(37) */
                                       "\xa1\x62" "op"
                                       "\xa1\x64" "Stat"
                                       "\xa2\x64" "path" "\x64" "/etc"
                                       "\x6e" "follow_symlink" "\xf5";

TEST (test_golden_fs_request_is_externally_tagged)
{
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  m.u.fs_request = (msb_msg_fs_request){ .op = MSB_FS_OP_STAT, .path = "/etc",
                                         .follow_symlink = true };
  CHECK (frame_is (&m, 9, 0, fs_stat_frame, sizeof fs_stat_frame - 1));
  CHECK (golden_decodes (fs_stat_frame, sizeof fs_stat_frame - 1, MSB_MSG_FS_REQUEST));
}

TEST (test_golden_extra_flags_are_or_ed_in)
{
  msb_msg m = { .type = MSB_MSG_PING };
  msb_buf b = MSB_BUF_INIT;
  msb_msg_write_frame (&b, 7, MSB_FLAG_TERMINAL, &m);
  CHECK_EQ_INT (b.data[8], MSB_FLAG_TERMINAL);
  msb_buf_free (&b);
}

TEST_MAIN (TEST_ENTRY (test_golden_ping_id_7),
           TEST_ENTRY (test_golden_shutdown_id_0_carries_null),
           TEST_ENTRY (test_golden_exec_exited_minus_1_is_terminal),
           TEST_ENTRY (test_golden_exec_request_with_args_env_rlimits),
           TEST_ENTRY (test_golden_ready_omits_empty_agent_version),
           TEST_ENTRY (test_golden_ready_with_agent_version),
           TEST_ENTRY (test_golden_error_names_offending_type),
           TEST_ENTRY (test_golden_fs_request_is_externally_tagged),
           TEST_ENTRY (test_golden_extra_flags_are_or_ed_in))
