/* Payloads of the control messages (API.md §3.5): empty ones, core.shutdown, the data chunk
 * shared by stdio/fs/tcp streams, core.init.resolved, core.ready,
 * core.relay.client.disconnected, core.clock.sync, core.touched and core.error.
 *
 * Owns: key names and which keys are required, defaulted or omitted for these messages.
 * Must never: reject a payload for keys it does not know (a newer peer may add some).
 */
#include "proto/payload.h"

/* ---- {} and null -------------------------------------------------------------------- */

void
msb_payload_encode_empty (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 0);
}

/* Whatever a newer peer put in the map is ignored, but it must be a well-formed map. */
int
msb_payload_decode_empty (msb_pdec *d, msb_msg *m)
{
  msb_cbor_type t = msb_cbor_peek (&d->r);
  if (t != MSB_CBOR_MAP && t != MSB_CBOR_INVALID) /* let skip name what is wrong */
    return msb_pd_fail (d, "payload is not a map");
  return msb_cbor_skip (&d->r);
}

void
msb_payload_encode_shutdown (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_null (out);
}

/* §3.5 specifies null; a map (the form every other payload-less message uses) is accepted
 * too, since refusing to shut down over the payload's spelling helps nobody. */
int
msb_payload_decode_shutdown (msb_pdec *d, msb_msg *m)
{
  if (msb_cbor_take_null (&d->r))
    return 0;
  return msb_payload_decode_empty (d, m);
}

/* ---- {data} ------------------------------------------------------------------------- */

static const char *const data_keys[] = { "data" };

static int
data_field (msb_pdec *d, unsigned f, void *out)
{
  return msb_pd_bytes (d, &((msb_msg_data *) out)->data);
}

void
msb_payload_encode_data (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, data_keys[0]);
  msb_cbor_put_bytes (out, m->u.data.data.data, m->u.data.data.len);
}

int
msb_payload_decode_data (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, data_keys, 1, data_field, &m->u.data, &seen) < 0)
    return -1;
  return msb_pd_require (d, data_keys, seen, 1u);
}

/* ---- core.init.resolved {default_user: {uid, gid}} ---------------------------------- */

static const char *const init_resolved_keys[] = { "default_user" };
enum
{
  USER_UID,
  USER_GID,
  USER_N
};
static const char *const user_keys[] = { "uid", "gid" };

static int
user_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_init_resolved *p = out;
  return msb_pd_u32 (d, f == USER_UID ? &p->uid : &p->gid);
}

static int
init_resolved_field (msb_pdec *d, unsigned f, void *out)
{
  uint32_t seen;
  if (msb_pd_map (d, user_keys, USER_N, user_field, out, &seen) < 0)
    return -1;
  return msb_pd_require (d, user_keys, seen, (1u << USER_N) - 1);
}

void
msb_payload_encode_init_resolved (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, init_resolved_keys[0]);
  msb_cbor_put_map (out, 2);
  msb_pe_key (out, user_keys[USER_UID]);
  msb_cbor_put_uint (out, m->u.init_resolved.uid);
  msb_pe_key (out, user_keys[USER_GID]);
  msb_cbor_put_uint (out, m->u.init_resolved.gid);
}

int
msb_payload_decode_init_resolved (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, init_resolved_keys, 1, init_resolved_field, &m->u.init_resolved, &seen) < 0)
    return -1;
  return msb_pd_require (d, init_resolved_keys, seen, 1u);
}

/* ---- core.ready --------------------------------------------------------------------- */

enum
{
  READY_BOOT,
  READY_INIT,
  READY_READY,
  READY_VERSION,
  READY_N
};
static const char *const ready_keys[] = { "boot_time_ns", "init_time_ns", "ready_time_ns",
                                          "agent_version" };

/* The timings are diagnostics: missing or null reads as 0 rather than refusing the agent. */
static int
ready_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_ready *p = out;
  uint64_t *times[] = { &p->boot_time_ns, &p->init_time_ns, &p->ready_time_ns };
  if (f == READY_VERSION)
    return msb_pd_cstr_or_null (d, &p->agent_version);
  if (msb_cbor_take_null (&d->r))
    return 0;
  return msb_pd_uint (d, UINT64_MAX, times[f]);
}

void
msb_payload_encode_ready (msb_buf *out, const msb_msg *m)
{
  const msb_msg_ready *p = &m->u.ready;
  bool has_version = p->agent_version != NULL && p->agent_version[0] != '\0';
  msb_cbor_put_map (out, has_version ? 4 : 3);
  msb_pe_key (out, ready_keys[READY_BOOT]);
  msb_cbor_put_uint (out, p->boot_time_ns);
  msb_pe_key (out, ready_keys[READY_INIT]);
  msb_cbor_put_uint (out, p->init_time_ns);
  msb_pe_key (out, ready_keys[READY_READY]);
  msb_cbor_put_uint (out, p->ready_time_ns);
  if (has_version)
    {
      msb_pe_key (out, ready_keys[READY_VERSION]);
      msb_cbor_put_cstr (out, p->agent_version);
    }
}

