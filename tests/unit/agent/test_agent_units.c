/* msb-agent pieces that need no process: user spec resolution against passwd/group files
 * (including hostile ones), exec environment assembly, rlimit names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/env.h"
#include "agent/rlimit.h"
#include "agent/user.h"
#include "common/cleanup.h"
#include "tests/unit/test.h"

static char passwd_path[64], group_path[64];

static void
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "we");
  fputs (text, f);
  fclose (f);
}

static void
accounts (const char *passwd, const char *group)
{
  write_text (passwd_path, passwd);
  write_text (group_path, group);
}

static const char *const base_passwd
    = "root:x:0:0:root:/root:/bin/sh\n"
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char *const base_group
    = "root:x:0:\n"
      "daemon:x:1:alice\n"
      "alice:x:1000:\n"
      "wheel:x:10:bob,alice\n"
      "nogroup:x:65534:\n";

static int
resolve (const char *spec, agent_user *u)
{
  _msb_cleanup_error_ msb_error *err = NULL;
  return agent_user_resolve (spec, passwd_path, group_path, u, &err);
}

TEST (test_user_by_name_gets_primary_and_member_groups)
{
  accounts (base_passwd, base_group);
  agent_user u;
  CHECK_EQ_INT (resolve ("alice", &u), 0);
  CHECK_EQ_INT (u.uid, 1000);
  CHECK_EQ_INT (u.gid, 1000);
  CHECK_EQ_INT (u.n_groups, 3);
  CHECK (u.n_groups == 3 && u.groups[0] == 1000 && u.groups[1] == 1 && u.groups[2] == 10);
  CHECK_EQ_STR (u.home, "/home/alice");
  agent_user_clear (&u);
}

TEST (test_user_numeric_forms)
{
  accounts (base_passwd, base_group);
  agent_user u;
  CHECK_EQ_INT (resolve ("1000", &u), 0);
  CHECK (u.uid == 1000 && u.gid == 1000 && u.n_groups == 3);
  agent_user_clear (&u);
  CHECK_EQ_INT (resolve ("4242", &u), 0); /* not in passwd */
  CHECK (u.uid == 4242 && u.gid == 0 && u.home == NULL && u.n_groups == 1);
  agent_user_clear (&u);
  CHECK_EQ_INT (resolve ("4242:77", &u), 0);
  CHECK (u.uid == 4242 && u.gid == 77 && u.n_groups == 1 && u.groups[0] == 77);
  agent_user_clear (&u);
  CHECK_EQ_INT (resolve ("alice:wheel", &u), 0);
  CHECK (u.uid == 1000 && u.gid == 10 && u.groups[0] == 10);
  agent_user_clear (&u);
  CHECK_EQ_INT (resolve ("1000:daemon", &u), 0);
  CHECK (u.uid == 1000 && u.gid == 1);
  agent_user_clear (&u);
  CHECK_EQ_INT (resolve ("nobody:5", &u), 0);
  CHECK (u.uid == 65534 && u.gid == 5);
  agent_user_clear (&u);
}

TEST (test_user_default_is_root)
{
  accounts (base_passwd, base_group);
  agent_user u;
  CHECK_EQ_INT (resolve (NULL, &u), 0);
  CHECK (u.uid == 0 && u.gid == 0);
  CHECK_EQ_STR (u.home, "/root");
  agent_user_clear (&u);
  accounts ("", ""); /* scratch images have no accounts at all */
  CHECK_EQ_INT (resolve ("root", &u), 0);
  CHECK (u.uid == 0 && u.gid == 0);
  agent_user_clear (&u);
}

TEST (test_user_unknown_names_and_bad_specs_fail)
{
  accounts (base_passwd, base_group);
  agent_user u;
  CHECK_EQ_INT (resolve ("mallory", &u), -1);
  CHECK_EQ_INT (resolve ("alice:nogroup-here", &u), -1);
  CHECK_EQ_INT (resolve (":10", &u), -1);
  CHECK_EQ_INT (resolve ("alice:", &u), -1);
  CHECK_EQ_INT (resolve ("alice:1:2", &u), -1);
  CHECK_EQ_INT (resolve ("-1", &u), -1);          /* not a number, not a name */
  CHECK_EQ_INT (resolve ("4294967295", &u), -1);  /* (uid_t)-1 is reserved */
  CHECK_EQ_INT (resolve ("99999999999", &u), -1); /* overflow */
}

