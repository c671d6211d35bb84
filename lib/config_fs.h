/* The parts of a sandbox config that shape its filesystem and its first process: volume
 * mounts (API.md §1.13), patches (§1.14), the custom init (§1.18 InitConfig) and the size
 * limit of the writable layer (upper_size_mib). Setters in config_fs.c validate what a
 * config can know on its own (paths, names, sizes); what needs the state root (volumes
 * exist, host sources are readable) is checked again at create and at boot. Their JSON
 * form (§1.20 `mounts`, `patches`, `init`, image.Oci.root_disk) is in config_fs_json.c. */
#ifndef MSB_LIB_CONFIG_FS_H
#define MSB_LIB_CONFIG_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/kv.h"

typedef enum msb_mount_kind_internal
{
  MSB_MOUNT_KIND_BIND = 1,
  MSB_MOUNT_KIND_NAMED,
  MSB_MOUNT_KIND_TMPFS,
} msb_mount_kind_internal;

typedef struct msb_mount_spec
{
  int kind;            /* msb_mount_kind_internal */
  char *source;        /* bind: absolute host directory; named: volume name; tmpfs: NULL */
  char *target;        /* absolute guest path, normalised */
  unsigned flags;      /* MSB_MOUNT_READONLY | NOEXEC | NOSUID | NODEV */
  int named_mode;      /* msb_named_mode */
  int named_kind;      /* msb_volume_kind, for create / ensure-exists */
  uint64_t size_mib;   /* tmpfs size (0 = kernel default); disk volume size when created */
  uint64_t quota_mib;  /* directory volume quota when created (0 = none) */
} msb_mount_spec;

typedef enum msb_patch_kind
{
  MSB_PATCH_TEXT = 1,
  MSB_PATCH_FILE,
  MSB_PATCH_APPEND,
  MSB_PATCH_MKDIR,
  MSB_PATCH_REMOVE,
  MSB_PATCH_COPY_FILE,
  MSB_PATCH_COPY_DIR,
  MSB_PATCH_SYMLINK,
} msb_patch_kind;

typedef struct msb_patch_spec
{
  int kind;          /* msb_patch_kind */
  char *path;        /* guest path acted on (copy: destination; symlink: the link) */
  char *src;         /* copy_file / copy_dir: absolute host path; symlink: its target */
  uint8_t *content;  /* text / file / append */
  size_t content_len;
  int mode;          /* -1 = default */
  bool replace;
} msb_patch_spec;

typedef struct msb_config_files
{
  msb_mount_spec *mounts;
  size_t n_mounts;
  msb_patch_spec *patches;
  size_t n_patches;
  char *init_cmd;        /* "auto" or an absolute guest path; NULL = no custom init */
  char **init_args;      /* argv[1..] */
  msb_kvlist init_env;
  unsigned upper_size_mib; /* 0 = the writable layer is a plain directory */
} msb_config_files;

struct msb_config;

void msb_config_files_clear (struct msb_config *cfg);
void msb_config_files_copy (struct msb_config *dst, const struct msb_config *src);

/* "patch 3 (text /etc/motd)": how errors name a patch. Newly allocated. */
char *msb_patch_describe (const msb_patch_spec *p, size_t index);
const char *msb_patch_kind_name (int kind);

/* Guest path rules shared by mounts and patches: absolute, at most 4096 bytes, no control
 * characters, no "." or ".." component; returned normalised (no repeated or trailing '/').
 * NULL + *err naming `option` when invalid. */
char *msb_guest_path_normalise (const char *option, const char *path, msb_error **err);

/* Volume and sandbox-style names: 1..128 bytes, no '/', not "." / "..", no control chars. */
int msb_volume_name_validate (const char *name, msb_error **err);

#endif
