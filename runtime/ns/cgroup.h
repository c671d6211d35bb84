/* Private layout of a sandbox's cgroups, shared by cgroup.c (detection, dispatch, teardown),
 * cgroup_v1.c and cgroup_v2.c. Only cgroups the runtime created are ever touched: every path
 * here ends in msb/<id>. */
#ifndef MSB_RUNTIME_NS_CGROUP_H
#define MSB_RUNTIME_NS_CGROUP_H

#include <stdbool.h>

#include "runtime/ns/ns.h"

#define MSB_CGROUP_ROOT "/sys/fs/cgroup"
#define MSB_CGROUP_PARENT "msb"

enum msb_cg_controller
{
  MSB_CG_MEMORY = 0,
  MSB_CG_CPU,
  MSB_CG_CPUACCT,
  MSB_CG_PIDS,
  MSB_CG_BLKIO,
  MSB_CG__COUNT
};

struct msb_cgroup
{
  bool unified;               /* pure v2 host: everything in v2_path */
  char *v2_path;              /* v2 cgroup (pure v2, or the hybrid unified tree for kill) */
  char *v1_paths[MSB_CG__COUNT]; /* per controller; several may share a hierarchy */
};

/* Host layout, detected once. */
typedef struct msb_cg_layout
{
  bool unified;
  char *v2_mount;                 /* NULL when there is no v2 tree */
  char *v1_mounts[MSB_CG__COUNT]; /* NULL when the controller is not mounted */
} msb_cg_layout;

const msb_cg_layout *msb_cg_layout_get (void);

int msb_cg_v1_create (struct msb_cgroup *cg, const msb_cg_layout *l, const char *id,
                      const msb_cgroup_limits *limits, msb_error **err);
int msb_cg_v1_sample (struct msb_cgroup *cg, msb_cgroup_sample *s);

int msb_cg_v2_create (const char *mount, const char *id, bool with_controllers,
                      const msb_cgroup_limits *limits, char **out_path, msb_error **err);
int msb_cg_v2_sample (struct msb_cgroup *cg, msb_cgroup_sample *s);

/* Reads an unsigned counter from a cgroup file; 0 when absent. */
uint64_t msb_cg_read_u64 (const char *dir, const char *file);
/* Writes a knob; a missing knob is an error only when `required`. */
int msb_cg_write (const char *dir, const char *file, const char *value, bool required,
                  msb_error **err);

#endif
