/* The C API against real sandboxes: create, exec (buffered and streamed), stdin, signals,
 * terminals, timeouts, the lifecycle calls and the error kinds they fail with, and many
 * commands at once on one handle.
 *
 * Environment: MSB_HOME (a state root this test owns; leftovers of an earlier run are removed
 * first) and MSB_TEST_IMAGE_DIR (the busybox OCI layout, loaded here as local/busybox:latest).
 * Exits 77 (skipped) without them or when not root. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <msb/msb.h>

#include "tests/unit/test.h"

#define IMAGE "local/busybox:latest"

static msb_ctx *ctx;

/* ---- helpers ---- */

static void
die (const char *what, msb_error *err)
{
  fprintf (stderr, "setup: %s: %s\n", what, err ? msb_error_get_message (err) : "?");
  exit (1);
}

static char *
unique_name (const char *label)
{
  static unsigned counter;
  char *name = NULL;
  if (asprintf (&name, "capi-%d-%s-%u", (int) getpid (), label,
                __atomic_add_fetch (&counter, 1, __ATOMIC_SEQ_CST))
      < 0)
    abort ();
  return name;
}

static msb_config *
config (void)
{
  msb_config *cfg = msb_config_new ();
  msb_error *err = NULL;
  if (msb_config_set_image (cfg, IMAGE, &err) < 0 || msb_config_set_memory_mib (cfg, 128, &err) < 0)
    die ("config", err);
  return cfg;
}

/* A sandbox with the default config; detached ones must be removed with destroy(). */
static msb_sandbox *
create (const char *name, unsigned flags)
{
  msb_config *cfg = config ();
  msb_sandbox *sb = NULL;
  msb_error *err = NULL;
  if (msb_sandbox_create (ctx, name, cfg, flags, -1, &sb, &err) < 0)
    die ("create", err);
  msb_config_free (cfg);
  return sb;
}

static void
destroy (const char *name)
{
  msb_sandbox_kill (ctx, name, -1, NULL);
  msb_sandbox_remove (ctx, name, NULL);
}

static msb_error_kind
kind_of (msb_error *err)
{
  msb_error_kind k = err ? msb_error_get_kind (err) : 0;
  msb_error_free (err);
  return k;
}

/* Runs cmd with args (NULL-terminated) and default options; fails the test on an API error. */
static int
run (msb_sandbox *sb, msb_exec_output *out, const msb_exec_opts *opts, const char *cmd, ...)
{
  const char *args[16];
  size_t n = 0;
  va_list ap;
  va_start (ap, cmd);
  const char *a;
  while ((a = va_arg (ap, const char *)) != NULL && n < 15)
    args[n++] = a;
  va_end (ap);
  args[n] = NULL;
  msb_error *err = NULL;
  memset (out, 0, sizeof *out);
  int r = msb_exec_run (sb, cmd, args, opts, out, NULL, &err);
  if (r < 0)
    {
      fprintf (stderr, "  exec `%s`: %s\n", cmd, msb_error_get_message (err));
      msb_error_free (err);
    }
  return r;
}

static bool
output_is (const uint8_t *data, size_t len, const char *expected)
{
  return len == strlen (expected) && memcmp (data, expected, len) == 0;
}

#define CHECK_STDOUT(out, s) CHECK (output_is ((out).stdout_data, (out).stdout_len, (s)))
#define CHECK_STDERR(out, s) CHECK (output_is ((out).stderr_data, (out).stderr_len, (s)))

/* Next event within 30 s; a stuck stream fails the test rather than hanging. */
static int
next (msb_exec *ex, msb_exec_event *ev)
{
  msb_error *err = NULL;
  int r = msb_exec_next (ex, ev, 30000, &err);
  if (r < 0)
    {
      fprintf (stderr, "  msb_exec_next: %s\n", msb_error_get_message (err));
      msb_error_free (err);
    }
  return r;
}

/* Collects stdout (and stderr) until the terminal event; returns it (EXITED or FAILED). */
static msb_exec_event_type
drain (msb_exec *ex, char *out, size_t cap, int *code)
{
  size_t used = 0;
  msb_exec_event ev;
  msb_exec_event_type last = 0;
  while (next (ex, &ev) == 1)
    {
      if ((ev.type == MSB_EXEC_EVENT_STDOUT || ev.type == MSB_EXEC_EVENT_STDERR)
          && used + ev.len < cap)
        {
          memcpy (out + used, ev.data, ev.len);
          used += ev.len;
        }
      if (ev.type == MSB_EXEC_EVENT_EXITED || ev.type == MSB_EXEC_EVENT_FAILED)
        {
          last = ev.type;
          *code = ev.code;
        }
    }
  out[used] = '\0';
  return last;
}

