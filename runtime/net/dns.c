/* The DNS interceptor (see dns.h): guest queries in, policy on names, upstream queries out,
 * checked answers back, pins recorded. Every object here is bounded: MAX_QUERIES in flight,
 * MAX_TCP_CLIENTS guest TCP connections, MSB_DNS_MAX_QUERY bytes per query, and each holds a
 * deadline. */
#include "runtime/net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/net/dns_msg.h"
#include "runtime/rtlog.h"

#define MAX_QUERIES 256
#define MAX_TCP_CLIENTS 32
#define MAX_TCP_INFLIGHT 16
#define TCP_IDLE_NS (30ull * 1000000000ull)
#define UDP_ANSWER_MAX 1472 /* MTU 1500 minus IPv4 and UDP headers: no fragments */
#define PIN_MIN_SECS 30u
#define PIN_MAX_SECS 86400u
#define HOST_NAME_TTL 60u
#define NS_PER_MS 1000000ull

typedef struct tcp_client
{
  int fd;
  int pidx;
  unsigned id;
  msb_buf in;
  msb_buf out;
  unsigned inflight;
  bool eof;
  bool dead;
  uint64_t idle_deadline;
} tcp_client;

typedef struct query
{
  bool from_tcp;
  msb_dns_udp_client udp;
  unsigned client_id;
  uint16_t up_id;
  uint8_t *msg; /* the guest's query, its own id */
  size_t len;
  msb_dns_question q;
  int fd;
  int pidx;
  bool up_tcp;
  int up_state; /* TCP: 0 connecting, 1 sending, 2 reading */
  msb_buf up_out;
  size_t up_out_off;
  msb_buf up_in;
  size_t ns;
  unsigned tries;
  uint64_t deadline;
  uint64_t retry_at;
  uint64_t per_try;
  bool done;
} query;

struct msb_net_dns
{
  msb_net_dns_config cfg;
  struct sockaddr_storage ns[MSB_NET_MAX_NAMESERVERS];
  query *queries[MAX_QUERIES];
  size_t n_queries;
  tcp_client *clients[MAX_TCP_CLIENTS];
  size_t n_clients;
  unsigned next_client_id;
  int listen_pidx;
  uint8_t rnd[64];
  size_t rnd_left;
  uint8_t buf[65536 + 2];
};

/* ---- host resolvers ---------------------------------------------------------------------- */

int
msb_net_dns_parse_nameserver (const char *s, struct sockaddr_storage *out)
{
  char host[64];
  long port = 53;
  const char *colon = strrchr (s, ':');
  memset (out, 0, sizeof *out);
  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL || (size_t) (close - s - 1) >= sizeof host)
        return -1;
      memcpy (host, s + 1, (size_t) (close - s - 1));
      host[close - s - 1] = '\0';
      if (close[1] == ':')
        port = strtol (close + 2, NULL, 10);
      else if (close[1] != '\0')
        return -1;
    }
  else if (colon && strchr (s, ':') == colon)
    {
      if ((size_t) (colon - s) >= sizeof host)
        return -1;
      memcpy (host, s, (size_t) (colon - s));
      host[colon - s] = '\0';
      port = strtol (colon + 1, NULL, 10);
    }
  else
    {
      if (strlen (s) >= sizeof host)
        return -1;
      strcpy (host, s);
      char *pct = strchr (host, '%'); /* fe80::1%eth0: the scope is the host's business */
      if (pct)
        *pct = '\0';
    }
  if (port < 1 || port > 65535)
    return -1;
  struct sockaddr_in *v4 = (struct sockaddr_in *) out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) out;
  if (inet_pton (AF_INET, host, &v4->sin_addr) == 1)
    {
      v4->sin_family = AF_INET;
      v4->sin_port = htons ((uint16_t) port);
      return 0;
    }
  if (inet_pton (AF_INET6, host, &v6->sin6_addr) == 1)
    {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons ((uint16_t) port);
      return 0;
    }
  return -1;
}

