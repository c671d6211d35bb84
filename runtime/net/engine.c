/* The network engine (see net.h): one libslirp instance behind the policy filter, driven by
 * the runtime's event loop. This file owns the slirp instance, its callbacks and timers, the
 * link, the published ports, the engine's round and the byte counters; the poll-to-epoll
 * adapter, policy, DNS, frames and links live in their own files. Must never: block, or let
 * a frame reach slirp or the sandbox without passing the filter. */
#include "runtime/net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/home.h"
#include "runtime/net/dns.h"
#include "runtime/net/filter.h"
#include "runtime/net/link.h"
#include "runtime/net/net_internal.h"
#include "runtime/net/packet.h"
#include "runtime/net/pins.h"
#include "runtime/net/policy.h"
#include "runtime/net/pollset.h"
#include "runtime/net/slirp_api.h"
#include "runtime/rtlog.h"
#include "runtime/runtime.h"

#define MAX_TIMERS 8
#define MAX_PINS 8192
#define FRAMES_PER_ROUND 256
#define MAX_INJECT 16
#define DNS_POLL_MAX (1 + 32 + 256)
#define DNS_TCP_PER_ROUND 16 /* well below DNS_LISTEN_BACKLOG: see filter.h */
#define DNS_LISTEN_BACKLOG 128
#define DEFAULT_POOL "172.16.0.0/12"

typedef struct engine_timer
{
  bool used;
  SlirpTimerId id;
  SlirpTimerCb cb;
  void *cb_opaque;
  int64_t expire_ms; /* -1 = disarmed */
} engine_timer;

struct msb_net
{
  const msb_slirp_api *api;
  Slirp *slirp;
  msb_net_policy policy;
  msb_net_pins *pins;
  msb_net_dns *dns;
  msb_net_filter filter;
  msb_net_link *link;
  bool link_dead;
  uint32_t net_be, guest_be, gateway_be, dns_be;
  int run_dirfd;
  msb_loop *loop;
  msb_net_pollset *ps;
  msb_watch ps_w;
  msb_watch timer_w;
  int timer_fd;
  uint64_t timer_armed_ns; /* 0 = not armed */
  uint64_t rx;
  uint64_t tx;
  struct pollfd dns_pfd[DNS_POLL_MAX];
  size_t n_dns;
  engine_timer timers[MAX_TIMERS];
  uint8_t fd_bits[65536 / 8];
  unsigned n_fds;
  uint8_t inject[MAX_INJECT][1600];
  size_t inject_len[MAX_INJECT];
  size_t n_inject;
  uint8_t frame[MSB_NET_FRAME_MAX];
  uint8_t out[MSB_NET_FRAME_MAX];
};

/* ---- counters and frames to the sandbox -------------------------------------------------- */

/* Atomic: the counters are the one thing other code reads (the metrics sampler), and that
 * must stay true if it ever moves to a thread of its own. */
static void
count (uint64_t *c, size_t n)
{
  __atomic_fetch_add (c, (uint64_t) n, __ATOMIC_RELAXED);
}

void
msb_net_counters (const msb_net *net, uint64_t *rx, uint64_t *tx)
{
  *rx = net ? __atomic_load_n (&net->rx, __ATOMIC_RELAXED) : 0;
  *tx = net ? __atomic_load_n (&net->tx, __ATOMIC_RELAXED) : 0;
}

static void
to_guest (void *opaque, const uint8_t *frame, size_t len)
{
  msb_net *n = opaque;
  if (n->link && !n->link_dead && n->link->ops->send (n->link, frame, len))
    count (&n->rx, len);
}

/* Frames the filter wants slirp to see (a reset for a denied inbound connection); queued,
 * because they are produced inside slirp's own output callback. */
static void
to_slirp (void *opaque, const uint8_t *frame, size_t len)
{
  msb_net *n = opaque;
  if (n->n_inject == MAX_INJECT || len > sizeof n->inject[0])
    return;
  memcpy (n->inject[n->n_inject], frame, len);
  n->inject_len[n->n_inject++] = len;
}

static unsigned
open_connections (void *opaque)
{
  return ((msb_net *) opaque)->n_fds;
}

