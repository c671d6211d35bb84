/* Payload of core.bootstrap, the host's first frame (API.md §3.5 leaves its schema to the
 * project because host and agent ship together):
 *   {hostname: text|null, env: [text], workdir: text|null, user: text|null,
 *    init: {cmd: text, args: [text], env: [text]} | null, clock_unix_nanos: u64}
 *
 * Owns: that schema. Every key is optional: a missing one means "keep the default".
 * Must never: grow keys the agent cannot ignore — an older agent skips unknown keys.
 */
#include "proto/payload.h"

enum
{
  BOOT_HOSTNAME,
  BOOT_ENV,
  BOOT_WORKDIR,
  BOOT_USER,
  BOOT_INIT,
  BOOT_CLOCK,
  BOOT_N
};
static const char *const bootstrap_keys[] = { "hostname", "env",  "workdir",
                                              "user",     "init", "clock_unix_nanos" };

enum
{
  INIT_CMD,
  INIT_ARGS,
  INIT_ENV,
  INIT_N
};
static const char *const init_keys[] = { "cmd", "args", "env" };

static int
init_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_bootstrap *p = out;
  switch (f)
    {
    case INIT_CMD:
      return msb_pd_cstr (d, &p->init_cmd);
    case INIT_ARGS:
      return msb_pd_strv (d, &p->init_args);
    default:
      return msb_pd_strv (d, &p->init_env);
    }
}

static int
decode_init (msb_pdec *d, msb_msg_bootstrap *p)
{
  if (msb_cbor_take_null (&d->r))
    return 0;
  uint32_t seen;
  if (msb_pd_map (d, init_keys, INIT_N, init_field, p, &seen) < 0)
    return -1;
  return msb_pd_require (d, init_keys, seen, 1u << INIT_CMD);
}

static int
bootstrap_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_bootstrap *p = out;
  switch (f)
    {
    case BOOT_HOSTNAME:
      return msb_pd_cstr_or_null (d, &p->hostname);
    case BOOT_ENV:
      return msb_pd_strv (d, &p->env);
    case BOOT_WORKDIR:
      return msb_pd_cstr_or_null (d, &p->workdir);
    case BOOT_USER:
      return msb_pd_cstr_or_null (d, &p->user);
    case BOOT_INIT:
      return decode_init (d, p);
    default:
      if (msb_cbor_take_null (&d->r))
        return 0;
      return msb_pd_uint (d, UINT64_MAX, &p->clock_unix_nanos);
    }
}

int
msb_payload_decode_bootstrap (msb_pdec *d, msb_msg *m)
{
  msb_msg_bootstrap *p = &m->u.bootstrap;
  uint32_t seen;
  if (msb_pd_map (d, bootstrap_keys, BOOT_N, bootstrap_field, p, &seen) < 0)
    return -1;
  msb_pd_strv_default (d, &p->env);
  msb_pd_strv_default (d, &p->init_args);
  msb_pd_strv_default (d, &p->init_env);
  return 0;
}

static void
encode_init (msb_buf *out, const msb_msg_bootstrap *p)
{
  if (p->init_cmd == NULL)
    {
      msb_cbor_put_null (out);
      return;
    }
  msb_cbor_put_map (out, INIT_N);
  msb_pe_key (out, init_keys[INIT_CMD]);
  msb_cbor_put_cstr (out, p->init_cmd);
  msb_pe_key (out, init_keys[INIT_ARGS]);
  msb_pe_strv (out, p->init_args);
  msb_pe_key (out, init_keys[INIT_ENV]);
  msb_pe_strv (out, p->init_env);
}

void
msb_payload_encode_bootstrap (msb_buf *out, const msb_msg *m)
{
  const msb_msg_bootstrap *p = &m->u.bootstrap;
  msb_cbor_put_map (out, BOOT_N);
  msb_pe_key (out, bootstrap_keys[BOOT_HOSTNAME]);
  msb_pe_cstr_or_null (out, p->hostname);
  msb_pe_key (out, bootstrap_keys[BOOT_ENV]);
  msb_pe_strv (out, p->env);
  msb_pe_key (out, bootstrap_keys[BOOT_WORKDIR]);
  msb_pe_cstr_or_null (out, p->workdir);
  msb_pe_key (out, bootstrap_keys[BOOT_USER]);
  msb_pe_cstr_or_null (out, p->user);
  msb_pe_key (out, bootstrap_keys[BOOT_INIT]);
  encode_init (out, p);
  msb_pe_key (out, bootstrap_keys[BOOT_CLOCK]);
  msb_cbor_put_uint (out, p->clock_unix_nanos);
}
