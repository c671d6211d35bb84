/* Registry HTTP API v2 over libcurl: one easy handle per request (connections, TLS sessions
 * and DNS are shared through a CURLSH, so a pull still reuses its connections), the 401
 * challenge loop, the HTTPS → HTTP fallback of insecure and loopback registries, and the
 * mapping of every failure to an msb error that says which registry did what. */
#include "lib/image/registry_http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/registry_auth.h"
#include "lib/image/registry_creds.h"
#include "lib/image/registry_curl.h"
#include "lib/image/registry_endpoint.h"
#include "lib/image/registry_manifest.h"

#define USER_AGENT "msb/" MSB_VERSION
#define ERROR_BODY_MAX (16u << 10)
#define CA_BUNDLE_MAX (16u << 20)
#define CA_FILE_MAX (4u << 20)
#define CONNECT_TIMEOUT_S 30L
#define LOW_SPEED_TIME_S 60L
#define SMALL_TIMEOUT_S 300L
#define SMALL_ATTEMPTS 3

typedef struct ep_state
{
  msb_registry_endpoint ep;
  int use_https; /* -1 until the first answer tells */
  char *user;
  char *pass;
  bool creds_explicit;
  char *ca_blob;
  size_t ca_len;
  /* what the server asked for last, and the token it gave */
  msb_auth_scheme scheme;
  char *token;
  uint64_t token_expiry_ns;
  unsigned token_gen;
} ep_state;

struct msb_registry_client
{
  const msb_curl_api *curl;
  const msb_home *home;
  char *registry;
  char *repository;
  ep_state *eps;
  size_t n_eps;
  int pinned; /* index of the endpoint in use, -1 before the manifest */
  pthread_mutex_t lock;
  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

/* ---- the share's locks ---- */

static void
share_lock (CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
  msb_registry_client *c = ud;
  if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_lock (&c->share_locks[data]);
}

static void
share_unlock (CURL *h, curl_lock_data data, void *ud)
{
  msb_registry_client *c = ud;
  if ((int) data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_unlock (&c->share_locks[data]);
}

/* ---- client ---- */

static void
ep_state_clear (ep_state *es)
{
  free (es->ep.host);
  free (es->ep.cred_host);
  msb_strv_free (es->ep.ca_files);
  free (es->user);
  msb_secret_free (es->pass);
  free (es->ca_blob);
  msb_secret_free (es->token);
}

void
msb_registry_client_free (msb_registry_client *c)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n_eps; i++)
    ep_state_clear (&c->eps[i]);
  free (c->eps);
  if (c->share)
    c->curl->share_cleanup (c->share);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy (&c->share_locks[i]);
  pthread_mutex_destroy (&c->lock);
  free (c->registry);
  free (c->repository);
  free (c);
}

const char *
msb_registry_client_host (const msb_registry_client *c)
{
  return c->eps[c->pinned >= 0 ? (size_t) c->pinned : c->n_eps - 1].ep.host;
}

/* The default CA bundle of this libcurl, asked from a throwaway handle. */
static char *
default_ca_path (const msb_curl_api *curl)
{
  CURL *h = curl->easy_init ();
  if (h == NULL)
    return NULL;
  char *path = NULL;
  char *out = NULL;
  if (curl->easy_getinfo (h, CURLINFO_CAINFO, &path) == CURLE_OK && path)
    out = msb_xstrdup (path);
  curl->easy_cleanup (h);
  return out ? out : msb_xstrdup ("/etc/ssl/certs/ca-certificates.crt");
}

static int
append_file (msb_buf *b, const char *path, size_t max, bool missing_ok, msb_error **err)
{
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  msb_error *rerr = NULL;
  if (msb_read_file_at (AT_FDCWD, path, max, &data, &len, &rerr) < 0)
    {
      int e = msb_error_get_errno (rerr);
      msb_error_free (rerr);
      if (missing_ok)
        return 0;
      return e ? msb_fail_errno (err, e, MSB_ERR_INVALID_CONFIG, "read CA file `%s`", path)
               : msb_fail (err, MSB_ERR_INVALID_CONFIG, "CA file `%s` is larger than %zu bytes",
                           path, max);
    }
  msb_buf_append (b, data, len);
  msb_buf_append (b, "\n", 1);
  return 0;
}

