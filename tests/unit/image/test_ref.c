/* Image reference parsing and canonical form: the table of valid and invalid references. */
#include <stddef.h>

#include "lib/image/ref.h"
#include "tests/unit/test.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST (test_ref_valid_references_canonicalise)
{
  static const struct
  {
    const char *in, *canonical, *registry, *repository, *tag;
  } cases[] = {
    { "alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest" },
    { "alpine:3.19", "docker.io/library/alpine:3.19", "docker.io", "library/alpine", "3.19" },
    { "docker.io/library/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest" },
    { "docker.io/library/alpine:latest", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest" },
    { "index.docker.io/library/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest" },
    { "docker.io/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest" },
    { "local/busybox:latest", "docker.io/local/busybox:latest", "docker.io", "local/busybox", "latest" },
    { "host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000", "a/b", "tag" },
    { "localhost/x", "localhost/x:latest", "localhost", "x", "latest" },
    { "localhost:5000/x", "localhost:5000/x:latest", "localhost:5000", "x", "latest" },
    { "ghcr.io/org/sub/img:v1.2-rc_3", "ghcr.io/org/sub/img:v1.2-rc_3", "ghcr.io", "org/sub/img", "v1.2-rc_3" },
    { "my-repo__x/a.b", "docker.io/my-repo__x/a.b:latest", "docker.io", "my-repo__x/a.b", "latest" },
    { "a---b", "docker.io/library/a---b:latest", "docker.io", "library/a---b", "latest" },
    { "host:5000", "docker.io/library/host:5000", "docker.io", "library/host", "5000" },
    { "repo@sha256:" HEX64, "docker.io/library/repo@sha256:" HEX64, "docker.io", "library/repo", NULL },
    { "repo:tag@sha256:" HEX64, "docker.io/library/repo@sha256:" HEX64, "docker.io", "library/repo", "tag" },
    { "host:5000/a@sha256:" HEX64, "host:5000/a@sha256:" HEX64, "host:5000", "a", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      msb_error *err = NULL;
      msb_image_ref r;
      int rc = msb_image_ref_parse (cases[i].in, &r, &err);
      CHECK_EQ_INT (rc, 0);
      if (rc < 0)
        {
          fprintf (stderr, "  %s: %s\n", cases[i].in, msb_error_get_message (err));
          msb_error_free (err);
          continue;
        }
      char *c = msb_image_ref_canonical (&r);
      CHECK_EQ_STR (c, cases[i].canonical);
      CHECK_EQ_STR (r.registry, cases[i].registry);
      CHECK_EQ_STR (r.repository, cases[i].repository);
      if (cases[i].tag)
        CHECK_EQ_STR (r.tag, cases[i].tag);
      else
        CHECK (r.tag == NULL);
      free (c);
      msb_image_ref_clear (&r);
    }
}

TEST (test_ref_invalid_references_rejected_naming_reference)
{
  static const char *const bad[] = {
    "",
    "Alpine",
    "UPPER/case",
    "alpine:",
    ":tag",
    "alpine:-bad",
    "alpine@sha256:abc",
    "alpine@md5:" HEX64,
    "alpine@sha256:" HEX64 "00",
    "a//b",
    "/alpine",
    "alpine/",
    "-alpine",
    "a..b",
    "my-repo__x.y/z", /* a dotted first part is a registry, and "_" is not allowed there */
    "a_-b",
    "bad host:5000/x",
    "host:port/x",
    "host.:5000/x",
    "alpine:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      msb_error *err = NULL;
      msb_image_ref r;
      int rc = msb_image_ref_parse (bad[i], &r, &err);
      CHECK_EQ_INT (rc, -1);
      if (rc == 0)
        {
          fprintf (stderr, "  accepted `%s`\n", bad[i]);
          msb_image_ref_clear (&r);
          continue;
        }
      CHECK_EQ_INT (msb_error_get_kind (err), MSB_ERR_INVALID_CONFIG);
      if (*bad[i])
        CHECK (strstr (msb_error_get_message (err), bad[i]) != NULL);
      msb_error_free (err);
    }
}

TEST (test_ref_short_and_long_forms_share_one_key)
{
  const char *forms[] = { "alpine", "docker.io/library/alpine", "docker.io/library/alpine:latest",
                          "library/alpine:latest" };
  for (size_t i = 0; i < 4; i++)
    {
      char *c = NULL;
      CHECK_EQ_INT (msb_image_ref_canonicalize (forms[i], &c, NULL), 0);
      CHECK_EQ_STR (c, "docker.io/library/alpine:latest");
      free (c);
    }
}

TEST_MAIN (TEST_ENTRY (test_ref_valid_references_canonicalise),
           TEST_ENTRY (test_ref_invalid_references_rejected_naming_reference),
           TEST_ENTRY (test_ref_short_and_long_forms_share_one_key))
