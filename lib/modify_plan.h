/* The plan of a modify() (msb/modify.h): the requested changes checked against a sandbox's
 * stored config and state, each with its disposition, and the conflicts that block them.
 * Pure: reads the record, changes nothing. lib/modify.c applies a plan. */
#ifndef MSB_LIB_MODIFY_PLAN_H
#define MSB_LIB_MODIFY_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/config.h"
#include "lib/state.h"

typedef struct msb_modify_plan
{
  json_t *changes;    /* PlannedChange objects */
  json_t *conflicts;  /* {field, message} */
  json_t *warnings;   /* {field, message} */
  msb_config *before; /* the stored config */
  msb_config *after;  /* … with every change */
  bool live_cpus;     /* cpus / memory change on the running sandbox now */
  bool live_memory;
  bool needs_restart; /* a change waits for the restart the RESTART policy performs */
} msb_modify_plan;

/* Plans `changes_json` on the sandbox of `row` (`is_live`: its runtime runs; `flags`:
 * MSB_MODIFY_*). Malformed changes (unknown keys, wrong types) are MSB_ERR_INVALID_ARGUMENT;
 * everything else that blocks them becomes a conflict in the plan. */
int msb_modify_plan_make (const char *changes_json, const msb_sandbox_row *row, bool is_live,
                          unsigned flags, msb_modify_plan *out, msb_error **err);

/* Adds {field, message} to conflicts or warnings. */
void msb_modify_note (json_t *list, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

void msb_modify_plan_clear (msb_modify_plan *p);

#endif
