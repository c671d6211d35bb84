/* What sandbox create does with a config's named mounts, before the sandbox record exists:
 * missing volumes are created (modes create / ensure-exists) or refused (mode existing,
 * MSB_ERR_VOLUME_NOT_FOUND). The volumes it created are listed so a create that fails later
 * can remove them again and leave nothing behind. */
#ifndef MSB_LIB_VOLUME_MOUNTS_H
#define MSB_LIB_VOLUME_MOUNTS_H

#include <msb/msb.h>

typedef struct msb_volumes_created
{
  char **names; /* NULL-terminated */
} msb_volumes_created;

int msb_volumes_prepare_create (msb_ctx *ctx, const msb_config *cfg, msb_volumes_created *created,
                                msb_error **err);
/* Removes the volumes the failed create made. */
void msb_volumes_undo_create (msb_ctx *ctx, msb_volumes_created *created);
void msb_volumes_created_free (msb_volumes_created *created);

static inline void
msb_cleanup_volumes_created_fn (msb_volumes_created *c)
{
  msb_volumes_created_free (c);
}
#define _msb_cleanup_volumes_created_ __attribute__ ((cleanup (msb_cleanup_volumes_created_fn)))

#endif
