/* The decoded message's arena (see internal.h).
 *
 * Owns: the memory behind a decoded message's strings, vectors and entry arrays.
 * Must never: hand out memory that outlives msb_arena_free, or size a chunk from anything
 * but a request the decoder has already checked against the input it holds.
 */
#include "proto/internal.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ARENA_CHUNK_SIZE 4096u

typedef struct arena_chunk
{
  struct arena_chunk *next;
  size_t used;
  size_t cap;
  alignas (max_align_t) unsigned char data[];
} arena_chunk;

struct msb_arena
{
  arena_chunk *head;
};

static size_t
align_up (size_t n)
{
  size_t a = alignof (max_align_t);
  return (n + a - 1) & ~(a - 1);
}

static arena_chunk *
chunk_new (size_t cap)
{
  arena_chunk *c = msb_xmalloc (sizeof (arena_chunk) + cap);
  c->next = NULL;
  c->used = 0;
  c->cap = cap;
  return c;
}

void *
msb_arena_alloc (msb_arena **ap, size_t n)
{
  if (*ap == NULL)
    *ap = msb_xcalloc (1, sizeof (msb_arena));
  msb_arena *a = *ap;
  if (n > SIZE_MAX / 2)
    abort ();
  size_t need = align_up (n ? n : 1);
  arena_chunk *c = a->head;
  if (c == NULL || c->cap - c->used < need)
    {
      if (need > ARENA_CHUNK_SIZE / 4)
        {
          /* A large block gets a chunk of its own behind the current one, so the space
           * left in the current chunk stays usable for the small strings that follow. */
          arena_chunk *big = chunk_new (need);
          if (c == NULL)
            a->head = big;
          else
            {
              big->next = c->next;
              c->next = big;
            }
          big->used = need;
          return memset (big->data, 0, need);
        }
      c = chunk_new (ARENA_CHUNK_SIZE);
      c->next = a->head;
      a->head = c;
    }
  void *p = c->data + c->used;
  c->used += need;
  return memset (p, 0, need);
}

char *
msb_arena_strndup (msb_arena **a, const char *s, size_t n)
{
  char *p = msb_arena_alloc (a, n + 1);
  if (n)
    memcpy (p, s, n);
  p[n] = '\0';
  return p;
}

void
msb_arena_free (msb_arena **ap)
{
  msb_arena *a = *ap;
  if (a == NULL)
    return;
  arena_chunk *c = a->head;
  while (c)
    {
      arena_chunk *next = c->next;
      free (c);
      c = next;
    }
  free (a);
  *ap = NULL;
}
