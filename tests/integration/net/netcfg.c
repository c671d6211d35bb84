/* netcfg: creates a detached sandbox through the C API with a whole network section as JSON
 * (msb_config_set_network_json, the call the Python package's Network maps onto), so the
 * tests exercise what the CLI cannot spell (DnsConfig, structured rules).
 *
 *   netcfg NAME IMAGE NETWORK_JSON [HOST_FILE GUEST_PATH]
 *
 * Exit 0 when the sandbox runs; otherwise 1 with "<error kind code>: <message>" on stderr. */
#include <msb/msb.h>
#include <stdio.h>

static int
fail (msb_error *e)
{
  fprintf (stderr, "%s: %s\n", msb_error_kind_code (msb_error_get_kind (e)), msb_error_get_message (e));
  msb_error_free (e);
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc != 4 && argc != 6)
    return fprintf (stderr, "usage: netcfg NAME IMAGE NETWORK_JSON [HOST_FILE GUEST_PATH]\n"), 2;
  msb_error *e = NULL;
  msb_ctx *ctx;
  if (msb_ctx_open (&ctx, NULL, &e) < 0)
    return fail (e);
  msb_config *cfg = msb_config_new ();
  if (msb_config_set_image (cfg, argv[2], &e) < 0 || msb_config_set_network_json (cfg, argv[3], &e) < 0
      || (argc == 6 && msb_config_add_patch_copy_file (cfg, argv[4], argv[5], -1, false, &e) < 0))
    return fail (e);
  msb_sandbox *sb;
  if (msb_sandbox_create (ctx, argv[1], cfg, MSB_SANDBOX_DETACHED, -1, &sb, &e) < 0)
    return fail (e);
  msb_sandbox_close (sb);
  msb_config_free (cfg);
  msb_ctx_close (ctx);
  return 0;
}
