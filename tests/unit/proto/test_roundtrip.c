/* Every message type, every FsOp variant and every FsResponseData variant survives
 * encode -> decode with its fields intact, and re-encodes to the same bytes. */
#include "proto/proto.h"

#include "tests/unit/proto/proto_test_util.h"
#include "tests/unit/test.h"

/* Round-trips `m` into *out (body kept in *body for zero-copy fields); checks the type, the
 * generation and that the decoded message re-encodes byte for byte. */
static int
trip (const msb_msg *m, msb_buf *body, msb_msg *out)
{
  if (round_trip (m, body, out) < 0)
    return 0;
  return out->type == m->type && out->generation == MSB_PROTO_GENERATION
         && strcmp (out->type_name, msb_msg_type_name (m->type)) == 0
         && reencodes_identically (out, body);
}

static int
strv_eq (char *const *a, char *const *b)
{
  size_t i = 0;
  for (; a && a[i] && b && b[i]; i++)
    if (strcmp (a[i], b[i]) != 0)
      return 0;
  return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

TEST (test_roundtrip_payloadless_types)
{
  static const msb_msg_type types[] = {
    MSB_MSG_INIT_ACK,  MSB_MSG_SHUTDOWN,  MSB_MSG_PING,      MSB_MSG_PONG,
    MSB_MSG_TOUCH,     MSB_MSG_TCP_CONNECTED, MSB_MSG_TCP_EOF, MSB_MSG_TCP_CLOSE,
    MSB_MSG_TCP_CLOSED,
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      msb_msg m = { .type = types[i] }, out;
      msb_buf body = MSB_BUF_INIT;
      CHECK (trip (&m, &body, &out));
      msb_msg_clear (&out);
      msb_buf_free (&body);
    }
}

TEST (test_roundtrip_bootstrap)
{
  char *env[] = { "PATH=/bin", "HOME=/root", NULL };
  char *init_args[] = { "--flag", "", NULL };
  char *init_env[] = { "X=1", NULL };
  msb_msg m = { .type = MSB_MSG_BOOTSTRAP }, out;
  m.u.bootstrap = (msb_msg_bootstrap){ .hostname = "box", .env = env, .workdir = "/work",
                                       .user = "1000:1000", .init_cmd = "/sbin/init",
                                       .init_args = init_args, .init_env = init_env,
                                       .clock_unix_nanos = 1700000000123456789ull };
  msb_buf body = MSB_BUF_INIT;
  CHECK (trip (&m, &body, &out));
  const msb_msg_bootstrap *b = &out.u.bootstrap;
  CHECK_EQ_STR (b->hostname, "box");
  CHECK (strv_eq (b->env, env));
  CHECK_EQ_STR (b->workdir, "/work");
  CHECK_EQ_STR (b->user, "1000:1000");
  CHECK_EQ_STR (b->init_cmd, "/sbin/init");
  CHECK (strv_eq (b->init_args, init_args));
  CHECK (strv_eq (b->init_env, init_env));
  CHECK (b->clock_unix_nanos == 1700000000123456789ull);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_bootstrap_defaults_stay_null)
{
  msb_msg m = { .type = MSB_MSG_BOOTSTRAP }, out;
  msb_buf body = MSB_BUF_INIT;
  CHECK (trip (&m, &body, &out));
  const msb_msg_bootstrap *b = &out.u.bootstrap;
  CHECK (b->hostname == NULL && b->workdir == NULL && b->user == NULL && b->init_cmd == NULL);
  CHECK (b->env != NULL && b->env[0] == NULL); /* vectors are never NULL once decoded */
  CHECK (b->init_args != NULL && b->init_args[0] == NULL);
  CHECK (b->init_env != NULL && b->init_env[0] == NULL);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_init_resolved_ready_and_ids)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg out;

  msb_msg m = { .type = MSB_MSG_INIT_RESOLVED, .u.init_resolved = { 1000, UINT32_MAX } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.init_resolved.uid == 1000 && out.u.init_resolved.gid == UINT32_MAX);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_READY, .u.ready = { UINT64_MAX, 5, 6, "1.2.3" } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.ready.boot_time_ns == UINT64_MAX && out.u.ready.init_time_ns == 5);
  CHECK (out.u.ready.ready_time_ns == 6);
  CHECK_EQ_STR (out.u.ready.agent_version, "1.2.3");
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_RELAY_CLIENT_DISCONNECTED,
                 .u.relay_client_disconnected = { 33554432u, 67108863u } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.relay_client_disconnected.id_start == 33554432u);
  CHECK (out.u.relay_client_disconnected.id_end_exclusive == 67108863u);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_CLOCK_SYNC, .u.clock_sync = { 1234567890123ull } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.clock_sync.unix_time_nanos == 1234567890123ull);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_TOUCHED, .u.touched = { 42 } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.touched.activity_seq == 42);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_error_with_and_without_offending_type)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg out;
  for (int k = MSB_PERR_MALFORMED_MESSAGE; k <= MSB_PERR_INVALID_SESSION; k++)
    {
      msb_msg m = { .type = MSB_MSG_ERROR };
      m.u.error = (msb_msg_error){ (msb_proto_error_kind) k, "why", k % 2 ? "core.x" : NULL };
      CHECK (trip (&m, &body, &out));
      CHECK_EQ_INT (out.u.error.kind, k);
      CHECK_EQ_STR (out.u.error.message, "why");
      if (k % 2)
        CHECK_EQ_STR (out.u.error.offending_type, "core.x");
      else
        CHECK (out.u.error.offending_type == NULL);
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }
  msb_buf_free (&body);
}