/* Reads events until `needle` has appeared in the output. */
static bool
wait_output (msb_exec *ex, const char *needle)
{
  char buf[4096];
  size_t used = 0;
  msb_exec_event ev;
  while (next (ex, &ev) == 1)
    {
      if (ev.type == MSB_EXEC_EVENT_STDOUT && used + ev.len < sizeof buf)
        {
          memcpy (buf + used, ev.data, ev.len);
          used += ev.len;
          buf[used] = '\0';
          if (strstr (buf, needle))
            return true;
        }
      if (ev.type == MSB_EXEC_EVENT_EXITED || ev.type == MSB_EXEC_EVENT_FAILED)
        return false;
    }
  return false;
}

static bool
process_running (msb_sandbox *sb, const char *pattern)
{
  msb_exec_output out;
  if (run (sb, &out, NULL, "ps", "-o", "args", NULL) < 0)
    return true;
  bool found = memmem (out.stdout_data, out.stdout_len, pattern, strlen (pattern)) != NULL;
  msb_exec_output_clear (&out);
  return found;
}

static bool
dir_exists (const char *name)
{
  char path[512];
  snprintf (path, sizeof path, "%s/sandboxes/%s", msb_ctx_home (ctx), name);
  struct stat st;
  return stat (path, &st) == 0;
}

/* One sandbox shared by the exec tests (attached: it stops if this process dies). */
static msb_sandbox *shared;
static char *shared_name;

static msb_sandbox *
sb_shared (void)
{
  if (shared == NULL)
    {
      shared_name = unique_name ("shared");
      shared = create (shared_name, 0);
    }
  return shared;
}

/* ---- buffered exec ---- */

TEST (test_exec_run_returns_output_and_exit_code)
{
  msb_exec_output out;
  CHECK_EQ_INT (run (sb_shared (), &out, NULL, "sh", "-c", "echo out; echo err >&2; exit 3", NULL),
                0);
  CHECK_EQ_INT (out.exit_code, 3);
  CHECK_STDOUT (out, "out\n");
  CHECK_STDERR (out, "err\n");
  msb_exec_output_clear (&out);
}

TEST (test_exec_run_reports_a_signal_death_as_minus_one)
{
  msb_exec_output out;
  CHECK_EQ_INT (run (sb_shared (), &out, NULL, "sh", "-c", "kill -9 $$", NULL), 0);
  CHECK_EQ_INT (out.exit_code, -1);
  msb_exec_output_clear (&out);
}

TEST (test_exec_run_failures_have_a_kind)
{
  static const struct
  {
    const char *cmd;
    const char *cwd;
    msb_exec_fail kind;
  } cases[] = {
    { "no-such-command", NULL, MSB_EXEC_FAIL_NOT_FOUND },
    { "/etc/passwd", NULL, MSB_EXEC_FAIL_PERMISSION_DENIED },
    { "true", "/no/such/dir", MSB_EXEC_FAIL_BAD_CWD },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_exec_opts o = { .size = sizeof o, .cwd = cases[i].cwd };
      msb_exec_output out = { 0 };
      msb_exec_fail kind = MSB_EXEC_FAIL_OTHER;
      msb_error *err = NULL;
      CHECK_EQ_INT (msb_exec_run (sb_shared (), cases[i].cmd, NULL, &o, &out, &kind, &err), -1);
      CHECK_EQ_INT (kind_of (err), MSB_ERR_EXEC_FAILED);
      CHECK_EQ_INT (kind, cases[i].kind);
      msb_exec_output_clear (&out);
    }
}

TEST (test_shell_runs_a_script_with_the_configured_shell)
{
  msb_exec_output out = { 0 };
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_shell (sb_shared (), "a=6; echo $((a * 7)) | tr 4 X", NULL, &out, &err), 0);
  CHECK_STDOUT (out, "X2\n");
  CHECK_EQ_STR (msb_sandbox_shell (sb_shared ()), "/bin/sh");
  msb_exec_output_clear (&out);
  msb_error_free (err);
}

TEST (test_exec_opts_env_cwd_and_user)
{
  const char *env[] = { "GREETING=hello", "PATH=/bin:/usr/bin", NULL };
  msb_exec_opts o = { .size = sizeof o, .env = env, .cwd = "/tmp", .user = "user:nogroup" };
  msb_exec_output out;
  CHECK_EQ_INT (
      run (sb_shared (), &out, &o, "sh", "-c", "echo $GREETING $(pwd) $(id -u):$(id -g)", NULL), 0);
  CHECK_STDOUT (out, "hello /tmp 1000:65534\n");
  msb_exec_output_clear (&out);
}

TEST (test_exec_stdin_bytes_are_delivered_then_eof)
{
  size_t n = 1 << 20;
  char *data = malloc (n);
  memset (data, 'z', n);
  msb_exec_opts o
      = { .size = sizeof o, .stdin_mode = MSB_STDIN_BYTES, .stdin_data = data, .stdin_len = n };
  msb_exec_output out;
  CHECK_EQ_INT (run (sb_shared (), &out, &o, "wc", "-c", NULL), 0);
  CHECK (out.stdout_len > 0 && atol ((char *) out.stdout_data) == (long) n);
  msb_exec_output_clear (&out);
  free (data);
}

