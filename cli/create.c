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
      if (argv[i][0] == '-' || image)
        {
          fprintf (stderr, "usage: msb create [flags] IMAGE\n%s", cli_create_flags_help ());
          return 1;
        }
      image = argv[i];
    }
  if (image == NULL)
    return cli_failf (1, "create: an image is required (msb create [flags] IMAGE)");
  msb_error *err = NULL;
  if (msb_config_set_image (o.cfg, image, &err) < 0)
    return cli_fail (err, 1);
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
  if (cli_pull_for_create (ctx, o.cfg) < 0) /* progress bars while an image downloads */
    {
      msb_config_free (o.cfg);
      msb_ctx_close (ctx);
      return 1;
    }
  msb_sandbox *sb = NULL;
  unsigned flags = MSB_SANDBOX_DETACHED | (o.replace ? MSB_SANDBOX_REPLACE : 0);
  int status = 0;
  if (msb_sandbox_create (ctx, o.name, o.cfg, flags,
                          o.replace_timeout < 0 ? -1 : (int) (o.replace_timeout * 1000), &sb, &err)
      < 0)
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