int
msb_payload_decode_ready (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  return msb_pd_map (d, ready_keys, READY_N, ready_field, &m->u.ready, &seen);
}

/* ---- core.relay.client.disconnected ------------------------------------------------- */

static const char *const disconnected_keys[] = { "id_start", "id_end_exclusive" };

static int
disconnected_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_relay_client_disconnected *p = out;
  return msb_pd_u32 (d, f == 0 ? &p->id_start : &p->id_end_exclusive);
}

void
msb_payload_encode_relay_client_disconnected (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 2);
  msb_pe_key (out, disconnected_keys[0]);
  msb_cbor_put_uint (out, m->u.relay_client_disconnected.id_start);
  msb_pe_key (out, disconnected_keys[1]);
  msb_cbor_put_uint (out, m->u.relay_client_disconnected.id_end_exclusive);
}

int
msb_payload_decode_relay_client_disconnected (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, disconnected_keys, 2, disconnected_field, &m->u.relay_client_disconnected,
                  &seen)
      < 0)
    return -1;
  return msb_pd_require (d, disconnected_keys, seen, 3u);
}

/* ---- core.clock.sync {unix_time_nanos} and core.touched {activity_seq} -------------- */

static const char *const clock_sync_keys[] = { "unix_time_nanos" };
static const char *const touched_keys[] = { "activity_seq" };

static int
u64_field (msb_pdec *d, unsigned f, void *out)
{
  return msb_pd_uint (d, UINT64_MAX, out);
}

static void
encode_one_u64 (msb_buf *out, const char *key, uint64_t v)
{
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, key);
  msb_cbor_put_uint (out, v);
}

static int
decode_one_u64 (msb_pdec *d, const char *const *keys, uint64_t *v)
{
  uint32_t seen;
  if (msb_pd_map (d, keys, 1, u64_field, v, &seen) < 0)
    return -1;
  return msb_pd_require (d, keys, seen, 1u);
}

void
msb_payload_encode_clock_sync (msb_buf *out, const msb_msg *m)
{
  encode_one_u64 (out, clock_sync_keys[0], m->u.clock_sync.unix_time_nanos);
}

int
msb_payload_decode_clock_sync (msb_pdec *d, msb_msg *m)
{
  return decode_one_u64 (d, clock_sync_keys, &m->u.clock_sync.unix_time_nanos);
}

void
msb_payload_encode_touched (msb_buf *out, const msb_msg *m)
{
  encode_one_u64 (out, touched_keys[0], m->u.touched.activity_seq);
}

int
msb_payload_decode_touched (msb_pdec *d, msb_msg *m)
{
  return decode_one_u64 (d, touched_keys, &m->u.touched.activity_seq);
}

/* ---- core.error {kind, message, offending_type?} ------------------------------------ */

enum
{
  ERROR_KIND,
  ERROR_MESSAGE,
  ERROR_OFFENDING,
  ERROR_N
};
static const char *const error_keys[] = { "kind", "message", "offending_type" };

static int
error_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_error *p = out;
  char *kind;
  switch (f)
    {
    case ERROR_KIND:
      /* A kind this generation does not know still reports an error: it reads as NONE. */
      if (msb_pd_cstr (d, &kind) < 0)
        return -1;
      p->kind = msb_proto_error_kind_from_name (kind);
      return 0;
    case ERROR_MESSAGE:
      return msb_pd_cstr (d, &p->message);
    default:
      return msb_pd_cstr_or_null (d, &p->offending_type);
    }
}

void
msb_payload_encode_error (msb_buf *out, const msb_msg *m)
{
  const msb_msg_error *p = &m->u.error;
  msb_cbor_put_map (out, p->offending_type ? 3 : 2);
  msb_pe_key (out, error_keys[ERROR_KIND]);
  msb_cbor_put_cstr (out, msb_proto_error_kind_name (p->kind));
  msb_pe_key (out, error_keys[ERROR_MESSAGE]);
  msb_cbor_put_cstr (out, p->message);
  if (p->offending_type)
    {
      msb_pe_key (out, error_keys[ERROR_OFFENDING]);
      msb_cbor_put_cstr (out, p->offending_type);
    }
}

int
msb_payload_decode_error (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, error_keys, ERROR_N, error_field, &m->u.error, &seen) < 0)
    return -1;
  if (msb_pd_require (d, error_keys, seen, 1u << ERROR_KIND) < 0)
    return -1;
  if (m->u.error.message == NULL)
    m->u.error.message = msb_arena_strndup (d->arena, "", 0);
  return 0;
}
