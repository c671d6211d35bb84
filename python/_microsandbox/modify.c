/* Live modification (msb/modify.h) as a Context method: the asyncio layer builds the changes
 * JSON from modify()'s keyword arguments and turns the plan JSON back into the SDK's dict. */
#include "module.h"

PyObject *
msbpy_sandbox_modify (msbpy_context *self, PyObject *args)
{
  const char *name, *changes;
  unsigned flags = 0;
  if (!PyArg_ParseTuple (args, "ss|I:sandbox_modify", &name, &changes, &flags))
    return NULL;
  msb_error *err = NULL;
  char *plan = NULL;
  if (MSBPY_NOGIL (msb_sandbox_modify (self->ctx, name, changes, flags, &plan, &err)) < 0)
    return msbpy_raise (err);
  return msbpy_str_take (plan);
}
