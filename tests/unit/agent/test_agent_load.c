/* msb-agent under load: many concurrent sessions, large ordered output, memory bounded by
 * backpressure when the host stops reading, bulk stdin, and the exec round trip time. */
#include "tests/unit/agent/agent_harness.h"

static bool
is_exited_ok (const exec_result *r)
{
  return r->is_exited && r->code == 0;
}

static void
check_concurrent (int n, const char *script, bool close_stdin_late)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result *rs = calloc ((size_t) n, sizeof *rs);
  char (*tags)[16] = calloc ((size_t) n, sizeof *tags);
  uint64_t t0 = harness_now_ms ();
  for (int i = 0; i < n; i++)
    {
      rs[i].id = (uint32_t) (1000 + i);
      snprintf (tags[i], sizeof tags[i], "%d", i);
      exec_send (&ap, rs[i].id, &(exec_opts){ .cmd = "sh", .args = { "-c", script, tags[i] },
                                              .keep_stdin_open = close_stdin_late });
    }
  if (close_stdin_late)
    {
      /* Every session is alive at once: each waits for its stdin to close. */
      exec_pump (&ap, rs, (size_t) n, 30000, exec_is_started);
      for (int i = 0; i < n; i++)
        CHECK (rs[i].is_started && !rs[i].is_done);
      for (int i = 0; i < n; i++)
        exec_send_stdin (&ap, rs[i].id, "", 0);
    }
  int strays = exec_pump (&ap, rs, (size_t) n, 60000, exec_is_done);
  uint64_t elapsed = harness_now_ms () - t0;
  CHECK_EQ_INT (strays, 0);
  int ok = 0;
  for (int i = 0; i < n; i++)
    {
      char expected[32];
      snprintf (expected, sizeof expected, "hello-%d\n", i);
      ok += is_exited_ok (&rs[i]) && strcmp (exec_stdout (&rs[i]), expected) == 0;
      exec_result_free (&rs[i]);
    }
  CHECK_EQ_INT (ok, n);
  printf ("# %d concurrent sessions in %llu ms\n", n, (unsigned long long) elapsed);
  free (rs);
  free (tags);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_fifty_concurrent_sessions)
{
  check_concurrent (50, "sleep 0.2; echo hello-$0", false);
}

TEST (test_three_hundred_sessions_alive_at_once)
{
  check_concurrent (300, "cat; echo hello-$0", true);
}

