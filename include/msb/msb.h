/* msb — run untrusted code in sandboxes made from OCI images.
 *
 * This is the umbrella header of libmsb, the C library every msb client (the `msb` CLI, the
 * `microsandbox` Python package, your program) is built on. Start with msb_ctx_open(), then
 * msb_sandbox_create() and msb_exec_run():
 *
 *     msb_ctx *ctx; msb_error *err = NULL;
 *     msb_ctx_open (&ctx, NULL, &err);
 *     msb_config *cfg = msb_config_new ();
 *     msb_config_set_image (cfg, "local/busybox:latest", &err);
 *     msb_sandbox *sb;
 *     msb_sandbox_create (ctx, "demo", cfg, 0, &sb, &err);
 *     msb_exec_output out;
 *     msb_shell (sb, "echo hello", NULL, &out, &err);
 *
 * Conventions: every fallible function returns a negative value on failure and fills *err
 * (see msb/error.h); objects returned through `out` pointers belong to the caller and are
 * released with the matching _free/_close function. Unless a function says otherwise it is
 * safe to call from several threads on different objects; an msb_ctx and an msb_sandbox may
 * be shared between threads.
 */
#ifndef MSB_MSB_H
#define MSB_MSB_H

#include <msb/config.h>
#include <msb/error.h>
#include <msb/exec.h>
#include <msb/fs.h>
#include <msb/image.h>
#include <msb/modify.h>
#include <msb/network.h>
#include <msb/pull.h>
#include <msb/observe.h>
#include <msb/sandbox.h>
#include <msb/snapshot.h>
#include <msb/volume.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;

/* Opens the state root `home` (NULL: $MSB_HOME, else ~/.microsandbox), creating its layout on
 * first use. The context holds the state database connection. Thread-safe. */
int msb_ctx_open (msb_ctx **out, const char *home, msb_error **err);

/* Closes the context. Sandboxes it created in attached mode keep running until their
 * msb_sandbox handles are closed or the process exits. */
void msb_ctx_close (msb_ctx *ctx);

/* Absolute path of the state root. Valid until msb_ctx_close(). */
const char *msb_ctx_home (const msb_ctx *ctx);

/* Version of the library ("0.1.0"). */
const char *msb_version (void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
