/* Loading libslirp (see slirp_api.h). */
#include "runtime/net/slirp_api.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

static msb_slirp_api api;
static int loaded; /* 0 not tried, 1 ok, -1 failed */
static char failure[256];

static const struct
{
  const char *name;
  size_t offset;
} symbols[] = {
  { "slirp_new", offsetof (msb_slirp_api, new_) },
  { "slirp_cleanup", offsetof (msb_slirp_api, cleanup) },
  { "slirp_pollfds_fill", offsetof (msb_slirp_api, pollfds_fill) },
  { "slirp_pollfds_poll", offsetof (msb_slirp_api, pollfds_poll) },
  { "slirp_input", offsetof (msb_slirp_api, input) },
  { "slirp_handle_timer", offsetof (msb_slirp_api, handle_timer) },
  { "slirp_add_hostxfwd", offsetof (msb_slirp_api, add_hostxfwd) },
  { "slirp_add_unix", offsetof (msb_slirp_api, add_unix) },
  { "slirp_version_string", offsetof (msb_slirp_api, version_string) },
};

static void
load (void)
{
  /* Never unloaded: GLib does not support it. */
  void *h = dlopen ("libslirp.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (h == NULL)
    {
      const char *e = dlerror ();
      strncpy (failure, e ? e : "libslirp.so.0 not found", sizeof failure - 1);
      loaded = -1;
      return;
    }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++)
    {
      void *sym = dlsym (h, symbols[i].name);
      if (sym == NULL)
        {
          strncpy (failure, symbols[i].name, sizeof failure - 1);
          strncat (failure, " is missing (libslirp older than 4.7)", sizeof failure - strlen (failure) - 1);
          loaded = -1;
          return;
        }
      memcpy ((char *) &api + symbols[i].offset, &sym, sizeof sym);
    }
  loaded = 1;
}

int
msb_slirp_api_get (const msb_slirp_api **out, msb_error **err)
{
  if (loaded == 0)
    load ();
  if (loaded < 0)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "sandbox networking needs libslirp 4.7 or later (Debian: libslirp0): %s",
                     failure);
  *out = &api;
  return 0;
}
