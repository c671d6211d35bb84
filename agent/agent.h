/* The state of one msb-agent process: the host channel, the epoll set, the sandbox defaults
 * taken from core.bootstrap and the table of exec sessions. One instance lives in main();
 * every other file receives it by pointer. The agent is single-threaded: nothing here is
 * locked, and no handler may block the loop. */
#ifndef MSB_AGENT_AGENT_H
#define MSB_AGENT_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "agent/channel.h"
#include "common/error.h"

/* What an epoll event belongs to; epoll_event.data.ptr points at one of these. */
typedef enum agent_watch_kind
{
  AGENT_WATCH_CHANNEL,
  AGENT_WATCH_SIGNALS,
  AGENT_WATCH_SESSION_OUTPUT, /* stdout/stderr pipe or pty master */
  AGENT_WATCH_SESSION_STDIN,  /* stdin pipe (pty stdin goes through the output watch) */
  AGENT_WATCH_SESSION_REPORT, /* the child's setup-failure pipe, until exec */
  AGENT_WATCH_FS_JOB,         /* result pipe of a filesystem worker (fs_jobs.c) */
} agent_watch_kind;

typedef struct agent_watch
{
  agent_watch_kind kind;
  int fd;          /* -1 once closed: late events in the same epoll batch are skipped */
  uint32_t events; /* currently registered with epoll; 0 = not registered */
  void *owner;     /* the agent_session, for session watches */
} agent_watch;

/* Sandbox-wide exec defaults from core.bootstrap (API.md §3.6). */
typedef struct agent_defaults
{
  char **env;    /* image ENV + create env, "K=V" */
  char *workdir; /* NULL = "/" */
  char *user;    /* NULL = root */
} agent_defaults;

typedef struct agent_session agent_session;
typedef struct agent_fs agent_fs;

#define AGENT_SESSION_BUCKETS 1024u

typedef struct msb_agent
{
  int epoll_fd;
  agent_channel channel;
  agent_watch channel_watch;
  agent_watch signal_watch;
  agent_defaults defaults;

  /* Exec sessions: hashed by frame id (live ones only) and by pid (until reaped). */
  agent_session *by_id[AGENT_SESSION_BUCKETS];
  agent_session *by_pid[AGENT_SESSION_BUCKETS];
  agent_session *sessions;   /* every session, for iteration */
  agent_session *graveyard;  /* freed after the current epoll batch */
  size_t n_sessions;

  agent_fs *fs; /* filesystem server (fs.c) */

  uint64_t activity_seq;  /* core.touched: bumped by touch and exec requests */
  uint64_t boot_time_ns;  /* CLOCK_BOOTTIME when the agent started */
  uint64_t init_time_ns;  /* CLOCK_BOOTTIME once bootstrap was applied */

  bool is_pid1;
  /* Custom init (init.c): PID 1 is the init, the agent is its child. */
  bool has_init;
  bool has_asked_init_to_stop;
  pid_t init_pid;       /* 1, or the init's pid when the agent itself is not PID 1 (tests) */
  int init_stop_signal; /* SIGTERM, or SIGRTMIN+4 for systemd */
  bool is_output_paused;  /* session outputs unwatched: the host is not keeping up */

  /* Total bytes queued for children's stdin, and when some of it last moved. */
  size_t stdin_backlog;
  uint64_t stdin_progress_ns;

  /* Shutdown (shutdown.c). */
  bool is_shutting_down;
  bool has_sent_sigkill;
  bool is_host_gone;      /* channel closed or broken: nothing more to flush */
  int exit_code;
  uint64_t shutdown_deadline_ns;

  /* Process attributes children must not inherit from the agent. */
  sigset_t blocked_signals;   /* blocked for the signalfd */
  sigset_t ignored_signals;   /* SIG_IGN in the agent; reset to SIG_DFL in children */
  struct rlimit nofile_orig;  /* the agent raises its own soft nofile */
  bool can_setgroups;         /* false when /proc/self/setgroups says "deny" */
} msb_agent;

/* Registers, changes or (events == 0) unregisters `w` in the agent's epoll set. */
int agent_watch_set (msb_agent *a, agent_watch *w, uint32_t events, msb_error **err);
/* Unregisters and closes `w`; safe on a closed watch. */
void agent_watch_close (msb_agent *a, agent_watch *w);

/* CLOCK_BOOTTIME in nanoseconds (the clock of core.ready). */
uint64_t agent_boottime_ns (void);

#endif