TEST (test_exec_with_null_stdin_sees_eof)
{
  msb_exec_output out;
  CHECK_EQ_INT (run (sb_shared (), &out, NULL, "cat", NULL), 0);
  CHECK_EQ_INT (out.exit_code, 0);
  CHECK_EQ_INT (out.stdout_len, 0);
  msb_exec_output_clear (&out);
}

TEST (test_exec_run_timeout_kills_the_command)
{
  msb_exec_opts o = { .size = sizeof o, .timeout_ms = 300 };
  msb_exec_output out = { 0 };
  msb_error *err = NULL;
  const char *args[] = { "-c", "sleep 4321", NULL };
  CHECK_EQ_INT (msb_exec_run (sb_shared (), "sh", args, &o, &out, NULL, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_EXEC_TIMEOUT);
  msb_exec_output_clear (&out);
  CHECK (!process_running (sb_shared (), "sleep 4321"));
}

TEST (test_exec_rejects_bad_options)
{
  const char *bad_env[] = { "=x", NULL };
  msb_exec_opts o1 = { .size = sizeof o1, .env = bad_env };
  msb_exec_opts o2 = { .size = sizeof o2, .cwd = "relative" };
  msb_exec *ex = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "true", NULL, &o1, &ex, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_ARGUMENT);
  err = NULL;
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "true", NULL, &o2, &ex, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_ARGUMENT);
  err = NULL;
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "", NULL, NULL, &ex, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_ARGUMENT);
}

/* ---- streamed exec ---- */

TEST (test_exec_stream_events_in_order)
{
  msb_exec *ex = NULL;
  msb_error *err = NULL;
  const char *args[] = { "-c", "echo out; sleep 0.05; echo err >&2; exit 5", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, NULL, &ex, &err), 0);
  if (ex == NULL)
    {
      msb_error_free (err);
      return;
    }
  CHECK (strchr (msb_exec_id (ex), ':') != NULL);
  msb_exec_event ev;
  CHECK_EQ_INT (next (ex, &ev), 1);
  CHECK_EQ_INT (ev.type, MSB_EXEC_EVENT_STARTED);
  CHECK (ev.pid > 1);
  CHECK_EQ_INT (next (ex, &ev), 1);
  CHECK_EQ_INT (ev.type, MSB_EXEC_EVENT_STDOUT);
  CHECK (output_is (ev.data, ev.len, "out\n"));
  CHECK_EQ_INT (next (ex, &ev), 1);
  CHECK_EQ_INT (ev.type, MSB_EXEC_EVENT_STDERR);
  CHECK (output_is (ev.data, ev.len, "err\n"));
  CHECK_EQ_INT (next (ex, &ev), 1);
  CHECK_EQ_INT (ev.type, MSB_EXEC_EVENT_EXITED);
  CHECK_EQ_INT (ev.code, 5);
  CHECK_EQ_INT (next (ex, &ev), 0);
  CHECK_EQ_INT (next (ex, &ev), 0);
  msb_exec_free (ex);
}

TEST (test_exec_stream_failed_event_ends_the_stream)
{
  msb_exec *ex = NULL;
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "no-such-command", NULL, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  msb_exec_event ev;
  CHECK_EQ_INT (next (ex, &ev), 1);
  CHECK_EQ_INT (ev.type, MSB_EXEC_EVENT_FAILED);
  CHECK_EQ_INT (ev.fail_kind, MSB_EXEC_FAIL_NOT_FOUND);
  CHECK (ev.message && strstr (ev.message, "no-such-command"));
  CHECK_EQ_STR (msb_exec_fail_name (ev.fail_kind), "not_found");
  CHECK_EQ_INT (next (ex, &ev), 0);
  msb_exec_free (ex);
}

TEST (test_exec_stream_large_output_arrives_whole)
{
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "5000000", "/dev/zero", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "head", args, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  size_t total = 0;
  msb_exec_event ev;
  int code = 99;
  while (next (ex, &ev) == 1)
    {
      if (ev.type == MSB_EXEC_EVENT_STDOUT)
        total += ev.len;
      if (ev.type == MSB_EXEC_EVENT_EXITED)
        code = ev.code;
    }
  CHECK_EQ_INT (total, 5000000);
  CHECK_EQ_INT (code, 0);
  msb_exec_free (ex);
}

TEST (test_exec_stdin_pipe_writes_then_eof)
{
  msb_exec_opts o = { .size = sizeof o, .stdin_mode = MSB_STDIN_PIPE };
  msb_exec *ex = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "cat", NULL, &o, &ex, &err), 0);
  if (ex == NULL)
    {
      msb_error_free (err);
      return;
    }
  CHECK_EQ_INT (msb_exec_write_stdin (ex, "abc", 3, NULL), 0);
  CHECK_EQ_INT (msb_exec_write_stdin (ex, "def\n", 4, NULL), 0);
  CHECK_EQ_INT (msb_exec_close_stdin (ex, NULL), 0);
  char out[64];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK_EQ_STR (out, "abcdef\n");
  CHECK_EQ_INT (code, 0);
  msb_exec_free (ex);
}

