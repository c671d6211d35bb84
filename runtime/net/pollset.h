/* The adapter between the poll(2)-shaped APIs of the network engine — libslirp's
 * slirp_pollfds_fill / slirp_pollfds_poll and the DNS interceptor's fill / dispatch — and the
 * runtime's single epoll loop. Each engine round declares the fds it wants and for which
 * events (begin, want…, commit); the set lives in an inner epoll instance whose one fd the
 * runtime's loop watches, and only the differences from the previous round reach the kernel.
 * After a wakeup, wait() collects what is ready and revents() answers per fd, as poll would.
 *
 * An fd closed without forget() is harmless only if it is not reused within the same round;
 * every owner of fds in the set reports its closes (slirp's unregister_poll_fd, the
 * interceptor's close hook). Not thread-safe; owned by the engine. */
#ifndef MSB_RUNTIME_NET_POLLSET_H
#define MSB_RUNTIME_NET_POLLSET_H

#include <stdint.h>

typedef struct msb_net_pollset msb_net_pollset;

/* NULL when epoll_create1 failed (errno set). */
msb_net_pollset *msb_net_pollset_new (void);
void msb_net_pollset_free (msb_net_pollset *ps);
/* The fd the runtime's loop watches for EPOLLIN. */
int msb_net_pollset_fd (const msb_net_pollset *ps);

/* A new round: what is not wanted again before commit() is dropped from the set. */
void msb_net_pollset_begin (msb_net_pollset *ps);
/* POLLIN / POLLOUT / POLLPRI of `fd` this round. */
void msb_net_pollset_want (msb_net_pollset *ps, int fd, short events);
void msb_net_pollset_commit (msb_net_pollset *ps);
/* `fd` is being closed: the kernel drops it from the set, and so must we. */
void msb_net_pollset_forget (msb_net_pollset *ps, int fd);

/* Collects the ready fds (without blocking); their poll-style revents until the next wait. */
void msb_net_pollset_wait (msb_net_pollset *ps);
short msb_net_pollset_revents (const msb_net_pollset *ps, int fd);

#endif
