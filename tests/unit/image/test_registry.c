/* The pure pieces of the registry client: WWW-Authenticate challenges, token URLs and
 * answers, manifest / index parsing and platform choice, endpoints (mirrors, insecure,
 * loopback) and API URLs, config.json, and the tar writer of `image save`. */
#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "lib/globalconfig.h"
#include "lib/image/registry_auth.h"
#include "lib/image/registry_endpoint.h"
#include "lib/image/registry_manifest.h"
#include "lib/image/tar_writer.h"
#include "tests/unit/test.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define D1 "sha256:" HEX64
#define D2 "sha256:" HEX64B

static int
parse (const char *h, msb_auth_challenge *c)
{
  msb_error *err = NULL;
  int r = msb_auth_challenge_parse (h, strlen (h), c, &err);
  msb_error_free (err);
  return r;
}

/* ---- WWW-Authenticate ---- */

TEST (test_auth_bearer_challenge_with_realm_service_scope)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                       "scope=\"repository:library/alpine:pull\"",
                       &c),
                0);
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BEARER);
  CHECK_EQ_STR (c.realm, "https://auth.docker.io/token");
  CHECK_EQ_STR (c.service, "registry.docker.io");
  CHECK_EQ_STR (c.scope, "repository:library/alpine:pull");
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_scheme_and_keys_are_case_insensitive_and_spaces_allowed)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("BEARER  Realm = \"https://a/t\" ,  SERVICE=svc", &c), 0);
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BEARER);
  CHECK_EQ_STR (c.realm, "https://a/t");
  CHECK_EQ_STR (c.service, "svc");
  CHECK (c.scope == NULL);
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_basic_challenge)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("Basic realm=\"basic-realm\"", &c), 0);
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BASIC);
  CHECK_EQ_STR (c.realm, "basic-realm");
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_bearer_wins_over_basic_in_one_header)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("Basic realm=\"x\", Bearer realm=\"https://t/\",scope=\"a,b\"", &c), 0);
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BEARER);
  CHECK_EQ_STR (c.realm, "https://t/");
  CHECK_EQ_STR (c.scope, "a,b"); /* a comma inside quotes does not split */
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_quoted_string_escapes)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("Bearer realm=\"https://t/\\\"q\\\"\",service=\"s\\\\\"", &c), 0);
  CHECK_EQ_STR (c.realm, "https://t/\"q\"");
  CHECK_EQ_STR (c.service, "s\\");
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_unknown_schemes_are_skipped)
{
  msb_auth_challenge c;
  CHECK_EQ_INT (parse ("Negotiate abc==, Basic realm=r", &c), 0);
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BASIC);
  msb_auth_challenge_clear (&c);
  CHECK_EQ_INT (parse ("Basic dXNlcjpwYXNz", &c), 0); /* token68 form */
  CHECK_EQ_INT (c.scheme, MSB_AUTH_BASIC);
  msb_auth_challenge_clear (&c);
}

TEST (test_auth_rejects_hostile_or_useless_headers)
{
  msb_auth_challenge c;
  CHECK (parse ("", &c) < 0);
  CHECK (parse ("Negotiate", &c) < 0);
  CHECK (parse ("Bearer service=\"x\"", &c) < 0); /* a Bearer challenge needs a realm */
  CHECK (parse ("Bearer realm=\"unterminated", &c) < 0);
  CHECK (parse ("Bearer realm=\"a\x01b\"", &c) < 0); /* control character */
  CHECK (parse ("Bearer realm=", &c) < 0);
  CHECK (parse ("=x", &c) < 0);
  char *big = msb_xmalloc (MSB_AUTH_HEADER_MAX + 64);
  memset (big, 'a', MSB_AUTH_HEADER_MAX + 63);
  memcpy (big, "Bearer realm=", 13);
  big[MSB_AUTH_HEADER_MAX + 63] = '\0';
  CHECK (parse (big, &c) < 0);
  free (big);
}

