/* Registry → endpoints and API URLs. */
#include "lib/image/registry_endpoint.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"

void
msb_registry_endpoints_free (msb_registry_endpoint *eps, size_t n)
{
  for (size_t i = 0; eps && i < n; i++)
    {
      free (eps[i].host);
      free (eps[i].cred_host);
      msb_strv_free (eps[i].ca_files);
    }
  free (eps);
}

/* The host part of "host", "host:port", "[v6]:port". Newly allocated. */
static char *
host_part (const char *hostport)
{
  if (hostport[0] == '[')
    {
      const char *close = strchr (hostport, ']');
      return close ? msb_xstrndup (hostport + 1, (size_t) (close - hostport - 1))
                   : msb_xstrdup (hostport);
    }
  const char *colon = strchr (hostport, ':');
  if (colon && strchr (colon + 1, ':'))
    return msb_xstrdup (hostport); /* bare IPv6 without port */
  return colon ? msb_xstrndup (hostport, (size_t) (colon - hostport)) : msb_xstrdup (hostport);
}

bool
msb_registry_host_is_loopback (const char *hostport)
{
  _msb_cleanup_free_ char *h = host_part (hostport);
  if (strcasecmp (h, "localhost") == 0)
    return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton (AF_INET, h, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, h, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return false;
}

char *
msb_registry_url (bool https, const char *host, const char *repository, const char *kind,
                  const char *ref)
{
  const char *scheme = https ? "https" : "http";
  if (kind == NULL)
    return msb_xasprintf ("%s://%s/v2/", scheme, host);
  return msb_xasprintf ("%s://%s/v2/%s/%s/%s", scheme, host, repository, kind, ref);
}

static bool
host_char_ok (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
         || c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
}

int
msb_registry_mirror_parse (const char *mirror, char **host, int *scheme_out, msb_error **err)
{
  *host = NULL;
  *scheme_out = -1;
  const char *p = mirror;
  if (strncasecmp (p, "https://", 8) == 0)
    {
      *scheme_out = MSB_SCHEME_HTTPS_ONLY;
      p += 8;
    }
  else if (strncasecmp (p, "http://", 7) == 0)
    {
      *scheme_out = MSB_SCHEME_HTTP_ONLY;
      p += 7;
    }
  size_t n = strlen (p);
  while (n > 0 && p[n - 1] == '/')
    n--;
  if (n == 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "mirror `%s` names no host", mirror);
  for (size_t i = 0; i < n; i++)
    if (!host_char_ok (p[i]))
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "mirror `%s` must be [http[s]://]HOST[:PORT] (no path, user or query)",
                       mirror);
  *host = msb_xstrndup (p, n);
  return 0;
}

static char **
ca_files_for (const msb_registry_settings *s, const msb_endpoint_overrides *ov)
{
  char **v = msb_xcalloc (1, sizeof (char *));
  size_t n = 0;
  for (char **f = s ? s->ca_files : NULL; f && *f; f++)
    {
      v = msb_xrealloc (v, (n + 2) * sizeof (char *));
      v[n++] = msb_xstrdup (*f);
      v[n] = NULL;
    }
  for (const char *const *f = ov ? ov->ca_files : NULL; f && *f; f++)
    {
      v = msb_xrealloc (v, (n + 2) * sizeof (char *));
      v[n++] = msb_xstrdup (*f);
      v[n] = NULL;
    }
  if (n == 0)
    {
      free (v);
      return NULL;
    }
  return v;
}

/* Fills *ep for `host` (normalised) with its own config.json settings. */
static void
fill_endpoint (msb_registry_endpoint *ep, const msb_global_config *gc, const char *host,
               const char *cred_host, int explicit_scheme, bool is_mirror,
               const msb_endpoint_overrides *ov)
{
  const msb_registry_settings *s = gc ? msb_global_config_registry (gc, host) : NULL;
  bool insecure = (s && s->insecure) || (ov && ov->insecure);
  ep->host = strcmp (host, "docker.io") == 0 ? msb_xstrdup (MSB_DOCKER_HUB_API_HOST)
                                             : msb_xstrdup (host);
  ep->cred_host = msb_xstrdup (cred_host);
  ep->is_mirror = is_mirror;
  ep->skip_verify = insecure && explicit_scheme != MSB_SCHEME_HTTPS_ONLY;
  if (explicit_scheme >= 0)
    ep->scheme = (msb_endpoint_scheme) explicit_scheme;
  else if (insecure || msb_registry_host_is_loopback (host))
    ep->scheme = MSB_SCHEME_HTTPS_THEN_HTTP;
  else
    ep->scheme = MSB_SCHEME_HTTPS_ONLY;
  ep->ca_files = ca_files_for (s, ov);
}

int
msb_registry_endpoints (const msb_global_config *gc, const char *registry,
                        const msb_endpoint_overrides *ov, msb_registry_endpoint **out, size_t *n,
                        msb_error **err)
{
  *out = NULL;
  *n = 0;
  _msb_cleanup_free_ char *reg = msb_registry_host_normalize (registry);
  const msb_registry_settings *s = gc ? msb_global_config_registry (gc, reg) : NULL;
  size_t n_mirrors = s ? msb_strv_len (s->mirrors) : 0;
  msb_registry_endpoint *eps = msb_xcalloc (n_mirrors + 1, sizeof *eps);
  size_t count = 0;
  for (size_t i = 0; i < n_mirrors; i++)
    {
      _msb_cleanup_free_ char *host = NULL;
      int scheme = -1;
      if (msb_registry_mirror_parse (s->mirrors[i], &host, &scheme, err) < 0)
        {
          msb_registry_endpoints_free (eps, count);
          return msb_error_prefix (err, "config.json: mirrors of `%s`", reg);
        }
      _msb_cleanup_free_ char *norm = msb_registry_host_normalize (host);
      fill_endpoint (&eps[count++], gc, norm, norm, scheme, true, ov);
    }
  fill_endpoint (&eps[count++], gc, reg, reg, -1, false, ov);
  *out = eps;
  *n = count;
  return 0;
}
