/* The running phase of the runtime process: one event loop over the relay, control socket,
 * signals (SIGTERM/SIGINT = graceful stop, SIGUSR1 = drain, SIGCHLD = the sandbox ended),
 * the attached-mode watchdog pipe and one timer (shutdown flush window, max_duration,
 * idle_timeout). It returns when the sandbox is gone. */
#ifndef MSB_RUNTIME_SERVE_H
#define MSB_RUNTIME_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/control.h"
#include "runtime/exec_log.h"
#include "runtime/loop.h"
#include "runtime/metrics.h"
#include "runtime/relay.h"
#include "runtime/runtime.h"

typedef struct msb_rt_serve
{
  msb_runtime *rt;
  msb_loop loop;
  msb_relay *relay;
  msb_control *control;
  msb_exec_log *log;
  msb_watch signal_w;
  msb_watch watchdog_w;
  msb_watch timer_w;
  msb_watch metrics_w;
  msb_sampler *sampler;
  int signal_fd;
  int watchdog_fd;
  int timer_fd;
  int metrics_fd;
  bool stopping;        /* core.shutdown sent; waiting for the agent to exit */
  bool draining;
  bool stop_when_unused; /* a temporary start: stop once the last client leaves */
  bool done;            /* the sandbox process is reaped */
  uint64_t flush_deadline_ns;
  uint64_t max_deadline_ns;
  uint64_t idle_timeout_ns;
  const char *reason;   /* why the sandbox ended (termination_reason) */
  bool has_main;        /* a main command ran: its code is the run's exit code */
  int main_exit_code;
  int wait_status;
} msb_rt_serve;

/* Signals the runtime reads through signalfd; blocked for the whole process. */
void msb_rt_block_signals (void);

int msb_rt_serve_init (msb_rt_serve *s, msb_runtime *rt, int watchdog_fd, msb_error **err);
/* Hands the agent channel and sockets to the loop. */
int msb_rt_serve_attach (msb_rt_serve *s, int agent_listen_fd, int control_listen_fd,
                         const uint8_t *ready_frame, size_t ready_len, msb_error **err);
void msb_rt_serve_run (msb_rt_serve *s);
/* Starts a graceful stop (idempotent) recording `reason`. */
void msb_rt_serve_stop (msb_rt_serve *s, const char *reason);
void msb_rt_serve_close (msb_rt_serve *s);

#endif
