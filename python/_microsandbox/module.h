/* microsandbox._microsandbox — the native half of the Python package: a thin binding of
 * libmsb. It owns no protocol logic: every operation is one libmsb call made with the GIL
 * released, and every failure becomes the exception class of its msb_error_kind (API.md
 * §1.19), looked up once in microsandbox.errors so the binding never parses messages.
 *
 * Threading: the asyncio layer calls the blocking entry points from worker threads; objects
 * here may be used from several threads at once. A native handle (sandbox connection, exec
 * session) is never freed while a call on it is in flight: calls pin it with an in-flight
 * count kept under the GIL, and a close requested meanwhile is carried out by the last call
 * to finish. */
#ifndef MSBPY_MODULE_H
#define MSBPY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include <msb/msb.h>

/* ---- errors ---- */

/* Raises the Python exception of `e` (its kind's class, its message) and frees `e`.
 * Returns NULL so callers can `return msbpy_raise (err);`. */
PyObject *msbpy_raise (msb_error *e);
/* Same for an int-returning function: returns -1. */
int msbpy_raise_int (msb_error *e);
/* The exception class of a kind (borrowed). */
PyObject *msbpy_error_class (msb_error_kind kind);
/* Raises `kind` with a printf-style message; returns NULL. */
PyObject *msbpy_raise_kind (msb_error_kind kind, const char *fmt, ...);

/* Evaluates `call`, a blocking libmsb call returning int, with the GIL released, and yields
 * its result. `call` must not touch Python objects. */
#define MSBPY_NOGIL(call)                                                                     \
  __extension__ ({                                                                            \
    int msbpy_nogil_r_;                                                                       \
    Py_BEGIN_ALLOW_THREADS                                                                    \
    msbpy_nogil_r_ = (call);                                                                  \
    Py_END_ALLOW_THREADS                                                                      \
    msbpy_nogil_r_;                                                                           \
  })

static inline void
msbpy_cleanup_error_fn (msb_error **e)
{
  msb_error_free (*e);
}
#define _msbpy_cleanup_error_ __attribute__ ((cleanup (msbpy_cleanup_error_fn)))

static inline void
msbpy_cleanup_decref_fn (PyObject **o)
{
  Py_XDECREF (*o);
}
#define _msbpy_cleanup_decref_ __attribute__ ((cleanup (msbpy_cleanup_decref_fn)))

/* ---- argument helpers (GIL held) ---- */

/* A str argument as a newly malloc'ed UTF-8 copy (NULL for None when allow_none). Returns 0,
 * or -1 with TypeError naming `what`. */
int msbpy_strdup_arg (PyObject *o, const char *what, bool allow_none, char **out);
/* A list/tuple of str as a NULL-terminated malloc'ed vector (NULL for None). */
int msbpy_strv_arg (PyObject *o, const char *what, char ***out);
void msbpy_strv_free (char **v);

static inline void
msbpy_cleanup_strv_fn (char ***v)
{
  msbpy_strv_free (*v);
}
#define _msbpy_cleanup_strv_ __attribute__ ((cleanup (msbpy_cleanup_strv_fn)))

/* A (char *) or None. */
PyObject *msbpy_str_or_none (const char *s);
/* A malloc'ed string (or NULL) as a str (or None); frees `s`. */
PyObject *msbpy_str_take (char *s);
/* A NULL-terminated vector as a list of str, or None for NULL. */
PyObject *msbpy_strv_or_none (const char *const *v);

/* ---- Context: an msb_ctx (one state root) ---- */

typedef struct
{
  PyObject_HEAD
  msb_ctx *ctx;
} msbpy_context;

extern PyTypeObject msbpy_context_type;

/* ---- SandboxConn: an msb_sandbox (a connection to a running sandbox) ---- */

typedef struct
{
  PyObject_HEAD
  msbpy_context *context; /* strong: the msb_ctx must outlive the handle */
  msb_sandbox *sb;        /* NULL once closed */
  int inflight;           /* calls using sb right now (GIL-protected) */
  int writers;            /* exec / fs stream writes in flight on this connection */
  bool closing;           /* close requested: the last in-flight call closes */
  PyObject *name;         /* str, cached */
  PyObject *shell;        /* str, cached */
} msbpy_sandbox;

extern PyTypeObject msbpy_sandbox_type;

/* Wraps a fresh handle (takes ownership of sb). */
PyObject *msbpy_sandbox_wrap (msbpy_context *context, msb_sandbox *sb);

/* Pins the handle for one call made with the GIL released (NULL + RuntimeError once closed);
 * release after the call, with the GIL held again. */
