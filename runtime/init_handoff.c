/* Custom init handoff, runtime side (see init_handoff.h). The agent does the rest: it forks,
 * its child keeps serving, and PID 1 executes the init (agent/init.c). */
#include "runtime/init_handoff.h"

#include <string.h>

#include "common/util.h"
#include "runtime/runtime.h"

/* Built once per runtime process (one sandbox, one bootstrap per boot). */
static char **resolved_args;
static char **resolved_env;

void
msb_runtime_init_bootstrap (const msb_runtime *rt, msb_msg_bootstrap *b)
{
  const msb_config_files *f = &rt->cfg->files;
  if (f->init_cmd == NULL)
    return;
  char **entry = rt->image.config.entrypoint;
  bool from_image = strcmp (f->init_cmd, "auto") == 0 && entry && entry[0] && entry[0][0] == '/';
  size_t n_entry = from_image ? msb_strv_len (entry) - 1 : 0;
  size_t n_args = msb_strv_len (f->init_args);
  if (resolved_args == NULL)
    {
      resolved_args = msb_xcalloc (n_entry + n_args + 1, sizeof (char *));
      for (size_t i = 0; i < n_entry; i++)
        resolved_args[i] = msb_xstrdup (entry[i + 1]);
      for (size_t i = 0; i < n_args; i++)
        resolved_args[n_entry + i] = msb_xstrdup (f->init_args[i]);
      resolved_env = msb_kvlist_to_envv (&f->init_env);
    }
  b->init_cmd = from_image ? entry[0] : f->init_cmd;
  b->init_args = resolved_args;
  b->init_env = resolved_env;
}