TEST (test_exec_next_timeout_leaves_the_session_usable)
{
  msb_exec_opts o = { .size = sizeof o, .stdin_mode = MSB_STDIN_PIPE };
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "read line; echo got:$line", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, &o, &ex, NULL), 0);
  if (ex == NULL)
    return;
  msb_exec_event ev;
  CHECK_EQ_INT (next (ex, &ev), 1); /* started */
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_exec_next (ex, &ev, 50, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_EXEC_TIMEOUT);
  CHECK_EQ_INT (msb_exec_write_stdin (ex, "x\n", 2, NULL), 0);
  char out[64];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK_EQ_STR (out, "got:x\n");
  msb_exec_free (ex);
}

TEST (test_exec_signal_reaches_the_process_group)
{
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "sleep 4322 & echo ready; wait", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  CHECK (wait_output (ex, "ready"));
  CHECK_EQ_INT (msb_exec_signal (ex, SIGTERM, NULL), 0);
  char out[64];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK_EQ_INT (code, -1);
  msb_exec_free (ex);
  CHECK (!process_running (sb_shared (), "sleep 4322"));
}

TEST (test_exec_signal_can_be_handled)
{
  msb_exec *ex = NULL;
  const char *args[]
      = { "-c", "trap 'echo caught; exit 4' USR1; echo ready; while :; do sleep 0.02; done", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  CHECK (wait_output (ex, "ready"));
  CHECK_EQ_INT (msb_exec_signal (ex, SIGUSR1, NULL), 0);
  char out[64];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK (strstr (out, "caught") != NULL);
  CHECK_EQ_INT (code, 4);
  msb_exec_free (ex);
}

TEST (test_exec_free_kills_a_running_command)
{
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "echo ready; exec sleep 4323", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  CHECK (wait_output (ex, "ready"));
  msb_exec_free (ex);
  /* The kill is asynchronous: poll, bounded. */
  bool gone = false;
  for (int i = 0; i < 200 && !gone; i++)
    {
      gone = !process_running (sb_shared (), "sleep 4323");
      if (!gone)
        usleep (10000);
    }
  CHECK (gone);
}

TEST (test_exec_tty_follows_resize)
{
  msb_exec_opts o
      = { .size = sizeof o, .tty = true, .rows = 30, .cols = 90, .stdin_mode = MSB_STDIN_PIPE };
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "stty size; read x; stty size", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "sh", args, &o, &ex, NULL), 0);
  if (ex == NULL)
    return;
  CHECK (wait_output (ex, "30 90"));
  CHECK_EQ_INT (msb_exec_resize (ex, 40, 100, NULL), 0);
  CHECK_EQ_INT (msb_exec_write_stdin (ex, "\n", 1, NULL), 0);
  char out[4096];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK (strstr (out, "40 100") != NULL);
  CHECK_EQ_INT (code, 0);
  msb_exec_free (ex);
}

TEST (test_exec_tty_merges_stderr_into_stdout)
{
  msb_exec_output out2;
  msb_exec_opts t = { .size = sizeof t, .tty = true };
  CHECK_EQ_INT (run (sb_shared (), &out2, &t, "sh", "-c", "tty; echo to-stderr >&2", NULL), 0);
  CHECK (memmem (out2.stdout_data, out2.stdout_len, "/dev/pts/", 9) != NULL);
  CHECK (memmem (out2.stdout_data, out2.stdout_len, "to-stderr", 9) != NULL);
  CHECK_EQ_INT (out2.stderr_len, 0);
  msb_exec_output_clear (&out2);
}

TEST (test_exec_event_fd_becomes_readable)
{
  msb_exec *ex = NULL;
  const char *args[] = { "hi", NULL };
  CHECK_EQ_INT (msb_exec_start (sb_shared (), "echo", args, NULL, &ex, NULL), 0);
  if (ex == NULL)
    return;
  CHECK (msb_exec_event_fd (ex) >= 0);
  char out[64];
  int code = 99;
  CHECK_EQ_INT (drain (ex, out, sizeof out, &code), MSB_EXEC_EVENT_EXITED);
  CHECK_EQ_STR (out, "hi\n");
  msb_exec_free (ex);
}

/* ---- many at once ---- */

typedef struct worker
{
  int index;
  bool ok;
} worker;

static void *
exec_worker (void *arg)
{
  worker *w = arg;
  char script[128], expected_out[32], expected_err[32];
  snprintf (script, sizeof script, "echo out-%d; echo err-%d >&2; exit %d", w->index, w->index,
            w->index % 7);
  snprintf (expected_out, sizeof expected_out, "out-%d\n", w->index);
  snprintf (expected_err, sizeof expected_err, "err-%d\n", w->index);
  const char *args[] = { "-c", script, NULL };
  msb_exec_output out = { 0 };
  msb_error *err = NULL;
  int r = msb_exec_run (sb_shared (), "sh", args, NULL, &out, NULL, &err);
  w->ok = r == 0 && out.exit_code == w->index % 7
          && output_is (out.stdout_data, out.stdout_len, expected_out)
          && output_is (out.stderr_data, out.stderr_len, expected_err);
  if (!w->ok)
    fprintf (stderr, "  worker %d: r=%d code=%d err=%s\n", w->index, r, out.exit_code,
             err ? msb_error_get_message (err) : "-");
  msb_error_free (err);
  msb_exec_output_clear (&out);
  return NULL;
}

