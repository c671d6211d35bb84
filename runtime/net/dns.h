/* The DNS interceptor of one sandbox. Every query the guest sends to port 53 of any address
 * — UDP datagrams handed over by the filter, TCP connections redirected to a Unix socket
 * slirp connects to — is answered here, through the host's resolvers:
 *   - a name a deny rule covers gets NXDOMAIN without leaving the host;
 *   - host.microsandbox.internal is the gateway;
 *   - a query the policy does not let reach DNS at all gets REFUSED;
 *   - an answer naming an address the policy would not let the sandbox reach is NXDOMAIN:
 *     for private, loopback, link-local and metadata addresses that is rebind protection,
 *     and when no address of the answer is reachable the name is simply denied;
 *   - the addresses of every answer delivered are pinned to the names that led to them, for
 *     domain rules (pins.h).
 * Upstream queries go out from the runtime's own sockets with a fresh random id; only an
 * answer with that id and the same question is accepted. In-flight queries, TCP clients and
 * message sizes are bounded. Owned by the engine thread; not thread-safe. */
#ifndef MSB_RUNTIME_NET_DNS_H
#define MSB_RUNTIME_NET_DNS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/error.h"
#include "runtime/net/pins.h"
#include "runtime/net/policy.h"

#define MSB_NET_DNS_NAME_HOST "host.microsandbox.internal"

typedef struct msb_net_dns msb_net_dns;

/* The guest end of a UDP query: where the answer goes and which address it must come from. */
typedef struct msb_dns_udp_client
{
  uint32_t guest_be;
  uint16_t guest_port;
  uint32_t resolver_be;
} msb_dns_udp_client;

typedef struct msb_net_dns_config
{
  const msb_net_policy *policy;
  msb_net_pins *pins;
  struct sockaddr_storage *nameservers;
  size_t n_nameservers;
  unsigned timeout_ms;
  bool rebind_protection;
  uint32_t gateway_be;
  int tcp_listen_fd;   /* guest TCP DNS arrives here; owned by the interceptor from now on */
  /* Sends a UDP answer to the guest (the engine wraps it in a frame). */
  void (*send_udp) (void *opaque, const msb_dns_udp_client *c, const uint8_t *msg, size_t len);
  /* An fd the interceptor polled is about to be closed (NULL = nobody cares). */
  void (*closing) (void *opaque, int fd);
  void *opaque;
} msb_net_dns_config;

/* Reads the host's resolvers from `path` (/etc/resolv.conf): up to `max` nameserver lines,
 * port 53. Returns how many. */
size_t msb_net_dns_host_resolvers (const char *path, struct sockaddr_storage *out, size_t max);
/* "IP", "IP:PORT" or "[IPv6]:PORT" → a socket address. */
int msb_net_dns_parse_nameserver (const char *s, struct sockaddr_storage *out);

msb_net_dns *msb_net_dns_new (const msb_net_dns_config *cfg);
void msb_net_dns_free (msb_net_dns *d);

/* A UDP query the guest sent. */
void msb_net_dns_udp_query (msb_net_dns *d, const msb_dns_udp_client *c, const uint8_t *msg,
                            size_t len, uint64_t now_ns);

/* The engine's poll loop: adds the interceptor's fds (returns how many) and lowers
 * *timeout_ms to its next deadline; then hands the same array back after poll(). */
size_t msb_net_dns_fill (msb_net_dns *d, struct pollfd *p, size_t cap, int *timeout_ms,
                         uint64_t now_ns);
void msb_net_dns_dispatch (msb_net_dns *d, const struct pollfd *p, size_t n, uint64_t now_ns);

/* Would a query for `name` be answered at all (DNS to the gateway allowed, or the name
 * allowed by a domain rule)? The filter uses it for TCP DNS connections. */
bool msb_net_dns_reachable (const msb_net_policy *policy, uint8_t proto, const char *name);

#endif
