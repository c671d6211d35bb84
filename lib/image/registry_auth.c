/* WWW-Authenticate challenges, token URLs, token answers and Basic credentials. The header
 * grammar (RFC 7235 §4.1) is split at top-level commas first (commas inside quoted strings
 * do not count); each item is then either `scheme [param | token68]` — a new challenge —
 * or `name = value`, a parameter of the challenge before it. */
#include "lib/image/registry_auth.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"

void
msb_secret_free (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  free (s);
}

void
msb_auth_challenge_clear (msb_auth_challenge *c)
{
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

static bool
is_tchar (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_ws (char c)
{
  return c == ' ' || c == '\t';
}

typedef struct cursor
{
  const char *p, *end;
} cursor;

static void
skip_ws (cursor *c)
{
  while (c->p < c->end && is_ws (*c->p))
    c->p++;
}

static size_t
read_token (cursor *c)
{
  const char *start = c->p;
  while (c->p < c->end && is_tchar (*c->p))
    c->p++;
  return (size_t) (c->p - start);
}

/* A quoted-string (backslash escapes a character) or a token, as a new string. NULL when
 * malformed: unterminated quote, control characters, empty token. */
static char *
read_value (cursor *c)
{
  if (c->p < c->end && *c->p == '"')
    {
      c->p++;
      _msb_cleanup_free_ char *out = msb_xmalloc ((size_t) (c->end - c->p) + 1);
      size_t n = 0;
      while (c->p < c->end && *c->p != '"')
        {
          if (*c->p == '\\' && c->p + 1 < c->end)
            c->p++;
          if ((unsigned char) *c->p < 0x20 && *c->p != '\t')
            return NULL;
          out[n++] = *c->p++;
        }
      if (c->p >= c->end)
        return NULL;
      c->p++; /* closing quote */
      out[n] = '\0';
      return msb_steal_pointer (&out);
    }
  const char *start = c->p;
  /* token68 characters are allowed in unquoted values ('/', '=' at the end). */
  while (c->p < c->end && (is_tchar (*c->p) || *c->p == '/' || *c->p == '=' || *c->p == ':'))
    c->p++;
  if (c->p == start)
    return NULL;
  return msb_xstrndup (start, (size_t) (c->p - start));
}

/* The challenge being filled while we walk the items. */
typedef struct parse_state
{
  msb_auth_challenge cur;
  msb_auth_challenge best;
  bool have_cur;
} parse_state;

static msb_auth_scheme
scheme_of (const char *s, size_t n)
{
  if (n == 6 && strncasecmp (s, "bearer", 6) == 0)
    return MSB_AUTH_BEARER;
  if (n == 5 && strncasecmp (s, "basic", 5) == 0)
    return MSB_AUTH_BASIC;
  return MSB_AUTH_NONE;
}

/* Keeps the finished challenge when it beats the best so far (Bearer > Basic > unknown). */
static void
finish_challenge (parse_state *st)
{
  if (!st->have_cur)
    return;
  st->have_cur = false;
  if (st->cur.scheme > st->best.scheme
      && (st->cur.scheme != MSB_AUTH_BEARER || st->cur.realm != NULL))
    {
      msb_auth_challenge_clear (&st->best);
      st->best = st->cur;
      memset (&st->cur, 0, sizeof st->cur);
      return;
    }
  msb_auth_challenge_clear (&st->cur);
}

static void
set_param (msb_auth_challenge *ch, const char *name, size_t n, char *value)
{
  char **slot = NULL;
  if (n == 5 && strncasecmp (name, "realm", 5) == 0)
    slot = &ch->realm;
  else if (n == 7 && strncasecmp (name, "service", 7) == 0)
    slot = &ch->service;
  else if (n == 5 && strncasecmp (name, "scope", 5) == 0)
    slot = &ch->scope;
  if (slot == NULL || *slot != NULL) /* the first occurrence of a parameter wins */
    {
      free (value);
      return;
    }
  *slot = value;
}

/* `name = value` at c; the rest of the item must be blank. */
static int
parse_param (parse_state *st, cursor *c, msb_error **err)
{
  const char *name = c->p;
  size_t n = read_token (c);
  skip_ws (c);
  if (n == 0 || c->p >= c->end || *c->p != '=')
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "malformed WWW-Authenticate parameter");
  c->p++;
  skip_ws (c);
  char *value = read_value (c);
  skip_ws (c);
  if (value == NULL || c->p != c->end)
    {
      free (value);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "malformed WWW-Authenticate value");
    }
  if (st->have_cur)
    set_param (&st->cur, name, n, value);
  else
    free (value); /* a parameter before any scheme: ignore it */
  return 0;
}

static int
parse_item (parse_state *st, const char *s, const char *end, msb_error **err)
{
  cursor c = { s, end };
  skip_ws (&c);
  while (end > c.p && is_ws (end[-1]))
    end--;
  c.end = end;
  if (c.p == c.end)
    return 0; /* empty list element, allowed by the #rule */
  const char *tok = c.p;
  size_t n = read_token (&c);
  if (n == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "malformed WWW-Authenticate header");
  cursor look = c;
  skip_ws (&look);
  if (look.p < look.end && *look.p == '=')
    {
      c.p = tok;
      return parse_param (st, &c, err);
    }
  /* A new challenge: `scheme`, `scheme param` or `scheme token68`. */
  finish_challenge (st);
  st->have_cur = true;
  st->cur.scheme = scheme_of (tok, n);
  skip_ws (&c);
  if (c.p == c.end)
    return 0;
  cursor param = c;
  size_t pn = read_token (&param);
  skip_ws (&param);
  if (pn > 0 && param.p < param.end && *param.p == '=' && param.p + 1 < param.end
      && param.p[1] != '=')
    return parse_param (st, &c, err);
  return 0; /* token68: nothing we use */
}

