/* The modify() planner (lib/modify_plan.c): dispositions by field, sandbox state and policy,
 * and the conflicts that keep a change from applying (API.md §1.8). No sandbox needed: plans
 * are made against a record. */
#include <jansson.h>
#include <msb/modify.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/modify_plan.h"
#include "tests/unit/test.h"

static msb_sandbox_row
row_of (unsigned cpus, unsigned max_cpus, unsigned mem, unsigned max_mem, unsigned upper)
{
  msb_config *c = msb_config_new ();
  msb_config_set_image (c, "local/busybox:latest", NULL);
  msb_config_set_cpus (c, cpus, NULL);
  msb_config_set_max_cpus (c, max_cpus, NULL);
  msb_config_set_memory_mib (c, mem, NULL);
  msb_config_set_max_memory_mib (c, max_mem, NULL);
  msb_config_set_env (c, "KEEP", "1", NULL);
  msb_config_set_label (c, "team", "a", NULL);
  if (upper)
    msb_config_set_upper_size_mib (c, upper, NULL);
  msb_sandbox_row r = { 0 };
  r.name = strdup ("sb");
  r.config_json = msb_config_to_json_named (c, "sb");
  r.backend = strdup ("ns");
  r.status = MSB_STATUS_RUNNING;
  msb_config_free (c);
  return r;
}

/* The disposition of the first change of `field` (and `key`), or NULL. */
static const char *
disposition (const msb_modify_plan *p, const char *field)
{
  size_t i;
  json_t *c;
  json_array_foreach (p->changes, i, c)
    if (strcmp (json_string_value (json_object_get (c, "field")), field) == 0)
      return json_string_value (json_object_get (c, "disposition"));
  return NULL;
}

static msb_modify_plan
plan (const msb_sandbox_row *r, bool live, unsigned flags, const char *changes)
{
  msb_modify_plan p;
  msb_error *e = NULL;
  CHECK (msb_modify_plan_make (changes, r, live, flags, &p, &e) == 0);
  if (e)
    fprintf (stderr, "  %s\n", msb_error_get_message (e));
  msb_error_free (e);
  return p;
}

TEST (test_cpus_and_memory_are_live_within_the_boot_max)
{
  msb_sandbox_row r = row_of (1, 4, 256, 1024, 0);
  msb_modify_plan p = plan (&r, true, 0, "{\"cpus\":2,\"memory\":512}");
  CHECK_EQ_STR (disposition (&p, "cpus"), "live");
  CHECK_EQ_STR (disposition (&p, "memory"), "live");
  CHECK (p.live_cpus && p.live_memory && !p.needs_restart);
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  CHECK_EQ_INT (p.after->cpus, 2);
  CHECK_EQ_INT (p.after->memory_mib, 512);
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
}

TEST (test_above_the_max_is_a_conflict)
{
  msb_sandbox_row r = row_of (1, 2, 256, 512, 0);
  msb_modify_plan p = plan (&r, true, 0, "{\"memory\":1024}");
  CHECK (json_array_size (p.conflicts) >= 1);
  CHECK (!p.live_memory);
  msb_modify_plan_clear (&p);
  /* Raising the max too is valid, but the max is a boot-time ceiling: next start. */
  p = plan (&r, true, MSB_MODIFY_NEXT_START, "{\"memory\":1024,\"max_memory\":2048}");
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  CHECK_EQ_STR (disposition (&p, "memory"), "next start");
  CHECK_EQ_STR (disposition (&p, "max_memory"), "next start");
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
}

TEST (test_boot_time_fields_follow_the_policy)
{
  msb_sandbox_row r = row_of (1, 1, 256, 256, 0);
  const char *env = "{\"env\":{\"A\":\"b\"},\"workdir\":\"/tmp\"}";
  msb_modify_plan p = plan (&r, true, 0, env);
  CHECK_EQ_STR (disposition (&p, "env"), "requires restart");
  CHECK_EQ_INT (json_array_size (p.conflicts), 2); /* env, workdir */
  msb_modify_plan_clear (&p);
  p = plan (&r, true, MSB_MODIFY_NEXT_START, env);
  CHECK_EQ_STR (disposition (&p, "env"), "next start");
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  msb_modify_plan_clear (&p);
  p = plan (&r, true, MSB_MODIFY_RESTART, env);
  CHECK_EQ_STR (disposition (&p, "workdir"), "requires restart");
  CHECK (p.needs_restart);
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  msb_modify_plan_clear (&p);
  /* Not running: everything waits for the next start, whatever the policy. */
  p = plan (&r, false, 0, "{\"env\":{\"A\":\"b\"},\"cpus\":1,\"memory\":128}");
  CHECK_EQ_STR (disposition (&p, "env"), "next start");
  CHECK_EQ_STR (disposition (&p, "memory"), "next start");
  CHECK (disposition (&p, "cpus") == NULL); /* unchanged: no entry */
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
}

