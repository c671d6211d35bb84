/* §1.20 JSON of the config parts in config_fs.h (see config_fs_json.c). */
#ifndef MSB_LIB_CONFIG_FS_JSON_H
#define MSB_LIB_CONFIG_FS_JSON_H

#include <jansson.h>

struct msb_config;

json_t *msb_config_mounts_json (const struct msb_config *cfg);
json_t *msb_config_patches_json (const struct msb_config *cfg);
json_t *msb_config_init_json (const struct msb_config *cfg);
/* Adds "root_disk" to the image's "Oci" object when an upper size is set. */
void msb_config_root_disk_json (const struct msb_config *cfg, json_t *oci);
/* Reads mounts, patches, init and image.Oci.root_disk of a stored config. */
void msb_config_files_from_json (json_t *root, struct msb_config *cfg);

#endif
