/* Fuzz target for what a registry sends us (lib/image/registry_*.c) and config.json
 * (lib/globalconfig.c): the first byte picks the parser, the rest is its input —
 *   0: a WWW-Authenticate header, then the token URL built from it
 *   1: a token server answer
 *   2: a manifest or index (Content-Type from the second byte), then platform selection
 *   3: config.json, then the endpoints of a few registries through it
 * Every input must be accepted or rejected cleanly: no crash, leak or sanitizer report.
 *
 * FUZZ_SOURCES and FUZZ_LIBS are read by tests/fuzz/run.sh. */
// FUZZ_SOURCES: lib/image/registry_auth.c lib/image/registry_manifest.c
// FUZZ_SOURCES: lib/image/registry_endpoint.c lib/globalconfig.c lib/image/digest.c
// FUZZ_SOURCES: common/buf.c common/util.c common/error.c
// FUZZ_LIBS: -ljansson -lcrypto

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "lib/globalconfig.h"
#include "lib/image/registry_auth.h"
#include "lib/image/registry_endpoint.h"
#include "lib/image/registry_manifest.h"

static void
fuzz_challenge (const char *data, size_t len)
{
  msb_auth_challenge c;
  msb_error *err = NULL;
  if (msb_auth_challenge_parse (data, len, &c, &err) == 0)
    {
      if (c.realm)
        free (msb_auth_token_url (&c, "repository:a/b:pull"));
      msb_auth_challenge_clear (&c);
    }
  msb_error_free (err);
}

static void
fuzz_token (const char *data, size_t len)
{
  char *token = NULL;
  int64_t exp = 0;
  msb_error *err = NULL;
  if (msb_auth_token_parse (data, len, &token, &exp, &err) == 0)
    msb_secret_free (token);
  msb_error_free (err);
}

static void
fuzz_manifest (const char *data, size_t len)
{
  static const char *const types[] = { NULL, MSB_MT_OCI_INDEX, MSB_MT_DOCKER_MANIFEST,
                                       "application/json; charset=utf-8" };
  if (len == 0)
    return;
  const char *ctype = types[(unsigned char) data[0] % 4];
  msb_manifest m;
  msb_error *err = NULL;
  if (msb_manifest_parse (data + 1, len - 1, ctype, &m, &err) == 0)
    {
      const msb_descriptor *d = NULL;
      if (m.is_index)
        msb_manifest_select_platform (&m, "linux", "amd64", NULL, &d, &err);
      msb_error_clear (&err);
      if (m.is_index)
        msb_manifest_select_platform (&m, "linux", "arm", "v7", &d, &err);
      msb_manifest_clear (&m);
    }
  msb_error_free (err);
}

static void
fuzz_config (const char *data, size_t len)
{
  msb_global_config gc;
  msb_error *err = NULL;
  if (msb_global_config_parse (data, len, "config.json", &gc, &err) == 0)
    {
      static const char *const regs[] = { "docker.io", "127.0.0.1:5000", "ghcr.io" };
      for (size_t i = 0; i < 3; i++)
        {
          msb_registry_endpoint *eps = NULL;
          size_t n = 0;
          if (msb_registry_endpoints (&gc, regs[i], NULL, &eps, &n, &err) == 0)
            msb_registry_endpoints_free (eps, n);
          msb_error_clear (&err);
        }
      msb_global_config_clear (&gc);
    }
  msb_error_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0 || size > (1u << 20))
    return 0;
  /* A private copy, so a parser that reads one byte too far trips ASan. */
  char *copy = malloc (size - 1 ? size - 1 : 1);
  memcpy (copy, data + 1, size - 1);
  switch (data[0] % 4)
    {
    case 0:
      fuzz_challenge (copy, size - 1);
      break;
    case 1:
      fuzz_token (copy, size - 1);
      break;
    case 2:
      fuzz_manifest (copy, size - 1);
      break;
    default:
      fuzz_config (copy, size - 1);
      break;
    }
  free (copy);
  return 0;
}