int
msb_auth_challenge_parse (const char *header, size_t len, msb_auth_challenge *out,
                          msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (header == NULL || len == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "empty WWW-Authenticate header");
  if (len > MSB_AUTH_HEADER_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "WWW-Authenticate header of %zu bytes", len);
  parse_state st = { 0 };
  const char *end = header + len, *item = header;
  bool in_quote = false;
  for (const char *p = header; p <= end; p++)
    {
      if (p < end && in_quote && *p == '\\' && p + 1 < end)
        {
          p++;
          continue;
        }
      if (p < end && *p == '"')
        in_quote = !in_quote;
      if (p == end || (*p == ',' && !in_quote))
        {
          if (parse_item (&st, item, p, err) < 0)
            {
              msb_auth_challenge_clear (&st.cur);
              msb_auth_challenge_clear (&st.best);
              return -1;
            }
          item = p + 1;
        }
    }
  finish_challenge (&st);
  if (st.best.scheme == MSB_AUTH_NONE)
    {
      msb_auth_challenge_clear (&st.best);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                       "the registry asks for an authentication scheme msb does not support "
                       "(only Bearer and Basic)");
    }
  *out = st.best;
  return 0;
}

char *
msb_url_escape (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen (s);
  char *out = msb_xmalloc (3 * n + 1), *o = out;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-' || *p == '.' || *p == '_' || *p == '~')
        *o++ = (char) *p;
      else
        {
          *o++ = '%';
          *o++ = hex[*p >> 4];
          *o++ = hex[*p & 15];
        }
    }
  *o = '\0';
  return out;
}

char *
msb_auth_pull_scope (const char *repository)
{
  return msb_xasprintf ("repository:%s:pull", repository);
}

char *
msb_auth_token_url (const msb_auth_challenge *c, const char *scope)
{
  const char *use_scope = c->scope ? c->scope : scope;
  _msb_cleanup_free_ char *svc = c->service ? msb_url_escape (c->service) : NULL;
  /* A challenge may ask for several scopes separated by spaces: one parameter each. */
  size_t cap = strlen (c->realm) + (svc ? strlen (svc) : 0) + 32
               + (use_scope ? 3 * strlen (use_scope) + 16 * (strlen (use_scope) / 2 + 1) : 0);
  char *url = msb_xmalloc (cap);
  char sep = strchr (c->realm, '?') ? '&' : '?';
  size_t n = (size_t) snprintf (url, cap, "%s", c->realm);
  if (svc)
    {
      n += (size_t) snprintf (url + n, cap - n, "%cservice=%s", sep, svc);
      sep = '&';
    }
  if (use_scope)
    {
      _msb_cleanup_free_ char *copy = msb_xstrdup (use_scope);
      char *save = NULL;
      for (char *s = strtok_r (copy, " ", &save); s; s = strtok_r (NULL, " ", &save))
        {
          _msb_cleanup_free_ char *e = msb_url_escape (s);
          n += (size_t) snprintf (url + n, cap - n, "%cscope=%s", sep, e);
          sep = '&';
        }
    }
  return url;
}

static bool
is_header_safe (const char *s)
{
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    if (*p < 0x21 || *p > 0x7e)
      return false;
  return *s != '\0';
}

int
msb_auth_token_parse (const char *json, size_t len, char **token, int64_t *expires_in,
                      msb_error **err)
{
  *token = NULL;
  *expires_in = 60;
  if (len > MSB_AUTH_TOKEN_JSON_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "token server answer of %zu bytes", len);
  json_error_t jerr;
  json_t *root = json_loadb (json, len, 0, &jerr);
  if (root == NULL || !json_is_object (root))
    {
      json_decref (root);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "token server answer is not a JSON object");
    }
  const char *t = json_string_value (json_object_get (root, "token"));
  if (t == NULL || *t == '\0')
    t = json_string_value (json_object_get (root, "access_token"));
  json_t *exp = json_object_get (root, "expires_in");
  if (json_is_integer (exp) && json_integer_value (exp) > 0)
    *expires_in = json_integer_value (exp);
  int r = 0;
  if (t == NULL)
    r = msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "token server answer holds no token");
  else if (!is_header_safe (t))
    r = msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                  "token server answer holds a token with characters not allowed in a header");
  else
    *token = msb_xstrdup (t);
  json_decref (root);
  return r;
}

char *
msb_auth_basic_value (const char *user, const char *password)
{
  size_t n = strlen (user) + 1 + strlen (password);
  char *plain = msb_xmalloc (n + 1);
  snprintf (plain, n + 1, "%s:%s", user, password);
  size_t cap = 6 + 4 * ((n + 2) / 3) + 1;
  char *out = msb_xmalloc (cap);
  memcpy (out, "Basic ", 6);
  EVP_EncodeBlock ((unsigned char *) out + 6, (const unsigned char *) plain, (int) n);
  msb_secret_free (plain);
  return out;
}
