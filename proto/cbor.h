/* A small, strict CBOR codec (RFC 8949 subset) for the wire protocol.
 *
 * Owns: the byte-level encoding of CBOR items into an msb_buf, and a cursor that reads items
 * from a byte range it does not own.
 *
 * Must never: allocate while decoding (text and byte strings are returned as pointers into
 * the input), trust a declared length or count before checking it against the bytes that are
 * actually left, accept indefinite-length items, or recurse deeper than MSB_CBOR_MAX_DEPTH.
 *
 * Why not libcbor: Debian ships it without a static archive and the agent is a static binary;
 * the protocol needs only definite-length maps, arrays, text, bytes, integers, bool and null.
 * The reader can still step over floats, tags, undefined and simple values when it skips an
 * unknown key's value.
 */
#ifndef MSB_PROTO_CBOR_H
#define MSB_PROTO_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Deepest nesting of containers and tags the reader follows. The protocol itself needs 5. */
#define MSB_CBOR_MAX_DEPTH 32u

/* ---- encoder: each call appends one item (or a container head) to `out` ------------- */

void msb_cbor_put_uint (msb_buf *out, uint64_t v);
void msb_cbor_put_int (msb_buf *out, int64_t v);
void msb_cbor_put_bytes (msb_buf *out, const void *data, size_t len);
void msb_cbor_put_text (msb_buf *out, const char *s, size_t len);
/* A C string as text; NULL is written as the empty string. */
void msb_cbor_put_cstr (msb_buf *out, const char *s);
/* Heads of definite-length containers; the caller then appends `n` items (2n for a map:
 * key, value, key, value…). */
void msb_cbor_put_array (msb_buf *out, uint64_t n);
void msb_cbor_put_map (msb_buf *out, uint64_t n);
void msb_cbor_put_bool (msb_buf *out, bool v);
void msb_cbor_put_null (msb_buf *out);
/* Head of a byte string of `len` bytes whose content the caller appends itself. */
void msb_cbor_put_bytes_head (msb_buf *out, uint64_t len);
#define MSB_CBOR_MAJOR_BYTES 2u
/* Size in bytes of the head of an item whose argument is `arg` (1, 2, 3, 5 or 9). */
size_t msb_cbor_head_size (uint64_t arg);
/* Writes the head of `major` (0..7) with argument `arg` at `dst`, which has room for
 * msb_cbor_head_size(arg) bytes; returns the bytes written. */
size_t msb_cbor_write_head (uint8_t *dst, unsigned major, uint64_t arg);

/* ---- decoder ------------------------------------------------------------------------ */

typedef enum msb_cbor_type
{
  MSB_CBOR_END = 0, /* no bytes left */
  MSB_CBOR_UINT,
  MSB_CBOR_NINT,
  MSB_CBOR_BYTES,
  MSB_CBOR_TEXT,
  MSB_CBOR_ARRAY,
  MSB_CBOR_MAP,
  MSB_CBOR_TAG,
  MSB_CBOR_BOOL,
  MSB_CBOR_NULL,
  MSB_CBOR_UNDEFINED,
  MSB_CBOR_FLOAT,
  MSB_CBOR_SIMPLE,
  MSB_CBOR_INVALID, /* an initial byte no well-formed item starts with, or a break */
} msb_cbor_type;

/* A cursor over [p, end). Reads consume one item and return 0, or return -1 and set `error`
 * to a static reason; after a failure the cursor position is unspecified. */
typedef struct msb_cbor_reader
{
  const uint8_t *p;
  const uint8_t *end;
  unsigned depth;    /* containers entered and not yet left */
  const char *error; /* first failure reason, NULL while none */
} msb_cbor_reader;

void msb_cbor_reader_init (msb_cbor_reader *r, const uint8_t *data, size_t len);
size_t msb_cbor_remaining (const msb_cbor_reader *r);
bool msb_cbor_at_end (const msb_cbor_reader *r);

/* Type of the next item, judged from its initial byte alone (nothing is consumed). */
msb_cbor_type msb_cbor_peek (const msb_cbor_reader *r);

int msb_cbor_read_uint (msb_cbor_reader *r, uint64_t *v);
/* Unsigned or negative integer that fits int64_t. */
int msb_cbor_read_int (msb_cbor_reader *r, int64_t *v);
int msb_cbor_read_bool (msb_cbor_reader *r, bool *v);
int msb_cbor_read_null (msb_cbor_reader *r);
/* Consumes a null and returns true if the next item is null; otherwise consumes nothing. */
bool msb_cbor_take_null (msb_cbor_reader *r);
/* Zero copy: *s points into the input and is NOT NUL-terminated; any bytes are accepted. */
int msb_cbor_read_text (msb_cbor_reader *r, const char **s, size_t *len);
int msb_cbor_read_bytes (msb_cbor_reader *r, const uint8_t **data, size_t *len);

/* Enter a definite-length container and return its number of items (entries for a map).
 * The count is checked against the bytes left (every item takes at least one byte), so a
 * caller may size an allocation from it only after walking the items once: use
 * msb_cbor_skip on a copy of the reader first. Each enter must be paired with a leave once
 * the items are consumed. */
int msb_cbor_enter_array (msb_cbor_reader *r, size_t *count);
int msb_cbor_enter_map (msb_cbor_reader *r, size_t *entries);
void msb_cbor_leave (msb_cbor_reader *r);

/* Steps over one well-formed item of any type, including tags, floats and simple values,
 * within the depth limit. */
int msb_cbor_skip (msb_cbor_reader *r);

#endif