msb_sandbox *msbpy_sandbox_acquire (msbpy_sandbox *self);
void msbpy_sandbox_release (msbpy_sandbox *self);

/* Brackets a write made through a session of this connection (stdin, signal, resize, a
 * streamed file write) with the GIL released: while one is in flight, the connection's
 * socket may be busy and exec_start_nowait declines. GIL held. */
static inline void
msbpy_sandbox_writer_enter (PyObject *sandbox)
{
  ((msbpy_sandbox *) sandbox)->writers++;
}

static inline void
msbpy_sandbox_writer_leave (PyObject *sandbox)
{
  ((msbpy_sandbox *) sandbox)->writers--;
}

/* ---- guest filesystem (fs.c): SandboxConn.fs_* methods, FsReader, FsWriter ---- */

/* The results shared with volume_fs: a stat as (kind, size, mode, readonly, modified_ms,
 * accessed_ms, created_ms), a listing as [(path, kind, size, mode, modified_ms)]. */
PyObject *msbpy_fs_metadata_tuple (const msb_fs_metadata *m);
PyObject *msbpy_fs_entries_list (const msb_fs_entry *entries, size_t n);

PyObject *msbpy_fs_stat (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_exists (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_list (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_mkdir (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_remove (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_remove_dir (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_copy (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_rename (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_symlink (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_readlink (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_realpath (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_read (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_write (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_read_open (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_write_open (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_copy_from_host (msbpy_sandbox *self, PyObject *args);
PyObject *msbpy_fs_copy_to_host (msbpy_sandbox *self, PyObject *args);

extern PyTypeObject msbpy_fs_reader_type;
extern PyTypeObject msbpy_fs_writer_type;

#define MSBPY_FS_METHOD(name, doc) { #name, (PyCFunction) msbpy_##name, METH_VARARGS, doc },
#define MSBPY_SANDBOX_FS_METHODS                                                              \
  MSBPY_FS_METHOD (fs_stat, "fs_stat(path, follow=True) -> (kind, size, mode, readonly, "     \
                            "modified_ms, accessed_ms, created_ms)")                         \
  MSBPY_FS_METHOD (fs_exists, "fs_exists(path) -> bool")                                      \
  MSBPY_FS_METHOD (fs_list, "fs_list(path) -> list[(path, kind, size, mode, modified_ms)]")   \
  MSBPY_FS_METHOD (fs_mkdir, "fs_mkdir(path) -> None")                                        \
  MSBPY_FS_METHOD (fs_remove, "fs_remove(path) -> None")                                      \
  MSBPY_FS_METHOD (fs_remove_dir, "fs_remove_dir(path) -> None")                              \
  MSBPY_FS_METHOD (fs_copy, "fs_copy(src, dst) -> None")                                      \
  MSBPY_FS_METHOD (fs_rename, "fs_rename(src, dst) -> None")                                  \
  MSBPY_FS_METHOD (fs_symlink, "fs_symlink(target, link) -> None")                            \
  MSBPY_FS_METHOD (fs_readlink, "fs_readlink(path) -> str")                                   \
  MSBPY_FS_METHOD (fs_realpath, "fs_realpath(path) -> str")                                   \
  MSBPY_FS_METHOD (fs_read, "fs_read(path) -> bytes")                                         \
  MSBPY_FS_METHOD (fs_write, "fs_write(path, data) -> None")                                  \
  MSBPY_FS_METHOD (fs_read_open, "fs_read_open(path) -> FsReader")                            \
  MSBPY_FS_METHOD (fs_write_open, "fs_write_open(path) -> FsWriter")                          \
  MSBPY_FS_METHOD (fs_copy_from_host, "fs_copy_from_host(host_path, guest_path) -> None")     \
  MSBPY_FS_METHOD (fs_copy_to_host, "fs_copy_to_host(guest_path, host_path) -> None")

/* ---- Exec: an msb_exec session ---- */

typedef struct msbpy_buf
{
  char *data;
  size_t len, cap;
} msbpy_buf;

typedef struct
{
  PyObject_HEAD
  PyObject *sandbox; /* strong: keeps the connection (and context) alive */
  msb_exec *ex;      /* NULL once freed */
  int event_fd;
  int inflight;
  bool closing;
  bool finished;     /* EXITED or FAILED was delivered */
  msb_error *pending; /* a failure seen after events were already returned */
  msbpy_buf out, err; /* pump() accumulators */
} msbpy_exec;

extern PyTypeObject msbpy_exec_type;

/* Exec options from the dict the asyncio layer builds (see exec.c). */
typedef struct msbpy_exec_opts
{
  msb_exec_opts opts;
  char *cwd;
  char *user;
  char **env;
  msb_rlimit *rlimits;
  char **rlimit_names;
  size_t n_rlimits;
  char *stdin_data;
  size_t stdin_len;
} msbpy_exec_opts;

int msbpy_exec_opts_parse (PyObject *dict, msbpy_exec_opts *o);
void msbpy_exec_opts_clear (msbpy_exec_opts *o);
#define _msbpy_cleanup_exec_opts_ __attribute__ ((cleanup (msbpy_exec_opts_clear)))

PyObject *msbpy_exec_wrap (PyObject *sandbox, msb_exec *ex);

/* ---- config (config.c) ---- */

/* Builds an msb_config from the dict of validated create options. */
int msbpy_config_from_dict (PyObject *dict, msb_config **out);

static inline void
msbpy_cleanup_config_fn (msb_config **c)
{
  msb_config_free (*c);
}
#define _msbpy_cleanup_config_ __attribute__ ((cleanup (msbpy_cleanup_config_fn)))

/* ---- network (network.c): the `network` object of API.md §1.20 into libmsb ---- */

/* config["network"]: a JSON str set with msb_config_set_network_json (config.c's table). */
int msbpy_config_set_network (msb_config *cfg, const char *key, PyObject *v);
/* Module function network_normalize(json) -> str: the section as libmsb would store it, or
 * ValueError naming the offending key. */
PyObject *msbpy_network_normalize (PyObject *module, PyObject *arg);

/* ---- values (values.c): libmsb structs as Python dicts ---- */

/* Sets d[key] = v, stealing v (NULL: a failed conversion). Returns 0, or -1 with an
 * exception set. */
int msbpy_put (PyObject *d, const char *key, PyObject *v);
/* Stores `item` (stolen) at (*list)[i] of a list made by PyList_New; a NULL item drops the
 * list, so a filling loop that runs while *list is set stops at the first failure. */
void msbpy_list_put (PyObject **list, size_t i, PyObject *item);
/* A timestamp in ms as a float, or None when unset (≤ 0). */
PyObject *msbpy_ms_or_none (int64_t ms);

PyObject *msbpy_info_dict (const msb_sandbox_info *info);
PyObject *msbpy_metrics_dict (const msb_metrics *m);
PyObject *msbpy_image_dict (const msb_image_info *info);
PyObject *msbpy_log_entry_tuple (const msb_log_entry *e);

/* ---- create (create.c): creation with image pull progress ---- */

/* Creates and boots sandbox `name` (msb_sandbox_create_ex), reporting the image's pull
 * events to `progress` (a callable taking a dict, or None); from disk snapshot `snapshot`
 * (a name or artifact path) unless NULL. GIL held on entry and exit;
 * released while creating. Returns 0, or -1 with an exception set. */
int msbpy_create (msbpy_context *context, const char *name, const msb_config *cfg,
                  unsigned flags, int grace_ms, PyObject *progress, const char *snapshot,
                  msb_sandbox **out);

/* ---- images (images.c) and volumes (volumes.c): Context methods ---- */

int msbpy_image_details (PyObject *dict, const msb_image_info *info);
PyObject *msbpy_image_remove (msbpy_context *self, PyObject *args);
PyObject *msbpy_image_prune (msbpy_context *self, PyObject *unused);
PyObject *msbpy_image_save (msbpy_context *self, PyObject *args);
PyObject *msbpy_volume_create (msbpy_context *self, PyObject *args);
PyObject *msbpy_volume_get (msbpy_context *self, PyObject *args);
PyObject *msbpy_volume_list (msbpy_context *self, PyObject *unused);
PyObject *msbpy_volume_remove (msbpy_context *self, PyObject *args);
PyObject *msbpy_volume_fs (msbpy_context *self, PyObject *args);

/* ---- snapshots (snapshots.c) and live modification (modify.c): Context methods ---- */

PyObject *msbpy_snapshot_create (msbpy_context *self, PyObject *args, PyObject *kwds);
PyObject *msbpy_snapshot_open (msbpy_context *self, PyObject *args);
PyObject *msbpy_snapshot_list_dir (msbpy_context *self, PyObject *args);
PyObject *msbpy_snapshot_verify (msbpy_context *self, PyObject *args);
PyObject *msbpy_snapshot_get (msbpy_context *self, PyObject *args);
PyObject *msbpy_snapshot_list (msbpy_context *self, PyObject *unused);
PyObject *msbpy_snapshot_remove (msbpy_context *self, PyObject *args);
PyObject *msbpy_snapshot_reindex (msbpy_context *self, PyObject *args);
PyObject *msbpy_sandbox_modify (msbpy_context *self, PyObject *args);

/* ---- module state ---- */

int msbpy_errors_init (PyObject *module);

#endif
