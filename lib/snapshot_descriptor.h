/* The snapshot descriptor, snapshot.json (API.md §4, schema 1): building it, reading and
 * checking one, and its digest. Pure data: never touches an artifact's files. */
#ifndef MSB_LIB_SNAPSHOT_DESCRIPTOR_H
#define MSB_LIB_SNAPSHOT_DESCRIPTOR_H

#include <jansson.h>
#include <stdint.h>

#include "common/error.h"

#define MSB_SNAPSHOT_SCHEMA 1
#define MSB_SNAPSHOT_DESCRIPTOR "snapshot.json"
#define MSB_SNAPSHOT_UPPER "upper.ext4"

/* What a new descriptor says. */
typedef struct msb_snapshot_desc_fields
{
  int64_t created_at_ms;
  const char *image_ref;
  const char *manifest_digest;
  const char *source_sandbox;
  uint64_t upper_size_bytes;
  const char *upper_integrity; /* "sha256:<hex>" of upper.ext4, or NULL */
  json_t *labels;              /* object of strings (borrowed), or NULL */
  unsigned upper_limit_mib;    /* the source's writable layer size limit, 0 = none */
} msb_snapshot_desc_fields;

/* A schema-1 descriptor: {schema, artifact, scope, created_at, parent, image{ref,
 * manifest_digest}, source_sandbox, state{kind, format, fstype, upper{file, size_bytes,
 * integrity?}}, labels, extensions, requires}. New reference. */
json_t *msb_snapshot_desc_build (const msb_snapshot_desc_fields *f);

/* Parses and checks descriptor text: an object of schema 1 with artifact "snapshot", a
 * scope, an image, a state whose upper file is a plain name. A newer schema is
 * MSB_ERR_SNAPSHOT_MIGRATION, anything malformed MSB_ERR_INVALID_CONFIG naming the field. */
int msb_snapshot_desc_parse (const char *text, size_t len, json_t **out, msb_error **err);

/* "sha256:<hex>" of the canonical form of `desc` (compact, keys sorted, UTF-8 unescaped).
 * Newly allocated. */
char *msb_snapshot_desc_digest (const json_t *desc);

/* Field readers of a parsed descriptor (NULL / 0 when absent). */
const char *msb_snapshot_desc_str (const json_t *desc, const char *path);
uint64_t msb_snapshot_desc_upper_size (const json_t *desc);
/* The source's writable layer size limit (extensions.msb.upper_limit_mib), 0 = none. */
unsigned msb_snapshot_desc_upper_limit_mib (const json_t *desc);
/* created_at as ms since the epoch (0 when unparsable). */
int64_t msb_snapshot_desc_created_ms (const json_t *desc);

/* "2026-01-02T03:04:05.678Z" of `ms` into out (≥ 32 bytes). */
void msb_snapshot_rfc3339 (int64_t ms, char *out, size_t n);

#endif