TEST (test_roundtrip_exec_request)
{
  char *args[] = { "-c", "echo hi", NULL };
  char *env[] = { "A=1", "B=", NULL };
  msb_rlimit_spec rl[] = { { "nofile", 1024, 4096 }, { "cpu", 0, UINT64_MAX } };
  msb_msg m = { .type = MSB_MSG_EXEC_REQUEST }, out;
  m.u.exec_request = (msb_msg_exec_request){ .cmd = "/bin/sh", .args = args, .env = env,
                                             .cwd = "/tmp", .user = "nobody", .tty = true,
                                             .rows = 50, .cols = 200, .rlimits = rl,
                                             .n_rlimits = 2 };
  msb_buf body = MSB_BUF_INIT;
  CHECK (trip (&m, &body, &out));
  const msb_msg_exec_request *r = &out.u.exec_request;
  CHECK_EQ_STR (r->cmd, "/bin/sh");
  CHECK (strv_eq (r->args, args));
  CHECK (strv_eq (r->env, env));
  CHECK_EQ_STR (r->cwd, "/tmp");
  CHECK_EQ_STR (r->user, "nobody");
  CHECK (r->tty);
  CHECK_EQ_INT (r->rows, 50);
  CHECK_EQ_INT (r->cols, 200);
  CHECK_EQ_INT (r->n_rlimits, 2);
  CHECK_EQ_STR (r->rlimits[1].resource, "cpu");
  CHECK (r->rlimits[0].soft == 1024 && r->rlimits[0].hard == 4096);
  CHECK (r->rlimits[1].hard == UINT64_MAX);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_exec_small_messages)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg out;

  msb_msg m = { .type = MSB_MSG_EXEC_STARTED, .u.exec_started = { 4242 } };
  CHECK (trip (&m, &body, &out));
  CHECK_EQ_INT (out.u.exec_started.pid, 4242);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  int32_t codes[] = { 0, 1, 127, -1, INT32_MIN, INT32_MAX };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    {
      m = (msb_msg){ .type = MSB_MSG_EXEC_EXITED, .u.exec_exited = { codes[i] } };
      CHECK (trip (&m, &body, &out));
      CHECK_EQ_INT (out.u.exec_exited.code, codes[i]);
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }

  m = (msb_msg){ .type = MSB_MSG_EXEC_RESIZE, .u.exec_resize = { 65535, 1 } };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.exec_resize.rows == 65535 && out.u.exec_resize.cols == 1);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_EXEC_SIGNAL, .u.exec_signal = { 9 } };
  CHECK (trip (&m, &body, &out));
  CHECK_EQ_INT (out.u.exec_signal.signal, 9);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_data_messages_are_zero_copy)
{
  static const msb_msg_type types[] = { MSB_MSG_EXEC_STDIN, MSB_MSG_EXEC_STDOUT,
                                        MSB_MSG_EXEC_STDERR, MSB_MSG_FS_DATA, MSB_MSG_TCP_DATA };
  static const uint8_t bytes[] = { 0, 1, 2, 0xff, 'x' };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      msb_msg m = { .type = types[i], .u.data.data = { bytes, sizeof bytes } }, out;
      msb_buf body = MSB_BUF_INIT;
      CHECK (trip (&m, &body, &out));
      CHECK_EQ_INT (out.u.data.data.len, sizeof bytes);
      CHECK_MEM (out.u.data.data.data, bytes, sizeof bytes);
      CHECK (out.u.data.data.data >= body.data && out.u.data.data.data < body.data + body.len);
      msb_msg_clear (&out);
      msb_buf_free (&body);
    }
}

