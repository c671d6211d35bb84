/* The registry client: one per (registry, repository) pull. Speaks the Registry HTTP API v2
 * over libcurl (registry_curl.h): endpoint choice (mirrors first, then the registry), the
 * HTTPS / plain-HTTP rules of registry_endpoint.h, extra CA roots, the 401 challenge flow
 * (Bearer tokens from the realm, Basic), blob redirects and ranged blob requests.
 *
 * Never logs or puts in an error message a password, a token or an Authorization header.
 * Redirects keep to http(s); a redirect from HTTPS may not go to plain HTTP; curl sends
 * our Authorization header to the original host only, never to a redirect target (object
 * stores reject it, and it must not leak there).
 *
 * Thread-safety: after the manifest has pinned an endpoint, msb_registry_stream_blob and
 * msb_registry_fetch_blob may run concurrently from several threads on one client. */
#ifndef MSB_LIB_IMAGE_REGISTRY_HTTP_H
#define MSB_LIB_IMAGE_REGISTRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/globalconfig.h"
#include "lib/home.h"

typedef struct msb_registry_client msb_registry_client;

typedef struct msb_registry_client_opts
{
  const char *username; /* explicit credentials; NULL: those stored by `msb registry login` */
  const char *password;
  bool insecure;               /* plain HTTP allowed, certificates not verified */
  const char *const *ca_files; /* extra PEM roots, NULL-terminated; may be NULL */
  const char *ca_pem;          /* extra PEM roots as data; may be NULL */
} msb_registry_client_opts;

/* A client for `repository` on `registry` (as in a parsed reference). `gc` (may be NULL)
 * supplies mirrors / insecure / CA settings; `home` the stored credentials. Loads libcurl. */
int msb_registry_client_new (const msb_home *home, const msb_global_config *gc,
                             const char *registry, const char *repository,
                             const msb_registry_client_opts *opts, msb_registry_client **out,
                             msb_error **err);
void msb_registry_client_free (msb_registry_client *c);

/* The endpoint host requests go to ("127.0.0.1:5000"); before the first success, the
 * registry's own. */
const char *msb_registry_client_host (const msb_registry_client *c);

/* Fetches manifest `ref` (a tag or a digest) with the manifest Accept list, trying every
 * endpoint in order; the first that answers is used for everything after. *body is
 * NUL-terminated; *content_type and *docker_digest (the Docker-Content-Digest header) may be
 * NULL. A body larger than `max` fails. */
int msb_registry_fetch_manifest (msb_registry_client *c, const char *ref, size_t max,
                                 char **body, size_t *len, char **content_type,
                                 char **docker_digest, msb_error **err);

/* Fetches a small blob into memory (at most `max` bytes; the caller verifies it). */
int msb_registry_fetch_blob (msb_registry_client *c, const char *digest, size_t max, char **body,
                             size_t *len, msb_error **err);

/* Receives one chunk of a streamed blob; returns 0, or -1 to abort the transfer. */
typedef int (*msb_registry_sink_fn) (void *ctx, const void *data, size_t n);

typedef struct msb_blob_xfer
{
  /* in (may be NULL): polled during the transfer, true aborts it (a cancelled pull must
   * not wait for a connect timeout) */
  bool (*cancelled) (void *sink_ctx);
  /* out */
  uint64_t delivered; /* bytes handed to the sink by this call */
  bool retryable;     /* on failure: a transport error worth another (ranged) attempt */
  bool sink_aborted;  /* on failure: the sink returned -1 */
} msb_blob_xfer;

/* Streams blob `digest` from byte `offset` (a Range request when > 0; a server that ignores
 * the range has the bytes before `offset` dropped here) to `sink`. `limit` > 0 caps the total
 * size: more bytes than that abort the transfer. */
int msb_registry_stream_blob (msb_registry_client *c, const char *digest, uint64_t offset,
                              uint64_t limit, msb_registry_sink_fn sink, void *sink_ctx,
                              msb_blob_xfer *x, msb_error **err);

/* Checks the credentials against the registry itself (GET /v2/ and, for token auth, a token
 * request with them), as `docker login` does. */
int msb_registry_check_login (msb_registry_client *c, msb_error **err);

#endif