TEST (test_labels_are_live_and_checked)
{
  msb_sandbox_row r = row_of (1, 1, 256, 256, 0);
  msb_modify_plan p
      = plan (&r, true, 0, "{\"labels\":{\"env\":\"prod\"},\"labels_rm\":[\"team\",\"nope\"]}");
  CHECK_EQ_STR (disposition (&p, "label"), "live");
  CHECK_EQ_INT (json_array_size (p.conflicts), 0);
  CHECK_EQ_INT (json_array_size (p.warnings), 1); /* nope is not set */
  CHECK (msb_kvlist_get (&p.after->labels, "team") == NULL);
  CHECK_EQ_STR (msb_kvlist_get (&p.after->labels, "env"), "prod");
  msb_modify_plan_clear (&p);
  p = plan (&r, false, 0, "{\"labels\":{\"sandbox.id\":\"x\"}}");
  CHECK_EQ_INT (json_array_size (p.conflicts), 1); /* reserved prefix */
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
}

TEST (test_secrets_and_root_disk_limits)
{
  msb_sandbox_row r = row_of (1, 1, 256, 256, 0);
  msb_modify_plan p = plan (&r, false, 0, "{\"secrets\":{\"TOKEN\":{}},\"root_disk_size\":1024}");
  CHECK_EQ_STR (disposition (&p, "secret"), "unsupported");
  CHECK_EQ_STR (disposition (&p, "root_disk_size"), "unsupported"); /* a directory upper */
  CHECK_EQ_INT (json_array_size (p.conflicts), 2);
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
  r = row_of (1, 1, 256, 256, 512);
  p = plan (&r, false, 0, "{\"root_disk_size\":1024}");
  CHECK_EQ_STR (disposition (&p, "root_disk_size"), "next start");
  CHECK_EQ_INT (p.after->files.upper_size_mib, 1024);
  msb_modify_plan_clear (&p);
  p = plan (&r, false, 0, "{\"root_disk_size\":256}");
  CHECK_EQ_INT (json_array_size (p.conflicts), 1); /* never shrinks */
  msb_modify_plan_clear (&p);
  msb_sandbox_row_clear (&r);
}

TEST (test_malformed_changes_are_errors)
{
  msb_sandbox_row r = row_of (1, 1, 256, 256, 0);
  const char *bad[]
      = { "{\"cpu\":2}", "{\"cpus\":\"2\"}", "{\"env\":{\"A\":1}}", "[1]", "{\"env_rm\":\"A\"}" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      msb_modify_plan p;
      msb_error *e = NULL;
      CHECK (msb_modify_plan_make (bad[i], &r, true, 0, &p, &e) < 0);
      CHECK (e && msb_error_get_kind (e) == MSB_ERR_INVALID_ARGUMENT);
      msb_error_free (e);
    }
  msb_modify_plan p;
  msb_error *e = NULL;
  CHECK (msb_modify_plan_make ("{}", &r, true, MSB_MODIFY_RESTART | MSB_MODIFY_NEXT_START, &p, &e)
         < 0);
  msb_error_free (e);
  msb_sandbox_row_clear (&r);
}

TEST_MAIN (TEST_ENTRY (test_cpus_and_memory_are_live_within_the_boot_max),
           TEST_ENTRY (test_above_the_max_is_a_conflict),
           TEST_ENTRY (test_boot_time_fields_follow_the_policy),
           TEST_ENTRY (test_labels_are_live_and_checked),
           TEST_ENTRY (test_secrets_and_root_disk_limits),
           TEST_ENTRY (test_malformed_changes_are_errors))
