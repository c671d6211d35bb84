/* Exec sessions after spawn: the table keyed by frame id and pid, output streaming, stdin
 * queues, signals, resize, and the end of a session (reap → drain → exited). A session is
 * created by exec.c; it leaves the id table when its terminal frame is sent or its client
 * disconnects, and is freed once its process has been reaped. */
#ifndef MSB_AGENT_SESSION_H
#define MSB_AGENT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "agent/queue.h"

struct agent_session
{
  uint32_t id;
  pid_t pid;          /* 0 until forked */
  bool has_tty;
  bool is_spawning;   /* the report pipe has not told started from failed yet */
  bool is_finished;   /* terminal frame sent (or the client left): no more frames */
  bool is_in_id_table;
  bool is_in_pid_table;
  bool is_stdin_eof_pending; /* close stdin once the queue is flushed */
  bool has_reported_stdin_error;
  bool is_pty_eof;    /* the pty master read EIO: no process holds the slave */
  int stdin_errno;    /* why stdin is gone (EPIPE when the child closed it) */
  char *cmd;          /* for messages */

  agent_watch out;    /* stdout pipe, or the pty master (also written for stdin) */
  agent_watch err;    /* stderr pipe; -1 with a tty */
  agent_watch in;     /* stdin pipe; -1 with a tty */
  agent_watch report; /* setup-failure pipe, until exec */
  agent_queue stdin_queue;

  agent_session *next_by_id;
  agent_session *next_by_pid;
  agent_session *prev;
  agent_session *next;
  agent_session *next_dead;
};

/* Allocates a session for frame id `id` and enters it in the id table. */
agent_session *agent_session_new (msb_agent *a, uint32_t id, const char *cmd, bool has_tty);
/* The live session using frame id `id`, or NULL. */
agent_session *agent_session_find (msb_agent *a, uint32_t id);
/* The session whose process is `pid` (until reaped), or NULL. */
agent_session *agent_session_find_pid (msb_agent *a, pid_t pid);
/* Records the forked pid (enters the pid table). */
void agent_session_set_pid (msb_agent *a, agent_session *s, pid_t pid);

/* Sends core.exec.started and starts streaming output. */
void agent_session_start (msb_agent *a, agent_session *s);
/* Sends a terminal core.exec.failed; the session ends (freed now if there is no process
 * left to reap). */
void agent_session_fail (msb_agent *a, agent_session *s, const msb_msg_exec_failed *f);
/* The process was reaped with wait status `status`: drains what it wrote, sends
 * core.exec.exited and frees the session. */
void agent_session_exited (msb_agent *a, agent_session *s, int status);

/* Event handlers for the session's watches. */
void agent_session_on_output (msb_agent *a, agent_watch *w, uint32_t events);
void agent_session_on_stdin_ready (msb_agent *a, agent_session *s);

/* core.exec.stdin: queues data for the child (empty = EOF). */
void agent_session_write_stdin (msb_agent *a, agent_session *s, const uint8_t *data, size_t len);
/* core.exec.signal: to the process group. */
void agent_session_signal (agent_session *s, int sig);
/* core.exec.resize. */
void agent_session_resize (agent_session *s, uint16_t rows, uint16_t cols);

/* core.relay.client.disconnected: forgets every session with id in [start, end). */
void agent_sessions_forget_range (msb_agent *a, uint32_t start, uint32_t end);
/* Stops or resumes reading every session's output (host backpressure). */
void agent_sessions_set_output_paused (msb_agent *a, bool paused);
/* Sends `sig` to the process group of every session with a process. */
void agent_sessions_signal_all (msb_agent *a, int sig);
/* Frees the sessions that ended during the current epoll batch. */
void agent_sessions_collect_garbage (msb_agent *a);

#endif
