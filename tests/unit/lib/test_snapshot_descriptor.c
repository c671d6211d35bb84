/* The snapshot descriptor (API.md §4): what a new one says, that parsing refuses what is not
 * a schema-1 snapshot, and that the digest is of the canonical form — independent of how the
 * file is laid out, and different for any difference in content. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/image/digest.h"
#include "lib/snapshot_descriptor.h"
#include "tests/unit/test.h"

static json_t *
sample (const char *integrity)
{
  json_t *labels = json_pack ("{s:s, s:s}", "team", "a", "é", "ü");
  msb_snapshot_desc_fields f = {
    .created_at_ms = 1764000000123,
    .image_ref = "local/busybox:latest",
    .manifest_digest = "sha256:54bed903d901470dc4d5ab13658ec54b472191eafd73a4611c5a3ad679b65042",
    .source_sandbox = "src",
    .upper_size_bytes = 536870912,
    .upper_integrity = integrity,
    .labels = labels,
  };
  json_t *d = msb_snapshot_desc_build (&f);
  json_decref (labels);
  return d;
}

TEST (test_new_descriptor_has_every_schema1_field)
{
  json_t *d = sample (NULL);
  static const char *const keys[]
      = { "schema",         "artifact", "scope",  "created_at", "parent",  "image",
          "source_sandbox", "state",    "labels", "extensions", "requires" };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    CHECK (json_object_get (d, keys[i]) != NULL);
  CHECK_EQ_INT (json_integer_value (json_object_get (d, "schema")), 1);
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "artifact"), "snapshot");
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "scope"), "disk");
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "created_at"), "2025-11-24T16:00:00.123Z");
  CHECK (json_is_null (json_object_get (d, "parent")));
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "state.kind"), "file");
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "state.format"), "raw");
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "state.fstype"), "ext4");
  CHECK_EQ_STR (msb_snapshot_desc_str (d, "state.upper.file"), "upper.ext4");
  CHECK_EQ_INT (msb_snapshot_desc_upper_size (d), 536870912);
  CHECK (msb_snapshot_desc_str (d, "state.upper.integrity.digest") == NULL);
  CHECK_EQ_INT (msb_snapshot_desc_created_ms (d), 1764000000123);
  json_decref (d);
}

TEST (test_digest_is_of_the_canonical_form)
{
  json_t *d = sample (NULL);
  char *canonical = json_dumps (d, JSON_COMPACT | JSON_SORT_KEYS);
  CHECK (strchr (canonical, ' ') == NULL && strchr (canonical, '\n') == NULL);
  CHECK (strstr (canonical, "\"é\":\"ü\"") != NULL); /* UTF-8, not \u escapes */
  char want[MSB_DIGEST_STRLEN];
  msb_sha256_digest (canonical, strlen (canonical), want);
  char *got = msb_snapshot_desc_digest (d);
  CHECK_EQ_STR (got, want);
  /* Pretty-printed in another key order, the same descriptor has the same digest. */
  char *pretty = json_dumps (d, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
  json_t *back = NULL;
  CHECK (msb_snapshot_desc_parse (pretty, strlen (pretty), &back, NULL) == 0);
  char *again = back ? msb_snapshot_desc_digest (back) : NULL;
  CHECK_EQ_STR (again, got);
  free (again);
  json_decref (back);
  free (pretty);
  free (got);
  free (canonical);
  json_decref (d);
}

TEST (test_digest_changes_with_content)
{
  json_t *a = sample (NULL);
  json_t *b = sample ("sha256:0000000000000000000000000000000000000000000000000000000000000000");
  char *da = msb_snapshot_desc_digest (a), *db = msb_snapshot_desc_digest (b);
  CHECK (strcmp (da, db) != 0);
  CHECK_EQ_STR (msb_snapshot_desc_str (b, "state.upper.integrity.algorithm"), "sha256");
  free (da);
  free (db);
  json_decref (a);
  json_decref (b);
}

static int
parse_kind (const char *text)
{
  json_t *d = NULL;
  msb_error *e = NULL;
  int r = msb_snapshot_desc_parse (text, strlen (text), &d, &e);
  int kind = r < 0 ? (int) msb_error_get_kind (e) : 0;
  msb_error_free (e);
  json_decref (d);
  return kind;
}

#define OK_STATE                                                                                   \
  "\"state\":{\"kind\":\"file\",\"upper\":{\"file\":\"upper.ext4\",\"size_bytes\":1}}"

TEST (test_parse_refuses_what_is_not_a_schema1_snapshot)
{
  CHECK_EQ_INT (parse_kind ("{\"schema\":1,\"artifact\":\"snapshot\",\"scope\":\"disk\","
                            "\"created_at\":\"x\",\"image\":{}," OK_STATE "}"),
                0);
  CHECK_EQ_INT (parse_kind ("not json"), MSB_ERR_INVALID_CONFIG);
  CHECK_EQ_INT (parse_kind ("[1]"), MSB_ERR_INVALID_CONFIG);
  CHECK_EQ_INT (parse_kind ("{\"schema\":2,\"artifact\":\"snapshot\"}"),
                MSB_ERR_SNAPSHOT_MIGRATION);
  CHECK_EQ_INT (parse_kind ("{\"schema\":1,\"artifact\":\"image\",\"scope\":\"disk\","
                            "\"created_at\":\"x\",\"image\":{}," OK_STATE "}"),
                MSB_ERR_INVALID_CONFIG);
  /* The upper file is opened inside the artifact: nothing that leads out of it. */
  CHECK_EQ_INT (parse_kind ("{\"schema\":1,\"artifact\":\"snapshot\",\"scope\":\"disk\","
                            "\"created_at\":\"x\",\"image\":{},\"state\":{\"kind\":\"file\","
                            "\"upper\":{\"file\":\"../../etc/shadow\",\"size_bytes\":1}}}"),
                MSB_ERR_INVALID_CONFIG);
  CHECK_EQ_INT (
      parse_kind ("{\"schema\":1,\"artifact\":\"snapshot\",\"scope\":\"disk\","
                  "\"created_at\":\"x\",\"image\":{\"manifest_digest\":\"md5:x\"}," OK_STATE "}"),
      MSB_ERR_INVALID_CONFIG);
  CHECK_EQ_INT (parse_kind ("{\"schema\":1,\"schema\":1}"),
                MSB_ERR_INVALID_CONFIG); /* duplicates */
}

TEST_MAIN (TEST_ENTRY (test_new_descriptor_has_every_schema1_field),
           TEST_ENTRY (test_digest_is_of_the_canonical_form),
           TEST_ENTRY (test_digest_changes_with_content),
           TEST_ENTRY (test_parse_refuses_what_is_not_a_schema1_snapshot))