TEST (test_auth_token_url_escapes_and_splits_scopes)
{
  msb_auth_challenge c = { .scheme = MSB_AUTH_BEARER, .realm = "https://t/token",
                           .service = "reg istry", .scope = "repository:a/b:pull repository:c:pull" };
  char *url = msb_auth_token_url (&c, NULL);
  CHECK_EQ_STR (url, "https://t/token?service=reg%20istry&scope=repository%3Aa%2Fb%3Apull"
                     "&scope=repository%3Ac%3Apull");
  free (url);
  msb_auth_challenge d = { .scheme = MSB_AUTH_BEARER, .realm = "https://t/token?x=1" };
  url = msb_auth_token_url (&d, "repository:lib/x:pull");
  CHECK_EQ_STR (url, "https://t/token?x=1&scope=repository%3Alib%2Fx%3Apull");
  free (url);
  char *scope = msb_auth_pull_scope ("library/alpine");
  CHECK_EQ_STR (scope, "repository:library/alpine:pull");
  free (scope);
}

TEST (test_auth_token_answers)
{
  char *t = NULL;
  int64_t exp = 0;
  msb_error *err = NULL;
  const char *a = "{\"token\":\"abc.def\",\"expires_in\":300}";
  CHECK_EQ_INT (msb_auth_token_parse (a, strlen (a), &t, &exp, &err), 0);
  CHECK_EQ_STR (t, "abc.def");
  CHECK_EQ_INT (exp, 300);
  free (t);
  const char *b = "{\"access_token\":\"xyz\"}";
  CHECK_EQ_INT (msb_auth_token_parse (b, strlen (b), &t, &exp, &err), 0);
  CHECK_EQ_STR (t, "xyz");
  CHECK_EQ_INT (exp, 60);
  free (t);
  const char *bad[] = { "[]", "{}", "{\"token\":\"a\\r\\nX-Injected: 1\"}", "{\"token\":5}",
                        "not json", "{\"token\":\"\"}" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      CHECK (msb_auth_token_parse (bad[i], strlen (bad[i]), &t, &exp, &err) < 0);
      CHECK (t == NULL);
      msb_error_clear (&err);
    }
}

TEST (test_auth_basic_value_and_url_escape)
{
  char *v = msb_auth_basic_value ("user", "pass");
  CHECK_EQ_STR (v, "Basic dXNlcjpwYXNz");
  free (v);
  char *e = msb_url_escape ("a b/c:d~e_f.g-h%");
  CHECK_EQ_STR (e, "a%20b%2Fc%3Ad~e_f.g-h%25");
  free (e);
}

/* ---- manifests ---- */

