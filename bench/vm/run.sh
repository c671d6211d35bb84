#!/bin/bash
# bench/vm/run.sh — the vm backend against the ns backend, in one run, on this host:
#
#   boot to ready   `msb create` wall time (and the agent's own core.ready timings)
#   idle memory     host memory per idle sandbox (QEMU + virtiofsd, or the sandbox's processes)
#   exec rtt        `true` through msb_exec_run in a running sandbox (bench/exec_rtt)
#
# for ns, vm under TCG, and vm under KVM when /dev/kvm is usable (`msb doctor` says why not).
# Prints a markdown table on stdout. Needs root. Sandboxes live in a scratch MSB_HOME per
# backend, removed at the end.
#
# Knobs (environment): MSB_BUILD (default: build), BENCH_VM_BOOTS (default 10),
# BENCH_VM_IDLE (seconds before the memory is read, default 5), BENCH_VM_MEM_N (sandboxes running
# at once for it, default 3), BENCH_VM_EXEC_N (default 300),
# BENCH_VM_MEMORY (guest RAM, default 512M), BENCH_VM_BACKENDS (default "ns,vm-tcg,vm-kvm").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
msb=$build/cli/msb
exec_rtt=$build/bench/exec_rtt

die() { echo "bench/vm: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$msb" ] && [ -x "$exec_rtt" ] || die "build first (ninja -C $build)"

work=$(mktemp -d /tmp/msb-bench-vm.XXXXXX)
cleanup() {
  for home in "$work"/home-*; do
    [ -d "$home/db" ] || continue
    MSB_HOME=$home "$msb" ls -q 2>/dev/null | while read -r name; do
      MSB_HOME=$home "$msb" rm -f "$name" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
}
trap cleanup EXIT

"$root/scripts/make-busybox-image.sh" "$work/image" >/dev/null
doctor=$("$msb" doctor --format json)
kvm_ok=$(printf '%s' "$doctor" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["kvm"]["ok"]))')
vm_ok=$(printf '%s' "$doctor" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["backends"]["vm"]["ok"]))')

backends="["
sep=""
for b in $(echo "${BENCH_VM_BACKENDS:-ns,vm-tcg,vm-kvm}" | tr ',' ' '); do
  case $b in
    ns) env='{"MSB_BACKEND": "ns"}' ; label=ns ;;
    vm-tcg) [ "$vm_ok" = 1 ] || { echo "bench/vm: skipping vm: not usable here" >&2; continue; }
            env='{"MSB_BACKEND": "vm", "MSB_VM_ACCEL": "tcg"}' ; label="vm (TCG)" ;;
    vm-kvm) if [ "$kvm_ok" != 1 ] || [ "$vm_ok" != 1 ]; then
              echo "bench/vm: skipping vm (KVM): $(printf '%s' "$doctor" | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvm"]["detail"])')" >&2
              continue
            fi
            env='{"MSB_BACKEND": "vm", "MSB_VM_ACCEL": "kvm"}' ; label="vm (KVM)" ;;
    *) die "unknown backend $b" ;;
  esac
  home=$work/home-${b}
  mkdir -p "$home"
  MSB_HOME=$home "$msb" image load -q "$work/image" --tag local/busybox:latest
  env=$(printf '%s' "$env" | python3 -c "import json,sys; e=json.load(sys.stdin); e['MSB_HOME']='$home'; print(json.dumps(e))")
  backends="$backends$sep[\"$label\", $env]"
  sep=", "
done
backends="$backends]"

MSB=$msb EXEC_RTT=$exec_rtt BACKENDS=$backends python3 "$here/vm_bench.py" 2>"$work/raw.log" || {
  cat "$work/raw.log" >&2
  exit 1
}
grep -v '^{' "$work/raw.log" >&2 || true
if [ -n "${BENCH_VM_JSON:-}" ]; then tail -1 "$work/raw.log" > "$BENCH_VM_JSON"; fi
