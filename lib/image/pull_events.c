/* Pull event delivery and names. */
#include "lib/image/pull_events.h"

#include "common/util.h"

const char *
msb_pull_event_type_name (msb_pull_event_type t)
{
  static const char *const names[] = {
    [MSB_PULL_RESOLVING] = "resolving",
    [MSB_PULL_RESOLVED] = "resolved",
    [MSB_PULL_LAYER_DOWNLOAD_PROGRESS] = "layer_download_progress",
    [MSB_PULL_LAYER_DOWNLOAD_COMPLETE] = "layer_download_complete",
    [MSB_PULL_LAYER_DOWNLOAD_VERIFYING] = "layer_download_verifying",
    [MSB_PULL_LAYER_MATERIALIZE_STARTED] = "layer_materialize_started",
    [MSB_PULL_LAYER_MATERIALIZE_PROGRESS] = "layer_materialize_progress",
    [MSB_PULL_LAYER_MATERIALIZE_WRITING] = "layer_materialize_writing",
    [MSB_PULL_LAYER_MATERIALIZE_COMPLETE] = "layer_materialize_complete",
    [MSB_PULL_STITCH_MERGING_TREES] = "stitch_merging_trees",
    [MSB_PULL_STITCH_WRITING_FSMETA] = "stitch_writing_fsmeta",
    [MSB_PULL_STITCH_WRITING_VMDK] = "stitch_writing_vmdk",
    [MSB_PULL_STITCH_COMPLETE] = "stitch_complete",
    [MSB_PULL_COMPLETE] = "complete",
  };
  if ((unsigned) t < sizeof names / sizeof names[0] && names[t])
    return names[t];
  return "unknown";
}

void
msb_pull_emitter_init (msb_pull_emitter *e, msb_pull_progress_fn fn, void *data,
                       const char *reference)
{
  e->fn = fn;
  e->data = data;
  e->reference = reference;
  pthread_mutex_init (&e->lock, NULL);
}

void
msb_pull_emitter_clear (msb_pull_emitter *e)
{
  pthread_mutex_destroy (&e->lock);
}

msb_pull_event
msb_pull_event_blank (msb_pull_event_type type)
{
  return (msb_pull_event){
    .size = sizeof (msb_pull_event),
    .type = type,
    .layer_count = -1,
    .total_download_bytes = -1,
    .layer_index = -1,
    .downloaded_bytes = -1,
    .total_bytes = -1,
    .bytes_read = -1,
  };
}

void
msb_pull_emit (msb_pull_emitter *e, msb_pull_event *ev)
{
  if (e == NULL || e->fn == NULL)
    return;
  ev->size = sizeof *ev;
  pthread_mutex_lock (&e->lock);
  e->fn (ev, e->data);
  pthread_mutex_unlock (&e->lock);
}

void
msb_pull_emit_resolving (msb_pull_emitter *e)
{
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_RESOLVING);
  ev.reference = e ? e->reference : NULL;
  msb_pull_emit (e, &ev);
}

void
msb_pull_emit_resolved (msb_pull_emitter *e, const char *manifest_digest, int64_t layer_count,
                        int64_t total_download_bytes)
{
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_RESOLVED);
  ev.reference = e ? e->reference : NULL;
  ev.manifest_digest = manifest_digest;
  ev.layer_count = layer_count;
  ev.total_download_bytes = total_download_bytes;
  msb_pull_emit (e, &ev);
}

void
msb_pull_emit_complete (msb_pull_emitter *e, int64_t layer_count)
{
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_COMPLETE);
  ev.reference = e ? e->reference : NULL;
  ev.layer_count = layer_count;
  msb_pull_emit (e, &ev);
}

bool
msb_pull_progress_due (uint64_t *last_ns)
{
  uint64_t now = msb_now_mono_ns ();
  if (*last_ns && now - *last_ns < MSB_PULL_PROGRESS_INTERVAL_NS)
    return false;
  *last_ns = now;
  return true;
}
