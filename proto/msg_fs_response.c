/* Payload of core.fs.response (API.md §3.7): {ok, error: text|null, data: FsResponseData|null}
 * with FsResponseData externally tagged — {"Stat": FsEntryInfo}, {"List": [FsEntryInfo]},
 * {"Handle": u64} or {"Path": text}.
 *
 * Owns: FsEntryInfo's keys and kind spellings, the response variants.
 * Must never: size the List entry array from the declared count before the entries have been
 * walked (msb_pd_array does the walking).
 */
#include "proto/payload.h"

#include <string.h>

/* ---- FsEntryInfo -------------------------------------------------------------------- */

enum
{
  E_PATH,
  E_KIND,
  E_SIZE,
  E_MODE,
  E_MODIFIED,
  E_UID,
  E_GID,
  E_ATIME,
  E_MTIME,
  E_N
};
static const char *const entry_keys[]
    = { "path", "kind", "size", "mode", "modified", "uid", "gid", "atime", "mtime" };

static const char *const kind_names[] = {
  [MSB_FS_KIND_FILE] = "file",
  [MSB_FS_KIND_DIR] = "dir",
  [MSB_FS_KIND_SYMLINK] = "symlink",
  [MSB_FS_KIND_OTHER] = "other",
};

static const char *
kind_name (msb_fs_kind k)
{
  return (unsigned) k <= MSB_FS_KIND_OTHER ? kind_names[k] : kind_names[MSB_FS_KIND_OTHER];
}

/* A kind this generation does not know (a socket, a fifo from a newer agent) is "other". */
static int
decode_kind (msb_pdec *d, msb_fs_kind *out)
{
  const char *s;
  size_t len;
  if (msb_cbor_read_text (&d->r, &s, &len) < 0)
    return -1;
  *out = MSB_FS_KIND_OTHER;
  for (unsigned k = 0; k <= MSB_FS_KIND_OTHER; k++)
    if (strlen (kind_names[k]) == len && memcmp (kind_names[k], s, len) == 0)
      *out = (msb_fs_kind) k;
  return 0;
}

static int
entry_field (msb_pdec *d, unsigned f, void *out)
{
  msb_fs_entry_info *e = out;
  switch (f)
    {
    case E_PATH:
      return msb_pd_cstr (d, &e->path);
    case E_KIND:
      return decode_kind (d, &e->kind);
    case E_MODIFIED:
      return msb_pd_opt_i64 (d, &e->has_modified, &e->modified);
    case E_ATIME:
      return msb_pd_opt_i64 (d, &e->has_atime, &e->atime);
    case E_MTIME:
      return msb_pd_opt_i64 (d, &e->has_mtime, &e->mtime);
    default:
      break;
    }
  if (msb_cbor_take_null (&d->r)) /* numbers the agent could not read stay 0 */
    return 0;
  if (f == E_SIZE)
    return msb_pd_uint (d, UINT64_MAX, &e->size);
  return msb_pd_u32 (d, f == E_MODE ? &e->mode : f == E_UID ? &e->uid : &e->gid);
}

static int
decode_entry (msb_pdec *d, void *elem)
{
  uint32_t seen;
  if (msb_pd_map (d, entry_keys, E_N, entry_field, elem, &seen) < 0)
    return -1;
  return msb_pd_require (d, entry_keys, seen, (1u << E_PATH) | (1u << E_KIND));
}

static void
encode_entry (msb_buf *out, const msb_fs_entry_info *e)
{
  msb_cbor_put_map (out, E_N);
  msb_pe_key (out, entry_keys[E_PATH]);
  msb_cbor_put_cstr (out, e->path);
  msb_pe_key (out, entry_keys[E_KIND]);
  msb_cbor_put_cstr (out, kind_name (e->kind));
  msb_pe_key (out, entry_keys[E_SIZE]);
  msb_cbor_put_uint (out, e->size);
  msb_pe_key (out, entry_keys[E_MODE]);
  msb_cbor_put_uint (out, e->mode);
  msb_pe_key (out, entry_keys[E_MODIFIED]);
  msb_pe_opt_int (out, e->has_modified, e->modified);
  msb_pe_key (out, entry_keys[E_UID]);
  msb_cbor_put_uint (out, e->uid);
  msb_pe_key (out, entry_keys[E_GID]);
  msb_cbor_put_uint (out, e->gid);
  msb_pe_key (out, entry_keys[E_ATIME]);
  msb_pe_opt_int (out, e->has_atime, e->atime);
  msb_pe_key (out, entry_keys[E_MTIME]);
  msb_pe_opt_int (out, e->has_mtime, e->mtime);
}