TEST (test_fifty_concurrent_exec_runs_on_one_handle)
{
  enum
  {
    N = 50
  };
  pthread_t t[N];
  worker w[N];
  sb_shared ();
  for (int i = 0; i < N; i++)
    {
      w[i] = (worker) { i, false };
      CHECK_EQ_INT (pthread_create (&t[i], NULL, exec_worker, &w[i]), 0);
    }
  int ok = 0;
  for (int i = 0; i < N; i++)
    {
      pthread_join (t[i], NULL);
      ok += w[i].ok;
    }
  CHECK_EQ_INT (ok, N);
}

/* ---- lifecycle ---- */

/* The status, or -1 when there is no such sandbox. */
static int
status_of (const char *name)
{
  msb_sandbox_info *info = NULL;
  msb_error *err = NULL;
  if (msb_sandbox_get (ctx, name, &info, &err) < 0)
    {
      msb_error_free (err);
      return -1;
    }
  int s = (int) msb_sandbox_info_status (info);
  msb_sandbox_info_free (info);
  return s;
}

TEST (test_get_describes_a_running_sandbox)
{
  char *name = unique_name ("get");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  CHECK_EQ_STR (msb_sandbox_name (sb), name);
  CHECK (!msb_sandbox_owns_lifecycle (sb));
  msb_sandbox_info *info = NULL;
  CHECK_EQ_INT (msb_sandbox_get (ctx, name, &info, NULL), 0);
  if (info)
    {
      CHECK_EQ_STR (msb_sandbox_info_name (info), name);
      CHECK_EQ_INT (msb_sandbox_info_status (info), MSB_STATUS_RUNNING);
      CHECK_EQ_STR (msb_sandbox_status_name (msb_sandbox_info_status (info)), "running");
      CHECK_EQ_STR (msb_sandbox_info_image (info), IMAGE);
      CHECK (strncmp (msb_sandbox_info_manifest_digest (info), "sha256:", 7) == 0);
      CHECK (msb_sandbox_info_pid (info) > 0);
      CHECK (msb_sandbox_info_created_at (info) > 1600000000000LL);
      CHECK (strstr (msb_sandbox_info_config_json (info), IMAGE) != NULL);
      msb_sandbox_info_free (info);
    }
  msb_sandbox_close (sb);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_RUNNING); /* detached: closing does not stop it */
  destroy (name);
  free (name);
}

TEST (test_list_contains_every_sandbox)
{
  char *a = unique_name ("list"), *b = unique_name ("list");
  msb_sandbox *sa = create (a, MSB_SANDBOX_DETACHED), *sb = create (b, MSB_SANDBOX_DETACHED);
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  CHECK_EQ_INT (msb_sandbox_list (ctx, &list, &n, NULL), 0);
  int seen = 0;
  for (size_t i = 0; i < n; i++)
    seen += strcmp (msb_sandbox_info_name (list[i]), a) == 0
            || strcmp (msb_sandbox_info_name (list[i]), b) == 0;
  CHECK_EQ_INT (seen, 2);
  msb_sandbox_info_list_free (list, n);
  msb_sandbox_close (sa);
  msb_sandbox_close (sb);
  destroy (a);
  destroy (b);
  free (a);
  free (b);
}

TEST (test_stop_start_kill_remove_cycle_keeps_the_writable_layer_until_removed)
{
  char *name = unique_name ("stopstart");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_exec_output out;
  CHECK_EQ_INT (run (sb, &out, NULL, "sh", "-c", "echo kept > /root/mark", NULL), 0);
  msb_exec_output_clear (&out);
  msb_sandbox_close (sb);
  CHECK_EQ_INT (msb_sandbox_stop (ctx, name, -1, NULL), 0);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_STOPPED);
  CHECK_EQ_INT (msb_sandbox_stop (ctx, name, -1, NULL), 0); /* stopping a stopped one is fine */
  sb = NULL;
  CHECK_EQ_INT (msb_sandbox_start (ctx, name, MSB_SANDBOX_DETACHED, &sb, NULL), 0);
  if (sb)
    {
      CHECK_EQ_INT (status_of (name), MSB_STATUS_RUNNING);
      CHECK_EQ_INT (run (sb, &out, NULL, "cat", "/root/mark", NULL), 0);
      CHECK_STDOUT (out, "kept\n");
      msb_exec_output_clear (&out);
      msb_sandbox_close (sb);
    }
  CHECK_EQ_INT (msb_sandbox_kill (ctx, name, -1, NULL), 0);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_STOPPED);
  CHECK_EQ_INT (msb_sandbox_remove (ctx, name, NULL), 0);
  CHECK_EQ_INT (status_of (name), -1);
  free (name);
}