static const char oci_manifest[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
      "\",\"size\":100},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
      "\"digest\":\"" D2 "\",\"size\":12345},{\"mediaType\":"
      "\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D1 "\",\"size\":7}]}";

static int
mparse (const char *json, const char *ctype, msb_manifest *m)
{
  msb_error *err = NULL;
  int r = msb_manifest_parse (json, strlen (json), ctype, m, &err);
  msb_error_free (err);
  return r;
}

TEST (test_manifest_oci_image_manifest)
{
  msb_manifest m;
  CHECK_EQ_INT (mparse (oci_manifest, NULL, &m), 0);
  CHECK (!m.is_index);
  CHECK_EQ_STR (m.media_type, MSB_MT_OCI_MANIFEST);
  CHECK_EQ_STR (m.config.digest, D1);
  CHECK_EQ_INT (m.config.size, 100);
  CHECK_EQ_INT (m.n_layers, 2);
  CHECK_EQ_STR (m.layers[0].digest, D2);
  CHECK_EQ_INT (m.layers[0].size, 12345);
  CHECK_EQ_STR (m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  msb_manifest_clear (&m);
}

TEST (test_manifest_docker_schema2_by_content_type)
{
  const char *doc = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},"
                    "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
                    "\"digest\":\"" D2 "\",\"size\":3}]}";
  msb_manifest m;
  CHECK_EQ_INT (mparse (doc, MSB_MT_DOCKER_MANIFEST "; charset=utf-8", &m), 0);
  CHECK (!m.is_index);
  CHECK_EQ_STR (m.media_type, MSB_MT_DOCKER_MANIFEST);
  msb_manifest_clear (&m);
}

static const char index_doc[]
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1
      "\",\"size\":10,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2
      "\",\"size\":11,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1
      "\",\"size\":12,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

TEST (test_index_platform_selection)
{
  msb_manifest m;
  CHECK_EQ_INT (mparse (index_doc, NULL, &m), 0);
  CHECK (m.is_index);
  CHECK_EQ_INT (m.n_manifests, 3);
  const msb_descriptor *d = NULL;
  msb_error *err = NULL;
  CHECK_EQ_INT (msb_manifest_select_platform (&m, "linux", "amd64", NULL, &d, &err), 0);
  CHECK (d && d->size == 10);
  CHECK_EQ_INT (msb_manifest_select_platform (&m, "linux", "arm64", NULL, &d, &err), 0);
  CHECK (d && d->size == 11);
  CHECK_EQ_INT (msb_manifest_select_platform (&m, "linux", "arm64", "v8", &d, &err), 0);
  CHECK (d && d->size == 11);
  CHECK (msb_manifest_select_platform (&m, "linux", "arm64", "v7", &d, &err) < 0);
  msb_error_clear (&err);
  CHECK (msb_manifest_select_platform (&m, "linux", "s390x", NULL, &d, &err) < 0);
  CHECK (err && strstr (msb_error_get_message (err), "linux/amd64"));
  CHECK (err && strstr (msb_error_get_message (err), "linux/arm64/v8"));
  CHECK_EQ_INT (msb_error_get_kind (err), MSB_ERR_IMAGE_PULL_FAILED);
  msb_error_free (err);
  msb_manifest_clear (&m);
}

TEST (test_index_prefers_exact_variant)
{
  const char *doc = "{\"schemaVersion\":2,\"manifests\":["
                    "{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
                    "{\"digest\":\"" D2 "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";
  msb_manifest m;
  CHECK_EQ_INT (mparse (doc, "application/json", &m), 0); /* untyped: an index by shape */
  CHECK (m.is_index);
  const msb_descriptor *d = NULL;
  CHECK_EQ_INT (msb_manifest_select_platform (&m, "linux", "arm", "v7", &d, NULL), 0);
  CHECK (d && d->size == 2);
  msb_manifest_clear (&m);
}

TEST (test_manifest_rejects_what_it_cannot_verify_or_unpack)
{
  msb_manifest m;
  const char *bad[] = {
    "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+prettyjws\"}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:abc\",\"size\":1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"mediaType\":"
    "\"application/vnd.cncf.helm.chart.content.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":1}]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":99999999},\"layers\":[]}",
    "{\"schemaVersion\":2,\"mediaType\":\"text/html\"}",
    "{\"schemaVersion\":2,\"mediaType\":5}",
    "{\"schemaVersion\":2,\"schemaVersion\":2}",
    "[1,2,3]",
    "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      CHECK (mparse (bad[i], NULL, &m) < 0);
      if (mparse (bad[i], NULL, &m) == 0)
        fprintf (stderr, "  accepted: %s\n", bad[i]);
    }
  CHECK (mparse ("{}", "application/vnd.docker.distribution.manifest.v1+json", &m) < 0);
}

TEST (test_manifest_layer_count_is_bounded)
{
  size_t n = MSB_MANIFEST_MAX_LAYERS + 1;
  char *doc = msb_xmalloc (200 * n + 256);
  size_t len = (size_t) sprintf (doc, "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                                      "\",\"size\":1},\"layers\":[");
  for (size_t i = 0; i < n; i++)
    len += (size_t) sprintf (doc + len, "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                                        "\"digest\":\"" D2 "\",\"size\":1}",
                             i ? "," : "");
  strcpy (doc + len, "]}");
  msb_manifest m;
  CHECK (mparse (doc, NULL, &m) < 0);
  free (doc);
}

TEST (test_platform_parse)
{
  char *os, *arch, *variant;
  CHECK_EQ_INT (msb_platform_parse ("linux/arm64/v8", &os, &arch, &variant, NULL), 0);
  CHECK_EQ_STR (os, "linux");
  CHECK_EQ_STR (arch, "arm64");
  CHECK_EQ_STR (variant, "v8");
  free (os), free (arch), free (variant);
  CHECK_EQ_INT (msb_platform_parse ("amd64", &os, &arch, &variant, NULL), 0);
  CHECK_EQ_STR (os, "linux");
  CHECK_EQ_STR (arch, "amd64");
  CHECK (variant == NULL);
  free (os), free (arch);
  CHECK (msb_platform_parse ("linux/../x", &os, &arch, &variant, NULL) < 0);
  CHECK (msb_platform_parse ("a/b/c/d", &os, &arch, &variant, NULL) < 0);
  CHECK (msb_platform_parse ("", &os, &arch, &variant, NULL) < 0);
}

/* ---- endpoints and config.json ---- */

