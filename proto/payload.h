/* The interface between the envelope (envelope.c) and the per-message payload codecs
 * (msg_*.c), plus the field readers and writers they share (payload_read.c, payload_write.c).
 *
 * Owns: the rules every payload follows — maps with text keys, unknown keys skipped,
 * duplicate known keys rejected, text copied into the message arena as C strings without
 * embedded NULs, integers range-checked against their C field, null accepted wherever the
 * field has a default.
 * Must never: be included outside proto/.
 */
#ifndef MSB_PROTO_PAYLOAD_H
#define MSB_PROTO_PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/cbor.h"
#include "proto/internal.h"
#include "proto/proto.h"

/* Decoding state of one payload. */
typedef struct msb_pdec
{
  msb_cbor_reader r;
  msb_arena **arena;
  const char *key; /* key whose value is being read, for the error reason */
  const char *why; /* failure reason when it is not the reader's own */
} msb_pdec;

/* Records `why` (the first reason wins) and returns -1. */
int msb_pd_fail (msb_pdec *d, const char *why);

/* Called for each known key of a map with the key's index in the list given to msb_pd_map;
 * it must consume exactly the value. */
typedef int (*msb_pd_field_fn) (msb_pdec *d, unsigned field, void *out);

/* Reads a map whose known keys are keys[0..n) (n <= 32). Values of other keys (and of
 * non-text keys) are skipped; a known key present twice is an error, since two readers
 * picking different copies would see different messages. Bit i of *seen is set when keys[i]
 * was present. */
int msb_pd_map (msb_pdec *d, const char *const *keys, unsigned n, msb_pd_field_fn fn, void *out,
                uint32_t *seen);
/* Fails naming the first key of `required` (a mask of key indices) missing from `seen`. */
int msb_pd_require (msb_pdec *d, const char *const *keys, uint32_t seen, uint32_t required);

/* Text as an arena C string; embedded NUL is an error (a path would silently shorten). */
int msb_pd_cstr (msb_pdec *d, char **out);
/* Same, null -> NULL. */
int msb_pd_cstr_or_null (msb_pdec *d, char **out);
/* Array of text -> NULL-terminated arena vector, never NULL (null -> empty vector). */
int msb_pd_strv (msb_pdec *d, char ***out);
/* Sets a vector the payload did not carry to an empty one: decoded vectors are never NULL,
 * so consumers walk them without checks. */
void msb_pd_strv_default (msb_pdec *d, char ***v);
/* Zero-copy byte string. */
int msb_pd_bytes (msb_pdec *d, msb_bytes *out);
int msb_pd_bool (msb_pdec *d, bool *out);
/* Unsigned integer <= max. */
int msb_pd_uint (msb_pdec *d, uint64_t max, uint64_t *out);
int msb_pd_u32 (msb_pdec *d, uint32_t *out);
int msb_pd_u16 (msb_pdec *d, uint16_t *out);
/* Integer within [min, max]. */
int msb_pd_int (msb_pdec *d, int64_t min, int64_t max, int64_t *out);
int msb_pd_i32 (msb_pdec *d, int32_t *out);
/* Optional forms: null leaves *has false and *out untouched. */
int msb_pd_opt_u64 (msb_pdec *d, bool *has, uint64_t *out);
int msb_pd_opt_u32 (msb_pdec *d, bool *has, uint32_t *out);
int msb_pd_opt_i64 (msb_pdec *d, bool *has, int64_t *out);
int msb_pd_opt_i32 (msb_pdec *d, bool *has, int32_t *out);
/* Reads a CBOR array into an arena block of count + 1 zeroed elements of `elem_size` bytes
 * (the spare one terminates vectors), allocated only after the whole array has been walked
 * once, so the count is one that really exists. Calls `fn` on each element. */
typedef int (*msb_pd_elem_fn) (msb_pdec *d, void *elem);
int msb_pd_array (msb_pdec *d, size_t elem_size, msb_pd_elem_fn fn, void **out, size_t *n);

/* ---- writers ---- */

void msb_pe_key (msb_buf *out, const char *key);
void msb_pe_cstr_or_null (msb_buf *out, const char *s);
/* NULL vector -> empty array. */
void msb_pe_strv (msb_buf *out, char *const *v);
void msb_pe_opt_uint (msb_buf *out, bool has, uint64_t v);
void msb_pe_opt_int (msb_buf *out, bool has, int64_t v);

/* ---- per-type payload codecs ---- */

typedef void (*msb_payload_encode_fn) (msb_buf *out, const msb_msg *m);
/* Decodes one payload item at d->r into m->u; the envelope checks nothing follows it. */
typedef int (*msb_payload_decode_fn) (msb_pdec *d, msb_msg *m);

#define MSB_PAYLOAD_CODEC(name)                                   \
  void msb_payload_encode_##name (msb_buf *out, const msb_msg *m); \
  int msb_payload_decode_##name (msb_pdec *d, msb_msg *m)

MSB_PAYLOAD_CODEC (empty);    /* {} — and shutdown's null, decided by the envelope */
MSB_PAYLOAD_CODEC (shutdown);
MSB_PAYLOAD_CODEC (data);     /* exec.stdin/stdout/stderr, fs.data, tcp.data */
MSB_PAYLOAD_CODEC (bootstrap);
MSB_PAYLOAD_CODEC (init_resolved);
MSB_PAYLOAD_CODEC (ready);
MSB_PAYLOAD_CODEC (relay_client_disconnected);
MSB_PAYLOAD_CODEC (clock_sync);
MSB_PAYLOAD_CODEC (touched);
MSB_PAYLOAD_CODEC (error);
MSB_PAYLOAD_CODEC (exec_request);
MSB_PAYLOAD_CODEC (exec_started);
MSB_PAYLOAD_CODEC (exec_stdin_error);
MSB_PAYLOAD_CODEC (exec_exited);
MSB_PAYLOAD_CODEC (exec_failed);
MSB_PAYLOAD_CODEC (exec_resize);
MSB_PAYLOAD_CODEC (exec_signal);
MSB_PAYLOAD_CODEC (fs_request);
MSB_PAYLOAD_CODEC (fs_response);
MSB_PAYLOAD_CODEC (tcp_connect);
MSB_PAYLOAD_CODEC (tcp_failed);

#endif