/* System roots + the endpoint's extra roots, as one PEM blob: CURLOPT_CAINFO_BLOB replaces
 * the default bundle, so the system's must be in it too ("system CAs or an extra CA"). */
static int
load_ca_blob (msb_registry_client *c, ep_state *es, const char *ca_pem, msb_error **err)
{
  if (es->ep.ca_files == NULL && ca_pem == NULL)
    return 0;
  _msb_cleanup_buf_ msb_buf b = MSB_BUF_INIT;
  _msb_cleanup_free_ char *sys = default_ca_path (c->curl);
  if (sys && append_file (&b, sys, CA_BUNDLE_MAX, true, err) < 0)
    return -1;
  for (char **f = es->ep.ca_files; f && *f; f++)
    if (append_file (&b, *f, CA_FILE_MAX, false, err) < 0)
      return -1;
  if (ca_pem)
    msb_buf_append (&b, ca_pem, strlen (ca_pem));
  es->ca_len = b.len;
  es->ca_blob = (char *) msb_steal_pointer (&b.data);
  return 0;
}

int
msb_registry_client_new (const msb_home *home, const msb_global_config *gc, const char *registry,
                         const char *repository, const msb_registry_client_opts *opts,
                         msb_registry_client **out, msb_error **err)
{
  const msb_curl_api *curl = msb_curl (err);
  if (curl == NULL)
    return -1;
  static const msb_registry_client_opts none = { 0 };
  if (opts == NULL)
    opts = &none;
  msb_endpoint_overrides ov = { .insecure = opts->insecure, .ca_files = opts->ca_files };
  msb_registry_endpoint *eps = NULL;
  size_t n = 0;
  if (msb_registry_endpoints (gc, registry, &ov, &eps, &n, err) < 0)
    return -1;
  msb_registry_client *c = msb_xcalloc (1, sizeof *c);
  c->curl = curl;
  c->home = home;
  c->registry = msb_xstrdup (registry);
  c->repository = msb_xstrdup (repository);
  c->pinned = -1;
  pthread_mutex_init (&c->lock, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init (&c->share_locks[i], NULL);
  c->eps = msb_xcalloc (n, sizeof *c->eps);
  c->n_eps = n;
  for (size_t i = 0; i < n; i++)
    {
      ep_state *es = &c->eps[i];
      es->ep = eps[i];
      es->use_https = es->ep.scheme == MSB_SCHEME_HTTP_ONLY ? 0 : -1;
    }
  free (eps); /* the strings moved into the states */
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++)
    {
      ep_state *es = &c->eps[i];
      /* Explicit credentials are for the registry named in the reference, not its mirrors. */
      if (!es->ep.is_mirror && opts->username && opts->password)
        {
          es->user = msb_xstrdup (opts->username);
          es->pass = msb_xstrdup (opts->password);
          es->creds_explicit = true;
        }
      else if (home)
        r = msb_registry_creds_load (home, es->ep.cred_host, &es->user, &es->pass, err);
      if (r == 0)
        r = load_ca_blob (c, es, opts->ca_pem, err);
    }
  c->share = curl->share_init ();
  if (r == 0 && c->share)
    {
      curl->share_setopt (c->share, CURLSHOPT_LOCKFUNC, share_lock);
      curl->share_setopt (c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
      curl->share_setopt (c->share, CURLSHOPT_USERDATA, c);
      curl->share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl->share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
      curl->share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
  if (r < 0)
    {
      msb_registry_client_free (c);
      return msb_error_prefix (err, "registry `%s`", registry);
    }
  *out = c;
  return 0;
}

/* ---- one HTTP exchange ---- */

typedef struct xfer
{
  const msb_curl_api *curl;
  /* request */
  uint64_t offset;
  uint64_t limit;
  size_t max; /* buffer mode */
  msb_registry_sink_fn sink;
  void *sink_ctx;
  bool (*cancelled) (void *sink_ctx);
  /* response */
  long status;
  bool started;
  uint64_t skip;
  uint64_t delivered;
  msb_buf body;    /* buffer mode: the body; stream mode: an error body */
  char *content_type;
  char *docker_digest;
  char *www_auth;
  char *content_range;
  bool too_large;
  bool sink_failed;
  bool bad_range;
  CURLcode code;
  char errbuf[CURL_ERROR_SIZE];
} xfer;

static void
xfer_clear (xfer *x)
{
  msb_buf_free (&x->body);
  free (x->content_type);
  free (x->docker_digest);
  free (x->www_auth);
  free (x->content_range);
}

static void
xfer_reset_headers (xfer *x)
{
  free (x->content_type);
  free (x->docker_digest);
  free (x->www_auth);
  free (x->content_range);
  x->content_type = x->docker_digest = x->www_auth = x->content_range = NULL;
}

/* Trims the value of a header line "Name: value\r\n" into a new string. */
static char *
header_value (const char *line, size_t n, size_t name_len)
{
  const char *v = line + name_len + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  return msb_xstrndup (v, (size_t) (end - v));
}

static bool
header_is (const char *line, size_t n, const char *name)
{
  size_t l = strlen (name);
  return n > l && line[l] == ':' && strncasecmp (line, name, l) == 0;
}

static size_t
on_header (char *line, size_t size, size_t nitems, void *ud)
{
  xfer *x = ud;
  size_t n = size * nitems;
  if (n >= 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      /* A new response (after a redirect or a 100): forget the previous one's headers. */
      xfer_reset_headers (x);
      const char *p = memchr (line, ' ', n);
      x->status = p ? strtol (p + 1, NULL, 10) : 0;
      return n;
    }
  if (header_is (line, n, "content-type"))
    {
      free (x->content_type);
      x->content_type = header_value (line, n, 12);
    }
  else if (header_is (line, n, "docker-content-digest"))
    {
      free (x->docker_digest);
      x->docker_digest = header_value (line, n, 21);
    }
  else if (header_is (line, n, "content-range"))
    {
      free (x->content_range);
      x->content_range = header_value (line, n, 13);
    }
  else if (header_is (line, n, "www-authenticate"))
    {
      _msb_cleanup_free_ char *v = header_value (line, n, 16);
      if (x->www_auth == NULL)
        x->www_auth = msb_steal_pointer (&v);
      else if (strlen (x->www_auth) + strlen (v) < MSB_AUTH_HEADER_MAX)
        {
          char *joined = msb_xasprintf ("%s, %s", x->www_auth, v);
          free (x->www_auth);
          x->www_auth = joined;
        }
    }
  return n;
}

/* The first body byte decides what the body is: an error page, a full body when we asked
 * for a range (the server ignored it: drop what we already have), or the range we asked. */
static bool
start_body (xfer *x)
{
  x->started = true;
  if (x->status == 206)
    {
      unsigned long long first = 0;
      if (x->content_range == NULL
          || sscanf (x->content_range, "bytes %llu-", &first) != 1 || first != x->offset)
        {
          x->bad_range = true;
          return false;
        }
    }
  else if (x->status == 200)
    x->skip = x->offset;
  return true;
}

static size_t
on_write (char *data, size_t size, size_t nmemb, void *ud)
{
  xfer *x = ud;
  size_t n = size * nmemb, total = n;
  if (!x->started && !start_body (x))
    return 0;
  if (x->status < 200 || x->status >= 300)
    {
      if (x->body.len < ERROR_BODY_MAX)
        msb_buf_append (&x->body, data, n < ERROR_BODY_MAX - x->body.len ? n : ERROR_BODY_MAX - x->body.len);
      return total;
    }
  if (x->skip)
    {
      size_t drop = x->skip < n ? (size_t) x->skip : n;
      x->skip -= drop;
      data += drop;
      n -= drop;
      if (n == 0)
        return total;
    }
  if (x->sink)
    {
      if (x->limit && x->offset + x->delivered + n > x->limit)
        {
          x->too_large = true;
          return 0;
        }
      if (x->sink (x->sink_ctx, data, n) < 0)
        {
          x->sink_failed = true;
          return 0;
        }
      x->delivered += n;
      return total;
    }
  if (x->body.len + n > x->max)
    {
      x->too_large = true;
      return 0;
    }
  msb_buf_append (&x->body, data, n);
  return total;
}

static int
on_xferinfo (void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  xfer *x = ud;
  if (x->cancelled && x->cancelled (x->sink_ctx))
    {
      x->sink_failed = true;
      return 1; /* aborts the transfer */
    }
  return 0;
}

typedef struct request
{
  const char *url;
  const char *accept;
  const char *authorization; /* full header value, or NULL */
  bool https;
  bool small; /* bounded total time (manifests, configs, tokens) */
} request;

static void
perform (msb_registry_client *c, ep_state *es, const request *rq, xfer *x)
{
  const msb_curl_api *k = c->curl;
  x->curl = k;
  CURL *h = k->easy_init ();
  if (h == NULL)
    {
      x->code = CURLE_OUT_OF_MEMORY;
      return;
    }
  struct curl_slist *headers = NULL;
  _msb_cleanup_free_ char *accept = rq->accept ? msb_xasprintf ("Accept: %s", rq->accept) : NULL;
  char *auth = rq->authorization ? msb_xasprintf ("Authorization: %s", rq->authorization) : NULL;
  if (accept)
    headers = k->slist_append (headers, accept);
  if (auth)
    headers = k->slist_append (headers, auth);
  char range[48];
  k->easy_setopt (h, CURLOPT_URL, rq->url);
  k->easy_setopt (h, CURLOPT_HTTPGET, 1L);
  k->easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  k->easy_setopt (h, CURLOPT_USERAGENT, USER_AGENT);
  k->easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  k->easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  k->easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  /* A redirect may not downgrade HTTPS to plain HTTP. */
  k->easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, rq->https ? "https" : "http,https");
  k->easy_setopt (h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  k->easy_setopt (h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  k->easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  k->easy_setopt (h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_TIME_S);
  if (rq->small)
    k->easy_setopt (h, CURLOPT_TIMEOUT, SMALL_TIMEOUT_S);
  k->easy_setopt (h, CURLOPT_TCP_KEEPALIVE, 1L);
  k->easy_setopt (h, CURLOPT_BUFFERSIZE, 256L * 1024);
  k->easy_setopt (h, CURLOPT_ERRORBUFFER, x->errbuf);
  k->easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  k->easy_setopt (h, CURLOPT_HEADERDATA, x);
  k->easy_setopt (h, CURLOPT_WRITEFUNCTION, on_write);
  k->easy_setopt (h, CURLOPT_WRITEDATA, x);
  if (x->cancelled)
    {
      k->easy_setopt (h, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
      k->easy_setopt (h, CURLOPT_XFERINFODATA, x);
      k->easy_setopt (h, CURLOPT_NOPROGRESS, 0L);
    }
  if (headers)
    k->easy_setopt (h, CURLOPT_HTTPHEADER, headers);
  if (c->share)
    k->easy_setopt (h, CURLOPT_SHARE, c->share);
  if (x->offset > 0)
    {
      snprintf (range, sizeof range, "%llu-", (unsigned long long) x->offset);
      k->easy_setopt (h, CURLOPT_RANGE, range);
    }
  if (es->ep.skip_verify)
    {
      k->easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
      k->easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  if (es->ca_blob)
    {
      struct curl_blob blob = { es->ca_blob, es->ca_len, CURL_BLOB_COPY };
      k->easy_setopt (h, CURLOPT_CAINFO_BLOB, &blob);
    }
  x->code = k->easy_perform (h);
  k->easy_cleanup (h);
  k->slist_free_all (headers);
  msb_secret_free (auth);
}

/* ---- errors ---- */

/* "MANIFEST_UNKNOWN: manifest unknown" from a registry error body, sanitised. */
static char *
error_detail (const msb_buf *body)
{
  if (body->len == 0)
    return NULL;
  json_error_t jerr;
  json_t *root = json_loadb ((const char *) body->data, body->len, 0, &jerr);
  json_t *first = json_array_get (json_object_get (root, "errors"), 0);
  const char *code = json_string_value (json_object_get (first, "code"));
  const char *msg = json_string_value (json_object_get (first, "message"));
  char *out = NULL;
  if (code || msg)
    {
      out = msb_xasprintf ("%.64s%s%.200s", code ? code : "", code && msg ? ": " : "",
                           msg ? msg : "");
      for (char *p = out; *p; p++)
        if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
          *p = ' ';
    }
  json_decref (root);
  return out;
}

static bool
is_tls_failure (CURLcode code)
{
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE
         || code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_ISSUER_ERROR
         || code == CURLE_SSL_PINNEDPUBKEYNOTMATCH || code == CURLE_SSL_INVALIDCERTSTATUS
         || code == CURLE_SSL_CRL_BADFILE;
}

static bool
is_not_tls (CURLcode code)
{
  return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR;
}

static bool
is_retryable_code (CURLcode code)
{
  return code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR
         || code == CURLE_GOT_NOTHING || code == CURLE_OPERATION_TIMEDOUT
         || code == CURLE_COULDNT_CONNECT || code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM;
}

/* Turns a finished exchange into 0 (2xx) or an error. *retryable tells transport errors and
 * 5xx / 429 apart from answers that will not change. */
static int
outcome (msb_registry_client *c, ep_state *es, const xfer *x, const char *what, bool had_auth,
         bool *retryable, msb_error **err)
{
  *retryable = false;
  const char *host = es->ep.host;
  if (x->bad_range)
    {
      *retryable = true;
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                       "%s: %s answered a range request with the wrong range", what, host);
    }
  if (x->too_large)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: %s sent more bytes than expected", what,
                     host);
  if (x->code != CURLE_OK)
    {
      const char *detail = x->errbuf[0] ? x->errbuf : c->curl->easy_strerror (x->code);
      if (is_tls_failure (x->code))
        return msb_fail (err, MSB_ERR_TLS,
                         "%s: TLS with %s failed: %s (trust its CA with --ca-certs or `ca_file` "
                         "in config.json, or mark it insecure)",
                         what, host, detail);
      *retryable = is_retryable_code (x->code);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: cannot fetch from %s: %s", what, host,
                       detail);
    }
  if (x->status >= 200 && x->status < 300)
    return 0;
  _msb_cleanup_free_ char *detail = error_detail (&x->body);
  const char *sep = detail ? " — " : "";
  const char *d = detail ? detail : "";
  switch (x->status)
    {
    case 401:
      if (es->user == NULL)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "%s: %s requires authentication: log in with `msb registry login %s` "
                         "or pass credentials%s%s",
                         what, host, es->ep.cred_host, sep, d);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                       "%s: %s rejected the credentials%s%s%s (HTTP 401)%s%s", what, host,
                       es->user ? " of user `" : "", es->user ? es->user : "",
                       es->user ? "`" : "", sep, d);
    case 403:
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: %s denied access (HTTP 403)%s%s",
                       what, host, sep, d);
    case 404:
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: not found on %s (HTTP 404)%s%s", what,
                       host, sep, d);
    default:
      *retryable = x->status == 429 || x->status >= 500;
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s: %s answered HTTP %ld%s%s", what, host,
                       x->status, sep, d);
    }
}

