/* msb-agent, control protocol (API.md §3): bootstrap/ready, ping, touch, errors on bad
 * input, session id rules, client disconnect, shutdown and host loss. */
#include "tests/unit/agent/agent_harness.h"

/* A CBOR envelope {"v": 7, "t": <name>, "p": h'a0'} for a type the codec cannot encode. */
static size_t
envelope_with_type (uint8_t *out, const char *name)
{
  size_t n = 0, len = strlen (name);
  out[n++] = 0xa3;
  out[n++] = 0x61, out[n++] = 'v', out[n++] = 0x07;
  out[n++] = 0x61, out[n++] = 't';
  out[n++] = 0x60 | (uint8_t) len; /* names < 24 bytes */
  memcpy (out + n, name, len);
  n += len;
  out[n++] = 0x61, out[n++] = 'p', out[n++] = 0x41, out[n++] = 0xa0;
  return n;
}

TEST (test_bootstrap_answers_ready_with_times_and_version)
{
  agent_proc ap;
  msb_msg_ready ready = { 0 };
  CHECK (agent_boot_with (&ap, NULL, &ready) == 0);
  CHECK (ready.boot_time_ns > 0);
  CHECK (ready.boot_time_ns <= ready.init_time_ns);
  CHECK (ready.init_time_ns <= ready.ready_time_ns);
  CHECK_EQ_STR (ready.agent_version, MSB_VERSION);
  free (ready.agent_version);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_first_frame_other_than_bootstrap_is_rejected)
{
  agent_proc ap;
  CHECK (agent_spawn (&ap) == 0);
  agent_send_type (&ap, 0, MSB_MSG_PING);
  rx_frame f;
  CHECK_EQ_INT (agent_recv (&ap, 5000, &f), 1);
  CHECK (f.m.type == MSB_MSG_ERROR);
  CHECK_EQ_INT (f.m.u.error.kind, MSB_PERR_INVALID_PAYLOAD);
  CHECK_EQ_STR (f.m.u.error.offending_type, "core.ping");
  rx_clear (&f);
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) != 0);
  agent_free (&ap);
}

TEST (test_ping_answers_pong_on_same_id)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  agent_send_type (&ap, 42, MSB_MSG_PING);
  rx_frame f;
  CHECK_EQ_INT (agent_recv (&ap, 5000, &f), 1);
  CHECK (f.m.type == MSB_MSG_PONG);
  CHECK_EQ_INT (f.id, 42);
  CHECK (f.flags & MSB_FLAG_TERMINAL);
  rx_clear (&f);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

static uint64_t
touch (agent_proc *ap)
{
  agent_send_type (ap, 9, MSB_MSG_TOUCH);
  rx_frame f;
  uint64_t seq = 0;
  if (agent_recv (ap, 5000, &f) == 1 && f.m.type == MSB_MSG_TOUCHED && f.id == 9)
    seq = f.m.u.touched.activity_seq;
  rx_clear (&f);
  return seq;
}

TEST (test_touch_counts_touches_and_exec_requests)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  uint64_t first = touch (&ap);
  CHECK (first >= 1);
  CHECK_EQ_INT (touch (&ap), first + 1);
  exec_result r;
  exec_run (&ap, 5, &(exec_opts){ .cmd = "true" }, &r);
  exec_result_free (&r);
  CHECK_EQ_INT (touch (&ap), first + 3);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_unknown_message_type_is_reported_with_its_name)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  uint8_t body[64];
  size_t n = envelope_with_type (body, "core.bogus");
  agent_send_raw (&ap, 77, 0, body, n);
  rx_frame f;
  CHECK_EQ_INT (agent_recv (&ap, 5000, &f), 1);
  CHECK (f.m.type == MSB_MSG_ERROR);
  CHECK_EQ_INT (f.id, 77);
  CHECK (f.flags & MSB_FLAG_TERMINAL);
  CHECK_EQ_INT (f.m.u.error.kind, MSB_PERR_UNSUPPORTED_MESSAGE_TYPE);
  CHECK_EQ_STR (f.m.u.error.offending_type, "core.bogus");
  rx_clear (&f);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_undecodable_body_is_reported_and_agent_carries_on)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  static const uint8_t garbage[] = { 0xff, 0x00, 0x13, 0x37 };
  agent_send_raw (&ap, 12, 0, garbage, sizeof garbage);
  rx_frame f;
  CHECK_EQ_INT (agent_recv (&ap, 5000, &f), 1);
  CHECK (f.m.type == MSB_MSG_ERROR);
  CHECK_EQ_INT (f.id, 12);
  CHECK_EQ_INT (f.m.u.error.kind, MSB_PERR_MALFORMED_MESSAGE);
  rx_clear (&f);
  agent_send_type (&ap, 13, MSB_MSG_PING);
  CHECK_EQ_INT (agent_recv (&ap, 5000, &f), 1);
  CHECK (f.m.type == MSB_MSG_PONG);
  rx_clear (&f);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

