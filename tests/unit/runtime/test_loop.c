/* The runtime's event loop: a callback may delete and free a watch whose event is still
 * pending in the same epoll batch (the relay closing a client while routing agent output);
 * that event must never be delivered. */
#include <stdlib.h>
#include <unistd.h>

#include "runtime/loop.h"
#include "tests/unit/test.h"

typedef struct pair_state
{
  msb_loop *loop;
  msb_watch *watches[2];
  int fds[2];
  int calls;
} pair_state;

static void
on_readable (msb_watch *w, uint32_t events)
{
  pair_state *st = w->data;
  st->calls++;
  /* Whichever watch runs first tears down the other, the way client_close does. */
  for (int i = 0; i < 2; i++)
    if (st->watches[i] && st->watches[i] != w)
      {
        msb_loop_del (st->loop, st->watches[i]);
        close (st->watches[i]->fd);
        free (st->watches[i]);
        st->watches[i] = NULL;
      }
}

TEST (test_loop_deleted_watch_gets_no_pending_event)
{
  msb_loop loop;
  CHECK (msb_loop_init (&loop) == 0);
  pair_state st = { .loop = &loop };
  int keep[2];
  for (int i = 0; i < 2; i++)
    {
      int p[2];
      CHECK (pipe (p) == 0);
      CHECK (write (p[1], "x", 1) == 1); /* both readable: one batch holds both events */
      keep[i] = p[1];
      st.watches[i] = calloc (1, sizeof (msb_watch));
      CHECK (msb_loop_add (&loop, st.watches[i], p[0], EPOLLIN, on_readable, &st) == 0);
    }
  CHECK_EQ_INT (msb_loop_run_once (&loop, 1000), 2);
  CHECK_EQ_INT (st.calls, 1);
  for (int i = 0; i < 2; i++)
    {
      if (st.watches[i])
        {
          msb_loop_del (&loop, st.watches[i]);
          close (st.watches[i]->fd);
          free (st.watches[i]);
        }
      close (keep[i]);
    }
  msb_loop_close (&loop);
}

static void
count_call (msb_watch *w, uint32_t events)
{
  char c;
  (void) !read (w->fd, &c, 1);
  ++*(int *) w->data;
}

TEST (test_loop_delivers_every_ready_watch)
{
  msb_loop loop;
  CHECK (msb_loop_init (&loop) == 0);
  int calls = 0, p[3][2];
  msb_watch w[3];
  for (int i = 0; i < 3; i++)
    {
      CHECK (pipe (p[i]) == 0);
      CHECK (write (p[i][1], "x", 1) == 1);
      CHECK (msb_loop_add (&loop, &w[i], p[i][0], EPOLLIN, count_call, &calls) == 0);
    }
  CHECK_EQ_INT (msb_loop_run_once (&loop, 1000), 3);
  CHECK_EQ_INT (calls, 3);
  /* A watch deleted outside a dispatch leaves the next batch alone. */
  msb_loop_del (&loop, &w[0]);
  for (int i = 0; i < 3; i++)
    CHECK (write (p[i][1], "y", 1) == 1);
  CHECK_EQ_INT (msb_loop_run_once (&loop, 1000), 2);
  CHECK_EQ_INT (calls, 5);
  for (int i = 0; i < 3; i++)
    {
      close (p[i][0]);
      close (p[i][1]);
    }
  msb_loop_close (&loop);
}

TEST_MAIN (TEST_ENTRY (test_loop_deleted_watch_gets_no_pending_event),
           TEST_ENTRY (test_loop_delivers_every_ready_watch))
