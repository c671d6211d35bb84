/* Reference grammar of distribution/reference (the one docker and containerd share):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * The first part is a domain only when it holds "." or ":" or is "localhost", as docker
 * decides; otherwise the name lives on docker.io, whose one-part names sit under library/. */
#include "lib/image/ref.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"

#define NAME_MAX_LEN 255

void
msb_image_ref_clear (msb_image_ref *r)
{
  free (r->registry);
  free (r->repository);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: alnum runs joined by ".", "_", "__" or any run of "-". */
static bool
component_is_valid (const char *s, size_t n)
{
  if (n == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[n - 1]))
    return false;
  for (size_t i = 0; i < n;)
    {
      if (is_lower_alnum (s[i]))
        {
          i++;
          continue;
        }
      size_t j = i;
      while (j < n && !is_lower_alnum (s[j]))
        j++;
      size_t run = j - i;
      bool ok = (run == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
                || (run == 2 && s[i] == '_' && s[i + 1] == '_');
      for (size_t k = i; !ok && k < j && s[k] == '-'; k++)
        ok = k == j - 1;
      if (!ok)
        return false;
      i = j;
    }
  return true;
}

static bool
domain_label_is_valid (const char *s, size_t n)
{
  if (n == 0 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool
domain_is_valid (const char *s, size_t n)
{
  const char *colon = memchr (s, ':', n);
  size_t host_len = colon ? (size_t) (colon - s) : n;
  if (colon)
    {
      size_t plen = n - host_len - 1;
      if (plen == 0 || plen > 5)
        return false;
      for (size_t i = host_len + 1; i < n; i++)
        if (!isdigit ((unsigned char) s[i]))
          return false;
    }
  if (host_len == 0)
    return false;
  for (size_t i = 0; i < host_len;)
    {
      const char *dot = memchr (s + i, '.', host_len - i);
      size_t end = dot ? (size_t) (dot - s) : host_len;
      if (!domain_label_is_valid (s + i, end - i))
        return false;
      i = end + 1;
      if (dot && i == host_len)
        return false;
    }
  return true;
}

static bool
tag_is_valid (const char *t)
{
  size_t n = strlen (t);
  if (n == 0 || n > 128 || !(isalnum ((unsigned char) t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum ((unsigned char) t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static bool
looks_like_domain (const char *s, size_t n)
{
  return memchr (s, '.', n) || memchr (s, ':', n) || (n == 9 && memcmp (s, "localhost", 9) == 0);
}

/* Splits "name" into registry and repository and validates each component. */
static int
parse_name (const char *input, const char *name, msb_image_ref *out, msb_error **err)
{
  const char *slash = strchr (name, '/');
  const char *path = name;
  if (slash && looks_like_domain (name, (size_t) (slash - name)))
    {
      if (!domain_is_valid (name, (size_t) (slash - name)))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid image reference `%s`: bad registry",
                         input);
      out->registry = msb_xstrndup (name, (size_t) (slash - name));
      path = slash + 1;
    }
  else
    out->registry = msb_xstrdup (MSB_IMAGE_DEFAULT_REGISTRY);
  if (strcmp (out->registry, "index.docker.io") == 0 || strcmp (out->registry, "registry-1.docker.io") == 0)
    {
      free (out->registry);
      out->registry = msb_xstrdup (MSB_IMAGE_DEFAULT_REGISTRY);
    }
  if (strlen (path) > NAME_MAX_LEN)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "invalid image reference `%s`: repository longer than %d characters", input,
                     NAME_MAX_LEN);
  bool has_upper = false;
  for (const char *p = path; *p; p++)
    has_upper |= isupper ((unsigned char) *p) != 0;
  if (has_upper)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "invalid image reference `%s`: repository name must be lowercase", input);
  for (const char *c = path;;)
    {
      const char *e = strchr (c, '/');
      size_t n = e ? (size_t) (e - c) : strlen (c);
      if (!component_is_valid (c, n))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                         "invalid image reference `%s`: bad repository component `%.*s`", input,
                         (int) n, c);
      if (!e)
        break;
      c = e + 1;
    }
  if (strcmp (out->registry, MSB_IMAGE_DEFAULT_REGISTRY) == 0 && strchr (path, '/') == NULL)
    out->repository = msb_xasprintf ("library/%s", path);
  else
    out->repository = msb_xstrdup (path);
  return 0;
}

static int
parse_into (const char *s, msb_image_ref *out, msb_error **err)
{
  if (s == NULL || *s == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid image reference ``: empty");
  if (strlen (s) > 1024)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid image reference: longer than 1024 bytes");
  _msb_cleanup_free_ char *copy = msb_xstrdup (s);
  char *at = strchr (copy, '@');
  if (at)
    {
      *at = '\0';
      if (!msb_digest_is_valid (at + 1))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                         "invalid image reference `%s`: digest must be sha256:<64 lowercase hex>",
                         s);
      out->digest = msb_xstrdup (at + 1);
    }
  /* A tag's colon comes after the last slash; a colon before it is a registry port. */
  char *last_slash = strrchr (copy, '/');
  char *colon = strrchr (last_slash ? last_slash : copy, ':');
  if (colon)
    {
      *colon = '\0';
      if (!tag_is_valid (colon + 1))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid image reference `%s`: bad tag `%s`",
                         s, colon + 1);
      out->tag = msb_xstrdup (colon + 1);
    }
  if (*copy == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid image reference `%s`: missing name", s);
  if (parse_name (s, copy, out, err) < 0)
    return -1;
  if (out->tag == NULL && out->digest == NULL)
    out->tag = msb_xstrdup (MSB_IMAGE_DEFAULT_TAG);
  return 0;
}

int
msb_image_ref_parse (const char *s, msb_image_ref *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (parse_into (s, out, err) < 0)
    {
      msb_image_ref_clear (out);
      return -1;
    }
  return 0;
}

char *
msb_image_ref_canonical (const msb_image_ref *r)
{
  if (r->digest)
    return msb_xasprintf ("%s/%s@%s", r->registry, r->repository, r->digest);
  return msb_xasprintf ("%s/%s:%s", r->registry, r->repository, r->tag);
}

int
msb_image_ref_canonicalize (const char *s, char **out, msb_error **err)
{
  _msb_cleanup_image_ref_ msb_image_ref r = { 0 };
  if (msb_image_ref_parse (s, &r, err) < 0)
    return -1;
  *out = msb_image_ref_canonical (&r);
  return 0;
}