TEST (test_remove_force_kills_and_removes_a_running_sandbox)
{
  char *name = unique_name ("rmforce");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_sandbox_close (sb);
  CHECK_EQ_INT (msb_sandbox_remove_force (ctx, name, -1, NULL), 0);
  CHECK_EQ_INT (status_of (name), -1);
  CHECK (!dir_exists (name));
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_sandbox_remove_force (ctx, name, -1, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_FOUND);
  free (name);
}

TEST (test_connect_reaches_a_running_sandbox)
{
  char *name = unique_name ("connect");
  msb_sandbox *owner = create (name, MSB_SANDBOX_DETACHED);
  msb_sandbox *other = NULL;
  CHECK_EQ_INT (msb_sandbox_connect (ctx, name, -1, &other, NULL), 0);
  if (other)
    {
      CHECK (!msb_sandbox_owns_lifecycle (other));
      msb_exec_output out;
      CHECK_EQ_INT (run (other, &out, NULL, "echo", "via connect", NULL), 0);
      CHECK_STDOUT (out, "via connect\n");
      msb_exec_output_clear (&out);
      msb_sandbox_close (other);
    }
  msb_sandbox_close (owner);
  destroy (name);
  free (name);
}

TEST (test_closing_an_attached_handle_stops_the_sandbox)
{
  char *name = unique_name ("attached");
  msb_sandbox *sb = create (name, 0);
  CHECK (msb_sandbox_owns_lifecycle (sb));
  msb_sandbox_close (sb);
  int code = 0;
  CHECK_EQ_INT (msb_sandbox_wait (ctx, name, 30000, &code, NULL), 0);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_STOPPED);
  destroy (name);
  free (name);
}

TEST (test_detach_keeps_an_attached_sandbox_running)
{
  char *name = unique_name ("detach");
  msb_sandbox *sb = create (name, 0);
  CHECK_EQ_INT (msb_sandbox_detach (sb, NULL), 0);
  CHECK (!msb_sandbox_owns_lifecycle (sb));
  msb_sandbox_close (sb);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_RUNNING);
  destroy (name);
  free (name);
}

TEST (test_exec_after_stop_fails_not_running)
{
  char *name = unique_name ("afterstop");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  CHECK_EQ_INT (msb_sandbox_stop (ctx, name, -1, NULL), 0);
  msb_exec_output out = { 0 };
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_exec_run (sb, "true", NULL, NULL, &out, NULL, &err), -1);
  msb_error_kind k = kind_of (err);
  CHECK (k == MSB_ERR_SANDBOX_NOT_RUNNING || k == MSB_ERR_GENERIC);
  msb_exec_output_clear (&out);
  msb_sandbox_close (sb);
  destroy (name);
  free (name);
}

TEST (test_replace_creates_a_fresh_sandbox)
{
  char *name = unique_name ("replace");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_exec_output out;
  CHECK_EQ_INT (run (sb, &out, NULL, "touch", "/root/old", NULL), 0);
  msb_exec_output_clear (&out);
  msb_sandbox_close (sb);
  msb_config *cfg = config ();
  sb = NULL;
  CHECK_EQ_INT (msb_sandbox_create (ctx, name, cfg, MSB_SANDBOX_DETACHED | MSB_SANDBOX_REPLACE,
                                    1000, &sb, NULL),
                0);
  msb_config_free (cfg);
  if (sb)
    {
      CHECK_EQ_INT (run (sb, &out, NULL, "test", "-e", "/root/old", NULL), 0);
      CHECK_EQ_INT (out.exit_code, 1);
      msb_exec_output_clear (&out);
      msb_sandbox_close (sb);
    }
  destroy (name);
  free (name);
}

/* ---- error kinds ---- */