static void
dns_send_udp (void *opaque, const msb_dns_udp_client *c, const uint8_t *msg, size_t len)
{
  msb_net *n = opaque;
  if (!n->filter.has_guest_mac)
    return;
  size_t flen = msb_pkt_build_udp4 (n->out, sizeof n->out, n->filter.guest_mac,
                                    n->filter.gateway_mac, c->resolver_be, c->guest_be, 53,
                                    c->guest_port, msg, len);
  if (flen)
    to_guest (n, n->out, flen);
}

/* ---- slirp callbacks ---------------------------------------------------------------------- */

static ssize_t
cb_send_packet (const void *buf, size_t len, void *opaque)
{
  msb_net *n = opaque;
  if (len > sizeof n->out)
    return (ssize_t) len;
  /* The filter may rewrite the frame (DNS over TCP): work on a copy. */
  memcpy (n->out, buf, len);
  if (msb_net_filter_to_guest (&n->filter, n->out, len, msb_now_mono_ns ()) == MSB_NET_PASS)
    to_guest (n, n->out, len);
  return (ssize_t) len;
}

static void
cb_guest_error (const char *msg, void *opaque)
{
  msb_rtlog (MSB_RT_DEBUG, "net: slirp: %s", msg);
}

static int64_t
cb_clock_get_ns (void *opaque)
{
  return (int64_t) msb_now_mono_ns ();
}

static engine_timer *
timer_alloc (msb_net *n)
{
  for (int i = 0; i < MAX_TIMERS; i++)
    if (!n->timers[i].used)
      {
        memset (&n->timers[i], 0, sizeof n->timers[i]);
        n->timers[i].used = true;
        n->timers[i].expire_ms = -1;
        return &n->timers[i];
      }
  abort (); /* slirp uses one timer (IPv6 router advertisements) */
}

static void *
cb_timer_new (SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
  engine_timer *t = timer_alloc (opaque);
  t->cb = cb;
  t->cb_opaque = cb_opaque;
  return t;
}

static void *
cb_timer_new_opaque (SlirpTimerId id, void *cb_opaque, void *opaque)
{
  engine_timer *t = timer_alloc (opaque);
  t->id = id;
  t->cb_opaque = cb_opaque;
  return t;
}

static void
cb_timer_free (void *timer, void *opaque)
{
  ((engine_timer *) timer)->used = false;
}

static void
cb_timer_mod (void *timer, int64_t expire_ms, void *opaque)
{
  ((engine_timer *) timer)->expire_ms = expire_ms;
}

/* slirp reports the host sockets it opens and closes: their count is the sandbox's open
 * connections (max_connections). A bitmap, because slirp 4.7 also reports some it never
 * registered. */
static void
cb_register_poll_fd (int fd, void *opaque)
{
  msb_net *n = opaque;
  if (fd >= 0)
    msb_net_pollset_forget (n->ps, fd); /* a new socket, maybe on a number just closed */
  if (fd < 0 || fd >= 65536 || (n->fd_bits[fd / 8] & (1u << (fd % 8))))
    return;
  n->fd_bits[fd / 8] |= (uint8_t) (1u << (fd % 8));
  n->n_fds++;
}

static void
cb_unregister_poll_fd (int fd, void *opaque)
{
  msb_net *n = opaque;
  if (fd >= 0)
    msb_net_pollset_forget (n->ps, fd); /* slirp closes it next */
  if (fd < 0 || fd >= 65536 || !(n->fd_bits[fd / 8] & (1u << (fd % 8))))
    return;
  n->fd_bits[fd / 8] &= (uint8_t) ~(1u << (fd % 8));
  n->n_fds--;
}

static void
cb_notify (void *opaque)
{
}

