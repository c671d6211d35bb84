/* Payload of core.fs.request (API.md §3.7): {op: FsOp}, FsOp being externally tagged —
 * a one-entry map {"<Variant>": {fields}}.
 *
 * Owns: the variant names, which fields each variant carries, their defaults (ReadDir limit
 * 128, absent optionals) and the nested attrs/options maps.
 * Must never: let a field that does not belong to the variant leak into the decoded request
 * (a "handle" sent along with a Stat is ignored like any unknown key), or accept a path with
 * an embedded NUL (the agent would act on a shorter path than the one sent).
 */
#include "proto/payload.h"

#include <string.h>

#define FS_READ_DIR_DEFAULT_LIMIT 128

/* Every field of every variant, in the order the encoder emits them; each variant's field
 * list in §3.7 is a subsequence of this order. */
enum
{
  FLD_PATH,
  FLD_TARGET,
  FLD_LINK_PATH,
  FLD_SRC,
  FLD_DST,
  FLD_HANDLE,
  FLD_FOLLOW_SYMLINK,
  FLD_RECURSIVE,
  FLD_MODE,
  FLD_OPTIONS,
  FLD_OFFSET,
  FLD_LEN,
  FLD_LIMIT,
  FLD_ATTRS,
  FLD_N
};
static const char *const field_keys[] = {
  "path",   "target",  "link_path", "src", "dst",   "handle", "follow_symlink",
  "recursive", "mode", "options",   "offset", "len", "limit", "attrs",
};

#define B(f) (1u << (f))
/* Fields that name what the op acts on have no sensible default. */
#define REQUIRED_FIELDS (B (FLD_PATH) | B (FLD_TARGET) | B (FLD_LINK_PATH) | B (FLD_SRC) | B (FLD_DST) | B (FLD_HANDLE))

typedef struct fs_variant
{
  const char *name;
  msb_fs_op_kind kind;
  uint32_t fields;
} fs_variant;

static const fs_variant variants[] = {
  { "RealPath", MSB_FS_OP_REAL_PATH, B (FLD_PATH) },
  { "Stat", MSB_FS_OP_STAT, B (FLD_PATH) | B (FLD_FOLLOW_SYMLINK) },
  { "SetStat", MSB_FS_OP_SET_STAT, B (FLD_PATH) | B (FLD_FOLLOW_SYMLINK) | B (FLD_ATTRS) },
  { "List", MSB_FS_OP_LIST, B (FLD_PATH) },
  { "ReadLink", MSB_FS_OP_READ_LINK, B (FLD_PATH) },
  { "Symlink", MSB_FS_OP_SYMLINK, B (FLD_TARGET) | B (FLD_LINK_PATH) },
  { "Mkdir", MSB_FS_OP_MKDIR, B (FLD_PATH) | B (FLD_MODE) },
  { "Remove", MSB_FS_OP_REMOVE, B (FLD_PATH) },
  { "RemoveDir", MSB_FS_OP_REMOVE_DIR, B (FLD_PATH) | B (FLD_RECURSIVE) },
  { "Copy", MSB_FS_OP_COPY, B (FLD_SRC) | B (FLD_DST) },
  { "Rename", MSB_FS_OP_RENAME, B (FLD_SRC) | B (FLD_DST) },
  { "OpenFile", MSB_FS_OP_OPEN_FILE, B (FLD_PATH) | B (FLD_OPTIONS) },
  { "OpenDir", MSB_FS_OP_OPEN_DIR, B (FLD_PATH) },
  { "CloseHandle", MSB_FS_OP_CLOSE_HANDLE, B (FLD_HANDLE) },
  { "Read", MSB_FS_OP_READ, B (FLD_HANDLE) | B (FLD_OFFSET) | B (FLD_LEN) },
  { "Write", MSB_FS_OP_WRITE, B (FLD_HANDLE) | B (FLD_OFFSET) | B (FLD_LEN) },
  { "ReadDir", MSB_FS_OP_READ_DIR, B (FLD_HANDLE) | B (FLD_LIMIT) },
  { "FStat", MSB_FS_OP_FSTAT, B (FLD_HANDLE) },
  { "FSetStat", MSB_FS_OP_FSET_STAT, B (FLD_HANDLE) | B (FLD_ATTRS) },
};

static const fs_variant *
variant_by_name (const char *name, size_t len)
{
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
    if (strlen (variants[i].name) == len && memcmp (variants[i].name, name, len) == 0)
      return &variants[i];
  return NULL;
}

static const fs_variant *
variant_by_kind (msb_fs_op_kind kind)
{
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
    if (variants[i].kind == kind)
      return &variants[i];
  return NULL;
}

/* ---- attrs {mode?, uid?, gid?, size?, atime?, mtime?} ------------------------------- */