/* ---- authentication ---- */

static uint64_t
now_ns (void)
{
  return msb_now_mono_ns ();
}

/* The Authorization value to send to `es` now (newly allocated), or NULL. Lock held. */
static char *
current_auth (ep_state *es)
{
  if (es->token && now_ns () < es->token_expiry_ns)
    return msb_xasprintf ("Bearer %s", es->token);
  if (es->scheme == MSB_AUTH_BASIC && es->user && es->pass)
    return msb_auth_basic_value (es->user, es->pass);
  return NULL;
}

/* Gets a token from the challenge's realm (with Basic credentials when we have some). */
static int
fetch_token (msb_registry_client *c, ep_state *es, const msb_auth_challenge *ch, bool https,
             msb_error **err)
{
  const char *realm = ch->realm;
  bool realm_https = strncasecmp (realm, "https://", 8) == 0;
  if (!realm_https && strncasecmp (realm, "http://", 7) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "%s names a token service that is not an http(s) URL", es->ep.host);
  /* Credentials never travel to a plain-HTTP token service of an HTTPS registry. */
  if (!realm_https && https)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "%s (HTTPS) names a plain-HTTP token service: refused", es->ep.host);
  _msb_cleanup_free_ char *scope = c->repository ? msb_auth_pull_scope (c->repository) : NULL;
  _msb_cleanup_free_ char *url = msb_auth_token_url (ch, scope);
  char *basic = es->user && es->pass ? msb_auth_basic_value (es->user, es->pass) : NULL;
  request rq = { .url = url, .accept = "application/json", .authorization = basic,
                 .https = realm_https, .small = true };
  xfer x = { .max = MSB_AUTH_TOKEN_JSON_MAX };
  perform (c, es, &rq, &x);
  msb_secret_free (basic);
  bool retry;
  int r = outcome (c, es, &x, "get a registry token", basic != NULL, &retry, err);
  if (r == 0)
    {
      char *token = NULL;
      int64_t expires = 60;
      r = msb_auth_token_parse ((const char *) x.body.data, x.body.len, &token, &expires, err);
      if (r == 0)
        {
          msb_secret_free (es->token);
          es->token = token;
          /* Refresh a little before the server's expiry. */
          int64_t secs = expires > 30 ? expires - 10 : expires;
          es->token_expiry_ns = now_ns () + (uint64_t) secs * 1000000000ull;
          es->token_gen++;
        }
      else
        msb_error_prefix (err, "token from %s", es->ep.host);
    }
  if (x.body.data)
    explicit_bzero (x.body.data, x.body.len);
  xfer_clear (&x);
  return r;
}