TEST (test_roundtrip_empty_data_is_eof)
{
  msb_msg m = { .type = MSB_MSG_EXEC_STDIN }, out;
  msb_buf body = MSB_BUF_INIT;
  CHECK (trip (&m, &body, &out));
  CHECK_EQ_INT (out.u.data.data.len, 0);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_large_stdout_chunk)
{
  size_t n = MSB_DATA_CHUNK_MAX;
  uint8_t *chunk = malloc (n);
  for (size_t i = 0; i < n; i++)
    chunk[i] = (uint8_t) (i * 31);
  msb_msg m = { .type = MSB_MSG_EXEC_STDOUT, .u.data.data = { chunk, n } }, out;
  msb_buf frame = MSB_BUF_INIT;
  msb_msg_write_frame (&frame, 77, 0, &m);
  CHECK (frame.len <= 4 + MSB_FRAME_MAX_LEN);
  msb_frame f;
  size_t consumed;
  msb_proto_error_kind perr;
  CHECK_EQ_INT (msb_frame_parse (frame.data, frame.len, &f, &consumed), 1);
  CHECK_EQ_INT (msb_msg_decode (f.body, f.body_len, &out, &perr, NULL, 0), 0);
  CHECK_EQ_INT (out.u.data.data.len, n);
  CHECK (memcmp (out.u.data.data.data, chunk, n) == 0);
  msb_msg_clear (&out);
  msb_buf_free (&frame);
  free (chunk);
}

TEST (test_roundtrip_payload_sizes_around_head_boundaries)
{
  /* The payload's byte-string head is 1, 2, 3 or 5 bytes; each size class must come out
   * intact after the encoder slides the payload into place. */
  static const size_t ranges[][2] = { { 0, 300 }, { 65500, 65560 } };
  for (size_t r = 0; r < 2; r++)
    for (size_t n = ranges[r][0]; n < ranges[r][1]; n++)
      {
        uint8_t *chunk = malloc (n + 1);
        memset (chunk, (int) (n & 0xff), n);
        msb_msg m = { .type = MSB_MSG_FS_DATA, .u.data.data = { chunk, n } }, out;
        msb_buf body = MSB_BUF_INIT;
        CHECK (trip (&m, &body, &out));
        CHECK_EQ_INT (out.u.data.data.len, n);
        CHECK (n == 0 || memcmp (out.u.data.data.data, chunk, n) == 0);
        msb_msg_clear (&out);
        msb_buf_free (&body);
        free (chunk);
      }
}

TEST (test_roundtrip_stdin_error)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg out;
  msb_msg m = { .type = MSB_MSG_EXEC_STDIN_ERROR };
  m.u.exec_stdin_error = (msb_msg_exec_stdin_error){ true, 32, "EPIPE", "broken pipe" };
  CHECK (trip (&m, &body, &out));
  CHECK (out.u.exec_stdin_error.has_errno && out.u.exec_stdin_error.errnum == 32);
  CHECK_EQ_STR (out.u.exec_stdin_error.errno_name, "EPIPE");
  CHECK_EQ_STR (out.u.exec_stdin_error.message, "broken pipe");
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m.u.exec_stdin_error = (msb_msg_exec_stdin_error){ false, 0, NULL, "closed" };
  CHECK (trip (&m, &body, &out));
  CHECK (!out.u.exec_stdin_error.has_errno);
  CHECK (out.u.exec_stdin_error.errno_name == NULL);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_exec_failed_every_kind)
{
  msb_buf body = MSB_BUF_INIT;
  msb_msg out;
  for (int k = MSB_EXEC_FAILED_OTHER; k <= MSB_EXEC_FAILED_PTY_SETUP_FAILED; k++)
    {
      msb_msg m = { .type = MSB_MSG_EXEC_FAILED };
      m.u.exec_failed = (msb_msg_exec_failed){ (msb_exec_fail_kind) k, k % 2, -k, "ENOENT",
                                               "nope", k % 2 ? "execve" : NULL };
      CHECK (trip (&m, &body, &out));
      const msb_msg_exec_failed *f = &out.u.exec_failed;
      CHECK_EQ_INT (f->kind, k);
      CHECK_EQ_INT (f->has_errno, k % 2);
      if (k % 2)
        {
          CHECK_EQ_INT (f->errnum, -k);
          CHECK_EQ_STR (f->stage, "execve");
        }
      else
        CHECK (f->stage == NULL);
      CHECK_EQ_STR (f->errno_name, "ENOENT");
      CHECK_EQ_STR (f->message, "nope");
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }
  msb_buf_free (&body);
}