enum
{
  A_MODE,
  A_UID,
  A_GID,
  A_SIZE,
  A_ATIME,
  A_MTIME,
  A_N
};
static const char *const attr_keys[] = { "mode", "uid", "gid", "size", "atime", "mtime" };

static int
attr_field (msb_pdec *d, unsigned f, void *out)
{
  msb_fs_attrs *a = out;
  switch (f)
    {
    case A_MODE:
      return msb_pd_opt_u32 (d, &a->has_mode, &a->mode);
    case A_UID:
      return msb_pd_opt_u32 (d, &a->has_uid, &a->uid);
    case A_GID:
      return msb_pd_opt_u32 (d, &a->has_gid, &a->gid);
    case A_SIZE:
      return msb_pd_opt_u64 (d, &a->has_size, &a->size);
    case A_ATIME:
      return msb_pd_opt_i64 (d, &a->has_atime, &a->atime);
    default:
      return msb_pd_opt_i64 (d, &a->has_mtime, &a->mtime);
    }
}

static void
encode_attrs (msb_buf *out, const msb_fs_attrs *a)
{
  msb_cbor_put_map (out, A_N);
  msb_pe_key (out, attr_keys[A_MODE]);
  msb_pe_opt_uint (out, a->has_mode, a->mode);
  msb_pe_key (out, attr_keys[A_UID]);
  msb_pe_opt_uint (out, a->has_uid, a->uid);
  msb_pe_key (out, attr_keys[A_GID]);
  msb_pe_opt_uint (out, a->has_gid, a->gid);
  msb_pe_key (out, attr_keys[A_SIZE]);
  msb_pe_opt_uint (out, a->has_size, a->size);
  msb_pe_key (out, attr_keys[A_ATIME]);
  msb_pe_opt_int (out, a->has_atime, a->atime);
  msb_pe_key (out, attr_keys[A_MTIME]);
  msb_pe_opt_int (out, a->has_mtime, a->mtime);
}

/* ---- options {read, write, append, create, truncate, create_new, mode?} ------------- */

enum
{
  OPT_READ,
  OPT_WRITE,
  OPT_APPEND,
  OPT_CREATE,
  OPT_TRUNCATE,
  OPT_CREATE_NEW,
  OPT_MODE,
  OPT_N
};
static const char *const option_keys[]
    = { "read", "write", "append", "create", "truncate", "create_new", "mode" };

static int
option_field (msb_pdec *d, unsigned f, void *out)
{
  msb_fs_open_options *o = out;
  bool *flags[] = { &o->read, &o->write, &o->append, &o->create, &o->truncate, &o->create_new };
  if (f == OPT_MODE)
    return msb_pd_opt_u32 (d, &o->has_mode, &o->mode);
  if (msb_cbor_take_null (&d->r)) /* a missing or null flag is off */
    return 0;
  return msb_pd_bool (d, flags[f]);
}

static void
encode_options (msb_buf *out, const msb_fs_open_options *o)
{
  bool flags[] = { o->read, o->write, o->append, o->create, o->truncate, o->create_new };
  msb_cbor_put_map (out, OPT_N);
  for (unsigned f = 0; f < OPT_MODE; f++)
    {
      msb_pe_key (out, option_keys[f]);
      msb_cbor_put_bool (out, flags[f]);
    }
  msb_pe_key (out, option_keys[OPT_MODE]);
  msb_pe_opt_uint (out, o->has_mode, o->mode);
}

/* ---- the op's fields ---------------------------------------------------------------- */

typedef struct op_ctx
{
  msb_msg_fs_request *req;
  uint32_t fields; /* of the variant being decoded */
} op_ctx;

static int
decode_map_null_ok (msb_pdec *d, const char *const *keys, unsigned n, msb_pd_field_fn fn,
                    void *out)
{
  uint32_t seen;
  if (msb_cbor_take_null (&d->r))
    return 0;
  return msb_pd_map (d, keys, n, fn, out, &seen);
}

static int
op_flag (msb_pdec *d, bool *out)
{
  if (msb_cbor_take_null (&d->r))
    return 0;
  return msb_pd_bool (d, out);
}