/* After a 401: learn what the server wants. Returns 1 to try again, 0 to give up (the
 * exchange's own outcome is the error), -1 on an error of its own. */
static int
answer_challenge (msb_registry_client *c, ep_state *es, const xfer *x, const char *sent_auth,
                  unsigned gen, bool https, msb_error **err)
{
  if (x->www_auth == NULL)
    return 0;
  msb_auth_challenge ch;
  if (msb_auth_challenge_parse (x->www_auth, strlen (x->www_auth), &ch, err) < 0)
    return msb_error_prefix (err, "%s", es->ep.host);
  int r = 0;
  pthread_mutex_lock (&c->lock);
  if (ch.scheme == MSB_AUTH_BEARER)
    {
      if (es->token_gen != gen)
        r = 1; /* another thread got a fresh token meanwhile */
      else /* first challenge, an expired token, or a token refused for its scope */
        r = fetch_token (c, es, &ch, https, err) < 0 ? -1 : 1;
      es->scheme = MSB_AUTH_BEARER;
    }
  else if (ch.scheme == MSB_AUTH_BASIC)
    {
      bool sent_basic = sent_auth && strncmp (sent_auth, "Basic ", 6) == 0;
      es->scheme = MSB_AUTH_BASIC;
      r = es->user && es->pass && !sent_basic ? 1 : 0;
    }
  pthread_mutex_unlock (&c->lock);
  msb_auth_challenge_clear (&ch);
  return r;
}

