/* Pulling images from OCI registries, the progress events of a pull (API.md §1.11), and
 * the credentials `msb registry login` stores.
 *
 * A pull resolves a reference (a tag becomes the manifest digest it names at that moment;
 * an image index becomes the manifest of linux/<host architecture>), then downloads the
 * layers that are not cached yet, in parallel, unpacking each while it downloads. Every byte
 * is verified: manifests and the config against their digests, each layer blob against its
 * digest and its uncompressed stream against the config's diff_id. A failed pull leaves
 * nothing in the cache and writes no record.
 *
 * Registries: Docker Registry HTTP API v2 / OCI distribution; HTTPS with the system CAs
 * (plus extra roots from the options or config.json); plain HTTP only for registries marked
 * insecure and for loopback ones; Bearer-token and Basic authentication. Mirrors, insecure
 * registries and CA files per registry host come from $MSB_HOME/config.json:
 *
 *     {"registries": {"docker.io": {"mirrors": ["127.0.0.1:5000"]},
 *                     "127.0.0.1:5000": {"insecure": true},
 *                     "registry.corp.example": {"ca_file": "/etc/msb/corp-root.pem"}}}
 */
#ifndef MSB_PULL_H
#define MSB_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>
#include <msb/image.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;

typedef enum msb_pull_event_type
{
  MSB_PULL_RESOLVING = 0,                /* reference */
  MSB_PULL_RESOLVED,                     /* reference, manifest_digest, layer_count,
                                            total_download_bytes (of the layers not cached) */
  MSB_PULL_LAYER_DOWNLOAD_PROGRESS,      /* layer_index, digest, downloaded_bytes, total_bytes */
  MSB_PULL_LAYER_DOWNLOAD_COMPLETE,      /* layer_index, digest, downloaded_bytes */
  MSB_PULL_LAYER_DOWNLOAD_VERIFYING,     /* layer_index, digest */
  MSB_PULL_LAYER_MATERIALIZE_STARTED,    /* layer_index, diff_id */
  MSB_PULL_LAYER_MATERIALIZE_PROGRESS,   /* layer_index, bytes_read, total_bytes */
  MSB_PULL_LAYER_MATERIALIZE_WRITING,    /* layer_index */
  MSB_PULL_LAYER_MATERIALIZE_COMPLETE,   /* layer_index, diff_id (also for a cached layer) */
  MSB_PULL_STITCH_MERGING_TREES,         /* layer_count (vm disk images; not emitted today) */
  MSB_PULL_STITCH_WRITING_FSMETA,
  MSB_PULL_STITCH_WRITING_VMDK,
  MSB_PULL_STITCH_COMPLETE,
  MSB_PULL_COMPLETE,                     /* reference, layer_count (as in RESOLVED) */
} msb_pull_event_type;

/* "resolving", "resolved", "layer_download_progress", … as API.md §1.11 spells them. */
const char *msb_pull_event_type_name (msb_pull_event_type type);

/* One event. Fields that do not apply are NULL (strings) or -1 (numbers). The strings are
 * valid during the callback only. */
typedef struct msb_pull_event
{
  size_t size; /* sizeof (msb_pull_event) in the library: fields may be appended later */
  msb_pull_event_type type;
  const char *reference; /* as the caller wrote it */
  const char *manifest_digest;
  int64_t layer_count;
  int64_t total_download_bytes;
  int64_t layer_index; /* 0 = bottom layer */
  const char *digest;  /* layer blob digest */
  const char *diff_id;
  int64_t downloaded_bytes;
  int64_t total_bytes;
  int64_t bytes_read;
} msb_pull_event;

/* Receives events. Called from libmsb's threads, never concurrently, in order per layer;
 * it must not call back into libmsb with the same context. */
typedef void (*msb_pull_progress_fn) (const msb_pull_event *ev, void *data);

typedef struct msb_pull_opts
{
  size_t size;        /* sizeof (msb_pull_opts); set it, zero the rest you do not use */
  const char *policy; /* "always" (default for msb_image_pull), "if-missing", "never" */
  msb_pull_progress_fn progress;
  void *progress_data;
  /* Credentials for the registry of the reference (NULL: those stored by
   * msb_registry_login). Never stored, never logged. */
  const char *username;
  const char *password;
  bool insecure;               /* plain HTTP allowed, certificates not verified */
  const char *const *ca_files; /* extra PEM roots (files), NULL-terminated; may be NULL */
  const char *ca_pem;          /* extra PEM roots (data); may be NULL */
  const char *platform;        /* "linux/arm64"…; NULL = linux/<host architecture> */
  unsigned max_parallel;       /* layers downloaded at once; 0 = 4 */
} msb_pull_opts;

/* Pulls `reference` ("alpine", "host:5000/app:1.2", "repo@sha256:…") into the cache and
 * records it. Policy "always" resolves the reference against the registry (layers already
 * cached are neither fetched nor unpacked again); "if-missing" uses the cached image when
 * there is one; "never" fails with MSB_ERR_IMAGE_NOT_FOUND when it is not cached. Events
 * RESOLVING, RESOLVED and COMPLETE are emitted in every successful case, cached or not.
 * `opts` may be NULL. *out (may be NULL) gets the image; free it with msb_image_info_free().
 * Errors: MSB_ERR_INVALID_CONFIG (bad reference or options), MSB_ERR_IMAGE_NOT_FOUND
 * (policy never), MSB_ERR_IMAGE_PULL_FAILED (registry, network, authentication,
 * verification), MSB_ERR_TLS (certificate not trusted), MSB_ERR_IO (local storage).
 * Thread-safe; two processes pulling one image at once fetch each layer once. */
int msb_image_pull (msb_ctx *ctx, const char *reference, const msb_pull_opts *opts,
                    msb_image_info **out, msb_error **err);

/* Flags of msb_registry_login(). */
enum
{
  /* Store without checking the credentials against the registry first. */
  MSB_REGISTRY_LOGIN_NO_VERIFY = 1u << 0,
};

/* Checks `username`/`password` against registry `host` (unless MSB_REGISTRY_LOGIN_NO_VERIFY),
 * then stores them in $MSB_HOME/secrets/registries/ (mode 0600). Pulls from that registry
 * use them when no explicit credentials are given. `opts` (may be NULL) supplies insecure /
 * CA settings for the check; its other fields are ignored. */
int msb_registry_login (msb_ctx *ctx, const char *host, const char *username,
                        const char *password, unsigned flags, const msb_pull_opts *opts,
                        msb_error **err);

/* Forgets the stored credentials of `host`; MSB_ERR_INVALID_CONFIG when there are none. */
int msb_registry_logout (msb_ctx *ctx, const char *host, msb_error **err);

/* Registries with stored credentials and their user names (never passwords), sorted by
 * host; both vectors NULL-terminated, *n entries. Free with msb_registry_list_free(). */
int msb_registry_list (msb_ctx *ctx, char ***hosts, char ***usernames, size_t *n,
                       msb_error **err);
void msb_registry_list_free (char **hosts, char **usernames);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
