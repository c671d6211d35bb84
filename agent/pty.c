/* pty allocation (see pty.h). The slave is opened through TIOCGPTPEER on the master rather
 * than by its /dev/pts path: the path is resolved in a filesystem the sandboxed code can
 * rearrange, the peer ioctl cannot be redirected. The path is only a fallback for kernels
 * older than 4.13. */
#include "agent/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

static int
open_slave (int master, int *slave_out, msb_error **err)
{
  int slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0 && errno == EINVAL)
    {
      char name[64];
      if (ptsname_r (master, name, sizeof name) != 0)
        return msb_fail_errno (err, errno, MSB_ERR_EXEC_FAILED, "ptsname");
      slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
  if (slave < 0)
    return msb_fail_errno (err, errno, MSB_ERR_EXEC_FAILED, "open the pty slave");
  *slave_out = slave;
  return 0;
}

int
agent_pty_open (uint16_t rows, uint16_t cols, int *master_out, int *slave_out,
                msb_error **err)
{
  _msb_cleanup_close_ int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (master < 0)
    return msb_fail_errno (err, errno, MSB_ERR_EXEC_FAILED, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_EXEC_FAILED, "unlock the pty");
  if (agent_pty_resize (master, rows, cols, err) < 0)
    return -1;
  if (open_slave (master, slave_out, err) < 0)
    return -1;
  *master_out = msb_steal_fd (&master);
  return 0;
}

int
agent_pty_resize (int master, uint16_t rows, uint16_t cols, msb_error **err)
{
  struct winsize ws = { .ws_row = rows, .ws_col = cols };
  if (ioctl (master, TIOCSWINSZ, &ws) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_EXEC_FAILED, "set the pty size to %ux%u",
                           (unsigned) rows, (unsigned) cols);
  return 0;
}