static msb_global_config
config_of (const char *json)
{
  msb_global_config gc;
  msb_error *err = NULL;
  if (msb_global_config_parse (json, strlen (json), "config.json", &gc, &err) < 0)
    {
      fprintf (stderr, "  %s\n", msb_error_get_message (err));
      msb_error_free (err);
      memset (&gc, 0, sizeof gc);
    }
  return gc;
}

TEST (test_endpoint_default_registry_is_https_only)
{
  msb_registry_endpoint *eps;
  size_t n;
  CHECK_EQ_INT (msb_registry_endpoints (NULL, "docker.io", NULL, &eps, &n, NULL), 0);
  CHECK_EQ_INT (n, 1);
  CHECK_EQ_STR (eps[0].host, "registry-1.docker.io");
  CHECK_EQ_STR (eps[0].cred_host, "docker.io");
  CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_ONLY);
  CHECK (!eps[0].skip_verify);
  msb_registry_endpoints_free (eps, n);
  CHECK_EQ_INT (msb_registry_endpoints (NULL, "ghcr.io", NULL, &eps, &n, NULL), 0);
  CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_ONLY);
  msb_registry_endpoints_free (eps, n);
}

TEST (test_endpoint_loopback_may_fall_back_to_http_but_verifies_tls)
{
  const char *hosts[] = { "127.0.0.1:5000", "localhost:5000", "127.8.9.10", "[::1]:5000" };
  for (size_t i = 0; i < 4; i++)
    {
      msb_registry_endpoint *eps;
      size_t n;
      CHECK_EQ_INT (msb_registry_endpoints (NULL, hosts[i], NULL, &eps, &n, NULL), 0);
      CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_THEN_HTTP);
      CHECK (!eps[0].skip_verify);
      msb_registry_endpoints_free (eps, n);
    }
  CHECK (msb_registry_host_is_loopback ("127.0.0.1:5000"));
  CHECK (!msb_registry_host_is_loopback ("10.0.0.1:5000"));
  CHECK (!msb_registry_host_is_loopback ("127.example.com"));
  CHECK (!msb_registry_host_is_loopback ("registry.local"));
}

TEST (test_endpoint_mirrors_come_first_in_order)
{
  msb_global_config gc = config_of (
      "{\"registries\":{\"docker.io\":{\"mirrors\":[\"127.0.0.1:5000\",\"http://mirror.lan:80/\","
      "\"https://m2.example\"]},\"mirror.lan:80\":{\"ca_file\":\"/etc/x.pem\"},"
      "\"m2.example\":{\"insecure\":true},\"other\":{\"unknown_key\":1}},\"defaults\":{}}");
  CHECK_EQ_INT (gc.n_registries, 4);
  msb_registry_endpoint *eps;
  size_t n;
  const char *extra[] = { "/opt/ca.pem", NULL };
  msb_endpoint_overrides ov = { .ca_files = extra };
  CHECK_EQ_INT (msb_registry_endpoints (&gc, "index.docker.io", &ov, &eps, &n, NULL), 0);
  CHECK_EQ_INT (n, 4);
  CHECK_EQ_STR (eps[0].host, "127.0.0.1:5000");
  CHECK (eps[0].is_mirror);
  CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_THEN_HTTP);
  CHECK_EQ_STR (eps[1].host, "mirror.lan:80");
  CHECK_EQ_INT (eps[1].scheme, MSB_SCHEME_HTTP_ONLY);
  CHECK (eps[1].ca_files && strcmp (eps[1].ca_files[0], "/etc/x.pem") == 0
         && strcmp (eps[1].ca_files[1], "/opt/ca.pem") == 0);
  CHECK_EQ_STR (eps[2].host, "m2.example");
  CHECK_EQ_INT (eps[2].scheme, MSB_SCHEME_HTTPS_ONLY); /* written https:// */
  CHECK (!eps[2].skip_verify);
  CHECK_EQ_STR (eps[3].host, "registry-1.docker.io");
  CHECK (!eps[3].is_mirror);
  msb_registry_endpoints_free (eps, n);
  msb_global_config_clear (&gc);
}