TEST (test_big_output_arrives_intact_and_in_order)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  msb_buf expected = MSB_BUF_INIT;
  char line[16];
  const int n = 2700000;
  for (int i = 1; i <= n; i++)
    msb_buf_append (&expected, line, (size_t) snprintf (line, sizeof line, "%d\n", i));
  exec_result r = { .id = 1 };
  char count[16];
  snprintf (count, sizeof count, "%d", n);
  exec_send (&ap, 1, &(exec_opts){ .cmd = "seq", .args = { "1", count } });
  exec_pump (&ap, &r, 1, 60000, exec_is_done);
  CHECK (is_exited_ok (&r));
  CHECK_EQ_INT (r.out.len, expected.len);
  CHECK (r.out.len == expected.len && memcmp (r.out.data, expected.data, expected.len) == 0);
  printf ("# %zu bytes of seq output\n", expected.len);
  msb_buf_free (&expected);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_slow_host_bounds_agent_memory)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  const size_t total = 256u << 20;
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "head", .args = { "-c", "268435456", "/dev/zero" } });
  harness_flush (&ap);
  /* The host reads nothing for a while: the producer must be stopped, not buffered. */
  usleep (1500000);
  long rss_kib = proc_status_kib (ap.pid, "VmRSS");
  exec_pump (&ap, &r, 1, 60000, exec_is_done);
  long hwm_kib = proc_status_kib (ap.pid, "VmHWM");
  printf ("# agent RSS while stalled %ld KiB, peak %ld KiB\n", rss_kib, hwm_kib);
  CHECK (rss_kib > 0 && rss_kib < 32 * 1024);
  CHECK (hwm_kib > 0 && hwm_kib < 48 * 1024);
  CHECK (is_exited_ok (&r));
  CHECK_EQ_INT (r.out.len, total);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_bulk_stdin_through_cat_round_trips)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  const size_t total = 32u << 20, chunk = 256u << 10;
  uint8_t *data = malloc (total);
  for (size_t i = 0; i < total; i++)
    data[i] = (uint8_t) (i * 2654435761u >> 24);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "cat", .keep_stdin_open = true });
  /* Feed stdin no faster than a real client would: keep a bounded amount in flight. */
  for (size_t off = 0; off < total; off += chunk)
    {
      exec_send_stdin (&ap, 1, data + off, chunk);
      while (ap.out.len - ap.out_head > (4u << 20))
        exec_pump (&ap, &r, 1, 10, exec_is_done);
    }
  exec_send_stdin (&ap, 1, "", 0);
  exec_pump (&ap, &r, 1, 60000, exec_is_done);
  CHECK (is_exited_ok (&r));
  CHECK_EQ_INT (r.n_stdin_errors, 0);
  CHECK_EQ_INT (r.out.len, total);
  CHECK (r.out.len == total && memcmp (r.out.data, data, total) == 0);
  free (data);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_unpaced_bulk_stdin_is_paced_by_the_agent_without_loss)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  const size_t total = 48u << 20, chunk = 1u << 20;
  uint8_t *data = malloc (total);
  for (size_t i = 0; i < total; i++)
    data[i] = (uint8_t) (i * 40503u >> 8);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "cat", .keep_stdin_open = true });
  /* All of it at once, beyond the agent's per-session stdin cap: only the agent's pausing
   * of the channel keeps this lossless. */
  for (size_t off = 0; off < total; off += chunk)
    exec_send_stdin (&ap, 1, data + off, chunk);
  exec_send_stdin (&ap, 1, "", 0);
  exec_pump (&ap, &r, 1, 60000, exec_is_done);
  CHECK (is_exited_ok (&r));
  CHECK_EQ_INT (r.n_stdin_errors, 0);
  CHECK_EQ_INT (r.out.len, total);
  CHECK (r.out.len == total && memcmp (r.out.data, data, total) == 0);
  free (data);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_stdin_for_a_child_that_never_reads_is_bounded)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "sleep", .args = { "30" }, .keep_stdin_open = true });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  static uint8_t chunk[1u << 20];
  for (int i = 0; i < 48; i++)
    exec_send_stdin (&ap, 1, chunk, sizeof chunk);
  /* The control path stays responsive even though the agent refuses the excess. */
  agent_send_type (&ap, 0, MSB_MSG_PING);
  uint64_t t0 = harness_now_ms ();
  bool got_pong = false;
  rx_frame f;
  while (!got_pong && agent_recv (&ap, 10000, &f) == 1)
    {
      if (f.m.type == MSB_MSG_PONG)
        got_pong = true;
      else if (f.id == 1)
        exec_apply (&r, &f);
      rx_clear (&f);
    }
  CHECK (got_pong);
  CHECK (harness_now_ms () - t0 < 5000);
  CHECK_EQ_INT (r.n_stdin_errors, 1);
  CHECK_EQ_INT (r.stdin_errno, ENOBUFS);
  long rss_kib = proc_status_kib (ap.pid, "VmRSS");
  CHECK (rss_kib > 0 && rss_kib < 48 * 1024);
  exec_send_signal (&ap, 1, SIGKILL);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (r.is_exited && r.code == -1);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

/* Request → exited of `true`, as the host sees it. MSB_AGENT_BENCH_N sets the run count. */
TEST (bench_exec_true_round_trip)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  const char *env = getenv ("MSB_AGENT_BENCH_N");
  int n = env ? atoi (env) : 100;
  uint64_t *samples = calloc ((size_t) (n > 0 ? n : 1), sizeof *samples);
  int ok = 0;
  for (int i = 0; i < n; i++)
    {
      exec_result r;
      uint64_t t0 = harness_now_ns ();
      exec_run (&ap, (uint32_t) (i % 1000 + 1), &(exec_opts){ .cmd = "/bin/true" }, &r);
      samples[i] = harness_now_ns () - t0;
      ok += is_exited_ok (&r);
      exec_result_free (&r);
    }
  CHECK_EQ_INT (ok, n);
  if (n > 0)
    {
      qsort (samples, (size_t) n, sizeof *samples, cmp_u64);
      printf ("# exec `true` round trip over %d runs: median %.1f us, p90 %.1f us, p99 %.1f us\n", n,
              samples[n / 2] / 1e3, samples[n * 9 / 10] / 1e3, samples[n * 99 / 100] / 1e3);
    }
  free (samples);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST_MAIN (TEST_ENTRY (test_fifty_concurrent_sessions),
           TEST_ENTRY (test_three_hundred_sessions_alive_at_once),
           TEST_ENTRY (test_big_output_arrives_intact_and_in_order),
           TEST_ENTRY (test_slow_host_bounds_agent_memory),
           TEST_ENTRY (test_bulk_stdin_through_cat_round_trips),
           TEST_ENTRY (test_unpaced_bulk_stdin_is_paced_by_the_agent_without_loss),
           TEST_ENTRY (test_stdin_for_a_child_that_never_reads_is_bounded),
           TEST_ENTRY (bench_exec_true_round_trip))