/* Mutates encoded control and session messages (never exec requests: a mutated one could
 * run an arbitrary command) and throws pure noise; the agent must answer or ignore each
 * and still be alive. */
TEST (test_mutated_and_random_bodies_never_break_the_agent)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  msb_msg seeds[6] = {
    { .type = MSB_MSG_PING },
    { .type = MSB_MSG_TOUCH },
    { .type = MSB_MSG_EXEC_STDIN, .u.data.data = { (const uint8_t *) "abc", 3 } },
    { .type = MSB_MSG_EXEC_SIGNAL, .u.exec_signal.signal = 15 },
    { .type = MSB_MSG_EXEC_RESIZE, .u.exec_resize = { 10, 20 } },
    { .type = MSB_MSG_CLOCK_SYNC, .u.clock_sync.unix_time_nanos = 1 },
  };
  srand (1234);
  for (int i = 0; i < 5000; i++)
    {
      msb_buf body = MSB_BUF_INIT;
      if (i % 5 == 4)
        {
          size_t n = (size_t) (rand () % 64);
          for (size_t k = 0; k < n; k++)
            msb_buf_append_byte (&body, (uint8_t) rand ());
        }
      else
        {
          msb_msg *m = &seeds[i % 6];
          m->generation = MSB_PROTO_GENERATION;
          msb_msg_encode_body (&body, m);
          for (int flips = 1 + rand () % 3; flips > 0 && body.len; flips--)
            body.data[rand () % body.len] ^= (uint8_t) (1u << (rand () % 8));
        }
      agent_send_raw (&ap, 500 + (uint32_t) (i % 50), 0, body.data, body.len);
      msb_buf_free (&body);
      rx_frame f;
      while (agent_recv (&ap, 0, &f) == 1)
        rx_clear (&f);
    }
  agent_send_type (&ap, 4242, MSB_MSG_PING);
  bool got_pong = false;
  rx_frame f;
  while (!got_pong && agent_recv (&ap, 5000, &f) == 1)
    {
      got_pong = f.id == 4242 && f.m.type == MSB_MSG_PONG;
      rx_clear (&f);
    }
  CHECK (got_pong);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_framing_error_ends_the_agent)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  static const uint8_t bad[] = { 0, 0, 0, 3, 0, 0, 0, 1, 0 }; /* len 3 < 5 */
  msb_buf_append (&ap.out, bad, sizeof bad);
  rx_frame f;
  while (agent_recv (&ap, 3000, &f) == 1)
    rx_clear (&f);
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  agent_free (&ap);
}

