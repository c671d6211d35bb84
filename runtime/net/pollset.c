/* The poll-to-epoll adapter (see pollset.h): a table indexed by fd holding what each fd wants
 * this round, what the kernel has registered, and what the last wait reported. */
#include "runtime/net/pollset.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/util.h"

#define WAIT_BATCH 512

typedef struct slot
{
  uint32_t round;      /* the round that last wanted it */
  uint32_t want;       /* EPOLL* */
  uint32_t registered; /* EPOLL* as the kernel has it; 0 = not registered */
  uint32_t ready_round;
  short revents;
} slot;

struct msb_net_pollset
{
  int epfd;
  slot *slots;
  size_t n_slots;
  int *active; /* fds registered or wanted, to find the ones to drop */
  size_t n_active;
  size_t cap_active;
  uint32_t round;
  uint32_t wait_round;
};

msb_net_pollset *
msb_net_pollset_new (void)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    return NULL;
  msb_net_pollset *ps = msb_xcalloc (1, sizeof *ps);
  ps->epfd = epfd;
  ps->round = 1;
  return ps;
}

void
msb_net_pollset_free (msb_net_pollset *ps)
{
  if (ps == NULL)
    return;
  close (ps->epfd);
  free (ps->slots);
  free (ps->active);
  free (ps);
}

int
msb_net_pollset_fd (const msb_net_pollset *ps)
{
  return ps->epfd;
}

static slot *
slot_of (msb_net_pollset *ps, int fd)
{
  if ((size_t) fd >= ps->n_slots)
    {
      size_t n = ps->n_slots ? ps->n_slots : 256;
      while (n <= (size_t) fd)
        n *= 2;
      ps->slots = msb_xrealloc (ps->slots, n * sizeof *ps->slots);
      memset (ps->slots + ps->n_slots, 0, (n - ps->n_slots) * sizeof *ps->slots);
      ps->n_slots = n;
    }
  return &ps->slots[fd];
}

void
msb_net_pollset_begin (msb_net_pollset *ps)
{
  ps->round++;
  if (ps->round == 0)
    ps->round = 1;
}

void
msb_net_pollset_want (msb_net_pollset *ps, int fd, short events)
{
  if (fd < 0)
    return;
  slot *s = slot_of (ps, fd);
  uint32_t ev = (events & POLLIN ? EPOLLIN : 0u) | (events & POLLOUT ? EPOLLOUT : 0u)
                | (events & POLLPRI ? EPOLLPRI : 0u);
  if (s->round == ps->round)
    {
      s->want |= ev;
      return;
    }
  if (s->round == 0 && s->registered == 0)
    {
      if (ps->n_active == ps->cap_active)
        {
          ps->cap_active = ps->cap_active ? ps->cap_active * 2 : 64;
          ps->active = msb_xrealloc (ps->active, ps->cap_active * sizeof *ps->active);
        }
      ps->active[ps->n_active++] = fd;
    }
  s->round = ps->round;
  s->want = ev;
}

static void
set_registration (msb_net_pollset *ps, int fd, slot *s)
{
  /* An empty mask still reports errors and hangups, which slirp wants to hear about. */
  struct epoll_event e = { .events = s->want, .data.fd = fd };
  if (s->registered)
    {
      if (epoll_ctl (ps->epfd, EPOLL_CTL_MOD, fd, &e) == 0)
        {
          s->registered = s->want | EPOLLERR;
          return;
        }
      if (errno != ENOENT)
        return;
    }
  if (epoll_ctl (ps->epfd, EPOLL_CTL_ADD, fd, &e) == 0
      || (errno == EEXIST && epoll_ctl (ps->epfd, EPOLL_CTL_MOD, fd, &e) == 0))
    s->registered = s->want | EPOLLERR;
}

void
msb_net_pollset_commit (msb_net_pollset *ps)
{
  size_t k = 0;
  for (size_t i = 0; i < ps->n_active; i++)
    {
      int fd = ps->active[i];
      slot *s = &ps->slots[fd];
      if (s->round != ps->round)
        {
          /* Not wanted this round: out of the set. */
          if (s->registered)
            epoll_ctl (ps->epfd, EPOLL_CTL_DEL, fd, NULL);
          memset (s, 0, sizeof *s);
          continue;
        }
      if (s->registered != (s->want | EPOLLERR))
        set_registration (ps, fd, s);
      ps->active[k++] = fd;
    }
  ps->n_active = k;
}

void
msb_net_pollset_forget (msb_net_pollset *ps, int fd)
{
  if (fd < 0 || (size_t) fd >= ps->n_slots)
    return;
  /* Stays in `active` until the next commit drops or re-adds it. */
  ps->slots[fd].registered = 0;
  ps->slots[fd].revents = 0;
  ps->slots[fd].ready_round = 0;
}

void
msb_net_pollset_wait (msb_net_pollset *ps)
{
  struct epoll_event evs[WAIT_BATCH];
  ps->wait_round = ps->round;
  int n = epoll_wait (ps->epfd, evs, WAIT_BATCH, 0);
  for (int i = 0; i < n; i++)
    {
      int fd = evs[i].data.fd;
      if (fd < 0 || (size_t) fd >= ps->n_slots)
        continue;
      uint32_t e = evs[i].events;
      slot *s = &ps->slots[fd];
      s->ready_round = ps->wait_round;
      s->revents = (short) ((e & EPOLLIN ? POLLIN : 0) | (e & EPOLLOUT ? POLLOUT : 0)
                            | (e & EPOLLPRI ? POLLPRI : 0) | (e & EPOLLERR ? POLLERR : 0)
                            | (e & EPOLLHUP ? POLLHUP : 0) | (e & EPOLLRDHUP ? POLLHUP : 0));
    }
}

short
msb_net_pollset_revents (const msb_net_pollset *ps, int fd)
{
  if (fd < 0 || (size_t) fd >= ps->n_slots || ps->slots[fd].ready_round != ps->wait_round)
    return 0;
  return ps->slots[fd].revents;
}