/* ---- filesystem ---- */

static int
fs_trip (const msb_msg_fs_request *req, msb_msg *out, msb_buf *body)
{
  msb_msg m = { .type = MSB_MSG_FS_REQUEST, .u.fs_request = *req };
  return trip (&m, body, out) && out->u.fs_request.op == req->op;
}

TEST (test_roundtrip_fs_ops_on_paths)
{
  static const msb_fs_op_kind path_ops[] = {
    MSB_FS_OP_REAL_PATH, MSB_FS_OP_LIST,   MSB_FS_OP_READ_LINK,
    MSB_FS_OP_REMOVE,    MSB_FS_OP_OPEN_DIR,
  };
  for (size_t i = 0; i < sizeof path_ops / sizeof path_ops[0]; i++)
    {
      msb_msg_fs_request req = { .op = path_ops[i], .path = "/a/b c" };
      msb_msg out;
      msb_buf body = MSB_BUF_INIT;
      CHECK (fs_trip (&req, &out, &body));
      CHECK_EQ_STR (out.u.fs_request.path, "/a/b c");
      msb_msg_clear (&out);
      msb_buf_free (&body);
    }
}

TEST (test_roundtrip_fs_stat_set_stat_and_fset_stat)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_msg_fs_request req = { .op = MSB_FS_OP_STAT, .path = "/x", .follow_symlink = true };
  CHECK (fs_trip (&req, &out, &body));
  CHECK (out.u.fs_request.follow_symlink);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  msb_fs_attrs attrs = { .has_mode = true, .mode = 0644, .has_gid = true, .gid = 7,
                         .has_atime = true, .atime = -5, .has_mtime = true,
                         .mtime = INT64_MAX };
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_SET_STAT, .path = "/y", .attrs = attrs };
  CHECK (fs_trip (&req, &out, &body));
  const msb_fs_attrs *a = &out.u.fs_request.attrs;
  CHECK_EQ_STR (out.u.fs_request.path, "/y");
  CHECK (!out.u.fs_request.follow_symlink);
  CHECK (a->has_mode && a->mode == 0644 && !a->has_uid && a->has_gid && a->gid == 7);
  CHECK (!a->has_size && a->has_atime && a->atime == -5 && a->mtime == INT64_MAX);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  attrs = (msb_fs_attrs){ .has_uid = true, .uid = 1, .has_size = true, .size = UINT64_MAX };
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_FSET_STAT, .handle = 3, .attrs = attrs };
  CHECK (fs_trip (&req, &out, &body));
  a = &out.u.fs_request.attrs;
  CHECK (out.u.fs_request.handle == 3);
  CHECK (a->has_uid && a->uid == 1 && a->has_size && a->size == UINT64_MAX && !a->has_mode);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_fs_symlink_mkdir_remove_dir_copy_rename)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_msg_fs_request req = { .op = MSB_FS_OP_SYMLINK, .target = "../t", .link_path = "/l" };
  CHECK (fs_trip (&req, &out, &body));
  CHECK_EQ_STR (out.u.fs_request.target, "../t");
  CHECK_EQ_STR (out.u.fs_request.link_path, "/l");
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  req = (msb_msg_fs_request){ .op = MSB_FS_OP_MKDIR, .path = "/d", .has_mode = true,
                              .mode = 0700 };
  CHECK (fs_trip (&req, &out, &body));
  CHECK (out.u.fs_request.has_mode && out.u.fs_request.mode == 0700);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  req = (msb_msg_fs_request){ .op = MSB_FS_OP_MKDIR, .path = "/d" };
  CHECK (fs_trip (&req, &out, &body));
  CHECK (!out.u.fs_request.has_mode);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE_DIR, .path = "/d", .recursive = true };
  CHECK (fs_trip (&req, &out, &body));
  CHECK (out.u.fs_request.recursive);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  msb_fs_op_kind two_path_ops[] = { MSB_FS_OP_COPY, MSB_FS_OP_RENAME };
  for (size_t i = 0; i < 2; i++)
    {
      req = (msb_msg_fs_request){ .op = two_path_ops[i], .src = "/s", .dst = "/d" };
      CHECK (fs_trip (&req, &out, &body));
      CHECK_EQ_STR (out.u.fs_request.src, "/s");
      CHECK_EQ_STR (out.u.fs_request.dst, "/d");
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }
  msb_buf_free (&body);
}

