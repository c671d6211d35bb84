/* Declarations shared by the codec's own source files; nothing outside proto/ includes this.
 *
 * Owns: the decoded message's arena and the in-place frame header writer.
 * Must never: become a second public API — users of the codec go through proto.h.
 */
#ifndef MSB_PROTO_INTERNAL_H
#define MSB_PROTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* A bump allocator for everything a decoded message owns, so msb_msg_clear is one walk over
 * a few chunks and a failed decode cannot leak a half-built string vector. */
typedef struct msb_arena msb_arena;

/* Zeroed, suitably aligned memory for any type; created on first use. Aborts on OOM. */
void *msb_arena_alloc (msb_arena **a, size_t n);
/* NUL-terminated copy of s[0..n). */
char *msb_arena_strndup (msb_arena **a, const char *s, size_t n);
void msb_arena_free (msb_arena **a);

static inline void
msb_cleanup_arena_fn (msb_arena **a)
{
  msb_arena_free (a);
}
#define _msb_cleanup_arena_ __attribute__ ((cleanup (msb_cleanup_arena_fn)))

/* Writes a frame header for a body of `body_len` bytes into 9 bytes at dst. */
void msb_frame_header_write (uint8_t *dst, uint32_t id, uint8_t flags, size_t body_len);

#endif
