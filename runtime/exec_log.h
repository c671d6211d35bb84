/* exec.log (API.md §3.8): one JSON object per line for every stdout/stderr chunk the relay
 * sees, plus system markers; rotated at 10 MiB into exec.log.1 … exec.log.3. */
#ifndef MSB_RUNTIME_EXEC_LOG_H
#define MSB_RUNTIME_EXEC_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct msb_exec_log msb_exec_log;

#define MSB_EXEC_LOG_ROTATE_BYTES (10u * 1024u * 1024u)
#define MSB_EXEC_LOG_KEEP 3

/* Opens (appending) exec.log inside the directory `logs_dirfd`. */
int msb_exec_log_open (int logs_dirfd, msb_exec_log **out, msb_error **err);
/* `source`: "stdout", "stderr", "output" or "system"; session_id 0 = omitted. */
void msb_exec_log_write (msb_exec_log *log, const char *source, const uint8_t *data, size_t len,
                         uint64_t session_id);
/* A system marker; a trailing newline is added when missing. */
void msb_exec_log_system (msb_exec_log *log, const char *text);
void msb_exec_log_close (msb_exec_log *log);

/* Appends `data` as the body of a JSON string (without quotes), invalid UTF-8 replaced by
 * U+FFFD. Shared with the log readers' tests. */
struct msb_buf;
void msb_json_escape_utf8 (struct msb_buf *out, const uint8_t *data, size_t len);

#endif