TEST (test_user_hostile_passwd_lines_are_skipped)
{
  accounts ("eve:x:notanumber:0:x:/evil:/bin/sh\n"
            "short:x:5\n"
            "\n"
            "::::::\n"
            "eve:x:-3:0::/e:/bin/sh\n"
            "eve:x:2000:2000::/home/eve:/bin/sh\n",
            "g:x:2000:eve,eve,eve\nbad:x:zz:eve\n");
  agent_user u;
  CHECK_EQ_INT (resolve ("eve", &u), 0);
  CHECK (u.uid == 2000 && u.gid == 2000 && u.n_groups == 1);
  CHECK_EQ_STR (u.home, "/home/eve");
  agent_user_clear (&u);
}

TEST (test_env_request_overrides_base_key_by_key)
{
  char *base[] = { "A=1", "B=2", "PATH=/bin", NULL };
  char *over[] = { "B=3", "C=4", "junk", "=nokey", NULL };
  _msb_cleanup_strv_ char **env = agent_env_build (base, over, "/home/x", false);
  CHECK_EQ_STR (agent_env_get (env, "A"), "1");
  CHECK_EQ_STR (agent_env_get (env, "B"), "3");
  CHECK_EQ_STR (agent_env_get (env, "C"), "4");
  CHECK_EQ_STR (agent_env_get (env, "PATH"), "/.msb/scripts:/bin");
  CHECK_EQ_STR (agent_env_get (env, "HOME"), "/home/x");
  CHECK (agent_env_get (env, "TERM") == NULL);
  CHECK (agent_env_get (env, "junk") == NULL);
  size_t n = 0;
  while (env[n])
    n++;
  CHECK_EQ_INT (n, 5);
}

TEST (test_env_defaults_path_home_and_term)
{
  _msb_cleanup_strv_ char **env = agent_env_build (NULL, NULL, NULL, true);
  CHECK_EQ_STR (agent_env_get (env, "PATH"), "/.msb/scripts:" AGENT_DEFAULT_PATH);
  CHECK_EQ_STR (agent_env_get (env, "HOME"), "/");
  CHECK_EQ_STR (agent_env_get (env, "TERM"), "xterm");
  char *mine[] = { "TERM=vt100", "HOME=/mine", "PATH=/.msb/scripts:/x", NULL };
  _msb_cleanup_strv_ char **env2 = agent_env_build (NULL, mine, "/ignored", true);
  CHECK_EQ_STR (agent_env_get (env2, "TERM"), "vt100");
  CHECK_EQ_STR (agent_env_get (env2, "HOME"), "/mine");
  CHECK_EQ_STR (agent_env_get (env2, "PATH"), "/.msb/scripts:/x"); /* not twice */
}

TEST (test_rlimit_names_cover_the_api)
{
  static const char *const names[] = { "cpu", "fsize", "data", "stack", "core", "rss",
                                       "nproc", "nofile", "memlock", "as", "locks",
                                       "sigpending", "msgqueue", "nice", "rtprio", "rttime" };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    CHECK (agent_rlimit_resource (names[i]) >= 0);
  CHECK_EQ_INT (agent_rlimit_resource ("nofile"), RLIMIT_NOFILE);
  CHECK_EQ_INT (agent_rlimit_resource ("as"), RLIMIT_AS);
  CHECK_EQ_INT (agent_rlimit_resource ("NOFILE"), -1);
  CHECK_EQ_INT (agent_rlimit_resource (NULL), -1);
  msb_rlimit_spec specs[] = { { "cpu", 1, 2 }, { "bogus", 1, 1 } };
  agent_rlimit out[2];
  size_t bad = 99;
  CHECK_EQ_INT (agent_rlimit_resolve (specs, 2, out, &bad), -1);
  CHECK_EQ_INT (bad, 1);
  CHECK_EQ_INT (out[0].resource, RLIMIT_CPU);
  CHECK (out[0].limit.rlim_cur == 1 && out[0].limit.rlim_max == 2);
}

int
main (int argc, char **argv)
{
  char dir[] = "/tmp/msb-agent-units-XXXXXX";
  if (mkdtemp (dir) == NULL)
    return 1;
  snprintf (passwd_path, sizeof passwd_path, "%s/passwd", dir);
  snprintf (group_path, sizeof group_path, "%s/group", dir);
  static const msb_test_case cases[] = {
    TEST_ENTRY (test_user_by_name_gets_primary_and_member_groups),
    TEST_ENTRY (test_user_numeric_forms),
    TEST_ENTRY (test_user_default_is_root),
    TEST_ENTRY (test_user_unknown_names_and_bad_specs_fail),
    TEST_ENTRY (test_user_hostile_passwd_lines_are_skipped),
    TEST_ENTRY (test_env_request_overrides_base_key_by_key),
    TEST_ENTRY (test_env_defaults_path_home_and_term),
    TEST_ENTRY (test_rlimit_names_cover_the_api),
  };
  int rc = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  unlink (passwd_path);
  unlink (group_path);
  rmdir (dir);
  return rc;
}
