/* libslirp, loaded when a runtime first needs it. libmsb does not link it: libslirp drags in
 * GLib and PCRE2, which every msb command and every Python import would otherwise load for
 * nothing (the same reason libarchive is linked statically). Only a runtime process with
 * networking pays for it, once. */
#ifndef MSB_RUNTIME_NET_SLIRP_API_H
#define MSB_RUNTIME_NET_SLIRP_API_H

#include <libslirp.h>

#include "common/error.h"

typedef struct msb_slirp_api
{
  Slirp *(*new_) (const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque);
  void (*cleanup) (Slirp *slirp);
  void (*pollfds_fill) (Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque);
  void (*pollfds_poll) (Slirp *slirp, int select_error, SlirpGetREventsCb get_revents,
                        void *opaque);
  void (*input) (Slirp *slirp, const uint8_t *pkt, int pkt_len);
  void (*handle_timer) (Slirp *slirp, SlirpTimerId id, void *cb_opaque);
  int (*add_hostxfwd) (Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
                       const struct sockaddr *gaddr, socklen_t gaddrlen, int flags);
  int (*add_unix) (Slirp *slirp, const char *unixsock, struct in_addr *guest_addr, int guest_port);
  const char *(*version_string) (void);
} msb_slirp_api;

/* The library's entry points (loaded once per process). Fails with MSB_ERR_UNSUPPORTED
 * naming the package when libslirp ≥ 4.7 is missing. */
int msb_slirp_api_get (const msb_slirp_api **out, msb_error **err);

#endif