/* One logical request to endpoint `es`: the scheme (HTTPS, or HTTP where allowed), then up
 * to three rounds of the 401 dance. The xfer is reset between rounds. */
static int
exchange (msb_registry_client *c, ep_state *es, const char *kind, const char *ref,
          const char *accept, bool small, xfer *x, const char *what, bool *retryable,
          msb_error **err)
{
  xfer proto = *x; /* the request part */
  for (int round = 0;; round++)
    {
      int use_https;
      char *auth;
      unsigned gen;
      pthread_mutex_lock (&c->lock);
      use_https = es->use_https;
      auth = current_auth (es);
      gen = es->token_gen;
      pthread_mutex_unlock (&c->lock);
      bool https = use_https != 0;
      _msb_cleanup_free_ char *url = msb_registry_url (https, es->ep.host, c->repository, kind, ref);
      request rq = { .url = url, .accept = accept, .authorization = auth, .https = https,
                     .small = small };
      xfer_clear (x);
      *x = proto;
      perform (c, es, &rq, x);
      if (use_https < 0)
        {
          if (x->code != CURLE_OK && is_not_tls (x->code)
              && es->ep.scheme == MSB_SCHEME_HTTPS_THEN_HTTP && !x->started)
            {
              /* The server does not speak TLS: an insecure or loopback registry may use HTTP. */
              pthread_mutex_lock (&c->lock);
              es->use_https = 0;
              pthread_mutex_unlock (&c->lock);
              msb_secret_free (auth);
              continue;
            }
          if (x->code == CURLE_OK)
            {
              pthread_mutex_lock (&c->lock);
              es->use_https = 1;
              pthread_mutex_unlock (&c->lock);
            }
        }
      if (x->code == CURLE_OK && x->status == 401 && round < 3)
        {
          int a = answer_challenge (c, es, x, auth, gen, https, err);
          msb_secret_free (auth);
          if (a < 0)
            return -1;
          if (a > 0)
            continue;
          return outcome (c, es, x, what, true, retryable, err);
        }
      bool had_auth = auth != NULL;
      msb_secret_free (auth);
      return outcome (c, es, x, what, had_auth, retryable, err);
    }
}