TEST (test_endpoint_insecure_from_config_or_option)
{
  msb_global_config gc = config_of ("{\"registries\":{\"reg.lan:5000\":{\"insecure\":true}}}");
  msb_registry_endpoint *eps;
  size_t n;
  CHECK_EQ_INT (msb_registry_endpoints (&gc, "reg.lan:5000", NULL, &eps, &n, NULL), 0);
  CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_THEN_HTTP);
  CHECK (eps[0].skip_verify);
  msb_registry_endpoints_free (eps, n);
  msb_endpoint_overrides ov = { .insecure = true };
  CHECK_EQ_INT (msb_registry_endpoints (NULL, "reg.corp", &ov, &eps, &n, NULL), 0);
  CHECK_EQ_INT (eps[0].scheme, MSB_SCHEME_HTTPS_THEN_HTTP);
  CHECK (eps[0].skip_verify);
  msb_registry_endpoints_free (eps, n);
  msb_global_config_clear (&gc);
}

TEST (test_config_json_errors_name_the_key)
{
  const char *bad[] = {
    "{\"registries\":[]}",
    "{\"registries\":{\"x\":{\"insecure\":\"yes\"}}}",
    "{\"registries\":{\"x\":{\"mirrors\":[1]}}}",
    "{\"registries\":{\"x\":{\"ca_file\":\"relative.pem\"}}}",
    "{\"registries\":{\"x\":5}}",
    "{\"registries\":{\"x\":{},\"x\":{}}}",
    "{",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      msb_global_config gc;
      msb_error *err = NULL;
      CHECK (msb_global_config_parse (bad[i], strlen (bad[i]), "config.json", &gc, &err) < 0);
      CHECK_EQ_INT (msb_error_get_kind (err), MSB_ERR_INVALID_CONFIG);
      CHECK (err && strstr (msb_error_get_message (err), "config.json"));
      msb_error_free (err);
    }
  msb_global_config gc = config_of ("{\"registries\":{\"docker.io\":{\"mirrors\":[\"a/b\"]}}}");
  msb_registry_endpoint *eps;
  size_t n;
  msb_error *err = NULL;
  CHECK (msb_registry_endpoints (&gc, "docker.io", NULL, &eps, &n, &err) < 0);
  CHECK_EQ_INT (msb_error_get_kind (err), MSB_ERR_INVALID_CONFIG);
  msb_error_free (err);
  msb_global_config_clear (&gc);
}

TEST (test_registry_urls)
{
  char *u = msb_registry_url (true, "registry-1.docker.io", "library/alpine", "manifests", "latest");
  CHECK_EQ_STR (u, "https://registry-1.docker.io/v2/library/alpine/manifests/latest");
  free (u);
  u = msb_registry_url (false, "127.0.0.1:5000", "a/b", "blobs", D1);
  CHECK_EQ_STR (u, "http://127.0.0.1:5000/v2/a/b/blobs/" D1);
  free (u);
  u = msb_registry_url (true, "h", NULL, NULL, NULL);
  CHECK_EQ_STR (u, "https://h/v2/");
  free (u);
  char *h = msb_registry_host_normalize ("Registry-1.Docker.IO");
  CHECK_EQ_STR (h, "docker.io"); /* case folded, then the aliases of the default registry */
  free (h);
  h = msb_registry_host_normalize ("index.docker.io");
  CHECK_EQ_STR (h, "docker.io");
  free (h);
}

/* ---- the tar writer ---- */

typedef struct membuf
{
  unsigned char *data;
  size_t len;
} membuf;

static int
mem_write (void *ctx, const void *buf, size_t n, msb_error **err)
{
  membuf *m = ctx;
  m->data = msb_xrealloc (m->data, m->len + n);
  memcpy (m->data + m->len, buf, n);
  m->len += n;
  return 0;
}