TEST (test_unknown_sandbox_is_sandbox_not_found)
{
  msb_error *err = NULL;
  msb_sandbox_info *info = NULL;
  msb_sandbox *sb = NULL;
  CHECK_EQ_INT (msb_sandbox_get (ctx, "capi-no-such", &info, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_FOUND);
  err = NULL;
  CHECK_EQ_INT (msb_sandbox_start (ctx, "capi-no-such", 0, &sb, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_FOUND);
  err = NULL;
  CHECK_EQ_INT (msb_sandbox_remove (ctx, "capi-no-such", &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_FOUND);
  err = NULL;
  CHECK_EQ_INT (msb_sandbox_connect (ctx, "capi-no-such", -1, &sb, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_FOUND);
}

TEST (test_existing_name_is_already_exists)
{
  char *name = unique_name ("exists");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_config *cfg = config ();
  msb_sandbox *dup = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_sandbox_create (ctx, name, cfg, MSB_SANDBOX_DETACHED, -1, &dup, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_ALREADY_EXISTS);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_RUNNING);
  msb_config_free (cfg);
  msb_sandbox_close (sb);
  destroy (name);
  free (name);
}

TEST (test_running_sandbox_is_still_running)
{
  char *name = unique_name ("running");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_sandbox *again = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_sandbox_remove (ctx, name, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_STILL_RUNNING);
  err = NULL;
  CHECK_EQ_INT (msb_sandbox_start (ctx, name, MSB_SANDBOX_DETACHED, &again, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_STILL_RUNNING);
  CHECK_EQ_INT (status_of (name), MSB_STATUS_RUNNING);
  msb_sandbox_close (sb);
  destroy (name);
  free (name);
}

TEST (test_stopped_sandbox_is_not_running_for_connect)
{
  char *name = unique_name ("notrunning");
  msb_sandbox *sb = create (name, MSB_SANDBOX_DETACHED);
  msb_sandbox_close (sb);
  CHECK_EQ_INT (msb_sandbox_stop (ctx, name, -1, NULL), 0);
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_sandbox_connect (ctx, name, -1, &sb, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_SANDBOX_NOT_RUNNING);
  destroy (name);
  free (name);
}

/* The failed create leaves no record and no directory behind. */
static void
check_create_fails (const char *name, msb_config *cfg, msb_error_kind kind, const char *in_message)
{
  msb_sandbox *sb = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_sandbox_create (ctx, name, cfg, MSB_SANDBOX_DETACHED, -1, &sb, &err), -1);
  CHECK (sb == NULL);
  if (err && in_message && strstr (msb_error_get_message (err), in_message) == NULL)
    {
      fprintf (stderr, "  message: %s\n", msb_error_get_message (err));
      CHECK (!"the message names the problem");
    }
  CHECK_EQ_INT (kind_of (err), kind);
  CHECK_EQ_INT (status_of (name), -1);
  if (*name && strcmp (name, ".") && strcmp (name, "..") && !strchr (name, '/'))
    CHECK (!dir_exists (name));
}

TEST (test_unknown_image_is_image_not_found_and_leaves_no_trace)
{
  char *name = unique_name ("noimage");
  msb_config *cfg = msb_config_new ();
  CHECK_EQ_INT (msb_config_set_image (cfg, "local/no-such-image:1", NULL), 0);
  CHECK_EQ_INT (msb_config_set_pull_policy (cfg, "never", NULL), 0); /* hermetic: no registry */
  check_create_fails (name, cfg, MSB_ERR_IMAGE_NOT_FOUND, "no-such-image");
  msb_config_free (cfg);
  free (name);
}

TEST (test_unknown_default_user_is_invalid_config_and_leaves_no_trace)
{
  char *name = unique_name ("nouser");
  msb_config *cfg = config ();
  CHECK_EQ_INT (msb_config_set_user (cfg, "no-such-user", NULL), 0);
  check_create_fails (name, cfg, MSB_ERR_INVALID_CONFIG, "no-such-user");
  msb_config_free (cfg);
  free (name);
}

TEST (test_invalid_names_are_invalid_config)
{
  char long_name[200];
  memset (long_name, 'x', 129);
  long_name[129] = '\0';
  const char *names[] = { "", long_name, "a/b", "..", ".", "tab\there" };
  msb_config *cfg = config ();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      msb_error *err = NULL;
      CHECK_EQ_INT (msb_sandbox_name_validate (names[i], &err), -1);
      CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_CONFIG);
      check_create_fails (names[i], cfg, MSB_ERR_INVALID_CONFIG, "name");
    }
  long_name[128] = '\0';
  CHECK_EQ_INT (msb_sandbox_name_validate (long_name, NULL), 0);
  msb_config_free (cfg);
}

TEST (test_invalid_options_are_invalid_config_naming_the_option)
{
  msb_config *cfg = msb_config_new ();
  msb_error *err = NULL;
#define BAD(call, word)                                                                            \
  do                                                                                               \
    {                                                                                              \
      err = NULL;                                                                                  \
      CHECK_EQ_INT (call, -1);                                                                     \
      CHECK (err && strstr (msb_error_get_message (err), word) != NULL);                            \
      CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_CONFIG);                                        \
    }                                                                                              \
  while (0)
  BAD (msb_config_set_cpus (cfg, 0, &err), "cpus");
  BAD (msb_config_set_cpus (cfg, 129, &err), "cpus");
  BAD (msb_config_set_memory_mib (cfg, 1, &err), "memory");
  BAD (msb_config_set_pids_limit (cfg, 3, &err), "pids");
  BAD (msb_config_set_env (cfg, "", "x", &err), "env");
  BAD (msb_config_set_env (cfg, "A=B", "x", &err), "env");
  BAD (msb_config_set_user (cfg, "a:b:c", &err), "user");
  BAD (msb_config_set_workdir (cfg, "relative", &err), "workdir");
  BAD (msb_config_set_hostname (cfg, "no spaces", &err), "hostname");
  BAD (msb_config_set_image (cfg, "", &err), "image");
  BAD (msb_config_set_pull_policy (cfg, "sometimes", &err), "pull");
#undef BAD
  err = NULL;
  CHECK_EQ_INT (msb_config_set_max_duration (cfg, -1, &err), -1);
  CHECK_EQ_INT (kind_of (err), MSB_ERR_INVALID_ARGUMENT);
  msb_config_free (cfg);
}