size_t
msb_net_dns_host_resolvers (const char *path, struct sockaddr_storage *out, size_t max)
{
  _msb_cleanup_file_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return 0;
  char line[512];
  size_t n = 0;
  while (n < max && fgets (line, sizeof line, f))
    {
      char word[16], addr[128];
      if (sscanf (line, " %15s %127s", word, addr) != 2 || strcmp (word, "nameserver") != 0)
        continue;
      if (strchr (addr, ':') && addr[0] != '[')
        {
          /* A bare IPv6 address: no port part. */
          char *pct = strchr (addr, '%');
          if (pct)
            *pct = '\0';
          char bracketed[140];
          snprintf (bracketed, sizeof bracketed, "[%s]", addr);
          if (msb_net_dns_parse_nameserver (bracketed, &out[n]) == 0)
            n++;
          continue;
        }
      if (msb_net_dns_parse_nameserver (addr, &out[n]) == 0)
        n++;
    }
  return n;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

msb_net_dns *
msb_net_dns_new (const msb_net_dns_config *cfg)
{
  msb_net_dns *d = msb_xcalloc (1, sizeof *d);
  d->cfg = *cfg;
  size_t n = cfg->n_nameservers < MSB_NET_MAX_NAMESERVERS ? cfg->n_nameservers : MSB_NET_MAX_NAMESERVERS;
  if (n)
    memcpy (d->ns, cfg->nameservers, n * sizeof d->ns[0]);
  d->cfg.nameservers = d->ns;
  d->cfg.n_nameservers = n;
  if (d->cfg.timeout_ms == 0)
    d->cfg.timeout_ms = MSB_NET_DEFAULT_DNS_TIMEOUT_MS;
  d->listen_pidx = -1;
  return d;
}

static void
close_fd (msb_net_dns *d, int *fd)
{
  if (*fd < 0)
    return;
  if (d->cfg.closing)
    d->cfg.closing (d->cfg.opaque, *fd);
  close (*fd);
  *fd = -1;
}

static void
query_free (msb_net_dns *d, query *q)
{
  close_fd (d, &q->fd);
  free (q->msg);
  msb_buf_free (&q->up_out);
  msb_buf_free (&q->up_in);
  free (q);
}

static void
client_free (msb_net_dns *d, tcp_client *c)
{
  close_fd (d, &c->fd);
  msb_buf_free (&c->in);
  msb_buf_free (&c->out);
  free (c);
}

void
msb_net_dns_free (msb_net_dns *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_queries; i++)
    query_free (d, d->queries[i]);
  for (size_t i = 0; i < d->n_clients; i++)
    client_free (d, d->clients[i]);
  close_fd (d, &d->cfg.tcp_listen_fd);
  free (d);
}

static uint16_t
random_id (msb_net_dns *d)
{
  if (d->rnd_left < 2)
    {
      if (getrandom (d->rnd, sizeof d->rnd, 0) != (ssize_t) sizeof d->rnd)
        for (size_t i = 0; i < sizeof d->rnd; i++) /* never expected: getrandom cannot fail here */
          d->rnd[i] = (uint8_t) (msb_now_mono_ns () >> (i % 8));
      d->rnd_left = sizeof d->rnd;
    }
  d->rnd_left -= 2;
  return (uint16_t) (d->rnd[d->rnd_left] << 8 | d->rnd[d->rnd_left + 1]);
}

/* ---- answers ----------------------------------------------------------------------------- */

static tcp_client *
client_by_id (msb_net_dns *d, unsigned id)
{
  for (size_t i = 0; i < d->n_clients; i++)
    if (d->clients[i]->id == id && !d->clients[i]->dead)
      return d->clients[i];
  return NULL;
}

