/* Is KVM usable? Finding /dev/kvm is not enough: it can be absent from a container, closed to
 * us, an older API, or — in nested setups without hardware virtualisation — a KVM that
 * emulates every guest instruction: on such a host a loop of 2 000 iterations takes ~2 ms
 * instead of ~2 µs, and a kernel that TCG boots in a second takes minutes. So the probe
 * does what QEMU will do up to the first instructions: creates a VM with one page of memory
 * and a vCPU, and runs a counted loop in real mode, timed.
 *
 * Must never: keep the fds (a probe from `msb doctor` or `auto` must not hold a VM). */
#include "runtime/vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* Hardware runs LOOP_ITERATIONS of `dec ecx; jnz` in ~1 µs, plus a VM entry and exit (tens
 * of µs when nested with hardware support); an emulating KVM needs ~2 ms. The best of
 * LOOP_RUNS counts, so one preemption does not condemn a fast host. */
#define LOOP_ITERATIONS 2000
#define LOOP_BUDGET_NS (500ull * 1000ull)
#define LOOP_RUNS 3
#define GUEST_MEM 0x10000
#define GUEST_CODE 0x1000

static bool kvm_ok;
static char kvm_why[256];
static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;

static bool
fail (const char *fmt, const char *detail)
{
  snprintf (kvm_why, sizeof kvm_why, fmt, detail);
  return false;
}

/* mov ecx, LOOP_ITERATIONS ; l: dec ecx ; jnz l ; hlt   (16-bit code, operand-size prefixes) */
static void
write_guest_code (uint8_t *mem)
{
  const uint32_t n = LOOP_ITERATIONS;
  const uint8_t code[] = { 0x66, 0xb9, (uint8_t) n, (uint8_t) (n >> 8), (uint8_t) (n >> 16),
                           (uint8_t) (n >> 24), 0x66, 0x49, 0x75, 0xfc, 0xf4 };
  memcpy (mem + GUEST_CODE, code, sizeof code);
}

/* Runs the loop LOOP_RUNS times (or until one run is within budget); the best time. */
static bool
time_loop (int vcpu, struct kvm_run *run, uint64_t *best_ns)
{
  struct kvm_sregs sregs;
  if (ioctl (vcpu, KVM_GET_SREGS, &sregs) < 0)
    return fail ("KVM_GET_SREGS: %s", strerror (errno));
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  *best_ns = UINT64_MAX;
  for (int i = 0; i < LOOP_RUNS && *best_ns > LOOP_BUDGET_NS; i++)
    {
      struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2 };
      uint64_t t0 = msb_now_mono_ns ();
      if (ioctl (vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl (vcpu, KVM_SET_REGS, &regs) < 0)
        return fail ("set vCPU registers: %s", strerror (errno));
      if (ioctl (vcpu, KVM_RUN, 0) < 0)
        return fail ("KVM_RUN: %s", strerror (errno));
      uint64_t ns = msb_now_mono_ns () - t0;
      if (run->exit_reason != KVM_EXIT_HLT)
        {
          char reason[16];
          snprintf (reason, sizeof reason, "%u", run->exit_reason);
          return fail ("the probe vCPU stopped with exit reason %s instead of HLT", reason);
        }
      if (ns < *best_ns)
        *best_ns = ns;
    }
  return true;
}

static bool
run_probe_vcpu (int kvm, int vm, uint64_t *elapsed_ns)
{
  uint8_t *mem = mmap (NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return fail ("mmap guest memory: %s", strerror (errno));
  write_guest_code (mem);
  bool ok = false;
  struct kvm_userspace_memory_region region
      = { .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM, .userspace_addr = (uintptr_t) mem };
  _msb_cleanup_close_ int vcpu = -1;
  int run_size = ioctl (kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (ioctl (vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
    fail ("KVM_SET_USER_MEMORY_REGION: %s", strerror (errno));
  else if ((vcpu = ioctl (vm, KVM_CREATE_VCPU, 0)) < 0)
    fail ("KVM_CREATE_VCPU: %s", strerror (errno));
  else if (run_size <= 0)
    fail ("KVM_GET_VCPU_MMAP_SIZE: %s", strerror (errno));
  else
    {
      struct kvm_run *run = mmap (NULL, (size_t) run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
      if (run == MAP_FAILED)
        fail ("mmap kvm_run: %s", strerror (errno));
      else
        {
          ok = time_loop (vcpu, run, elapsed_ns);
          munmap (run, (size_t) run_size);
        }
    }
  munmap (mem, GUEST_MEM);
  return ok;
}

static bool
probe (void)
{
  _msb_cleanup_close_ int kvm = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0)
    return fail ("/dev/kvm: %s", strerror (errno));
  int version = ioctl (kvm, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION)
    {
      char v[16];
      snprintf (v, sizeof v, "%d", version);
      return fail ("/dev/kvm speaks API version %s, not 12", v);
    }
  _msb_cleanup_close_ int vm = ioctl (kvm, KVM_CREATE_VM, 0);
  if (vm < 0)
    return fail ("KVM_CREATE_VM: %s (is hardware virtualisation enabled?)", strerror (errno));
  uint64_t ns = 0;
  if (!run_probe_vcpu (kvm, vm, &ns))
    return false;
  if (ns > LOOP_BUDGET_NS)
    {
      char took[96];
      snprintf (took, sizeof took, "a %d-iteration loop took %.2f ms (hardware: ~0.002 ms)",
                LOOP_ITERATIONS, (double) ns / 1e6);
      return fail ("/dev/kvm emulates guest code instead of running it: %s; nested "
                   "virtualisation without hardware support, where TCG is faster",
                   took);
    }
  return true;
}

static bool fresh;

static void
probe_once (void)
{
  if (!fresh && msb_vm_kvm_verdict_load (&kvm_ok, kvm_why, sizeof kvm_why))
    return;
  kvm_ok = probe ();
  msb_vm_kvm_verdict_store (kvm_ok, kvm_ok ? "" : kvm_why);
}

bool
msb_vm_kvm_usable (char *why, size_t why_len)
{
  pthread_once (&kvm_once, probe_once);
  if (!kvm_ok && why && why_len)
    snprintf (why, why_len, "%s", kvm_why);
  return kvm_ok;
}

bool
msb_vm_kvm_usable_fresh (char *why, size_t why_len)
{
  fresh = true;
  return msb_vm_kvm_usable (why, why_len);
}
