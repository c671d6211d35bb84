/* The poll-to-epoll adapter of the network engine (runtime/net/pollset.c): what a round wants
 * is what the kernel watches, fds not wanted again drop out, and a closed-and-reused fd
 * number is watched again once forgotten. */
#include <poll.h>
#include <stdbool.h>
#include <unistd.h>

#include "runtime/net/pollset.h"
#include "tests/unit/test.h"

static void
round_with (msb_net_pollset *ps, int fd, short events)
{
  msb_net_pollset_begin (ps);
  if (fd >= 0)
    msb_net_pollset_want (ps, fd, events);
  msb_net_pollset_commit (ps);
}

static bool
outer_ready (msb_net_pollset *ps)
{
  struct pollfd p = { msb_net_pollset_fd (ps), POLLIN, 0 };
  return poll (&p, 1, 0) == 1;
}

TEST (test_wanted_fds_report_like_poll)
{
  msb_net_pollset *ps = msb_net_pollset_new ();
  int p[2];
  CHECK_EQ_INT (pipe (p), 0);
  round_with (ps, p[0], POLLIN);
  CHECK (!outer_ready (ps));
  CHECK_EQ_INT (write (p[1], "x", 1), 1);
  CHECK (outer_ready (ps));
  msb_net_pollset_wait (ps);
  CHECK (msb_net_pollset_revents (ps, p[0]) & POLLIN);
  CHECK_EQ_INT (msb_net_pollset_revents (ps, p[1]), 0);
  /* Not wanted in the next round: no longer watched. */
  round_with (ps, -1, 0);
  CHECK (!outer_ready (ps));
  msb_net_pollset_wait (ps);
  CHECK_EQ_INT (msb_net_pollset_revents (ps, p[0]), 0);
  /* Wanted again: watched again. */
  round_with (ps, p[0], POLLIN);
  CHECK (outer_ready (ps));
  close (p[0]);
  close (p[1]);
  msb_net_pollset_free (ps);
}

TEST (test_forgotten_fd_number_is_watched_again)
{
  msb_net_pollset *ps = msb_net_pollset_new ();
  int a[2], b[2];
  CHECK_EQ_INT (pipe (a), 0);
  round_with (ps, a[0], POLLIN);
  /* Closed (the kernel drops it from the set) and the number reused within one round. */
  int num = a[0];
  msb_net_pollset_forget (ps, num);
  close (a[0]);
  CHECK_EQ_INT (pipe (b), 0);
  CHECK_EQ_INT (b[0], num);
  round_with (ps, b[0], POLLIN);
  CHECK_EQ_INT (write (b[1], "y", 1), 1);
  CHECK (outer_ready (ps));
  msb_net_pollset_wait (ps);
  CHECK (msb_net_pollset_revents (ps, b[0]) & POLLIN);
  close (a[1]);
  close (b[0]);
  close (b[1]);
  msb_net_pollset_free (ps);
}

TEST (test_events_change_between_rounds)
{
  msb_net_pollset *ps = msb_net_pollset_new ();
  int p[2];
  CHECK_EQ_INT (pipe (p), 0);
  round_with (ps, p[1], 0); /* only errors and hangups */
  CHECK (!outer_ready (ps));
  round_with (ps, p[1], POLLOUT);
  CHECK (outer_ready (ps));
  msb_net_pollset_wait (ps);
  CHECK (msb_net_pollset_revents (ps, p[1]) & POLLOUT);
  close (p[0]);
  close (p[1]);
  msb_net_pollset_free (ps);
}

TEST_MAIN (TEST_ENTRY (test_wanted_fds_report_like_poll),
           TEST_ENTRY (test_forgotten_fd_number_is_watched_again),
           TEST_ENTRY (test_events_change_between_rounds))