TEST (test_roundtrip_fs_open_file_options)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_FILE, .path = "/f" };
  req.open = (msb_fs_open_options){ .write = true, .create = true, .truncate = true,
                                    .has_mode = true, .mode = 0600 };
  CHECK (fs_trip (&req, &out, &body));
  const msb_fs_open_options *o = &out.u.fs_request.open;
  CHECK (!o->read && o->write && !o->append && o->create && o->truncate && !o->create_new);
  CHECK (o->has_mode && o->mode == 0600);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  req.open = (msb_fs_open_options){ .read = true, .append = true, .create_new = true };
  CHECK (fs_trip (&req, &out, &body));
  o = &out.u.fs_request.open;
  CHECK (o->read && !o->write && o->append && !o->create && o->create_new && !o->has_mode);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_fs_handle_ops)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_fs_op_kind plain[] = { MSB_FS_OP_CLOSE_HANDLE, MSB_FS_OP_FSTAT };
  for (size_t i = 0; i < 2; i++)
    {
      msb_msg_fs_request req = { .op = plain[i], .handle = UINT64_MAX };
      CHECK (fs_trip (&req, &out, &body));
      CHECK (out.u.fs_request.handle == UINT64_MAX);
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }
  msb_fs_op_kind io[] = { MSB_FS_OP_READ, MSB_FS_OP_WRITE };
  for (size_t i = 0; i < 2; i++)
    {
      msb_msg_fs_request req = { .op = io[i], .handle = 1, .offset = 4096, .has_len = true,
                                 .len = 10 };
      CHECK (fs_trip (&req, &out, &body));
      CHECK (out.u.fs_request.offset == 4096 && out.u.fs_request.has_len);
      CHECK (out.u.fs_request.len == 10);
      msb_msg_clear (&out);
      msb_buf_reset (&body);

      req.has_len = false;
      CHECK (fs_trip (&req, &out, &body));
      CHECK (!out.u.fs_request.has_len);
      msb_msg_clear (&out);
      msb_buf_reset (&body);
    }
  msb_msg_fs_request req = { .op = MSB_FS_OP_READ_DIR, .handle = 2, .has_limit = true,
                             .limit = 5 };
  CHECK (fs_trip (&req, &out, &body));
  CHECK (out.u.fs_request.has_limit && out.u.fs_request.limit == 5);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  req.has_limit = false;
  req.limit = 0;
  CHECK (fs_trip (&req, &out, &body));
  CHECK (!out.u.fs_request.has_limit && out.u.fs_request.limit == 128);
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

static msb_fs_entry_info
sample_entry (char *path, msb_fs_kind kind)
{
  return (msb_fs_entry_info){ .path = path, .kind = kind, .size = 123, .mode = 0100644,
                              .has_modified = true, .modified = 1700000000, .uid = 1,
                              .gid = 2, .has_atime = true, .atime = -1 };
}

static int
entry_eq (const msb_fs_entry_info *a, const msb_fs_entry_info *b)
{
  return strcmp (a->path, b->path) == 0 && a->kind == b->kind && a->size == b->size
         && a->mode == b->mode && a->has_modified == b->has_modified
         && (!a->has_modified || a->modified == b->modified) && a->uid == b->uid
         && a->gid == b->gid && a->has_atime == b->has_atime
         && (!a->has_atime || a->atime == b->atime)
         && a->has_mtime == b->has_mtime && (!a->has_mtime || a->mtime == b->mtime);
}