static const SlirpCb callbacks = {
  .send_packet = cb_send_packet,
  .guest_error = cb_guest_error,
  .clock_get_ns = cb_clock_get_ns,
  .timer_new = cb_timer_new,
  .timer_free = cb_timer_free,
  .timer_mod = cb_timer_mod,
  .register_poll_fd = cb_register_poll_fd,
  .unregister_poll_fd = cb_unregister_poll_fd,
  .notify = cb_notify,
  .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the engine's round ------------------------------------------------------------------ */

/* slirp's index for an fd is the fd itself: the pollset answers per fd. */
static int
cb_add_poll (int fd, int events, void *opaque)
{
  msb_net *n = opaque;
  short ev = (short) ((events & SLIRP_POLL_IN ? POLLIN : 0) | (events & SLIRP_POLL_OUT ? POLLOUT : 0)
                      | (events & SLIRP_POLL_PRI ? POLLPRI : 0));
  msb_net_pollset_want (n->ps, fd, ev);
  return fd;
}

static int
cb_get_revents (int idx, void *opaque)
{
  msb_net *n = opaque;
  short re = msb_net_pollset_revents (n->ps, idx);
  return (re & POLLIN ? SLIRP_POLL_IN : 0) | (re & POLLOUT ? SLIRP_POLL_OUT : 0)
         | (re & POLLPRI ? SLIRP_POLL_PRI : 0) | (re & POLLERR ? SLIRP_POLL_ERR : 0)
         | (re & POLLHUP ? SLIRP_POLL_HUP : 0);
}

static void
dns_closing (void *opaque, int fd)
{
  msb_net *n = opaque;
  if (n->ps)
    msb_net_pollset_forget (n->ps, fd);
}

static void
read_frames (msb_net *n)
{
  n->filter.dns_tcp_budget = DNS_TCP_PER_ROUND;
  for (int i = 0; i < FRAMES_PER_ROUND; i++)
    {
      ssize_t len = n->link->ops->recv (n->link, n->frame, sizeof n->frame);
      if (len == 0)
        return;
      if (len < 0)
        {
          msb_rtlog (MSB_RT_DEBUG, "net: the sandbox's link is gone");
          n->link_dead = true;
          return;
        }
      count (&n->tx, (size_t) len);
      if (msb_net_filter_from_guest (&n->filter, n->frame, (size_t) len, msb_now_mono_ns ())
          == MSB_NET_PASS)
        n->api->input (n->slirp, n->frame, (int) len);
    }
}

static void
fire_timers (msb_net *n)
{
  int64_t now_ms = (int64_t) (msb_now_mono_ns () / 1000000ull);
  for (int i = 0; i < MAX_TIMERS; i++)
    {
      engine_timer *t = &n->timers[i];
      if (!t->used || t->expire_ms < 0 || t->expire_ms > now_ms)
        continue;
      t->expire_ms = -1;
      if (t->cb)
        t->cb (t->cb_opaque);
      else
        n->api->handle_timer (n->slirp, t->id, t->cb_opaque);
    }
}

static int
timers_timeout (const msb_net *n, int timeout)
{
  int64_t now_ms = (int64_t) (msb_now_mono_ns () / 1000000ull);
  for (int i = 0; i < MAX_TIMERS; i++)
    if (n->timers[i].used && n->timers[i].expire_ms >= 0)
      {
        int64_t d = n->timers[i].expire_ms - now_ms;
        if (d < timeout)
          timeout = d < 0 ? 0 : (int) d;
      }
  return timeout;
}

/* The next round by `timeout_ms` at the latest. The timer is only moved earlier: a round that
 * comes early is harmless, and most rounds then cost no timerfd_settime. */
static void
arm_timer (msb_net *n, int timeout_ms)
{
  uint64_t now = msb_now_mono_ns ();
  uint64_t due = now + (uint64_t) timeout_ms * 1000000ull;
  if (n->timer_armed_ns && n->timer_armed_ns > now && n->timer_armed_ns <= due)
    return;
  uint64_t delta = due > now ? due - now : 1;
  struct itimerspec its = { .it_value = { (time_t) (delta / 1000000000ull), (long) (delta % 1000000000ull) } };
  timerfd_settime (n->timer_fd, 0, &its, NULL);
  n->timer_armed_ns = due > now ? due : now + 1;
}

/* Declares what the next round waits for: the link, the interceptor's sockets, slirp's. */
static void
prepare_round (msb_net *n)
{
  uint64_t now = msb_now_mono_ns ();
  msb_net_pollset_begin (n->ps);
  if (!n->link_dead)
    msb_net_pollset_want (n->ps, n->link->fd, n->link->ops->events (n->link));
  int timeout = timers_timeout (n, 1000);
  n->n_dns = msb_net_dns_fill (n->dns, n->dns_pfd, DNS_POLL_MAX, &timeout, now);
  for (size_t i = 0; i < n->n_dns; i++)
    msb_net_pollset_want (n->ps, n->dns_pfd[i].fd, n->dns_pfd[i].events);
  if (n->n_inject || (!n->link_dead && n->link->ops->buffered (n->link)))
    timeout = 0;
  uint32_t slirp_timeout = (uint32_t) timeout;
  n->api->pollfds_fill (n->slirp, &slirp_timeout, cb_add_poll, n);
  msb_net_pollset_commit (n->ps);
  arm_timer (n, (int) slirp_timeout);
}

/* One round: what became ready since the last one goes to slirp, the link and the
 * interceptor, then the next round is prepared. */
static void
engine_round (msb_net *n)
{
  msb_net_pollset_wait (n->ps);
  n->api->pollfds_poll (n->slirp, 0, cb_get_revents, n);
  if (!n->link_dead)
    {
      short re = msb_net_pollset_revents (n->ps, n->link->fd);
      if ((re & POLLOUT) && n->link->ops->flush (n->link) < 0)
        n->link_dead = true;
      if (!n->link_dead && ((re & (POLLIN | POLLERR | POLLHUP)) || n->link->ops->buffered (n->link)))
        read_frames (n);
    }
  for (size_t i = 0; i < n->n_inject; i++)
    n->api->input (n->slirp, n->inject[i], (int) n->inject_len[i]);
  n->n_inject = 0;
  for (size_t i = 0; i < n->n_dns; i++)
    n->dns_pfd[i].revents = msb_net_pollset_revents (n->ps, n->dns_pfd[i].fd);
  msb_net_dns_dispatch (n->dns, n->dns_pfd, n->n_dns, msb_now_mono_ns ());
  fire_timers (n);
  prepare_round (n);
}

static void
on_ready (msb_watch *w, uint32_t events)
{
  engine_round (w->data);
}

static void
on_timer (msb_watch *w, uint32_t events)
{
  msb_net *n = w->data;
  uint64_t ticks;
  (void) !read (n->timer_fd, &ticks, sizeof ticks);
  n->timer_armed_ns = 0;
  engine_round (n);
}

/* ---- setup ------------------------------------------------------------------------------- */

/* The sandbox's /30: the slot-th one of the pool (unique among the home's sandboxes, which
 * have distinct uid slots), gateway .1, sandbox .2. */
static int
plan_addresses (msb_net *n, const msb_config_net *c, int slot, msb_error **err)
{
  const char *pool_text = c->ipv4_pool ? c->ipv4_pool : DEFAULT_POOL;
  msb_net_cidr pool;
  if (msb_net_parse_cidr (pool_text, &pool) < 0 || !msb_net_addr_is_v4 (&pool.addr)
      || pool.prefix < 96 || pool.prefix > 96 + 30)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "network.ipv4_pool: `%s` is not an IPv4 CIDR of /30 or larger",
                     pool_text);
  uint32_t size = 1u << (32 - (pool.prefix - 96));
  uint32_t subnets = size / 4;
  uint32_t base = ntohl (msb_net_addr_v4 (&pool.addr)) + (uint32_t) (slot % (int) subnets) * 4;
  n->net_be = htonl (base);
  n->gateway_be = htonl (base + 1);
  n->guest_be = htonl (base + 2);
  /* The /30's last address never carries the sandbox's own traffic: the filter redirects
   * DNS over TCP there, where slirp hands it to the interceptor's socket. */
  n->dns_be = htonl (base + 3);
  return 0;
}

