/* Where a pull goes: a reference's registry → the ordered endpoints to try (its mirrors
 * from config.json, then the registry itself), each with its transport rules, and the URLs
 * of the Registry HTTP API v2 on an endpoint. Pure: reads no file and opens no socket.
 *
 * Transport rules: HTTPS with certificate verification, always, except
 *   - a registry marked insecure (config.json or the pull option): HTTPS without
 *     verification, falling back to plain HTTP when the server does not speak TLS;
 *   - a loopback registry (localhost, 127.0.0.0/8, ::1): HTTPS with verification, falling
 *     back to plain HTTP only when the server does not speak TLS (a certificate that fails
 *     verification is an error, never a reason to drop to HTTP);
 *   - a mirror written with an explicit scheme ("http://…") uses exactly that scheme. */
#ifndef MSB_LIB_IMAGE_REGISTRY_ENDPOINT_H
#define MSB_LIB_IMAGE_REGISTRY_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "lib/globalconfig.h"

/* The API host of the default registry (docker.io names the registry, not the server). */
#define MSB_DOCKER_HUB_API_HOST "registry-1.docker.io"

typedef enum msb_endpoint_scheme
{
  MSB_SCHEME_HTTPS_ONLY = 0,
  MSB_SCHEME_HTTPS_THEN_HTTP, /* insecure or loopback */
  MSB_SCHEME_HTTP_ONLY,       /* an explicit http:// mirror */
} msb_endpoint_scheme;

typedef struct msb_registry_endpoint
{
  char *host;         /* host[:port] to contact */
  char *cred_host;    /* the name its stored credentials are filed under */
  bool is_mirror;
  msb_endpoint_scheme scheme;
  bool skip_verify;   /* insecure: the TLS certificate is not verified */
  char **ca_files;    /* NULL-terminated extra PEM roots (config.json + pull option); may be NULL */
} msb_registry_endpoint;

/* Per-pull transport overrides (the pull options). */
typedef struct msb_endpoint_overrides
{
  bool insecure;
  const char *const *ca_files; /* NULL-terminated; may be NULL */
} msb_endpoint_overrides;

/* The endpoints for `registry` (as in a parsed reference: "docker.io", "host:5000"), in the
 * order to try them. `gc` and `ov` may be NULL. A malformed mirror in config.json is
 * MSB_ERR_INVALID_CONFIG. Free with msb_registry_endpoints_free. */
int msb_registry_endpoints (const msb_global_config *gc, const char *registry,
                            const msb_endpoint_overrides *ov, msb_registry_endpoint **out,
                            size_t *n, msb_error **err);
void msb_registry_endpoints_free (msb_registry_endpoint *eps, size_t n);

/* True when the host part of `host[:port]` is localhost, 127.0.0.0/8 or ::1. */
bool msb_registry_host_is_loopback (const char *host);

/* "<scheme>://<host>/v2/<repository>/<kind>/<ref>" (kind: "manifests" or "blobs"); with
 * kind NULL, the API root "<scheme>://<host>/v2/". Newly allocated. */
char *msb_registry_url (bool https, const char *host, const char *repository, const char *kind,
                        const char *ref);

/* Splits "[scheme://]host[:port][/]" as written for a mirror. *scheme_out is
 * MSB_SCHEME_HTTPS_ONLY for https://, MSB_SCHEME_HTTP_ONLY for http://, and -1 when none
 * was written. MSB_ERR_INVALID_CONFIG when it is not a bare host. */
int msb_registry_mirror_parse (const char *mirror, char **host, int *scheme_out,
                               msb_error **err);

#endif