static int
resp_trip (const msb_msg_fs_response *resp, msb_msg *out, msb_buf *body)
{
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE, .u.fs_response = *resp };
  return trip (&m, body, out) && out->u.fs_response.kind == resp->kind
         && out->u.fs_response.ok == resp->ok;
}

TEST (test_roundtrip_fs_response_variants)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_msg_fs_response resp = { .ok = false, .error = "ENOENT: gone" };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK_EQ_STR (out.u.fs_response.error, "ENOENT: gone");
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  resp = (msb_msg_fs_response){ .ok = true, .kind = MSB_FS_RESP_STAT,
                                .stat = sample_entry ("/etc", MSB_FS_KIND_DIR) };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK (out.u.fs_response.error == NULL);
  CHECK (entry_eq (&out.u.fs_response.stat, &resp.stat));
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  msb_fs_entry_info entries[] = { sample_entry ("a", MSB_FS_KIND_FILE),
                                  sample_entry ("b", MSB_FS_KIND_SYMLINK),
                                  sample_entry ("c", MSB_FS_KIND_OTHER) };
  entries[1].has_modified = false;
  entries[2].has_mtime = true;
  entries[2].mtime = 9;
  resp = (msb_msg_fs_response){ .ok = true, .kind = MSB_FS_RESP_LIST, .entries = entries,
                                .n_entries = 3 };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK_EQ_INT (out.u.fs_response.n_entries, 3);
  for (size_t i = 0; i < 3 && out.u.fs_response.n_entries == 3; i++)
    CHECK (entry_eq (&out.u.fs_response.entries[i], &entries[i]));
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  resp = (msb_msg_fs_response){ .ok = true, .kind = MSB_FS_RESP_LIST };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK_EQ_INT (out.u.fs_response.n_entries, 0);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  resp = (msb_msg_fs_response){ .ok = true, .kind = MSB_FS_RESP_HANDLE, .handle = 1ull << 40 };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK (out.u.fs_response.handle == 1ull << 40);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  resp = (msb_msg_fs_response){ .ok = true, .kind = MSB_FS_RESP_PATH, .path = "/real" };
  CHECK (resp_trip (&resp, &out, &body));
  CHECK_EQ_STR (out.u.fs_response.path, "/real");
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_tcp)
{
  msb_msg out;
  msb_buf body = MSB_BUF_INIT;
  msb_msg m = { .type = MSB_MSG_TCP_CONNECT, .u.tcp_connect = { "127.0.0.1", 8080 } };
  CHECK (trip (&m, &body, &out));
  CHECK_EQ_STR (out.u.tcp_connect.host, "127.0.0.1");
  CHECK_EQ_INT (out.u.tcp_connect.port, 8080);
  msb_msg_clear (&out);
  msb_buf_reset (&body);

  m = (msb_msg){ .type = MSB_MSG_TCP_FAILED, .u.tcp_failed = { "connection refused" } };
  CHECK (trip (&m, &body, &out));
  CHECK_EQ_STR (out.u.tcp_failed.error, "connection refused");
  msb_msg_clear (&out);
  msb_buf_free (&body);
}

TEST (test_roundtrip_every_known_type_has_a_name_flags_and_generation)
{
  for (int t = MSB_MSG_UNKNOWN + 1; t < MSB_MSG__COUNT; t++)
    {
      const char *name = msb_msg_type_name ((msb_msg_type) t);
      CHECK (name != NULL);
      CHECK_EQ_INT (msb_msg_type_from_name (name, strlen (name)), t);
      CHECK (msb_msg_type_generation ((msb_msg_type) t) >= 1);
      CHECK (msb_msg_type_generation ((msb_msg_type) t) <= MSB_PROTO_GENERATION);
      CHECK ((msb_msg_type_flags ((msb_msg_type) t) & ~MSB_FLAG_MASK) == 0);
    }
  CHECK (msb_msg_type_name (MSB_MSG_UNKNOWN) == NULL);
  CHECK_EQ_INT (msb_msg_type_from_name ("core.pin", 8), MSB_MSG_UNKNOWN);
  CHECK_EQ_INT (msb_msg_type_from_name ("core.pingx", 10), MSB_MSG_UNKNOWN);
}

