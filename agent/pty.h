/* Pseudo-terminals for tty exec sessions: a master the agent keeps (non-blocking, read for
 * output, written for stdin, resized on request) and a slave handed to the child, which
 * makes it its controlling terminal (spawn.c). */
#ifndef MSB_AGENT_PTY_H
#define MSB_AGENT_PTY_H

#include <stdint.h>

#include "common/error.h"

/* Opens a pty pair from /dev/ptmx sized rows×cols. Both fds are O_CLOEXEC; the master is
 * non-blocking; neither becomes the agent's controlling terminal. */
int agent_pty_open (uint16_t rows, uint16_t cols, int *master_out, int *slave_out,
                    msb_error **err);

/* TIOCSWINSZ on the master; the kernel sends SIGWINCH to the foreground process group. */
int agent_pty_resize (int master, uint16_t rows, uint16_t cols, msb_error **err);

#endif