TEST (test_exec_request_on_busy_id_is_invalid_session)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 7 };
  exec_send (&ap, 7, &(exec_opts){ .cmd = "sleep", .args = { "30" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  CHECK (r.is_started);
  exec_result dup = { .id = 7 };
  exec_send (&ap, 7, &(exec_opts){ .cmd = "true", .keep_stdin_open = true });
  exec_pump (&ap, &dup, 1, 5000, exec_is_done);
  CHECK (dup.has_error);
  CHECK_EQ_INT (dup.error_kind, MSB_PERR_INVALID_SESSION);
  exec_send_signal (&ap, 7, SIGKILL);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (r.is_exited);
  CHECK_EQ_INT (r.code, -1);
  exec_result zero = { .id = 0 };
  exec_send (&ap, 0, &(exec_opts){ .cmd = "true", .keep_stdin_open = true });
  exec_pump (&ap, &zero, 1, 5000, exec_is_done);
  CHECK (zero.has_error && zero.error_kind == MSB_PERR_INVALID_SESSION);
  exec_result_free (&r);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_client_disconnect_forgets_its_sessions)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 20 };
  exec_send (&ap, 20, &(exec_opts){ .cmd = "sh", .args = { "-c", "echo hi; exec sleep 30" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  CHECK (r.is_started);
  msb_msg m = { .type = MSB_MSG_RELAY_CLIENT_DISCONNECTED };
  m.u.relay_client_disconnected.id_start = 10;
  m.u.relay_client_disconnected.id_end_exclusive = 30;
  /* Only the relay speaks on id 0; on a session id the message is refused. */
  exec_result forged = { .id = 25 };
  agent_send (&ap, 25, &m);
  exec_pump (&ap, &forged, 1, 5000, exec_is_done);
  CHECK (forged.has_error && forged.error_kind == MSB_PERR_INVALID_SESSION);
  CHECK_EQ_INT (count_children (ap.pid), 1);
  agent_send (&ap, 0, &m);
  /* The relay SIGKILLs the client's sessions itself; here the test plays the relay. */
  usleep (100000);
  kill ((pid_t) r.pid, SIGKILL);
  CHECK_EQ_INT (wait_no_children (ap.pid, 3000), 0);
  agent_send_type (&ap, 99, MSB_MSG_PING);
  int frames_for_20 = 0;
  rx_frame f;
  while (agent_recv (&ap, 2000, &f) == 1)
    {
      bool is_pong = f.m.type == MSB_MSG_PONG;
      frames_for_20 += f.id == 20 && !(f.m.type == MSB_MSG_EXEC_STDOUT);
      rx_clear (&f);
      if (is_pong)
        break;
    }
  CHECK_EQ_INT (frames_for_20, 0);
  /* The id is free again. */
  exec_result again;
  exec_run (&ap, 20, &(exec_opts){ .cmd = "true" }, &again);
  CHECK (again.is_exited && again.code == 0);
  exec_result_free (&r);
  exec_result_free (&again);
  CHECK_EQ_INT (agent_shutdown (&ap), 0);
}

TEST (test_shutdown_stops_sessions_and_exits_zero)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "sleep", .args = { "30" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  CHECK (r.is_started);
  agent_send_type (&ap, 0, MSB_MSG_SHUTDOWN);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (r.is_exited);
  CHECK_EQ_INT (r.code, -1);
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (!process_exists ((pid_t) r.pid));
  exec_result_free (&r);
  agent_free (&ap);
}

TEST (test_shutdown_kills_processes_ignoring_sigterm_after_grace)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "sh", .args = { "-c", "trap '' TERM; echo armed; sleep 30; true" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  for (uint64_t end = harness_now_ms () + 5000; r.out.len == 0 && harness_now_ms () < end;)
    exec_pump (&ap, &r, 1, 50, exec_is_done);
  uint64_t t0 = harness_now_ms ();
  agent_send_type (&ap, 0, MSB_MSG_SHUTDOWN);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  int status = agent_wait_exit (&ap, 5000);
  uint64_t elapsed = harness_now_ms () - t0;
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (r.is_exited && r.code == -1);
  CHECK (elapsed >= 1000 && elapsed < 4000);
  CHECK (!process_exists ((pid_t) r.pid));
  exec_result_free (&r);
  agent_free (&ap);
}

TEST (test_shutdown_also_stops_processes_that_left_their_session)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r;
  /* setsid in a background job does not fork: $! is the daemon itself. */
  exec_run (&ap, 1, &(exec_opts){ .cmd = "sh", .args = { "-c", "setsid sleep 31 & echo $!" } }, &r);
  pid_t daemon_pid = (pid_t) atoi (exec_stdout (&r));
  CHECK (daemon_pid > 0 && process_exists (daemon_pid));
  agent_send_type (&ap, 0, MSB_MSG_SHUTDOWN);
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (!process_exists (daemon_pid));
  exec_result_free (&r);
  agent_free (&ap);
}

TEST (test_sigterm_to_agent_shuts_down)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "sleep", .args = { "30" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  kill (ap.pid, SIGTERM);
  exec_pump (&ap, &r, 1, 5000, exec_is_done);
  CHECK (r.is_exited);
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (!process_exists ((pid_t) r.pid));
  exec_result_free (&r);
  agent_free (&ap);
}

TEST (test_host_closing_channel_ends_agent_and_sessions)
{
  agent_proc ap;
  CHECK (agent_boot (&ap) == 0);
  exec_result r = { .id = 1 };
  exec_send (&ap, 1, &(exec_opts){ .cmd = "sleep", .args = { "30" } });
  exec_pump (&ap, &r, 1, 5000, exec_is_started);
  close (ap.fd);
  ap.fd = -1;
  int status = agent_wait_exit (&ap, 5000);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (!process_exists ((pid_t) r.pid));
  exec_result_free (&r);
  agent_free (&ap);
}

TEST_MAIN (TEST_ENTRY (test_bootstrap_answers_ready_with_times_and_version),
           TEST_ENTRY (test_first_frame_other_than_bootstrap_is_rejected),
           TEST_ENTRY (test_ping_answers_pong_on_same_id),
           TEST_ENTRY (test_touch_counts_touches_and_exec_requests),
           TEST_ENTRY (test_unknown_message_type_is_reported_with_its_name),
           TEST_ENTRY (test_undecodable_body_is_reported_and_agent_carries_on),
           TEST_ENTRY (test_mutated_and_random_bodies_never_break_the_agent),
           TEST_ENTRY (test_framing_error_ends_the_agent),
           TEST_ENTRY (test_exec_request_on_busy_id_is_invalid_session),
           TEST_ENTRY (test_client_disconnect_forgets_its_sessions),
           TEST_ENTRY (test_shutdown_stops_sessions_and_exits_zero),
           TEST_ENTRY (test_shutdown_kills_processes_ignoring_sigterm_after_grace),
           TEST_ENTRY (test_shutdown_also_stops_processes_that_left_their_session),
           TEST_ENTRY (test_sigterm_to_agent_shuts_down),
           TEST_ENTRY (test_host_closing_channel_ends_agent_and_sessions))