TEST (test_tar_writer_output_reads_back_with_long_names)
{
  membuf m = { 0 };
  msb_tar_writer w;
  msb_tar_writer_init (&w, mem_write, &m);
  char longname[301];
  memset (longname, 'n', 300);
  longname[300] = '\0';
  char split[200];
  snprintf (split, sizeof split, "%.120s/%.60s", longname, longname); /* ustar prefix + name */
  msb_tar_entry dir = { .path = "d", .type = MSB_TAR_DIR, .mode = 0755 };
  msb_tar_entry f1 = { .path = "d/f", .type = MSB_TAR_REG, .mode = 04755, .uid = 1000, .gid = 5000000,
                       .mtime = 1700000000, .size = 5 };
  msb_tar_entry f2 = { .path = longname, .type = MSB_TAR_REG, .mode = 0644, .size = 0 };
  msb_tar_entry f3 = { .path = split, .type = MSB_TAR_REG, .mode = 0644, .size = 1 };
  msb_tar_entry l1 = { .path = "d/sym", .type = MSB_TAR_SYMLINK, .mode = 0777, .link = longname };
  msb_tar_entry l2 = { .path = "d/hard", .type = MSB_TAR_HARDLINK, .mode = 0644, .link = "d/f" };
  CHECK_EQ_INT (msb_tar_write_header (&w, &dir, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_header (&w, &f1, NULL), 0);
  CHECK (msb_tar_write_header (&w, &f2, NULL) < 0); /* the 5 data bytes are missing */
  CHECK_EQ_INT (msb_tar_write_data (&w, "hello", 5, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_header (&w, &f2, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_header (&w, &f3, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_data (&w, "x", 1, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_header (&w, &l1, NULL), 0);
  CHECK_EQ_INT (msb_tar_write_header (&w, &l2, NULL), 0);
  CHECK_EQ_INT (msb_tar_finish (&w, NULL), 0);
  CHECK_EQ_INT (m.len % 512, 0);

  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  CHECK_EQ_INT (archive_read_open_memory (a, m.data, m.len), ARCHIVE_OK);
  struct archive_entry *e;
  const char *want[] = { "d", "d/f", longname, split, "d/sym", "d/hard" };
  size_t i = 0;
  while (archive_read_next_header (a, &e) == ARCHIVE_OK && i < 6)
    {
      CHECK_EQ_STR (archive_entry_pathname (e), want[i]);
      if (i == 1)
        {
          CHECK_EQ_INT (archive_entry_size (e), 5);
          CHECK_EQ_INT (archive_entry_uid (e), 1000);
          CHECK_EQ_INT (archive_entry_gid (e), 5000000);
          CHECK_EQ_INT (archive_entry_mode (e) & 07777, 04755);
          CHECK_EQ_INT (archive_entry_mtime (e), 1700000000);
          char buf[8] = { 0 };
          CHECK_EQ_INT (archive_read_data (a, buf, sizeof buf), 5);
          CHECK_EQ_STR (buf, "hello");
        }
      if (i == 4)
        CHECK_EQ_STR (archive_entry_symlink (e), longname);
      if (i == 5)
        CHECK_EQ_STR (archive_entry_hardlink (e), "d/f");
      i++;
    }
  CHECK_EQ_INT (i, 6);
  archive_read_free (a);
  free (m.data);
}

TEST_MAIN (
  TEST_ENTRY (test_auth_bearer_challenge_with_realm_service_scope),
  TEST_ENTRY (test_auth_scheme_and_keys_are_case_insensitive_and_spaces_allowed),
  TEST_ENTRY (test_auth_basic_challenge),
  TEST_ENTRY (test_auth_bearer_wins_over_basic_in_one_header),
  TEST_ENTRY (test_auth_quoted_string_escapes),
  TEST_ENTRY (test_auth_unknown_schemes_are_skipped),
  TEST_ENTRY (test_auth_rejects_hostile_or_useless_headers),
  TEST_ENTRY (test_auth_token_url_escapes_and_splits_scopes),
  TEST_ENTRY (test_auth_token_answers),
  TEST_ENTRY (test_auth_basic_value_and_url_escape),
  TEST_ENTRY (test_manifest_oci_image_manifest),
  TEST_ENTRY (test_manifest_docker_schema2_by_content_type),
  TEST_ENTRY (test_index_platform_selection),
  TEST_ENTRY (test_index_prefers_exact_variant),
  TEST_ENTRY (test_manifest_rejects_what_it_cannot_verify_or_unpack),
  TEST_ENTRY (test_manifest_layer_count_is_bounded),
  TEST_ENTRY (test_platform_parse),
  TEST_ENTRY (test_endpoint_default_registry_is_https_only),
  TEST_ENTRY (test_endpoint_loopback_may_fall_back_to_http_but_verifies_tls),
  TEST_ENTRY (test_endpoint_mirrors_come_first_in_order),
  TEST_ENTRY (test_endpoint_insecure_from_config_or_option),
  TEST_ENTRY (test_config_json_errors_name_the_key),
  TEST_ENTRY (test_registry_urls),
  TEST_ENTRY (test_tar_writer_output_reads_back_with_long_names))