TEST (test_error_codes_match_the_python_classes)
{
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_SANDBOX_NOT_FOUND), "sandbox-not-found");
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_SANDBOX_ALREADY_EXISTS), "sandbox-already-exists");
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_SANDBOX_STILL_RUNNING), "sandbox-still-running");
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_IMAGE_NOT_FOUND), "image-not-found");
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_INVALID_CONFIG), "invalid-config");
  CHECK_EQ_STR (msb_error_kind_code (MSB_ERR_EXEC_TIMEOUT), "exec-timeout");
}

/* ---- setup ---- */

/* Whatever an earlier, interrupted run of this test left in its state root. */
static void
remove_leftovers (void)
{
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  if (msb_sandbox_list (ctx, &list, &n, NULL) < 0)
    return;
  for (size_t i = 0; i < n; i++)
    destroy (msb_sandbox_info_name (list[i]));
  msb_sandbox_info_list_free (list, n);
}

static void
setup (void)
{
  const char *image_dir = getenv ("MSB_TEST_IMAGE_DIR");
  struct stat st;
  if (geteuid () != 0 || getenv ("MSB_HOME") == NULL || image_dir == NULL
      || stat (image_dir, &st) < 0)
    {
      printf ("1..0 # SKIP needs root, MSB_HOME and MSB_TEST_IMAGE_DIR\n");
      exit (77);
    }
  msb_error *err = NULL;
  if (msb_ctx_open (&ctx, NULL, &err) < 0)
    die ("open MSB_HOME", err);
  remove_leftovers ();
  char **refs = NULL;
  if (msb_image_load (ctx, image_dir, IMAGE, &refs, &err) < 0)
    die ("load the busybox image", err);
  for (char **r = refs; r && *r; r++)
    free (*r);
  free (refs);
}

static void
teardown (void)
{
  if (shared)
    {
      msb_sandbox_close (shared);
      destroy (shared_name);
      free (shared_name);
    }
  msb_ctx_close (ctx);
}

static const msb_test_case cases[] = {
  TEST_ENTRY (test_exec_run_returns_output_and_exit_code),
  TEST_ENTRY (test_exec_run_reports_a_signal_death_as_minus_one),
  TEST_ENTRY (test_exec_run_failures_have_a_kind),
  TEST_ENTRY (test_shell_runs_a_script_with_the_configured_shell),
  TEST_ENTRY (test_exec_opts_env_cwd_and_user),
  TEST_ENTRY (test_exec_stdin_bytes_are_delivered_then_eof),
  TEST_ENTRY (test_exec_with_null_stdin_sees_eof),
  TEST_ENTRY (test_exec_run_timeout_kills_the_command),
  TEST_ENTRY (test_exec_rejects_bad_options),
  TEST_ENTRY (test_exec_stream_events_in_order),
  TEST_ENTRY (test_exec_stream_failed_event_ends_the_stream),
  TEST_ENTRY (test_exec_stream_large_output_arrives_whole),
  TEST_ENTRY (test_exec_stdin_pipe_writes_then_eof),
  TEST_ENTRY (test_exec_next_timeout_leaves_the_session_usable),
  TEST_ENTRY (test_exec_signal_reaches_the_process_group),
  TEST_ENTRY (test_exec_signal_can_be_handled),
  TEST_ENTRY (test_exec_free_kills_a_running_command),
  TEST_ENTRY (test_exec_tty_follows_resize),
  TEST_ENTRY (test_exec_tty_merges_stderr_into_stdout),
  TEST_ENTRY (test_exec_event_fd_becomes_readable),
  TEST_ENTRY (test_fifty_concurrent_exec_runs_on_one_handle),
  TEST_ENTRY (test_get_describes_a_running_sandbox),
  TEST_ENTRY (test_list_contains_every_sandbox),
  TEST_ENTRY (test_stop_start_kill_remove_cycle_keeps_the_writable_layer_until_removed),
  TEST_ENTRY (test_remove_force_kills_and_removes_a_running_sandbox),
  TEST_ENTRY (test_connect_reaches_a_running_sandbox),
  TEST_ENTRY (test_closing_an_attached_handle_stops_the_sandbox),
  TEST_ENTRY (test_detach_keeps_an_attached_sandbox_running),
  TEST_ENTRY (test_exec_after_stop_fails_not_running),
  TEST_ENTRY (test_replace_creates_a_fresh_sandbox),
  TEST_ENTRY (test_unknown_sandbox_is_sandbox_not_found),
  TEST_ENTRY (test_existing_name_is_already_exists),
  TEST_ENTRY (test_running_sandbox_is_still_running),
  TEST_ENTRY (test_stopped_sandbox_is_not_running_for_connect),
  TEST_ENTRY (test_unknown_image_is_image_not_found_and_leaves_no_trace),
  TEST_ENTRY (test_unknown_default_user_is_invalid_config_and_leaves_no_trace),
  TEST_ENTRY (test_invalid_names_are_invalid_config),
  TEST_ENTRY (test_invalid_options_are_invalid_config_naming_the_option),
  TEST_ENTRY (test_error_codes_match_the_python_classes),
};

int
main (int argc, char **argv)
{
  setup ();
  int r = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  teardown ();
  return r;
}
