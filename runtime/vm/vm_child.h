/* Starting the vm backend's host processes (see child.c). */
#ifndef MSB_RUNTIME_VM_CHILD_H
#define MSB_RUNTIME_VM_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct msb_cgroup msb_cgroup;

typedef struct msb_vm_child
{
  int error_fd; /* write end, close-on-exec */
  pid_t parent;
  int tasks_fds[8];
  size_t n_tasks_fds;
} msb_vm_child;

/* Runs in the child after it entered the cgroups; must exec or die. */
typedef void (*msb_vm_child_fn) (msb_vm_child *c, void *arg);

/* Clones a child (clone3 with `clone_flags`) into `cg` that runs fn(arg), and waits until it
 * executes its program (EOF on the error pipe) or reports why it could not; a failed child
 * is reaped. `what` names the program in errors. */
int msb_vm_spawn (msb_cgroup *cg, uint64_t clone_flags, const char *what, msb_vm_child_fn fn,
                  void *arg, pid_t *out_pid, int *out_pidfd, msb_error **err);

/* Child side. Reports and exits. */
_Noreturn void msb_vm_child_die (const msb_vm_child *c, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
_Noreturn void msb_vm_child_die_error (const msb_vm_child *c, const msb_error *e);
/* (Re-)arms the parent-death signal: changing credentials clears it. */
void msb_vm_child_die_with_parent (const msb_vm_child *c);
/* Makes fds[i] fd i for i < n and closes every other fd but the error pipe. */
void msb_vm_child_arrange_fds (msb_vm_child *c, const int *fds, int n);

#endif
