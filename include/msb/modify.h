/* Live modification of a sandbox (API.md §1.8): change its resources and configuration, live
 * where the backend can, otherwise at its next start or through a restart — all or nothing.
 *
 * `changes_json` is an object with any of:
 *   "cpus", "max_cpus"            integers (1..128)
 *   "memory", "max_memory"        MiB (≥ 16)
 *   "root_disk_size"              MiB: a new, larger limit of a size-limited writable layer
 *   "env": {K: V}, "env_rm": [K]  environment of future commands
 *   "labels": {K: V}, "labels_rm": [K]
 *   "workdir"                     absolute path
 *   "secrets": {NAME: {...}}, "secrets_rm": [NAME]
 * and the result (*plan_json, free()) is the SandboxModificationPlan of §1.8:
 *   {"sandbox", "status", "applied", "policy", "changes": [{"kind", "field", "key"?, "change",
 *    "disposition", "before"?, "after"?, "reason"}], "conflicts": [{"field", "message"}],
 *    "warnings": [{"field", "message"}], "resize_status"?: [{"resource", "requested", "actual",
 *    "enforced", "state"}]}
 *
 * Dispositions: "live" — applied to the running sandbox now (cpus and memory up to the
 * max_cpus / max_memory it booted with, on a backend that can resize live; labels, which
 * are host metadata); "next start" — stored, the running sandbox keeps the old value (always
 * the case for a sandbox that is not running); "requires restart" — cannot change while it
 * runs: with MSB_MODIFY_RESTART the sandbox is restarted (detached) to apply it, with no
 * policy flag it is a conflict; "unsupported" — secrets (they need sandbox networking).
 *
 * All or nothing: any conflict (invalid values, cpus above max_cpus, a change that needs a
 * restart under the default policy, an unsupported change, a live resize the sandbox
 * refuses) leaves everything as it was: "applied" false, the reasons in "conflicts". A plan
 * with conflicts is still a successful call; errors are for what prevents planning at all
 * (unknown sandbox, malformed changes: MSB_ERR_INVALID_ARGUMENT). */
#ifndef MSB_MODIFY_H
#define MSB_MODIFY_H

#include <msb/error.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

  typedef struct msb_ctx msb_ctx;

  /* Flags of msb_sandbox_modify(). Without a policy flag the policy is "no_restart". */
  enum
  {
    MSB_MODIFY_DRY_RUN = 1u << 0,    /* plan only: nothing is applied ("applied" false) */
    MSB_MODIFY_NEXT_START = 1u << 1, /* policy "next_start": store what cannot apply live */
    MSB_MODIFY_RESTART = 1u << 2,    /* policy "restart": restart to apply what cannot be live */
  };

  /* Plans, and unless MSB_MODIFY_DRY_RUN applies, `changes_json` on sandbox `name` (see above).
   * Holds the sandbox's lifecycle lock: no start, stop or remove interleaves. */
  int msb_sandbox_modify (msb_ctx *ctx, const char *name, const char *changes_json, unsigned flags,
                          char **plan_json, msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
