/* Named volumes (API.md §1.13): storage that outlives sandboxes, kept under
 * $MSB_HOME/volumes/<name>/ and mounted into sandboxes by name (msb_config_add_named_mount).
 *
 *   directory volume  a host directory; `quota_mib` is advisory (reported, and a volume at or
 *                     over its quota is mounted read-only at the next boot) — the host has no
 *                     per-directory quota this could enforce during a run.
 *   disk volume       a sparse ext4 image of `size_mib` (volumes/<name>/disk.raw), mounted
 *                     through a loop device: writes beyond its size fail with ENOSPC inside
 *                     the sandbox.
 *
 * Ownership: files in a volume are stored under a fixed unprivileged host id range (the
 * sandbox's root is host uid 1073676288, uid N is 1073676288 + N) and mapped into every
 * sandbox with an idmapped mount, so any sandbox sees the same owners and no sandbox can
 * create a file owned by the host's root.
 *
 * The host-side file calls (msb_volume_fs_*) take paths relative to the volume root and
 * refuse anything that would leave it ("..", absolute paths, symlinks pointing out). They
 * work on directory volumes; disk volumes are only reachable through a sandbox
 * (MSB_ERR_UNSUPPORTED), since mounting a filesystem a sandbox may be using would corrupt it.
 *
 * Errors: MSB_ERR_VOLUME_NOT_FOUND for an unknown name, MSB_ERR_GENERIC for a duplicate
 * create or a volume in use by a running sandbox, MSB_ERR_INVALID_CONFIG for bad names or
 * sizes, MSB_ERR_FILESYSTEM / MSB_ERR_IO from the file calls. Thread-safe like msb_ctx. */
#ifndef MSB_VOLUME_H
#define MSB_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>
#include <msb/fs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;
typedef struct msb_volume_info msb_volume_info;

typedef enum msb_volume_kind
{
  MSB_VOLUME_DIR = 0, /* "dir" */
  MSB_VOLUME_DISK,    /* "disk" */
} msb_volume_kind;

/* "dir" or "disk". */
const char *msb_volume_kind_name (msb_volume_kind kind);

/* Options of msb_volume_create(). Zero-initialise and set `size = sizeof (msb_volume_opts)`;
 * NULL means a directory volume without quota. */
typedef struct msb_volume_opts
{
  uint32_t size;
  msb_volume_kind kind;
  uint64_t size_mib;         /* disk volumes: required (≥ 8) */
  uint64_t quota_mib;        /* directory volumes: advisory quota, 0 = none */
  const char *const *labels; /* "K=V", NULL-terminated; may be NULL */
} msb_volume_opts;

/* Creates volume `name`. On success *out (may be NULL) describes it. */
int msb_volume_create (msb_ctx *ctx, const char *name, const msb_volume_opts *opts,
                       msb_volume_info **out, msb_error **err);
int msb_volume_get (msb_ctx *ctx, const char *name, msb_volume_info **out, msb_error **err);
/* All volumes, by name. Free with msb_volume_info_list_free(). */
int msb_volume_list (msb_ctx *ctx, msb_volume_info ***out, size_t *n, msb_error **err);
/* Deletes a volume and its data. Refused while a running sandbox mounts it. */
int msb_volume_remove (msb_ctx *ctx, const char *name, msb_error **err);

void msb_volume_info_free (msb_volume_info *info);
void msb_volume_info_list_free (msb_volume_info **list, size_t n);

const char *msb_volume_info_name (const msb_volume_info *info);
msb_volume_kind msb_volume_info_kind (const msb_volume_info *info);
/* The host directory of the volume ($MSB_HOME/volumes/<name>). */
const char *msb_volume_info_path (const msb_volume_info *info);
/* Directory quota in MiB, 0 = none. */
uint64_t msb_volume_info_quota_mib (const msb_volume_info *info);
/* Bytes the volume occupies on the host (allocated blocks; for a disk volume, its image's). */
uint64_t msb_volume_info_used_bytes (const msb_volume_info *info);
/* Disk volumes: the image size in bytes; directory volumes: the quota in bytes, or 0. */
uint64_t msb_volume_info_capacity_bytes (const msb_volume_info *info);
/* "raw" and "ext4" for disk volumes, NULL for directory volumes. */
const char *msb_volume_info_disk_format (const msb_volume_info *info);
const char *msb_volume_info_disk_fstype (const msb_volume_info *info);
/* Labels as a JSON object text ("{}" when none). */
const char *msb_volume_info_labels_json (const msb_volume_info *info);
/* Milliseconds since the Unix epoch. */
int64_t msb_volume_info_created_at (const msb_volume_info *info);

/* ---- host-side files of a directory volume (paths relative to its root) ---- */

int msb_volume_fs_read (msb_ctx *ctx, const char *volume, const char *path, uint8_t **data,
                        size_t *len, msb_error **err);
/* Creates or truncates; the parent must exist. New files belong to the volume's root user. */
int msb_volume_fs_write (msb_ctx *ctx, const char *volume, const char *path, const void *data,
                         size_t len, msb_error **err);
int msb_volume_fs_list (msb_ctx *ctx, const char *volume, const char *path,
                        msb_fs_entry **entries, size_t *n, msb_error **err);
int msb_volume_fs_mkdir (msb_ctx *ctx, const char *volume, const char *path, msb_error **err);
int msb_volume_fs_remove_file (msb_ctx *ctx, const char *volume, const char *path,
                               msb_error **err);
int msb_volume_fs_remove_dir (msb_ctx *ctx, const char *volume, const char *path,
                              msb_error **err);
int msb_volume_fs_copy (msb_ctx *ctx, const char *volume, const char *from, const char *to,
                        msb_error **err);
int msb_volume_fs_rename (msb_ctx *ctx, const char *volume, const char *from, const char *to,
                          msb_error **err);
int msb_volume_fs_stat (msb_ctx *ctx, const char *volume, const char *path,
                        msb_fs_metadata *out, msb_error **err);
int msb_volume_fs_exists (msb_ctx *ctx, const char *volume, const char *path, bool *out,
                          msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
