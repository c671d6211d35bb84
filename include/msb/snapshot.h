/* Disk snapshots (API.md §1.17, on-disk form §4): the writable layer of a stopped sandbox,
 * frozen into an artifact directory that outlives the sandbox and boots new ones.
 *
 * An artifact is a directory (by default $MSB_HOME/snapshots/<name>/) holding
 *   snapshot.json  the descriptor (schema 1: artifact, scope "disk", the pinned image, the
 *                  upper file with its size and optional integrity digest, labels, …);
 *   upper.ext4     a sparse ext4 image whose `upper/` directory is the sandbox's writable
 *                  layer — every file, directory, symlink, whiteout (0/0 character device),
 *                  overlay xattr (opaque directories, redirects), owner, mode and timestamp.
 * Owners are stored as the sandbox sees them (its root is uid 0), so an artifact does not
 * depend on the host id range of the sandbox it came from.
 *
 * The digest of a snapshot is "sha256:<hex>" of its descriptor in canonical JSON (no
 * whitespace, object keys sorted, UTF-8 unescaped): it names the artifact and changes with
 * any change to the descriptor, including the upper's integrity digest when recorded.
 *
 * The state database keeps an index of known artifacts (msb_snapshot_get/list): artifacts
 * made by msb_snapshot_create are indexed, others by msb_snapshot_reindex. An artifact can be
 * moved or copied as a directory; the index only speeds up lookups by name or digest.
 *
 * Where a function takes `path_or_name`: a string containing '/' or starting with '.' or '~'
 * is an artifact directory (a leading "~/" is the user's home), anything else the name of an
 * artifact in $MSB_HOME/snapshots (else the newest indexed artifact of that name).
 *
 * Errors: MSB_ERR_SNAPSHOT_NOT_FOUND for a missing artifact, MSB_ERR_SANDBOX_STILL_RUNNING
 * when the source sandbox runs, MSB_ERR_SNAPSHOT_MIGRATION for a descriptor schema this
 * library does not know, MSB_ERR_INVALID_CONFIG for bad names and malformed descriptors,
 * MSB_ERR_UNSUPPORTED for resumable (memory) snapshots, MSB_ERR_IO for host failures.
 * Thread-safe like msb_ctx. */
