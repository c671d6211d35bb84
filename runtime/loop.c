#include "runtime/loop.h"

#include <errno.h>
#include <unistd.h>

int
msb_loop_init (msb_loop *l)
{
  l->epfd = epoll_create1 (EPOLL_CLOEXEC);
  l->batch = NULL;
  l->batch_len = l->batch_next = 0;
  return l->epfd < 0 ? -1 : 0;
}

void
msb_loop_close (msb_loop *l)
{
  if (l->epfd >= 0)
    close (l->epfd);
  l->epfd = -1;
}

int
msb_loop_add (msb_loop *l, msb_watch *w, int fd, uint32_t events, msb_watch_fn fn, void *data)
{
  w->fd = fd;
  w->events = events;
  w->fn = fn;
  w->data = data;
  struct epoll_event ev = { .events = events, .data.ptr = w };
  return epoll_ctl (l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void
msb_loop_set (msb_loop *l, msb_watch *w, uint32_t events)
{
  if (w->events == events || w->fd < 0)
    return;
  w->events = events;
  struct epoll_event ev = { .events = events, .data.ptr = w };
  epoll_ctl (l->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void
msb_loop_del (msb_loop *l, msb_watch *w)
{
  if (w->fd >= 0)
    epoll_ctl (l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  for (int i = l->batch_next; l->batch && i < l->batch_len; i++)
    if (l->batch[i].data.ptr == w)
      l->batch[i].data.ptr = NULL;
}

int
msb_loop_run_once (msb_loop *l, int timeout_ms)
{
  struct epoll_event evs[64];
  int n = epoll_wait (l->epfd, evs, 64, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0 : -1;
  l->batch = evs;
  l->batch_len = n;
  for (int i = 0; i < n; i++)
    {
      msb_watch *w = evs[i].data.ptr;
      l->batch_next = i + 1;
      if (w && w->fn)
        w->fn (w, evs[i].events);
    }
  l->batch = NULL;
  l->batch_len = l->batch_next = 0;
  return n;
}
