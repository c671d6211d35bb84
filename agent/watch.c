/* epoll registration of agent_watch objects. A watch is removed from epoll explicitly before
 * its fd is closed: a forked child may still hold a duplicate of the same open file until it
 * execs, and epoll only forgets a registration when the last duplicate is closed — a
 * registration outliving its watch would deliver events into freed memory. */
#include "agent/agent.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int
agent_watch_set (msb_agent *a, agent_watch *w, uint32_t events, msb_error **err)
{
  if (w->fd < 0 || w->events == events)
    return 0;
  struct epoll_event ev = { .events = events, .data.ptr = w };
  int op = events == 0 ? EPOLL_CTL_DEL : w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl (a->epoll_fd, op, w->fd, &ev) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "epoll_ctl on fd %d", w->fd);
  w->events = events;
  return 0;
}

void
agent_watch_close (msb_agent *a, agent_watch *w)
{
  if (w->fd < 0)
    return;
  if (w->events != 0)
    epoll_ctl (a->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
  close (w->fd);
  w->fd = -1;
  w->events = 0;
}

uint64_t
agent_boottime_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_BOOTTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}
