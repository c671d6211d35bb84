/* The runtime's event loop: epoll with one callback per watched fd. Single-threaded. */
#ifndef MSB_RUNTIME_LOOP_H
#define MSB_RUNTIME_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

typedef struct msb_watch msb_watch;
typedef void (*msb_watch_fn) (msb_watch *w, uint32_t events);

struct msb_watch
{
  int fd;
  uint32_t events; /* currently registered EPOLL* mask */
  msb_watch_fn fn;
  void *data;
};

typedef struct msb_loop
{
  int epfd;
  /* The batch being dispatched: a callback may delete (and free) a watch that still has an
   * event further down the batch, so msb_loop_del forgets those events. */
  struct epoll_event *batch;
  int batch_len;
  int batch_next;
} msb_loop;

int msb_loop_init (msb_loop *l);
void msb_loop_close (msb_loop *l);
int msb_loop_add (msb_loop *l, msb_watch *w, int fd, uint32_t events, msb_watch_fn fn, void *data);
/* Changes the registered mask (no-op when unchanged). */
void msb_loop_set (msb_loop *l, msb_watch *w, uint32_t events);
/* Stops watching; events of `w` not yet dispatched in the current batch are dropped, so the
 * caller may free `w` (and close its fd) right after, even from inside a callback. */
void msb_loop_del (msb_loop *l, msb_watch *w);
/* Waits up to timeout_ms and dispatches ready watches. */
int msb_loop_run_once (msb_loop *l, int timeout_ms);

#endif
