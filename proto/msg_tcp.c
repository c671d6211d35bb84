/* Payloads of the guest-side TCP dial (API.md §3.5, generation 4): core.tcp.connect
 * {host, port} and core.tcp.failed {error}; connected/eof/close/closed are empty and
 * core.tcp.data uses the shared data codec.
 *
 * Owns: those two payloads.
 * Must never: resolve or validate the host — that is the agent's policy, not the codec's.
 */
#include "proto/payload.h"

enum
{
  CONNECT_HOST,
  CONNECT_PORT,
  CONNECT_N
};
static const char *const connect_keys[] = { "host", "port" };
static const char *const failed_keys[] = { "error" };

static int
connect_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_tcp_connect *p = out;
  if (f == CONNECT_HOST)
    return msb_pd_cstr (d, &p->host);
  return msb_pd_u16 (d, &p->port);
}

void
msb_payload_encode_tcp_connect (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, CONNECT_N);
  msb_pe_key (out, connect_keys[CONNECT_HOST]);
  msb_cbor_put_cstr (out, m->u.tcp_connect.host);
  msb_pe_key (out, connect_keys[CONNECT_PORT]);
  msb_cbor_put_uint (out, m->u.tcp_connect.port);
}

int
msb_payload_decode_tcp_connect (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, connect_keys, CONNECT_N, connect_field, &m->u.tcp_connect, &seen) < 0)
    return -1;
  return msb_pd_require (d, connect_keys, seen, (1u << CONNECT_N) - 1);
}

static int
failed_field (msb_pdec *d, unsigned f, void *out)
{
  return msb_pd_cstr (d, out);
}

void
msb_payload_encode_tcp_failed (msb_buf *out, const msb_msg *m)
{
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, failed_keys[0]);
  msb_cbor_put_cstr (out, m->u.tcp_failed.error);
}

/* A failure without a reason is still a failure: a missing error reads as "". */
int
msb_payload_decode_tcp_failed (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, failed_keys, 1, failed_field, &m->u.tcp_failed.error, &seen) < 0)
    return -1;
  if (m->u.tcp_failed.error == NULL)
    m->u.tcp_failed.error = msb_arena_strndup (d->arena, "", 0);
  return 0;
}