/* The host group: the gateway (slirp's door to the host's loopback) and every address of
 * the host itself, which the sandbox could otherwise dial by its LAN or public address. Fails
 * closed: without the list, a public-only sandbox could reach the host's services. */
static int
collect_host_addresses (msb_net *n, msb_error **err)
{
  msb_net_addr a;
  msb_net_addr_from_v4 (&a, n->gateway_be);
  msb_net_policy_add_host (&n->policy, &a);
  struct ifaddrs *ifa = NULL;
  int r = -1;
  /* The netlink dump behind it can be interrupted by concurrent address changes: retry. */
  for (int attempt = 0; attempt < 5 && (r = getifaddrs (&ifa)) < 0; attempt++)
    ;
  if (r < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "list the host's addresses");
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    {
      if (i->ifa_addr == NULL)
        continue;
      if (i->ifa_addr->sa_family == AF_INET)
        msb_net_addr_from_v4 (&a, ((struct sockaddr_in *) i->ifa_addr)->sin_addr.s_addr);
      else if (i->ifa_addr->sa_family == AF_INET6)
        memcpy (a.b, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
      else
        continue;
      msb_net_policy_add_host (&n->policy, &a);
    }
  freeifaddrs (ifa);
  return 0;
}

static size_t
nameservers (const msb_config_net *c, struct sockaddr_storage *out)
{
  size_t n = 0;
  for (char **ns = c->nameservers; ns && *ns && n < MSB_NET_MAX_NAMESERVERS; ns++)
    if (msb_net_dns_parse_nameserver (*ns, &out[n]) == 0)
      n++;
  if (n)
    return n;
  const char *path = getenv ("MSB_RESOLV_CONF");
  return msb_net_dns_host_resolvers (path && *path ? path : "/etc/resolv.conf", out,
                                     MSB_NET_MAX_NAMESERVERS);
}

/* The Unix socket slirp connects guest TCP DNS to; in the sandbox's private run directory,
 * named for slirp through /proc/self/fd so a long MSB_HOME never overflows sun_path. */
static int
dns_listener (msb_net *n, msb_runtime *rt, char *path, size_t path_len, msb_error **err)
{
  _msb_cleanup_free_ char *run_rel = msb_sandbox_run_dir_rel (rt->name);
  if (mkdirat (rt->home.root_fd, run_rel, 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s`", run_rel);
  n->run_dirfd = openat (rt->home.root_fd, run_rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (n->run_dirfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", run_rel);
  snprintf (path, path_len, "/proc/self/fd/%d/dns.sock", n->run_dirfd);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", path);
  unlinkat (n->run_dirfd, "dns.sock", 0);
  _msb_cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "socket");
  mode_t old = umask (0077);
  int r = bind (fd, (struct sockaddr *) &addr, sizeof addr);
  umask (old);
  if (r < 0 || listen (fd, DNS_LISTEN_BACKLOG) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "listen for DNS over TCP");
  return msb_steal_fd (&fd);
}

static int
publish_port (msb_net *n, const msb_net_port_binding *p, msb_error **err)
{
  struct sockaddr_storage host;
  socklen_t host_len;
  memset (&host, 0, sizeof host);
  msb_net_addr a;
  if (msb_net_parse_addr (p->bind, &a) < 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "published port: bad bind address `%s`", p->bind);
  if (msb_net_addr_is_v4 (&a))
    {
      struct sockaddr_in *s = (struct sockaddr_in *) &host;
      s->sin_family = AF_INET;
      s->sin_addr.s_addr = msb_net_addr_v4 (&a);
      s->sin_port = htons (p->host_port);
      host_len = sizeof *s;
    }
  else
    {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *) &host;
      s->sin6_family = AF_INET6;
      memcpy (&s->sin6_addr, a.b, 16);
      s->sin6_port = htons (p->host_port);
      host_len = sizeof *s;
    }
  struct sockaddr_in guest = { .sin_family = AF_INET, .sin_addr.s_addr = n->guest_be,
                               .sin_port = htons (p->guest_port) };
  errno = 0;
  if (n->api->add_hostxfwd (n->slirp, (struct sockaddr *) &host, host_len, (struct sockaddr *) &guest,
                            sizeof guest, p->udp ? SLIRP_HOSTFWD_UDP : 0)
      < 0)
    return msb_fail_errno (err, errno ? errno : EADDRINUSE, MSB_ERR_INVALID_CONFIG,
                           "publish port %s%s%s:%u/%s (→ sandbox port %u)",
                           msb_net_addr_is_v4 (&a) ? "" : "[", p->bind,
                           msb_net_addr_is_v4 (&a) ? "" : "]", p->host_port,
                           p->udp ? "udp" : "tcp", p->guest_port);
  if (p->udp)
    n->filter.udp_published[p->guest_port / 8] |= (uint8_t) (1u << (p->guest_port % 8));
  return 0;
}

static int
create_slirp (msb_net *n, msb_error **err)
{
  SlirpConfig cfg;
  memset (&cfg, 0, sizeof cfg);
  cfg.version = 4;
  cfg.in_enabled = true;
  cfg.vnetwork.s_addr = n->net_be;
  cfg.vnetmask.s_addr = htonl (~0u << (32 - MSB_NET_PREFIX));
  cfg.vhost.s_addr = n->gateway_be;
  cfg.vdhcp_start.s_addr = n->guest_be;
  /* No address: slirp's own DNS forwarder and DHCP server stay off; the interceptor
   * answers DNS and the backend configures the address. */
  cfg.vnameserver.s_addr = 0;
  cfg.if_mtu = MSB_NET_MTU;
  cfg.if_mru = MSB_NET_MTU;
  cfg.disable_host_loopback = false; /* the gateway is the host; the filter decides */
  cfg.enable_emu = false;
  cfg.disable_dns = true;
  cfg.disable_dhcp = true;
  n->slirp = n->api->new_ (&cfg, &callbacks, n);
  if (n->slirp == NULL)
    return msb_fail (err, MSB_ERR_GENERIC, "create the slirp network");
  return 0;
}

int
msb_net_create (msb_runtime *rt, msb_net **out, msb_error **err)
{
  *out = NULL;
  const msb_config_net *c = &rt->cfg->net;
  if (c->disabled)
    {
      if (c->n_ports)
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "published ports need networking (--no-net)");
      return 0;
    }
  msb_net *n = msb_xcalloc (1, sizeof *n);
  n->run_dirfd = n->timer_fd = -1;
  n->link_dead = true;
  *out = n; /* msb_net_free releases whatever a failure below leaves */
  if (msb_slirp_api_get (&n->api, err) < 0 || plan_addresses (n, c, rt->row.uid_slot, err) < 0
      || msb_net_policy_compile (c, &n->policy, err) < 0)
    return -1;
  if (collect_host_addresses (n, err) < 0)
    return -1;
  n->pins = msb_net_pins_new (MAX_PINS);
  struct sockaddr_storage ns[MSB_NET_MAX_NAMESERVERS];
  size_t n_ns = nameservers (c, ns);
  if (n_ns == 0)
    msb_rtlog (MSB_RT_WARN, "net: no nameserver (dns.nameservers nor /etc/resolv.conf): DNS "
                            "queries will fail");
  char dns_path[108];
  int listen_fd = dns_listener (n, rt, dns_path, sizeof dns_path, err);
  if (listen_fd < 0)
    return -1;
  msb_net_dns_config dc = {
    .policy = &n->policy,
    .pins = n->pins,
    .nameservers = ns,
    .n_nameservers = n_ns,
    .timeout_ms = c->dns_timeout_ms,
    .rebind_protection = !c->no_rebind_protection,
    .gateway_be = n->gateway_be,
    .tcp_listen_fd = listen_fd,
    .send_udp = dns_send_udp,
    .closing = dns_closing,
    .opaque = n,
  };
  n->dns = msb_net_dns_new (&dc);
  msb_net_filter *f = &n->filter;
  f->policy = &n->policy;
  f->pins = n->pins;
  f->dns = n->dns;
  f->guest_be = n->guest_be;
  f->gateway_be = n->gateway_be;
  f->dns_be = n->dns_be;
  /* slirp's own MAC for the gateway: 52:55 and the gateway's IPv4 address. */
  f->gateway_mac[0] = 0x52;
  f->gateway_mac[1] = 0x55;
  memcpy (f->gateway_mac + 2, &n->gateway_be, 4);
  f->max_connections = c->max_connections ? c->max_connections : MSB_NET_DEFAULT_MAX_CONNECTIONS;
  f->open_connections = open_connections;
  f->to_guest = to_guest;
  f->to_slirp = to_slirp;
  f->opaque = n;
  if (create_slirp (n, err) < 0)
    return -1;
  struct in_addr dns_addr = { n->dns_be };
  if (n->api->add_unix (n->slirp, dns_path, &dns_addr, 53) < 0)
    return msb_fail (err, MSB_ERR_GENERIC, "route DNS over TCP to the interceptor");
  for (size_t i = 0; i < c->n_ports; i++)
    if (publish_port (n, &c->ports[i], err) < 0)
      return -1;
  n->ps = msb_net_pollset_new ();
  n->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (n->ps == NULL || n->timer_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the network engine's poll set");
  if (msb_net_write_guest_files (rt->sandbox_dirfd, rt->hostname, n->guest_be, n->gateway_be,
                                 rt->uid_base, err)
      < 0)
    return -1;
  char guest[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &n->guest_be, guest, sizeof guest);
  msb_rtlog (MSB_RT_INFO, "net: %s/%d via slirp %s, %zu rules, %zu host addresses, %zu nameservers, %zu ports",
             guest, MSB_NET_PREFIX, n->api->version_string (), n->policy.n_rules, n->policy.n_host,
             n_ns, c->n_ports);
  return 0;
}

void
msb_net_guest_config (const msb_net *n, msb_net_guest *out)
{
  memset (out, 0, sizeof *out);
  out->guest_be = n->guest_be;
  out->gateway_be = n->gateway_be;
  out->prefix = MSB_NET_PREFIX;
  out->mtu = MSB_NET_MTU;
  const uint8_t *ip = (const uint8_t *) &n->guest_be;
  uint8_t mac[6] = { 0x02, 0x4d, 0x53, ip[1], ip[2], ip[3] };
  memcpy (out->mac, mac, 6);
}

static void
set_link (msb_net *n, msb_net_link *l)
{
  if (n->link)
    n->link->ops->free (n->link);
  n->link = l;
  n->link_dead = false;
}

int
msb_net_attach_netns (msb_net *n, pid_t pid, msb_error **err)
{
  msb_net_tap_spec spec = { MSB_NET_IFNAME, n->guest_be, n->gateway_be, MSB_NET_PREFIX, MSB_NET_MTU };
  int fd;
  if (msb_net_tap_create_in (pid, &spec, &fd, err) < 0)
    return -1;
  set_link (n, msb_net_link_tap_new (fd));
  return 0;
}

int
msb_net_attach_stream (msb_net *n, int *qemu_fd, msb_error **err)
{
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create the network socket for QEMU");
  /* Room for bursts of frames in both directions. */
  int sz = 4 << 20;
  setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt (sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  set_link (n, msb_net_link_stream_new (sv[0]));
  *qemu_fd = sv[1];
  return 0;
}

/* The sandbox's MAC is known (the backend gives eth0 msb_net_guest.mac): an ARP request from
 * it, as if the sandbox had asked for the gateway, teaches slirp where the sandbox is before
 * any traffic — otherwise the first datagram slirp forwards in (a published UDP port) waits
 * for ARP resolution and is lost. */
static void
introduce_guest (msb_net *n)
{
  msb_net_guest g;
  msb_net_guest_config (n, &g);
  uint8_t arp[42];
  memset (arp, 0xff, 6);
  memcpy (arp + 6, g.mac, 6);
  const uint8_t hdr[10] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };
  memcpy (arp + 12, hdr, 10);
  memcpy (arp + 22, g.mac, 6);
  memcpy (arp + 28, &n->guest_be, 4);
  memset (arp + 32, 0, 6);
  memcpy (arp + 38, &n->gateway_be, 4);
  n->api->input (n->slirp, arp, sizeof arp);
  memcpy (n->filter.guest_mac, g.mac, 6);
  n->filter.has_guest_mac = true;
}

int
msb_net_start (msb_net *n, msb_loop *loop, msb_error **err)
{
  if (n->link == NULL)
    {
      msb_rtlog (MSB_RT_WARN, "net: the backend attached no link: the sandbox has no network");
      return 0;
    }
  if (msb_loop_add (loop, &n->ps_w, msb_net_pollset_fd (n->ps), EPOLLIN, on_ready, n) < 0
      || msb_loop_add (loop, &n->timer_w, n->timer_fd, EPOLLIN, on_timer, n) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "watch the network engine");
  n->loop = loop;
  introduce_guest (n);
  prepare_round (n);
  return 0;
}

void
msb_net_free (msb_net *n)
{
  if (n == NULL)
    return;
  if (n->loop)
    msb_rtlog (MSB_RT_DEBUG,
               "net: engine stopped (rx %llu, tx %llu bytes; denied %llu out, %llu in; %zu pins)",
               (unsigned long long) n->rx, (unsigned long long) n->tx,
               (unsigned long long) n->filter.denied_egress,
               (unsigned long long) n->filter.denied_ingress, msb_net_pins_count (n->pins));
  /* The runtime's loop is closed by now (its epoll fd with it): nothing to unregister. */
  if (n->slirp)
    n->api->cleanup (n->slirp);
  msb_net_dns_free (n->dns);
  msb_net_pins_free (n->pins);
  msb_net_policy_clear (&n->policy);
  if (n->link)
    n->link->ops->free (n->link);
  msb_net_pollset_free (n->ps);
  if (n->timer_fd >= 0)
    close (n->timer_fd);
  if (n->run_dirfd >= 0)
    {
      unlinkat (n->run_dirfd, "dns.sock", 0);
      close (n->run_dirfd);
    }
  free (n);
}