static void
client_flush (tcp_client *c)
{
  while (c->out.len && !c->dead)
    {
      ssize_t w = send (c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
      if (w > 0)
        msb_buf_consume (&c->out, (size_t) w);
      else if (w < 0 && errno == EINTR)
        continue;
      else
        {
          if (w < 0 && errno != EAGAIN)
            c->dead = true;
          break;
        }
    }
}

static void
deliver (msb_net_dns *d, bool from_tcp, const msb_dns_udp_client *udp, unsigned client_id,
         const uint8_t *query_msg, const msb_dns_question *q, const uint8_t *msg, size_t len)
{
  if (!from_tcp)
    {
      uint8_t tc[MSB_DNS_MAX_QUERY];
      if (len > UDP_ANSWER_MAX)
        {
          /* Too big for one unfragmented datagram: the guest asks again over TCP. */
          len = msb_dns_build_rcode (query_msg, q, MSB_DNS_NOERROR, true, tc, sizeof tc);
          msg = tc;
          if (len == 0)
            return;
        }
      d->cfg.send_udp (d->cfg.opaque, udp, msg, len);
      return;
    }
  tcp_client *c = client_by_id (d, client_id);
  if (c == NULL)
    return;
  if (c->inflight)
    c->inflight--;
  uint8_t pfx[2] = { (uint8_t) (len >> 8), (uint8_t) len };
  msb_buf_append (&c->out, pfx, 2);
  msb_buf_append (&c->out, msg, len);
  client_flush (c);
}

static void
answer_rcode (msb_net_dns *d, bool from_tcp, const msb_dns_udp_client *udp, unsigned client_id,
              const uint8_t *query_msg, const msb_dns_question *q, uint8_t rcode)
{
  uint8_t out[MSB_DNS_MAX_QUERY];
  size_t n = msb_dns_build_rcode (query_msg, q, rcode, false, out, sizeof out);
  if (n)
    deliver (d, from_tcp, udp, client_id, query_msg, q, out, n);
}

/* FORMERR / NOTIMP for a query whose question could not be read: the header alone. */
static void
answer_header_only (msb_net_dns *d, bool from_tcp, const msb_dns_udp_client *udp,
                    unsigned client_id, const uint8_t *m, uint8_t rcode)
{
  msb_dns_question q = { .end = 12 };
  uint8_t out[12];
  size_t n = msb_dns_build_rcode (m, &q, rcode, false, out, sizeof out);
  out[5] = 0; /* no question */
  deliver (d, from_tcp, udp, client_id, m, &q, out, n);
}

/* ---- policy ------------------------------------------------------------------------------ */

bool
msb_net_dns_reachable (const msb_net_policy *policy, uint8_t proto, const char *name)
{
  if (policy->n_host == 0)
    return false;
  msb_net_flow f = { .direction = MSB_NET_EGRESS, .proto = proto, .port = 53, .peer = policy->host[0] };
  if (msb_net_policy_decide (policy, &f, NULL, 0) == MSB_NET_ALLOW)
    return true;
  if (name)
    return msb_net_policy_name (policy, name) == MSB_NET_NAME_ALLOWED;
  /* Any name could still be allowed by a domain rule: let the connection in, judge queries. */
  for (size_t i = 0; i < policy->n_rules; i++)
    if (policy->rules[i].action == MSB_NET_ALLOW && (policy->rules[i].direction & MSB_NET_EGRESS)
        && (policy->rules[i].dest_kind == MSB_NET_DEST_DOMAIN
            || policy->rules[i].dest_kind == MSB_NET_DEST_SUFFIX))
      return true;
  return false;
}

static uint32_t
pin_secs (uint32_t ttl)
{
  return ttl < PIN_MIN_SECS ? PIN_MIN_SECS : ttl > PIN_MAX_SECS ? PIN_MAX_SECS : ttl;
}

/* The policy's say on an upstream answer: MSB_DNS_NOERROR to deliver it (pinning its
 * addresses), else the rcode to answer with instead. */
static uint8_t
judge_answer (msb_net_dns *d, const query *q, const msb_dns_response *r, uint64_t now)
{
  if (r->rcode != MSB_DNS_NOERROR || r->n_addrs == 0)
    return MSB_DNS_NOERROR;
  if (r->too_many_addrs)
    return MSB_DNS_SERVFAIL; /* addresses we did not check must not reach the guest */
  const char *names[MSB_DNS_MAX_NAMES + 1];
  size_t n_names = 0;
  names[n_names++] = q->q.name;
  for (size_t i = 0; i < r->n_names; i++)
    names[n_names++] = r->names[i];
  bool any_answer = false, any_allowed = false;
  for (size_t i = 0; i < r->n_addrs; i++)
    {
      const msb_dns_addr_rr *a = &r->addrs[i];
      bool allowed = msb_net_policy_may_allow (d->cfg.policy, &a->addr, names, n_names);
      int group = msb_net_policy_group (d->cfg.policy, &a->addr);
      if (!allowed && d->cfg.rebind_protection && group != MSB_NET_GROUP_PUBLIC)
        {
          char text[64];
          msb_net_addr_format (&a->addr, text, sizeof text);
          msb_rtlog (MSB_RT_INFO, "dns: %s → %s refused (rebind protection: %s address)",
                     q->q.name, text, msb_net_group_name (group));
          return MSB_DNS_NXDOMAIN;
        }
      if (a->in_answer)
        {
          any_answer = true;
          any_allowed |= allowed;
        }
    }
  if (any_answer && !any_allowed)
    {
      msb_rtlog (MSB_RT_INFO, "dns: %s denied (no address of the answer is allowed)", q->q.name);
      return MSB_DNS_NXDOMAIN;
    }
  for (size_t i = 0; i < r->n_addrs; i++)
    if (r->addrs[i].in_answer)
      for (size_t k = 0; k < n_names; k++)
        msb_net_pins_add (d->cfg.pins, &r->addrs[i].addr, names[k],
                          now + (uint64_t) pin_secs (r->addrs[i].ttl) * 1000000000ull);
  return MSB_DNS_NOERROR;
}

static void
finish (msb_net_dns *d, query *q, uint8_t *resp, size_t len, uint64_t now)
{
  q->done = true;
  msb_dns_response *r = msb_xmalloc (sizeof *r);
  uint8_t rcode = MSB_DNS_SERVFAIL;
  if (msb_dns_parse_response (resp, len, r) == 0)
    rcode = judge_answer (d, q, r, now);
  free (r);
  if (rcode != MSB_DNS_NOERROR)
    {
      answer_rcode (d, q->from_tcp, &q->udp, q->client_id, q->msg, &q->q, rcode);
      return;
    }
  msb_dns_set_id (resp, msb_dns_id (q->msg));
  deliver (d, q->from_tcp, &q->udp, q->client_id, q->msg, &q->q, resp, len);
}

static void
fail (msb_net_dns *d, query *q, const char *why)
{
  msb_rtlog (MSB_RT_DEBUG, "dns: %s: SERVFAIL (%s)", q->q.name, why);
  q->done = true;
  answer_rcode (d, q->from_tcp, &q->udp, q->client_id, q->msg, &q->q, MSB_DNS_SERVFAIL);
}

/* ---- upstream ---------------------------------------------------------------------------- */

static socklen_t
ns_len (const struct sockaddr_storage *ss)
{
  return ss->ss_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
}

/* Sends the query to nameserver q->ns over a fresh socket; -1 when that failed at once. */
static int
upstream_start (msb_net_dns *d, query *q)
{
  close_fd (d, &q->fd);
  const struct sockaddr_storage *ns = &d->ns[q->ns];
  int fd = socket (ns->ss_family, (q->up_tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  q->fd = fd;
  q->up_id = random_id (d);
  uint8_t *m = d->buf;
  memcpy (m, q->msg, q->len);
  msb_dns_set_id (m, q->up_id);
  if (connect (fd, (const struct sockaddr *) ns, ns_len (ns)) < 0 && errno != EINPROGRESS)
    return -1;
  if (!q->up_tcp)
    return send (fd, m, q->len, 0) == (ssize_t) q->len ? 0 : -1;
  msb_buf_reset (&q->up_out);
  msb_buf_reset (&q->up_in);
  uint8_t pfx[2] = { (uint8_t) (q->len >> 8), (uint8_t) q->len };
  msb_buf_append (&q->up_out, pfx, 2);
  msb_buf_append (&q->up_out, m, q->len);
  q->up_out_off = 0;
  q->up_state = 0;
  return 0;
}

/* Tries the nameservers from q->ns on, each once; false when none could be asked. */
static bool
upstream_next (msb_net_dns *d, query *q, bool advance)
{
  for (size_t tried = 0; tried < d->cfg.n_nameservers; tried++)
    {
      if (advance || tried)
        q->ns = (q->ns + 1) % d->cfg.n_nameservers;
      if (upstream_start (d, q) == 0)
        return true;
    }
  return false;
}

static void
start_query (msb_net_dns *d, bool from_tcp, const msb_dns_udp_client *udp, unsigned client_id,
             const uint8_t *m, size_t n, const msb_dns_question *qq, uint64_t now)
{
  if (d->n_queries == MAX_QUERIES || d->cfg.n_nameservers == 0)
    {
      answer_rcode (d, from_tcp, udp, client_id, m, qq, MSB_DNS_SERVFAIL);
      return;
    }
  query *q = msb_xcalloc (1, sizeof *q);
  q->from_tcp = from_tcp;
  if (udp)
    q->udp = *udp;
  q->client_id = client_id;
  q->msg = msb_xmalloc (n);
  memcpy (q->msg, m, n);
  q->len = n;
  q->q = *qq;
  q->fd = -1;
  q->pidx = -1;
  q->up_tcp = from_tcp;
  q->deadline = now + (uint64_t) d->cfg.timeout_ms * NS_PER_MS;
  uint64_t per_try = (uint64_t) d->cfg.timeout_ms * NS_PER_MS / (2 * d->cfg.n_nameservers);
  q->per_try = per_try < 300 * NS_PER_MS ? 300 * NS_PER_MS : per_try;
  q->retry_at = now + q->per_try;
  d->queries[d->n_queries++] = q;
  if (!upstream_next (d, q, false))
    fail (d, q, "no nameserver could be reached");
}

/* Answers or starts answering a query; false when it is not one (dropped, unanswered). */
static bool
handle_query (msb_net_dns *d, bool from_tcp, const msb_dns_udp_client *udp, unsigned client_id,
              const uint8_t *m, size_t n, uint64_t now)
{
  msb_dns_question q;
  int rc = msb_dns_parse_query (m, n, &q);
  if (rc < 0)
    return false;
  if (rc > 0)
    {
      answer_header_only (d, from_tcp, udp, client_id, m, (uint8_t) rc);
      return true;
    }
  const msb_net_policy *policy = d->cfg.policy;
  if (strcmp (q.name, MSB_NET_DNS_NAME_HOST) == 0 && q.qclass == MSB_DNS_CLASS_IN)
    {
      uint8_t out[MSB_DNS_MAX_QUERY + 16];
      size_t len = msb_dns_build_a (m, &q, &d->cfg.gateway_be, 1, HOST_NAME_TTL, out, sizeof out);
      if (len)
        deliver (d, from_tcp, udp, client_id, m, &q, out, len);
      return true;
    }
  msb_net_name_verdict v = msb_net_policy_name (policy, q.name);
  if (v == MSB_NET_NAME_DENIED)
    {
      msb_rtlog (MSB_RT_INFO, "dns: %s denied by a rule", q.name);
      answer_rcode (d, from_tcp, udp, client_id, m, &q, MSB_DNS_NXDOMAIN);
      return true;
    }
  if (!msb_net_dns_reachable (policy, from_tcp ? MSB_NET_PROTO_TCP : MSB_NET_PROTO_UDP, q.name))
    {
      msb_rtlog (MSB_RT_DEBUG, "dns: %s refused (DNS is not allowed)", q.name);
      answer_rcode (d, from_tcp, udp, client_id, m, &q, MSB_DNS_REFUSED);
      return true;
    }
  start_query (d, from_tcp, udp, client_id, m, n, &q, now);
  return true;
}

void
msb_net_dns_udp_query (msb_net_dns *d, const msb_dns_udp_client *c, const uint8_t *msg, size_t len,
                       uint64_t now)
{
  handle_query (d, false, c, 0, msg, len, now);
}

/* Reads what upstream sent; finishes the query when a full, matching answer is in. */
static void
upstream_readable (msb_net_dns *d, query *q, uint64_t now)
{
  if (!q->up_tcp)
    {
      for (;;)
        {
          ssize_t n = recv (q->fd, d->buf, 65536, 0);
          if (n < 0)
            {
              if (errno == ECONNREFUSED && !upstream_next (d, q, true))
                fail (d, q, "nameservers refused");
              return;
            }
          /* Only our id and our question: anything else is noise or spoofing. */
          if (n >= 12 && msb_dns_id (d->buf) == q->up_id && (d->buf[2] & 0x80))
            {
              msb_dns_response *r = msb_xmalloc (sizeof *r);
              bool ok = msb_dns_parse_response (d->buf, (size_t) n, r) == 0
                        && msb_dns_same_question (&r->q, &q->q);
              free (r);
              if (ok)
                {
                  finish (d, q, d->buf, (size_t) n, now);
                  return;
                }
            }
        }
    }
  for (;;)
    {
      uint8_t *p = msb_buf_reserve (&q->up_in, 4096);
      ssize_t n = recv (q->fd, p, 4096, 0);
      if (n < 0)
        {
          if (errno != EAGAIN && errno != EINTR && !upstream_next (d, q, true))
            fail (d, q, "upstream TCP error");
          return;
        }
      if (n == 0)
        {
          if (!upstream_next (d, q, true))
            fail (d, q, "upstream closed");
          return;
        }
      q->up_in.len += (size_t) n;
      if (q->up_in.len > 2 + 65535)
        {
          fail (d, q, "oversized upstream answer");
          return;
        }
      if (q->up_in.len >= 2)
        {
          size_t want = (size_t) (q->up_in.data[0] << 8 | q->up_in.data[1]);
          if (q->up_in.len >= 2 + want)
            {
              uint8_t *resp = q->up_in.data + 2;
              msb_dns_response *r = msb_xmalloc (sizeof *r);
              bool ok = want >= 12 && msb_dns_id (resp) == q->up_id
                        && msb_dns_parse_response (resp, want, r) == 0
                        && msb_dns_same_question (&r->q, &q->q);
              free (r);
              if (ok)
                finish (d, q, resp, want, now);
              else if (!upstream_next (d, q, true))
                fail (d, q, "mismatched upstream answer");
              return;
            }
        }
    }
}

static void
upstream_writable (msb_net_dns *d, query *q)
{
  if (q->up_state == 0)
    {
      int e = 0;
      socklen_t l = sizeof e;
      getsockopt (q->fd, SOL_SOCKET, SO_ERROR, &e, &l);
      if (e)
        {
          if (!upstream_next (d, q, true))
            fail (d, q, "no nameserver accepts TCP");
          return;
        }
      q->up_state = 1;
    }
  while (q->up_state == 1)
    {
      ssize_t w = send (q->fd, q->up_out.data + q->up_out_off, q->up_out.len - q->up_out_off,
                        MSG_NOSIGNAL);
      if (w < 0)
        {
          if (errno != EAGAIN && errno != EINTR && !upstream_next (d, q, true))
            fail (d, q, "upstream TCP send failed");
          return;
        }
      q->up_out_off += (size_t) w;
      if (q->up_out_off == q->up_out.len)
        q->up_state = 2;
    }
}

/* ---- guest TCP clients ------------------------------------------------------------------- */

static void
accept_clients (msb_net_dns *d, uint64_t now)
{
  for (;;)
    {
      int fd = accept4 (d->cfg.tcp_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      if (d->n_clients == MAX_TCP_CLIENTS)
        {
          close (fd);
          continue;
        }
      tcp_client *c = msb_xcalloc (1, sizeof *c);
      c->fd = fd;
      c->pidx = -1;
      c->id = ++d->next_client_id ? d->next_client_id : ++d->next_client_id;
      c->idle_deadline = now + TCP_IDLE_NS;
      d->clients[d->n_clients++] = c;
    }
}

static void
client_readable (msb_net_dns *d, tcp_client *c, uint64_t now)
{
  while (!c->dead && !c->eof && c->inflight < MAX_TCP_INFLIGHT)
    {
      uint8_t *p = msb_buf_reserve (&c->in, 4096);
      ssize_t n = recv (c->fd, p, 4096, 0);
      if (n == 0)
        c->eof = true;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        c->dead = true;
      if (n <= 0)
        break;
      c->in.len += (size_t) n;
      c->idle_deadline = now + TCP_IDLE_NS;
      while (c->in.len >= 2 && c->inflight < MAX_TCP_INFLIGHT)
        {
          size_t want = (size_t) (c->in.data[0] << 8 | c->in.data[1]);
          if (want < 12 || want > MSB_DNS_MAX_QUERY)
            {
              c->dead = true;
              break;
            }
          if (c->in.len < 2 + want)
            break;
          c->inflight++;
          if (!handle_query (d, true, NULL, c->id, c->in.data + 2, want, now))
            c->inflight--;
          msb_buf_consume (&c->in, 2 + want);
        }
    }
}

/* ---- the poll loop ----------------------------------------------------------------------- */

static void
lower_timeout (int *timeout_ms, uint64_t deadline, uint64_t now)
{
  uint64_t ms = deadline > now ? (deadline - now + NS_PER_MS - 1) / NS_PER_MS : 0;
  if (*timeout_ms < 0 || ms < (uint64_t) *timeout_ms)
    *timeout_ms = (int) ms;
}

size_t
msb_net_dns_fill (msb_net_dns *d, struct pollfd *p, size_t cap, int *timeout_ms, uint64_t now)
{
  size_t n = 0;
  d->listen_pidx = -1;
  if (d->cfg.tcp_listen_fd >= 0 && n < cap)
    {
      d->listen_pidx = (int) n;
      p[n++] = (struct pollfd){ d->cfg.tcp_listen_fd, POLLIN, 0 };
    }
  for (size_t i = 0; i < d->n_clients; i++)
    {
      tcp_client *c = d->clients[i];
      c->pidx = -1;
      short ev = (short) ((!c->eof && c->inflight < MAX_TCP_INFLIGHT ? POLLIN : 0)
                          | (c->out.len ? POLLOUT : 0));
      if (n < cap)
        {
          c->pidx = (int) n;
          p[n++] = (struct pollfd){ c->fd, ev, 0 };
        }
      lower_timeout (timeout_ms, c->idle_deadline, now);
    }
  for (size_t i = 0; i < d->n_queries; i++)
    {
      query *q = d->queries[i];
      q->pidx = -1;
      if (q->fd >= 0 && n < cap)
        {
          short ev = POLLIN;
          if (q->up_tcp && q->up_state < 2)
            ev = POLLOUT;
          q->pidx = (int) n;
          p[n++] = (struct pollfd){ q->fd, ev, 0 };
        }
      lower_timeout (timeout_ms, q->up_tcp ? q->deadline : q->retry_at, now);
      lower_timeout (timeout_ms, q->deadline, now);
    }
  return n;
}

static short
revents_of (const struct pollfd *p, size_t n, int idx)
{
  return idx >= 0 && (size_t) idx < n ? p[idx].revents : 0;
}

void
msb_net_dns_dispatch (msb_net_dns *d, const struct pollfd *p, size_t n, uint64_t now)
{
  /* Objects created while dispatching have pidx -1 and wait for the next round. */
  if (revents_of (p, n, d->listen_pidx) & POLLIN)
    accept_clients (d, now);
  for (size_t i = 0; i < d->n_queries; i++)
    {
      query *q = d->queries[i];
      short re = revents_of (p, n, q->pidx);
      q->pidx = -1;
      if (!q->done && (re & POLLOUT))
        upstream_writable (d, q);
      if (!q->done && (re & (POLLIN | POLLERR | POLLHUP)))
        upstream_readable (d, q, now);
      if (!q->done && now >= q->deadline)
        fail (d, q, "timed out");
      else if (!q->done && !q->up_tcp && now >= q->retry_at)
        {
          q->retry_at = now + q->per_try;
          if (!upstream_next (d, q, true))
            fail (d, q, "no nameserver could be reached");
        }
    }
  for (size_t i = 0; i < d->n_clients; i++)
    {
      tcp_client *c = d->clients[i];
      short re = revents_of (p, n, c->pidx);
      c->pidx = -1;
      if (re & POLLOUT)
        client_flush (c);
      if (re & (POLLIN | POLLHUP | POLLERR))
        client_readable (d, c, now);
      if (c->inflight == 0 && ((c->eof && c->out.len == 0) || now >= c->idle_deadline))
        c->dead = true;
    }
  size_t k = 0;
  for (size_t i = 0; i < d->n_queries; i++)
    if (d->queries[i]->done)
      query_free (d, d->queries[i]);
    else
      d->queries[k++] = d->queries[i];
  d->n_queries = k;
  k = 0;
  for (size_t i = 0; i < d->n_clients; i++)
    if (d->clients[i]->dead)
      client_free (d, d->clients[i]);
    else
      d->clients[k++] = d->clients[i];
  d->n_clients = k;
}
