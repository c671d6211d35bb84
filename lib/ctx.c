/* msb_ctx: the state root and its database connection, shared by every call of a client. */
#include <stdlib.h>

#include "common/util.h"
#include "lib/internal.h"

int
msb_ctx_open (msb_ctx **out, const char *home, msb_error **err)
{
  msb_ctx *ctx = msb_xcalloc (1, sizeof *ctx);
  if (msb_home_open (&ctx->home, home, err) < 0)
    {
      free (ctx);
      return -1;
    }
  if (msb_db_open (&ctx->db, &ctx->home, err) < 0)
    {
      msb_home_close (&ctx->home);
      free (ctx);
      return -1;
    }
  pthread_mutex_init (&ctx->db_lock, NULL);
  *out = ctx;
  return 0;
}

void
msb_ctx_close (msb_ctx *ctx)
{
  if (ctx == NULL)
    return;
  msb_db_close (&ctx->db);
  msb_home_close (&ctx->home);
  pthread_mutex_destroy (&ctx->db_lock);
  free (ctx);
}

const char *
msb_ctx_home (const msb_ctx *ctx)
{
  return ctx->home.root;
}

const char *
msb_version (void)
{
  return MSB_VERSION;
}