TEST (test_roundtrip_flags_follow_the_spec_table)
{
  static const msb_msg_type terminal[] = { MSB_MSG_PONG, MSB_MSG_TOUCHED, MSB_MSG_ERROR,
                                           MSB_MSG_EXEC_EXITED, MSB_MSG_EXEC_FAILED,
                                           MSB_MSG_FS_RESPONSE, MSB_MSG_TCP_CLOSED,
                                           MSB_MSG_TCP_FAILED };
  static const msb_msg_type start[] = { MSB_MSG_EXEC_REQUEST, MSB_MSG_FS_REQUEST,
                                        MSB_MSG_TCP_CONNECT };
  int expected[MSB_MSG__COUNT] = { 0 };
  for (size_t i = 0; i < sizeof terminal / sizeof terminal[0]; i++)
    expected[terminal[i]] = MSB_FLAG_TERMINAL;
  for (size_t i = 0; i < sizeof start / sizeof start[0]; i++)
    expected[start[i]] = MSB_FLAG_SESSION_START;
  expected[MSB_MSG_SHUTDOWN] = MSB_FLAG_SHUTDOWN;
  for (int t = 0; t < MSB_MSG__COUNT; t++)
    CHECK_EQ_INT (msb_msg_type_flags ((msb_msg_type) t), expected[t]);
}

TEST (test_roundtrip_enum_names)
{
  CHECK_EQ_STR (msb_proto_error_kind_name (MSB_PERR_INVALID_FLAGS), "invalid_flags");
  CHECK_EQ_INT (msb_proto_error_kind_from_name ("unsupported_protocol_generation"),
                MSB_PERR_UNSUPPORTED_PROTOCOL_GENERATION);
  CHECK_EQ_INT (msb_proto_error_kind_from_name ("bogus"), MSB_PERR_NONE);
  CHECK_EQ_STR (msb_exec_fail_kind_name (MSB_EXEC_FAILED_USER_SETUP_FAILED),
                "user_setup_failed");
  CHECK_EQ_INT (msb_exec_fail_kind_from_name ("not_executable"),
                MSB_EXEC_FAILED_NOT_EXECUTABLE);
  CHECK_EQ_INT (msb_exec_fail_kind_from_name ("bogus"), MSB_EXEC_FAILED_OTHER);
  CHECK_EQ_INT (msb_exec_fail_kind_from_name (NULL), MSB_EXEC_FAILED_OTHER);
}

TEST_MAIN (TEST_ENTRY (test_roundtrip_payloadless_types),
           TEST_ENTRY (test_roundtrip_bootstrap),
           TEST_ENTRY (test_roundtrip_bootstrap_defaults_stay_null),
           TEST_ENTRY (test_roundtrip_init_resolved_ready_and_ids),
           TEST_ENTRY (test_roundtrip_error_with_and_without_offending_type),
           TEST_ENTRY (test_roundtrip_exec_request),
           TEST_ENTRY (test_roundtrip_exec_small_messages),
           TEST_ENTRY (test_roundtrip_data_messages_are_zero_copy),
           TEST_ENTRY (test_roundtrip_empty_data_is_eof),
           TEST_ENTRY (test_roundtrip_large_stdout_chunk),
           TEST_ENTRY (test_roundtrip_payload_sizes_around_head_boundaries),
           TEST_ENTRY (test_roundtrip_stdin_error),
           TEST_ENTRY (test_roundtrip_exec_failed_every_kind),
           TEST_ENTRY (test_roundtrip_fs_ops_on_paths),
           TEST_ENTRY (test_roundtrip_fs_stat_set_stat_and_fset_stat),
           TEST_ENTRY (test_roundtrip_fs_symlink_mkdir_remove_dir_copy_rename),
           TEST_ENTRY (test_roundtrip_fs_open_file_options),
           TEST_ENTRY (test_roundtrip_fs_handle_ops),
           TEST_ENTRY (test_roundtrip_fs_response_variants),
           TEST_ENTRY (test_roundtrip_tcp),
           TEST_ENTRY (test_roundtrip_every_known_type_has_a_name_flags_and_generation),
           TEST_ENTRY (test_roundtrip_flags_follow_the_spec_table),
           TEST_ENTRY (test_roundtrip_enum_names))
