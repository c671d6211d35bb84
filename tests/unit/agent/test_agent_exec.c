/* msb-agent, exec sessions (API.md §1.5, §1.6, §3.6): output and exit codes, stdin, the
 * failure kinds, env/cwd/user/rlimits, signals, tty mode, reaping. */
#include <sys/resource.h>

#include "tests/unit/agent/agent_harness.h"

static agent_proc ap;
static char scratch[64];

static void
setup (void)
{
  if (agent_boot (&ap) != 0)
    {
      fprintf (stderr, "cannot boot the agent\n");
      exit (1);
    }
}

static void
teardown (void)
{
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

static void
write_file (const char *name, const char *content, mode_t mode, char *path_out)
{
  snprintf (path_out, 128, "%s/%s", scratch, name);
  int fd = open (path_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd >= 0)
    {
      if (write (fd, content, strlen (content)) < 0)
        perror ("write");
      fchmod (fd, mode);
      close (fd);
    }
}

TEST (test_exec_streams_stdout_and_exit_code)
{
  setup ();
  exec_result r;
  exec_run (&ap, 1, &(exec_opts){ .cmd = "sh", .args = { "-c", "echo hello; exit 3" } }, &r);
  CHECK (r.is_started && r.pid > 0);
  CHECK (r.is_exited);
  CHECK_EQ_INT (r.code, 3);
  CHECK_EQ_STR (exec_stdout (&r), "hello\n");
  CHECK_EQ_INT (r.err.len, 0);
  CHECK_EQ_INT (r.n_output_before_started, 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_keeps_stdout_and_stderr_apart)
{
  setup ();
  exec_result r;
  exec_run (&ap, 1, &(exec_opts){ .cmd = "sh", .args = { "-c", "echo out; echo err >&2; echo out2" } }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "out\nout2\n");
  CHECK_EQ_STR (exec_stderr (&r), "err\n");
  CHECK_EQ_INT (r.code, 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_stdin_round_trip_with_eof)
{
  setup ();
  exec_result r = { .id = 2 };
  exec_send (&ap, 2, &(exec_opts){ .cmd = "cat", .keep_stdin_open = true });
  exec_send_stdin (&ap, 2, "hello ", 6);
  exec_send_stdin (&ap, 2, "world", 5);
  exec_send_stdin (&ap, 2, "", 0);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK_EQ_STR (exec_stdout (&r), "hello world");
  CHECK (r.is_exited && r.code == 0);
  CHECK_EQ_INT (r.n_stdin_errors, 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_stdin_to_closed_pipe_reports_stdin_error)
{
  setup ();
  exec_result r = { .id = 3 };
  exec_send (&ap, 3, &(exec_opts){ .cmd = "sh", .args = { "-c", "exec 0<&-; echo closed; sleep 0.5" },
                                    .keep_stdin_open = true });
  for (uint64_t end = harness_now_ms () + 5000; r.out.len == 0 && harness_now_ms () < end;)
    exec_pump (&ap, &r, 1, 50, exec_is_done);
  exec_send_stdin (&ap, 3, "data", 4);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK_EQ_INT (r.n_stdin_errors, 1);
  CHECK_EQ_INT (r.stdin_errno, EPIPE);
  CHECK (r.is_exited && r.code == 0);
  exec_result_free (&r);
  teardown ();
}

static void
check_failed (const char *cmd, const char *cwd, msb_exec_fail_kind kind, int errnum, const char *stage)
{
  exec_result r;
  exec_run (&ap, 4, &(exec_opts){ .cmd = cmd, .cwd = cwd }, &r);
  CHECK (r.is_failed);
  CHECK (!r.is_started);
  CHECK_EQ_INT (r.fail_kind, kind);
  if (errnum)
    {
      CHECK_EQ_INT (r.fail_errno, errnum);
      CHECK_EQ_STR (r.fail_errno_name, strerrorname_np (errnum));
    }
  CHECK_EQ_STR (r.fail_stage, stage);
  CHECK (strlen (r.fail_message) > 0);
  if (r.fail_kind != kind)
    fprintf (stderr, "  %s: got kind %d: %s\n", cmd, r.fail_kind, r.fail_message);
  exec_result_free (&r);
}

TEST (test_exec_failed_not_found)
{
  setup ();
  check_failed ("/nonexistent/tool", NULL, MSB_EXEC_FAILED_NOT_FOUND, ENOENT, "exec");
  check_failed ("no-such-command-anywhere", NULL, MSB_EXEC_FAILED_NOT_FOUND, ENOENT, "exec");
  teardown ();
}

TEST (test_exec_failed_bad_cwd)
{
  setup ();
  check_failed ("true", "/nonexistent-dir", MSB_EXEC_FAILED_BAD_CWD, ENOENT, "chdir");
  teardown ();
}

TEST (test_exec_failed_permission_denied_for_non_executable_file)
{
  setup ();
  char path[128];
  write_file ("noexec.sh", "#!/bin/sh\necho hi\n", 0644, path);
  check_failed (path, NULL, MSB_EXEC_FAILED_PERMISSION_DENIED, EACCES, "exec");
  teardown ();
}

TEST (test_exec_failed_not_executable_for_garbage_and_directory)
{
  setup ();
  char path[128];
  write_file ("garbage", "\x01\x02\x03 not an executable\n", 0755, path);
  check_failed (path, NULL, MSB_EXEC_FAILED_NOT_EXECUTABLE, ENOEXEC, "exec");
  check_failed (scratch, NULL, MSB_EXEC_FAILED_NOT_EXECUTABLE, EISDIR, "exec");
  teardown ();
}

TEST (test_exec_failed_bad_args_for_empty_command)
{
  setup ();
  check_failed ("", NULL, MSB_EXEC_FAILED_BAD_ARGS, 0, "spawn");
  teardown ();
}

TEST (test_exec_env_overrides_bootstrap_defaults_and_prefixes_path)
{
  setup ();
  exec_result r;
  exec_run (&ap, 5,
            &(exec_opts){ .cmd = "sh", .args = { "-c", "echo $FOO $BASE $NEW; echo $PATH; echo $HOME" },
                          .env = { "FOO=over", "NEW=new" } },
            &r);
  CHECK_EQ_STR (exec_stdout (&r), "over base new\n/.msb/scripts:" HARNESS_PATH "\n/root\n");
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_path_search_uses_the_child_env)
{
  setup ();
  char path[128];
  write_file ("mytool", "#!/bin/sh\necho found-in-custom-path\n", 0755, path);
  char env_path[160];
  snprintf (env_path, sizeof env_path, "PATH=%s:/usr/bin:/bin", scratch);
  exec_result r;
  exec_run (&ap, 5, &(exec_opts){ .cmd = "mytool", .env = { env_path } }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "found-in-custom-path\n");
  CHECK_EQ_INT (r.code, 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_cwd_from_request_and_from_bootstrap)
{
  setup ();
  exec_result r;
  exec_run (&ap, 6, &(exec_opts){ .cmd = "pwd", .cwd = "/tmp" }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "/tmp\n");
  exec_result_free (&r);
  exec_run (&ap, 6, &(exec_opts){ .cmd = "pwd" }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "/\n");
  exec_result_free (&r);
  teardown ();

  agent_proc other;
  msb_msg_bootstrap b = { .env = harness_default_env, .workdir = scratch };
  CHECK (agent_boot_with (&other, &b, NULL) == 0);
  exec_run (&other, 6, &(exec_opts){ .cmd = "pwd" }, &r);
  char expected[128];
  snprintf (expected, sizeof expected, "%s\n", scratch);
  CHECK_EQ_STR (exec_stdout (&r), expected);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&other), 0);
}

static void
check_ids (agent_proc *a, const char *user, const char *expected)
{
  exec_result r;
  exec_run (a, 7, &(exec_opts){ .cmd = "sh", .args = { "-c", "id -u; id -g; id -G" }, .user = user }, &r);
  CHECK (r.is_exited && r.code == 0);
  CHECK_EQ_STR (exec_stdout (&r), expected);
  if (r.is_failed)
    fprintf (stderr, "  user %s: %s\n", user, r.fail_message);
  exec_result_free (&r);
}

TEST (test_exec_switches_user)
{
  if (geteuid () != 0)
    {
      printf ("# skipped: needs root\n");
      return;
    }
  setup ();
  check_ids (&ap, "nobody", "65534\n65534\n65534\n");
  check_ids (&ap, "65534:65534", "65534\n65534\n65534\n");
  check_ids (&ap, "1:1", "1\n1\n1\n");
  check_ids (&ap, "4242", "4242\n0\n0\n");
  check_ids (&ap, "nobody:daemon", "65534\n1\n1\n");
  exec_result r;
  exec_run (&ap, 7, &(exec_opts){ .cmd = "sh", .args = { "-c", "echo $HOME" }, .user = "nobody" }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "/nonexistent\n");
  exec_result_free (&r);
  exec_run (&ap, 7, &(exec_opts){ .cmd = "true", .user = "no-such-user" }, &r);
  CHECK (r.is_failed && r.fail_kind == MSB_EXEC_FAILED_USER_SETUP_FAILED);
  CHECK_EQ_STR (r.fail_stage, "user");
  exec_result_free (&r);
  exec_run (&ap, 7, &(exec_opts){ .cmd = "true", .user = "nobody:no-such-group" }, &r);
  CHECK (r.is_failed && r.fail_kind == MSB_EXEC_FAILED_USER_SETUP_FAILED);
  exec_result_free (&r);
  teardown ();

  agent_proc other;
  msb_msg_bootstrap b = { .env = harness_default_env, .user = "daemon" };
  CHECK (agent_boot_with (&other, &b, NULL) == 0);
  check_ids (&other, NULL, "1\n1\n1\n");
  check_ids (&other, "root", "0\n0\n0\n");
  CHECK_EQ_INT (agent_shutdown (&other), 0);
}

TEST (test_exec_applies_rlimits)
{
  setup ();
  exec_result r;
  exec_opts o = { .cmd = "sh", .args = { "-c", "ulimit -n" } };
  o.rlimits[0] = (msb_rlimit_spec){ "nofile", 256, 256 };
  o.n_rlimits = 1;
  exec_run (&ap, 8, &o, &r);
  CHECK_EQ_STR (exec_stdout (&r), "256\n");
  exec_result_free (&r);

  /* Above the kernel's nr_open even root cannot go: a resource_limit failure. */
  o.rlimits[0] = (msb_rlimit_spec){ "nofile", 1ull << 40, 1ull << 40 };
  exec_run (&ap, 8, &o, &r);
  CHECK (r.is_failed && r.fail_kind == MSB_EXEC_FAILED_RESOURCE_LIMIT);
  CHECK_EQ_STR (r.fail_stage, "rlimit");
  exec_result_free (&r);

  o.rlimits[0] = (msb_rlimit_spec){ "bogus", 1, 1 };
  exec_run (&ap, 8, &o, &r);
  CHECK (r.is_failed && r.fail_kind == MSB_EXEC_FAILED_BAD_ARGS);
  exec_result_free (&r);

  /* Children get the agent's original nofile, not the one it raised for itself. */
  exec_run (&ap, 8, &(exec_opts){ .cmd = "sh", .args = { "-c", "ulimit -n" } }, &r);
  char expected[32];
  struct rlimit rl;
  getrlimit (RLIMIT_NOFILE, &rl);
  snprintf (expected, sizeof expected, "%llu\n", (unsigned long long) rl.rlim_cur);
  CHECK_EQ_STR (exec_stdout (&r), expected);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_signal_reaches_process_group)
{
  setup ();
  exec_result r = { .id = 9 };
  exec_send (&ap, 9, &(exec_opts){ .cmd = "sh", .args = { "-c", "sleep 30 & sleep 30; wait" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  CHECK (r.is_started);
  usleep (100000);
  exec_send_signal (&ap, 9, SIGTERM);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (r.is_exited);
  CHECK_EQ_INT (r.code, -1);
  /* The background sleep was in the group too. */
  CHECK_EQ_INT (wait_no_children (ap.pid, 3000), 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_session_is_its_own_session_leader)
{
  setup ();
  exec_result r;
  exec_run (&ap, 10, &(exec_opts){ .cmd = "sh", .args = { "-c", "cut -d' ' -f1,5,6 /proc/$$/stat" } }, &r);
  int pid = 0, pgid = 0, sid = 0;
  CHECK_EQ_INT (sscanf (exec_stdout (&r), "%d %d %d", &pid, &pgid, &sid), 3);
  CHECK_EQ_INT (pid, r.pid);
  CHECK_EQ_INT (pgid, r.pid);
  CHECK_EQ_INT (sid, r.pid);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_tty_gets_a_pty_and_merges_output)
{
  setup ();
  exec_result r;
  exec_run (&ap, 11, &(exec_opts){ .cmd = "tty", .tty = true }, &r);
  CHECK (strncmp (exec_stdout (&r), "/dev/pts/", 9) == 0);
  CHECK_EQ_INT (r.code, 0);
  exec_result_free (&r);
  exec_run (&ap, 11, &(exec_opts){ .cmd = "sh", .args = { "-c", "echo out; echo err >&2; echo $TERM" }, .tty = true }, &r);
  CHECK_EQ_STR (exec_stdout (&r), "out\r\nerr\r\nxterm\r\n");
  CHECK_EQ_INT (r.err.len, 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_tty_size_and_resize)
{
  setup ();
  exec_result r = { .id = 12 };
  exec_send (&ap, 12, &(exec_opts){ .cmd = "sh", .args = { "-c", "stty size; read x; stty size" },
                                     .tty = true, .rows = 30, .cols = 90 });
  for (uint64_t end = harness_now_ms () + 5000; !strstr (exec_stdout (&r), "30 90\r\n") && harness_now_ms () < end;)
    exec_pump (&ap, &r, 1, 50, exec_is_done);
  CHECK (strstr (exec_stdout (&r), "30 90\r\n") != NULL);
  exec_send_resize (&ap, 12, 40, 100);
  exec_send_stdin (&ap, 12, "\n", 1);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (strstr (exec_stdout (&r), "40 100\r\n") != NULL);
  CHECK (r.is_exited && r.code == 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_exited_does_not_wait_for_background_writers_and_orphans_are_reaped)
{
  setup ();
  exec_result r;
  uint64_t t0 = harness_now_ms ();
  exec_run (&ap, 13, &(exec_opts){ .cmd = "sh", .args = { "-c", "sleep 0.3 & echo parent-done; exit 0" } }, &r);
  CHECK (r.is_exited && r.code == 0);
  CHECK_EQ_STR (exec_stdout (&r), "parent-done\n");
  CHECK (harness_now_ms () - t0 < 300);
  /* The orphaned sleep was reparented to the agent (subreaper) and must be reaped. */
  CHECK_EQ_INT (wait_no_children (ap.pid, 3000), 0);
  exec_result_free (&r);
  teardown ();
}

TEST (test_exec_output_written_right_before_exit_arrives_before_exited)
{
  setup ();
  for (int i = 0; i < 20; i++)
    {
      exec_result r;
      exec_run (&ap, 14, &(exec_opts){ .cmd = "sh", .args = { "-c", "head -c 100000 /dev/zero; echo tail >&2" } }, &r);
      CHECK_EQ_INT (r.out.len, 100000);
      CHECK_EQ_STR (exec_stderr (&r), "tail\n");
      CHECK_EQ_INT (r.n_frames_after_terminal, 0);
      exec_result_free (&r);
    }
  teardown ();
}

int
main (int argc, char **argv)
{
  snprintf (scratch, sizeof scratch, "/tmp/msb-agent-test-XXXXXX");
  if (mkdtemp (scratch) == NULL)
    return 1;
  chmod (scratch, 0755);
  static const msb_test_case cases[] = {
    TEST_ENTRY (test_exec_streams_stdout_and_exit_code),
    TEST_ENTRY (test_exec_keeps_stdout_and_stderr_apart),
    TEST_ENTRY (test_exec_stdin_round_trip_with_eof),
    TEST_ENTRY (test_exec_stdin_to_closed_pipe_reports_stdin_error),
    TEST_ENTRY (test_exec_failed_not_found),
    TEST_ENTRY (test_exec_failed_bad_cwd),
    TEST_ENTRY (test_exec_failed_permission_denied_for_non_executable_file),
    TEST_ENTRY (test_exec_failed_not_executable_for_garbage_and_directory),
    TEST_ENTRY (test_exec_failed_bad_args_for_empty_command),
    TEST_ENTRY (test_exec_env_overrides_bootstrap_defaults_and_prefixes_path),
    TEST_ENTRY (test_exec_path_search_uses_the_child_env),
    TEST_ENTRY (test_exec_cwd_from_request_and_from_bootstrap),
    TEST_ENTRY (test_exec_switches_user),
    TEST_ENTRY (test_exec_applies_rlimits),
    TEST_ENTRY (test_exec_signal_reaches_process_group),
    TEST_ENTRY (test_exec_session_is_its_own_session_leader),
    TEST_ENTRY (test_exec_tty_gets_a_pty_and_merges_output),
    TEST_ENTRY (test_exec_tty_size_and_resize),
    TEST_ENTRY (test_exec_exited_does_not_wait_for_background_writers_and_orphans_are_reaped),
    TEST_ENTRY (test_exec_output_written_right_before_exit_arrives_before_exited),
  };
  int rc = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf %s", scratch);
  if (system (cmd) != 0)
    rc = 1;
  return rc;
}
