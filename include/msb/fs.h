/* Files inside a running sandbox (API.md §1.9): stat, list, create, remove, copy, rename,
 * whole-file and streamed reads and writes, symlinks, and copies between the host and the
 * sandbox.
 *
 * Paths are absolute sandbox paths. The sandbox resolves them inside its own root: ".." and
 * absolute symlinks stop at the sandbox's "/", so no path reaches a host file. Every failure
 * the sandbox reports (missing path, is a directory, permission denied, …) is
 * MSB_ERR_FILESYSTEM; its message carries the sandbox's reason and msb_error_get_errno() the
 * errno behind it (ENOENT, EISDIR, EACCES, …). A failure on the host side of a copy is
 * MSB_ERR_IO. A sandbox that is not running is MSB_ERR_SANDBOX_NOT_RUNNING.
 *
 * Thread-safety: every call uses its own session on the sandbox's connection, so calls on
 * one msb_sandbox may run concurrently (with each other and with exec). A reader or writer
 * object belongs to one thread at a time. */
#ifndef MSB_FS_H
#define MSB_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_sandbox msb_sandbox;

typedef enum msb_fs_entry_kind
{
  MSB_FS_FILE = 0,
  MSB_FS_DIRECTORY,
  MSB_FS_SYMLINK,
  MSB_FS_OTHER, /* device, FIFO, socket */
} msb_fs_entry_kind;

/* "file", "directory", "symlink", "other". */
const char *msb_fs_entry_kind_name (msb_fs_entry_kind kind);

/* One directory entry. Times are milliseconds since the Unix epoch (second precision), -1 when
 * unknown. */
typedef struct msb_fs_entry
{
  char *path;       /* full path: the listed directory joined with the entry's name */
  msb_fs_entry_kind kind; /* of the entry itself (a symlink is MSB_FS_SYMLINK) */
  uint64_t size;
  uint32_t mode;    /* full st_mode */
  int64_t modified_ms;
  uint32_t uid;     /* as the sandbox sees them */
  uint32_t gid;
} msb_fs_entry;

typedef struct msb_fs_metadata
{
  msb_fs_entry_kind kind;
  uint64_t size;
  uint32_t mode;    /* full st_mode */
  bool readonly;    /* the owner-write bit is clear */
  int64_t modified_ms;
  int64_t accessed_ms;
  int64_t created_ms; /* -1: not reported */
  uint32_t uid;
  uint32_t gid;
} msb_fs_metadata;

/* Metadata of `path`, following symlinks (msb_fs_lstat: of a final symlink itself). */
int msb_fs_stat (msb_sandbox *sb, const char *path, msb_fs_metadata *out, msb_error **err);
int msb_fs_lstat (msb_sandbox *sb, const char *path, msb_fs_metadata *out, msb_error **err);

/* *out = whether stat of `path` succeeds. Any failure the sandbox reports is `false`; only a
 * lost connection or a stopped sandbox is an error. */
int msb_fs_exists (msb_sandbox *sb, const char *path, bool *out, msb_error **err);

/* Entries of directory `path` (not "." or ".."), sorted by name. Free with
 * msb_fs_entries_free(). Directories of any size work (they are read in pages). */
int msb_fs_list (msb_sandbox *sb, const char *path, msb_fs_entry **entries, size_t *n,
                 msb_error **err);
void msb_fs_entries_free (msb_fs_entry *entries, size_t n);

/* Creates directory `path` and its missing parents (mkdir -p; an existing directory is fine). */
int msb_fs_mkdir (msb_sandbox *sb, const char *path, msb_error **err);
/* Removes a file or symlink (a directory fails with EISDIR). */
int msb_fs_remove (msb_sandbox *sb, const char *path, msb_error **err);
/* Removes a directory and everything below it (never following symlinks). */
int msb_fs_remove_dir (msb_sandbox *sb, const char *path, msb_error **err);
/* Copies a file or a directory tree inside the sandbox; symlinks in a tree are copied as
 * symlinks. An existing destination file is overwritten; a directory is merged into. */
int msb_fs_copy (msb_sandbox *sb, const char *src, const char *dst, msb_error **err);
/* rename(2) inside the sandbox. */
int msb_fs_rename (msb_sandbox *sb, const char *src, const char *dst, msb_error **err);

/* Sets the permission bits (07777) of `path`, following symlinks. */
int msb_fs_set_mode (msb_sandbox *sb, const char *path, uint32_t mode, msb_error **err);

/* The canonical path of `path` (symlinks and ".." resolved inside the sandbox). Free with
 * free(). */
int msb_fs_realpath (msb_sandbox *sb, const char *path, char **out, msb_error **err);
/* Creates symlink `link_path` whose content is `target` (stored as given, not resolved). */
int msb_fs_symlink (msb_sandbox *sb, const char *target, const char *link_path, msb_error **err);
/* The content of symlink `path`. Free with free(). */
int msb_fs_readlink (msb_sandbox *sb, const char *path, char **out, msb_error **err);

/* The whole file. *data (free with free()) is NUL-terminated for convenience; *len excludes
 * the NUL. */
int msb_fs_read (msb_sandbox *sb, const char *path, uint8_t **data, size_t *len,
                 msb_error **err);
/* Creates or truncates `path`, then writes `len` bytes. The parent directory must exist. */
int msb_fs_write (msb_sandbox *sb, const char *path, const void *data, size_t len,
                  msb_error **err);

/* Streamed read: chunks of at most 3 MiB, requested from the sandbox a few MiB ahead of the
 * caller, so files larger than memory stream in constant space. */
typedef struct msb_fs_reader msb_fs_reader;
int msb_fs_read_open (msb_sandbox *sb, const char *path, msb_fs_reader **out, msb_error **err);
/* Returns 1 with the next chunk (valid until the next call or close), 0 at the end of the file,
 * -1 on error (the reader is then at its end). */
int msb_fs_read_next (msb_fs_reader *r, const uint8_t **data, size_t *len, msb_error **err);
/* Bytes returned so far. */
uint64_t msb_fs_reader_offset (const msb_fs_reader *r);
void msb_fs_read_close (msb_fs_reader *r);

/* Streamed write: the file is created or truncated at open; each msb_fs_write_chunk() sends
 * its bytes (any length, split into ≤ 3 MiB frames) as they come; msb_fs_write_close() waits
 * until the sandbox has written everything and reports the first failure (e.g. ENOSPC). A
 * failure seen while sending is reported by msb_fs_write_chunk() already. */
typedef struct msb_fs_writer msb_fs_writer;
int msb_fs_write_open (msb_sandbox *sb, const char *path, msb_fs_writer **out, msb_error **err);
int msb_fs_write_chunk (msb_fs_writer *w, const void *data, size_t len, msb_error **err);
/* Finishes the file and frees the writer (also after a failure; then it only frees). */
int msb_fs_write_close (msb_fs_writer *w, msb_error **err);

/* Streams a single host file into the sandbox (created or truncated). Host-side failures
 * (missing host file, a directory) are MSB_ERR_IO. */
int msb_fs_copy_from_host (msb_sandbox *sb, const char *host_path, const char *guest_path,
                           msb_error **err);
/* Streams a single sandbox file to `host_path`, which is written and nothing else: its final
 * component is opened without following symlinks (an existing symlink there is refused) and
 * must be a regular file if it exists. The host file is only created once the sandbox file
 * has been opened. Host-side failures are MSB_ERR_IO. */
int msb_fs_copy_to_host (msb_sandbox *sb, const char *guest_path, const char *host_path,
                         msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
