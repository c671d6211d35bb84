/* A snapshot artifact on disk (msb/snapshot.h): finding it from a path or a name, reading and
 * checking its descriptor. Shared by snapshot management, snapshot creation and booting
 * sandboxes from snapshots. */
#ifndef MSB_LIB_SNAPSHOT_ARTIFACT_H
#define MSB_LIB_SNAPSHOT_ARTIFACT_H

#include <jansson.h>
#include <stdbool.h>

#include <msb/snapshot.h>

#include "lib/internal.h"

struct msb_snapshot
{
  char *path;   /* absolute artifact directory */
  char *name;   /* its last component */
  char *digest; /* of the canonical descriptor */
  char *text;   /* the descriptor as stored */
  json_t *desc; /* parsed and checked */
};

/* Names of artifacts follow the sandbox name rules and cannot start with '.' (that would make
 * them paths; the temporary directories of a create start with '.'). */
int msb_snapshot_name_validate (const char *name, msb_error **err);

/* The absolute artifact directory `path_or_name` designates (msb/snapshot.h). A name whose
 * directory does not exist under $MSB_HOME/snapshots is looked up in the index. Newly
 * allocated; *is_path tells which form it was. */
int msb_snapshot_resolve (msb_ctx *ctx, const char *path_or_name, char **out, bool *is_path,
                          msb_error **err);

/* Reads the artifact at absolute `path`. MSB_ERR_SNAPSHOT_NOT_FOUND when the directory or its
 * descriptor is missing. */
int msb_snapshot_load (const char *path, msb_snapshot **out, msb_error **err);

/* "sha256:<hex>" of the whole file `name` in `dir` (the integrity digest of an upper). */
int msb_snapshot_file_digest (int dir, const char *name, char out[72], msb_error **err);

/* "<root>/snapshots", newly allocated. */
char *msb_snapshot_home_dir (msb_ctx *ctx);

#endif