static int
op_field (msb_pdec *d, unsigned f, void *out)
{
  op_ctx *c = out;
  msb_msg_fs_request *p = c->req;
  if (!(c->fields & B (f)))
    return msb_cbor_skip (&d->r);
  switch (f)
    {
    case FLD_PATH:
      return msb_pd_cstr (d, &p->path);
    case FLD_TARGET:
      return msb_pd_cstr (d, &p->target);
    case FLD_LINK_PATH:
      return msb_pd_cstr (d, &p->link_path);
    case FLD_SRC:
      return msb_pd_cstr (d, &p->src);
    case FLD_DST:
      return msb_pd_cstr (d, &p->dst);
    case FLD_HANDLE:
      return msb_pd_uint (d, UINT64_MAX, &p->handle);
    case FLD_FOLLOW_SYMLINK:
      return op_flag (d, &p->follow_symlink);
    case FLD_RECURSIVE:
      return op_flag (d, &p->recursive);
    case FLD_MODE:
      return msb_pd_opt_u32 (d, &p->has_mode, &p->mode);
    case FLD_OPTIONS:
      return decode_map_null_ok (d, option_keys, OPT_N, option_field, &p->open);
    case FLD_OFFSET:
      if (msb_cbor_take_null (&d->r))
        return 0;
      return msb_pd_uint (d, UINT64_MAX, &p->offset);
    case FLD_LEN:
      return msb_pd_opt_u64 (d, &p->has_len, &p->len);
    case FLD_LIMIT:
      return msb_pd_opt_u64 (d, &p->has_limit, &p->limit);
    default:
      return decode_map_null_ok (d, attr_keys, A_N, attr_field, &p->attrs);
    }
}

static int
decode_op (msb_pdec *d, msb_msg_fs_request *p)
{
  size_t entries;
  const char *name;
  size_t len;
  if (msb_cbor_enter_map (&d->r, &entries) < 0)
    return -1;
  if (entries != 1)
    return msb_pd_fail (d, "FsOp is not a one-entry map");
  if (msb_cbor_read_text (&d->r, &name, &len) < 0)
    return -1;
  const fs_variant *v = variant_by_name (name, len);
  if (v == NULL)
    return msb_pd_fail (d, "unknown FsOp variant");
  p->op = v->kind;
  if (v->kind == MSB_FS_OP_READ_DIR)
    p->limit = FS_READ_DIR_DEFAULT_LIMIT;
  op_ctx c = { p, v->fields };
  uint32_t seen;
  if (msb_pd_map (d, field_keys, FLD_N, op_field, &c, &seen) < 0)
    return -1;
  if (msb_pd_require (d, field_keys, seen, v->fields & REQUIRED_FIELDS) < 0)
    return -1;
  msb_cbor_leave (&d->r);
  return 0;
}

static void
encode_field (msb_buf *out, const msb_msg_fs_request *p, unsigned f)
{
  msb_pe_key (out, field_keys[f]);
  switch (f)
    {
    case FLD_PATH:
      msb_cbor_put_cstr (out, p->path);
      break;
    case FLD_TARGET:
      msb_cbor_put_cstr (out, p->target);
      break;
    case FLD_LINK_PATH:
      msb_cbor_put_cstr (out, p->link_path);
      break;
    case FLD_SRC:
      msb_cbor_put_cstr (out, p->src);
      break;
    case FLD_DST:
      msb_cbor_put_cstr (out, p->dst);
      break;
    case FLD_HANDLE:
      msb_cbor_put_uint (out, p->handle);
      break;
    case FLD_FOLLOW_SYMLINK:
      msb_cbor_put_bool (out, p->follow_symlink);
      break;
    case FLD_RECURSIVE:
      msb_cbor_put_bool (out, p->recursive);
      break;
    case FLD_MODE:
      msb_pe_opt_uint (out, p->has_mode, p->mode);
      break;
    case FLD_OPTIONS:
      encode_options (out, &p->open);
      break;
    case FLD_OFFSET:
      msb_cbor_put_uint (out, p->offset);
      break;
    case FLD_LEN:
      msb_pe_opt_uint (out, p->has_len, p->len);
      break;
    case FLD_LIMIT:
      msb_pe_opt_uint (out, p->has_limit, p->limit);
      break;
    default:
      encode_attrs (out, &p->attrs);
      break;
    }
}

/* ---- {op} --------------------------------------------------------------------------- */

static const char *const request_keys[] = { "op" };

static int
request_field (msb_pdec *d, unsigned f, void *out)
{
  return decode_op (d, out);
}

int
msb_payload_decode_fs_request (msb_pdec *d, msb_msg *m)
{
  uint32_t seen;
  if (msb_pd_map (d, request_keys, 1, request_field, &m->u.fs_request, &seen) < 0)
    return -1;
  return msb_pd_require (d, request_keys, seen, 1u);
}

/* An op kind outside the table (MSB_FS_OP_INVALID) is a caller bug; it is written as null
 * so the agent answers invalid_payload instead of acting on a guessed op. */
void
msb_payload_encode_fs_request (msb_buf *out, const msb_msg *m)
{
  const msb_msg_fs_request *p = &m->u.fs_request;
  const fs_variant *v = variant_by_kind (p->op);
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, request_keys[0]);
  if (v == NULL)
    {
      msb_cbor_put_null (out);
      return;
    }
  msb_cbor_put_map (out, 1);
  msb_pe_key (out, v->name);
  msb_cbor_put_map (out, (uint64_t) __builtin_popcount (v->fields));
  for (unsigned f = 0; f < FLD_N; f++)
    if (v->fields & B (f))
      encode_field (out, p, f);
}