static void
backoff (int attempt)
{
  struct timespec ts = { 0, (long) (200000000L << (2 * attempt)) };
  if (ts.tv_nsec >= 1000000000L)
    {
      ts.tv_sec = ts.tv_nsec / 1000000000L;
      ts.tv_nsec %= 1000000000L;
    }
  nanosleep (&ts, NULL);
}

/* A small document (manifest, config) from `es`, retried on transport errors. */
static int
fetch_small (msb_registry_client *c, ep_state *es, const char *kind, const char *ref,
             const char *accept, size_t max, const char *what, xfer *x, msb_error **err)
{
  for (int attempt = 0;; attempt++)
    {
      bool retryable = false;
      msb_error *e = NULL;
      *x = (xfer){ .max = max };
      if (exchange (c, es, kind, ref, accept, true, x, what, &retryable, &e) == 0)
        return 0;
      if (!retryable || attempt + 1 >= SMALL_ATTEMPTS)
        {
          if (err)
            *err = e;
          else
            msb_error_free (e);
          return -1;
        }
      msb_error_free (e);
      xfer_clear (x);
      backoff (attempt);
    }
}

static void
take_body (xfer *x, char **body, size_t *len)
{
  msb_buf_append_byte (&x->body, 0);
  *len = x->body.len - 1;
  *body = (char *) msb_steal_pointer (&x->body.data);
  x->body.len = x->body.cap = 0;
}

