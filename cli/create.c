/* `msb create IMAGE`: create and boot a sandbox that waits idle; prints its name. It is
 * detached: it keeps running after this command returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/cli.h"

int
cli_create (int argc, char **argv)
{
  cli_create_opts o = { .cfg = msb_config_new (), .replace_timeout = -1 };
  const char *image = NULL;
  for (int i = 1; i < argc; i++)
    {
      int r = cli_create_flag (&o, argc, argv, &i);
      if (r < 0)
        return 1;
      if (r > 0)
        continue;
      bool help = strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0;
      if (argv[i][0] == '-' && !help)
        return cli_unknown_flag ("create", argv[i], 1);
      if (help || image)
        {
          fprintf (help ? stdout : stderr, "usage: msb create [flags] IMAGE\n%s", cli_create_flags_help ());
          return help ? 0 : 1;
        }
      image = argv[i];
    }
  msb_error *err = NULL;
  int bad = 0;
  if (image == NULL && o.from_snapshot == NULL)
    bad = cli_failf (1, "create: an image is required (msb create [flags] IMAGE)");
  else if (image && o.from_snapshot)
    bad = cli_failf (1, "create: IMAGE and --from-snapshot are mutually exclusive (a snapshot "
                        "boots its own image)");
  else if (image && msb_config_set_image (o.cfg, image, &err) < 0)
    bad = cli_fail (err, 1);
  if (bad)
    {
      msb_config_free (o.cfg);
      return bad;
    }
  char generated[32];
  if (o.name == NULL)
    {
      unsigned char r[4] = { 0 };
      (void) !getrandom (r, sizeof r, 0);
      snprintf (generated, sizeof generated, "sb-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
      o.name = generated;
    }
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  /* Progress bars while an image downloads; a snapshot's image is pulled by the create. */
  if (image && cli_pull_for_create (ctx, o.cfg) < 0)
    {
      msb_config_free (o.cfg);
      msb_ctx_close (ctx);
      return 1;
    }
  msb_sandbox *sb = NULL;
  msb_create_opts co = {
    .size = sizeof co,
    .flags = MSB_SANDBOX_DETACHED | (o.replace ? MSB_SANDBOX_REPLACE : 0),
    .has_replace_grace = o.replace_timeout >= 0,
    .replace_grace_ms = o.replace_timeout < 0 ? 0 : (int) (o.replace_timeout * 1000),
    .snapshot = o.from_snapshot,
  };
  int status = 0;
  if (msb_sandbox_create_ex (ctx, o.name, o.cfg, &co, &sb, &err) < 0)
    status = cli_fail (err, 1);
  else
    {
      puts (o.name);
      msb_sandbox_close (sb);
    }
  msb_config_free (o.cfg);
  msb_ctx_close (ctx);
  return status;
}
