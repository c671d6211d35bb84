/* Delivering pull events (include/msb/pull.h) to the caller's callback: one lock so the
 * callback is never entered concurrently although layers progress on several threads, and
 * a time throttle for the per-chunk progress events. */
#ifndef MSB_LIB_IMAGE_PULL_EVENTS_H
#define MSB_LIB_IMAGE_PULL_EVENTS_H

#include <msb/pull.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Progress events of one layer closer together than this are dropped (the last one of a
 * layer is always delivered through the *_COMPLETE event). */
#define MSB_PULL_PROGRESS_INTERVAL_NS (100u * 1000u * 1000u)

typedef struct msb_pull_emitter
{
  msb_pull_progress_fn fn; /* may be NULL: nothing is emitted */
  void *data;
  const char *reference; /* as the caller wrote it */
  pthread_mutex_t lock;
} msb_pull_emitter;

void msb_pull_emitter_init (msb_pull_emitter *e, msb_pull_progress_fn fn, void *data,
                            const char *reference);
void msb_pull_emitter_clear (msb_pull_emitter *e);

/* An event of `type` with every field "not applicable". */
msb_pull_event msb_pull_event_blank (msb_pull_event_type type);

/* Delivers ev (its size is set here). */
void msb_pull_emit (msb_pull_emitter *e, msb_pull_event *ev);

/* The three events every OCI create emits, for the cases without a download. */
void msb_pull_emit_resolving (msb_pull_emitter *e);
void msb_pull_emit_resolved (msb_pull_emitter *e, const char *manifest_digest,
                             int64_t layer_count, int64_t total_download_bytes);
void msb_pull_emit_complete (msb_pull_emitter *e, int64_t layer_count);

/* True when a progress event stamped *last_ns may go out now (and restamps it). */
bool msb_pull_progress_due (uint64_t *last_ns);

#endif