int
msb_registry_fetch_manifest (msb_registry_client *c, const char *ref, size_t max, char **body,
                             size_t *len, char **content_type, char **docker_digest,
                             msb_error **err)
{
  *body = NULL;
  *len = 0;
  if (content_type)
    *content_type = NULL;
  if (docker_digest)
    *docker_digest = NULL;
  size_t first = c->pinned >= 0 ? (size_t) c->pinned : 0;
  size_t last = c->pinned >= 0 ? (size_t) c->pinned + 1 : c->n_eps;
  _msb_cleanup_free_ char *what = msb_xasprintf ("manifest %s:%s", c->repository, ref);
  _msb_cleanup_free_ char *tried = NULL;
  for (size_t i = first; i < last; i++)
    {
      ep_state *es = &c->eps[i];
      xfer x;
      msb_error *e = NULL;
      if (fetch_small (c, es, "manifests", ref, MSB_MANIFEST_ACCEPT, max, what, &x, &e) == 0)
        {
          c->pinned = (int) i;
          take_body (&x, body, len);
          if (content_type)
            *content_type = msb_steal_pointer (&x.content_type);
          if (docker_digest)
            *docker_digest = msb_steal_pointer (&x.docker_digest);
          xfer_clear (&x);
          return 0;
        }
      xfer_clear (&x);
      if (i + 1 == last)
        {
          if (err)
            *err = e;
          else
            msb_error_free (e);
          if (tried)
            msb_error_prefix (err, "mirrors failed first (%s); then", tried);
          return -1;
        }
      /* A mirror that cannot serve: note why, try the next endpoint. */
      char *t = msb_xasprintf ("%s%s%s", tried ? tried : "", tried ? "; " : "",
                               msb_error_get_message (e));
      free (tried);
      tried = t;
      msb_error_free (e);
    }
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "no registry endpoint");
}

