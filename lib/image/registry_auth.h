/* Registry authentication, the pure part: parsing `WWW-Authenticate` challenges (RFC 7235,
 * the Bearer token flow of the Docker registry token spec, and Basic), building the token
 * request URL, parsing the token server's JSON answer, and the Basic header.
 *
 * Everything here parses what a registry sent: hostile input. Lengths are bounded, nothing
 * is followed or fetched, and no secret ever appears in an error message. */
#ifndef MSB_LIB_IMAGE_REGISTRY_AUTH_H
#define MSB_LIB_IMAGE_REGISTRY_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* A header longer than this is not a challenge we accept. */
#define MSB_AUTH_HEADER_MAX 8192
/* A token server answer longer than this is hostile. */
#define MSB_AUTH_TOKEN_JSON_MAX (256u << 10)

typedef enum msb_auth_scheme
{
  MSB_AUTH_NONE = 0,
  MSB_AUTH_BASIC,
  MSB_AUTH_BEARER,
} msb_auth_scheme;

typedef struct msb_auth_challenge
{
  msb_auth_scheme scheme;
  char *realm;   /* Bearer: token endpoint URL; Basic: display name; NULL if absent */
  char *service; /* Bearer only; may be NULL */
  char *scope;   /* Bearer only; may be NULL */
} msb_auth_challenge;

/* Parses the value of a WWW-Authenticate header (`len` bytes, not necessarily
 * NUL-terminated). When it offers several challenges, Bearer wins over Basic; unknown
 * schemes are skipped. A header naming no known scheme is MSB_ERR_IMAGE_PULL_FAILED, as is
 * a Bearer challenge without a realm or a malformed one. */
int msb_auth_challenge_parse (const char *header, size_t len, msb_auth_challenge *out,
                              msb_error **err);
void msb_auth_challenge_clear (msb_auth_challenge *c);

/* The token request URL: `realm?service=S&scope=S1&scope=S2`, each value percent-encoded.
 * `scope` (may be NULL) is used when the challenge carries none. Newly allocated. */
char *msb_auth_token_url (const msb_auth_challenge *c, const char *scope);

/* The scope that lets us pull `repository` ("repository:library/alpine:pull"). */
char *msb_auth_pull_scope (const char *repository);

/* Parses a token server answer: {"token": "…"} or {"access_token": "…"} (the first wins
 * when both exist), "expires_in" seconds (default 60). *token is newly allocated. A token
 * with characters that cannot go in an HTTP header is rejected. */
int msb_auth_token_parse (const char *json, size_t len, char **token, int64_t *expires_in,
                          msb_error **err);

/* "Basic <base64(user:password)>" as an Authorization header value. Newly allocated. */
char *msb_auth_basic_value (const char *user, const char *password);

/* Percent-encodes everything but RFC 3986 unreserved characters. Newly allocated. */
char *msb_url_escape (const char *s);

/* Overwrites a secret before it is freed (never optimised away). NULL is fine. */
void msb_secret_free (char *s);

#endif
