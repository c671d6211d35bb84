/* Signals and reaping. The agent blocks the signals it acts on and reads them from a
 * signalfd: handlers would have to be async-signal-safe, a signalfd is just another fd in
 * the loop. As PID 1 of a pid namespace the kernel drops signals the agent neither handles
 * nor blocks; blocked ones are queued, so the signalfd sees them. */
#ifndef MSB_AGENT_SIGNALS_H
#define MSB_AGENT_SIGNALS_H

#include <stdbool.h>

#include "agent/agent.h"

/* Blocks SIGCHLD/SIGTERM/SIGINT/SIGHUP, ignores SIGPIPE, records which dispositions children
 * must reset, and opens the signalfd (a->signal_watch). */
int agent_signals_setup (msb_agent *a, msb_error **err);

/* The signalfd is readable: SIGTERM/SIGINT begin shutdown, SIGCHLD reaps. */
void agent_signals_on_readable (msb_agent *a);

/* Reaps every exited child: a session's process ends its session, an orphan that was
 * reparented to the agent is reaped silently. Returns whether children remain. */
bool agent_reap_children (msb_agent *a);

/* Sends `sig` to every process the agent is responsible for: each session's process group,
 * then every process in the pid namespace when PID 1, else every direct child (orphans the
 * agent adopted as a subreaper). */
void agent_signal_everything (msb_agent *a, int sig);

#endif