static ep_state *
pinned_endpoint (msb_registry_client *c, msb_error **err)
{
  if (c->pinned < 0)
    {
      msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "internal: blob fetched before the manifest");
      return NULL;
    }
  return &c->eps[c->pinned];
}

int
msb_registry_fetch_blob (msb_registry_client *c, const char *digest, size_t max, char **body,
                         size_t *len, msb_error **err)
{
  ep_state *es = pinned_endpoint (c, err);
  if (es == NULL)
    return -1;
  _msb_cleanup_free_ char *what = msb_xasprintf ("blob %s", digest);
  xfer x;
  int r = fetch_small (c, es, "blobs", digest, NULL, max, what, &x, err);
  if (r == 0)
    take_body (&x, body, len);
  xfer_clear (&x);
  return r;
}

int
msb_registry_stream_blob (msb_registry_client *c, const char *digest, uint64_t offset,
                          uint64_t limit, msb_registry_sink_fn sink, void *sink_ctx,
                          msb_blob_xfer *out, msb_error **err)
{
  out->delivered = 0;
  out->retryable = out->sink_aborted = false;
  ep_state *es = pinned_endpoint (c, err);
  if (es == NULL)
    return -1;
  _msb_cleanup_free_ char *what = msb_xasprintf ("layer blob %s", digest);
  xfer x = { .offset = offset, .limit = limit, .sink = sink, .sink_ctx = sink_ctx,
             .cancelled = out->cancelled };
  bool retryable = false;
  int r = exchange (c, es, "blobs", digest, NULL, false, &x, what, &retryable, err);
  out->delivered = x.delivered;
  out->sink_aborted = x.sink_failed;
  out->retryable = r < 0 && retryable && !x.sink_failed;
  xfer_clear (&x);
  return r;
}

int
msb_registry_check_login (msb_registry_client *c, msb_error **err)
{
  ep_state *es = &c->eps[c->n_eps - 1]; /* the registry itself, not a mirror */
  if (es->user == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "no credentials to check");
  pthread_mutex_lock (&c->lock);
  es->scheme = MSB_AUTH_NONE;
  pthread_mutex_unlock (&c->lock);
  /* GET /v2/: kind NULL builds the API root URL; the repository is not used. */
  _msb_cleanup_free_ char *saved = msb_steal_pointer (&c->repository);
  xfer x = { .max = ERROR_BODY_MAX };
  bool retryable;
  int r = exchange (c, es, NULL, NULL, "application/json", true, &x, "log in", &retryable, err);
  c->repository = msb_steal_pointer (&saved);
  /* A registry that never asked for credentials accepted none: we cannot check them. */
  if (r == 0 && es->scheme == MSB_AUTH_NONE)
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG,
                  "%s does not ask for credentials: nothing to log in to", es->ep.host);
  xfer_clear (&x);
  return r;
}