/* ---- FsResponseData ----------------------------------------------------------------- */

static const char *const data_variants[] = {
  [MSB_FS_RESP_NONE] = NULL,
  [MSB_FS_RESP_STAT] = "Stat",
  [MSB_FS_RESP_LIST] = "List",
  [MSB_FS_RESP_HANDLE] = "Handle",
  [MSB_FS_RESP_PATH] = "Path",
};

static int
decode_variant_value (msb_pdec *d, msb_msg_fs_response *p)
{
  void *entries;
  switch (p->kind)
    {
    case MSB_FS_RESP_STAT:
      return decode_entry (d, &p->stat);
    case MSB_FS_RESP_LIST:
      if (msb_pd_array (d, sizeof (msb_fs_entry_info), decode_entry, &entries, &p->n_entries) < 0)
        return -1;
      p->entries = entries;
      return 0;
    case MSB_FS_RESP_HANDLE:
      return msb_pd_uint (d, UINT64_MAX, &p->handle);
    default:
      return msb_pd_cstr (d, &p->path);
    }
}

static int
decode_data (msb_pdec *d, msb_msg_fs_response *p)
{
  size_t entries;
  const char *name;
  size_t len;
  if (msb_cbor_take_null (&d->r))
    return 0;
  if (msb_cbor_enter_map (&d->r, &entries) < 0)
    return -1;
  if (entries != 1)
    return msb_pd_fail (d, "FsResponseData is not a one-entry map");
  if (msb_cbor_read_text (&d->r, &name, &len) < 0)
    return -1;
  for (unsigned k = MSB_FS_RESP_STAT; k <= MSB_FS_RESP_PATH; k++)
    if (strlen (data_variants[k]) == len && memcmp (data_variants[k], name, len) == 0)
      p->kind = (msb_fs_response_kind) k;
  if (p->kind == MSB_FS_RESP_NONE)
    return msb_pd_fail (d, "unknown FsResponseData variant");
  if (decode_variant_value (d, p) < 0)
    return -1;
  msb_cbor_leave (&d->r);
  return 0;
}

static void
encode_data (msb_buf *out, const msb_msg_fs_response *p)
{
  if (p->kind <= MSB_FS_RESP_NONE || p->kind > MSB_FS_RESP_PATH)
    {
      msb_cbor_put_null (out);
      return;
    }
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, data_variants[p->kind]);
  switch (p->kind)
    {
    case MSB_FS_RESP_STAT:
      encode_entry (out, &p->stat);
      break;
    case MSB_FS_RESP_LIST:
      msb_cbor_put_array (out, p->n_entries);
      for (size_t i = 0; i < p->n_entries; i++)
        encode_entry (out, &p->entries[i]);
      break;
    case MSB_FS_RESP_HANDLE:
      msb_cbor_put_uint (out, p->handle);
      break;
    default:
      msb_cbor_put_cstr (out, p->path);
      break;
    }
}

/* ---- {ok, error, data} -------------------------------------------------------------- */

enum
{
  R_OK,
  R_ERROR,
  R_DATA,
  R_N
};
static const char *const response_keys[] = { "ok", "error", "data" };

static int
response_field (msb_pdec *d, unsigned f, void *out)
{
  msb_msg_fs_response *p = out;
  switch (f)
    {
    case R_OK:
      return msb_pd_bool (d, &p->ok);
    case R_ERROR:
      return msb_pd_cstr_or_null (d, &p->error);
    default:
      return decode_data (d, p);
    }
}

int
msb_payload_decode_fs_response (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, response_keys, R_N, response_field, &m->u.fs_response, &seen) < 0)
    return -1;
  return msb_pd_require (d, response_keys, seen, 1u << R_OK);
}

void
msb_payload_encode_fs_response (msb_buf *out, const msb_msg *m)
{
  const msb_msg_fs_response *p = &m->u.fs_response;
  msb_cbor_put_map (out, R_N);
  msb_pe_key (out, response_keys[R_OK]);
  msb_cbor_put_bool (out, p->ok);
  msb_pe_key (out, response_keys[R_ERROR]);
  msb_pe_cstr_or_null (out, p->error);
  msb_pe_key (out, response_keys[R_DATA]);
  encode_data (out, p);
}