#ifndef MSB_SNAPSHOT_H
#define MSB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

  typedef struct msb_ctx msb_ctx;
  /* An opened artifact: its directory and its descriptor. */
  typedef struct msb_snapshot msb_snapshot;
  /* A row of the snapshot index. */
  typedef struct msb_snapshot_info msb_snapshot_info;

  /* Options of msb_snapshot_create(). Zero-initialise and set `size`; NULL = defaults. */
  typedef struct msb_snapshot_opts
  {
    uint32_t size;
    const char *dest_dir; /* the artifact goes to <dest_dir>/<name>; NULL = $MSB_HOME/snapshots */
    const char *const *labels; /* "K=V", NULL-terminated; may be NULL */
    bool force;                /* replace an existing artifact of that name */
    bool record_integrity;     /* store the sha256 of upper.ext4 in the descriptor */
    bool resumable;            /* memory state too: MSB_ERR_UNSUPPORTED (no backend can) */
  } msb_snapshot_opts;

  /* Snapshots the writable layer of sandbox `from_sandbox`, which must not be running
   * (stopped, crashed or never started; MSB_ERR_SANDBOX_STILL_RUNNING otherwise; its lifecycle
   * lock is held throughout, so it cannot start meanwhile). The artifact appears complete or
   * not at all. An existing artifact of that name is an error unless `force`. Names follow the
   * sandbox name rules. On success *out (may be NULL) is the new artifact. */
  int msb_snapshot_create (msb_ctx *ctx, const char *name, const char *from_sandbox,
                           const msb_snapshot_opts *opts, msb_snapshot **out, msb_error **err);

  /* Opens an artifact (see `path_or_name` above) and reads its descriptor. */
  int msb_snapshot_open (msb_ctx *ctx, const char *path_or_name, msb_snapshot **out,
                         msb_error **err);

  /* Every artifact directly inside directory `dir` (not indexed), by name. A subdirectory
   * without a readable descriptor is skipped. */
  int msb_snapshot_list_dir (msb_ctx *ctx, const char *dir, msb_snapshot ***out, size_t *n,
                             msb_error **err);

  /* Deletes an artifact and its index rows. Without `force`, a directory whose descriptor
   * cannot be read is refused (it may not be an artifact at all); with it, any directory
   * holding a snapshot.json is removed. */
  int msb_snapshot_remove (msb_ctx *ctx, const char *path_or_name, bool force, msb_error **err);

  /* Re-reads the artifacts of `dir` (NULL = $MSB_HOME/snapshots) into the index and drops index
   * rows whose artifact is gone (all rows when dir is NULL, else the rows under dir). *count
   * (may be NULL) receives the number of artifacts indexed. */
  int msb_snapshot_reindex (msb_ctx *ctx, const char *dir, size_t *count, msb_error **err);

  /* Checks an artifact: the descriptor parses, upper.ext4 exists with the recorded size, its
   * sha256 matches the recorded integrity digest (when recorded), the pinned image is cached.
   * *report_json (free()) is {"ok", "digest", "path", "checks": [{"check", "ok", "message"}]}.
   * Returns 0 whether or not the checks pass; < 0 only when they could not run. */
  int msb_snapshot_verify (msb_ctx *ctx, const msb_snapshot *snap, char **report_json,
                           msb_error **err);

  void msb_snapshot_free (msb_snapshot *snap);
  void msb_snapshot_list_free (msb_snapshot **list, size_t n);

  /* Absolute path of the artifact directory. */
  const char *msb_snapshot_path (const msb_snapshot *snap);
  /* The artifact's name (its directory name). */
  const char *msb_snapshot_name (const msb_snapshot *snap);
  /* "sha256:<hex>" of the canonical descriptor. */
  const char *msb_snapshot_digest (const msb_snapshot *snap);
  /* The descriptor as stored (JSON, §4); the other accessors read fields of it. */
  const char *msb_snapshot_descriptor_json (const msb_snapshot *snap);
  const char *msb_snapshot_image_ref (const msb_snapshot *snap);
  const char *msb_snapshot_image_manifest_digest (const msb_snapshot *snap);
  /* Size of upper.ext4 in bytes (its apparent size; the host holds only written blocks). */
  uint64_t msb_snapshot_size_bytes (const msb_snapshot *snap);

  /* ---- the index ---- */

  /* The indexed artifact named `name_or_digest` ("sha256:…" = by digest; a name prefers the
   * artifact in $MSB_HOME/snapshots, else the newest). MSB_ERR_SNAPSHOT_NOT_FOUND if none. */
  int msb_snapshot_get (msb_ctx *ctx, const char *name_or_digest, msb_snapshot_info **out,
                        msb_error **err);
  /* Every indexed artifact, newest first. */
  int msb_snapshot_list (msb_ctx *ctx, msb_snapshot_info ***out, size_t *n, msb_error **err);

  void msb_snapshot_info_free (msb_snapshot_info *info);
  void msb_snapshot_info_list_free (msb_snapshot_info **list, size_t n);

  const char *msb_snapshot_info_digest (const msb_snapshot_info *info);
  const char *msb_snapshot_info_name (const msb_snapshot_info *info);
  const char *msb_snapshot_info_path (const msb_snapshot_info *info);
  const char *msb_snapshot_info_parent_digest (const msb_snapshot_info *info); /* NULL = none */
  const char *msb_snapshot_info_scope (const msb_snapshot_info *info);         /* "disk" */
  const char *msb_snapshot_info_image_ref (const msb_snapshot_info *info);
  const char *msb_snapshot_info_image_manifest_digest (const msb_snapshot_info *info);
  const char *msb_snapshot_info_state_kind (const msb_snapshot_info *info); /* "file" */
  const char *msb_snapshot_info_format (const msb_snapshot_info *info);     /* "raw" */
  const char *msb_snapshot_info_fstype (const msb_snapshot_info *info);     /* "ext4" */
  const char *msb_snapshot_info_source_sandbox (const msb_snapshot_info *info);
  const char *msb_snapshot_info_labels_json (const msb_snapshot_info *info);
  uint64_t msb_snapshot_info_size_bytes (const msb_snapshot_info *info);
  /* Milliseconds since the Unix epoch (the descriptor's created_at). */
  int64_t msb_snapshot_info_created_at (const msb_snapshot_info *info);
  /* Whether the artifact directory still holds a descriptor (false: moved or deleted by hand). */
  bool msb_snapshot_info_is_available (const msb_snapshot_info *info);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
