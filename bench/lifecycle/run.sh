#!/bin/bash
# bench/lifecycle/run.sh — lifecycle benchmarks of issue 4, as a markdown report on stdout
# (progress on stderr). bench/run.sh calls it; it also runs on its own:
#
#     MSB_BUILD=build bench/lifecycle/run.sh
#
#   1. stop → start round trip    `msb stop` then `msb start` of one idle sandbox, N rounds
#                                 (each CLI call timed separately, plus the pair)
#   2. idle sandbox memory        host memory of an idle sandbox: RSS and PSS of its runtime
#                                 process and its agent (/proc/<pid>/smaps_rollup), and the
#                                 sandbox cgroup's own charge (memory.usage_in_bytes)
#   3. density                    create DENSITY idle sandboxes (detached, small memory limit)
#                                 one after another, recording each create's time and, every
#                                 STEP sandboxes, the memory used; report the curve and an
#                                 estimate of how many would fit; then remove them all and
#                                 verify nothing leaked (mounts, cgroups, metrics slots,
#                                 processes, sockets, state)
#
# Nothing asserts a time: a failed create or a leak is an error (exit 1), numbers are reported.
# Needs root (the ns backend), python3. Everything happens in a temporary MSB_HOME that is
# removed at the end (BENCH_KEEP=1 keeps it).
#
# Knobs (environment): MSB_BUILD (default: build), BENCH_LC_ROUNDS (stop/start rounds, 20),
# BENCH_LC_IDLE (sandboxes measured for idle memory, 10), BENCH_LC_DENSITY (sandboxes in the
# density run, 200), BENCH_LC_STEP (sampling step, 10), BENCH_LC_MEMORY (memory limit of each
# density sandbox, 32M), BENCH_LC_JSON (also write every number to this JSON file).
set -euo pipefail
export MSB_BACKEND="${MSB_BACKEND:-ns}"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
msb=$build/cli/msb
image=local/busybox:latest

die() { echo "bench/lifecycle: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the ns backend needs it)"
command -v python3 >/dev/null || die "python3 not found"
[ -x "$msb" ] || die "$msb missing: build first (ninja -C $build)"

work=$(mktemp -d /tmp/msb-bench-lc.XXXXXX)
export MSB_HOME=$work/home
cleanup() {
  local rc=$?
  if [ -d "$MSB_HOME/db" ]; then
    "$msb" ls -q 2>/dev/null | while read -r name; do
      "$msb" rm -f "$name" >/dev/null 2>&1 || true
    done
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench/lifecycle: kept $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

imgdir=$build/images/busybox
if [ ! -f "$imgdir/index.json" ]; then
  imgdir=$work/image
  "$root/scripts/make-busybox-image.sh" "$imgdir" >/dev/null
fi
"$msb" image load -q "$imgdir" --tag "$image" >/dev/null

MSB="$msb" IMAGE="$image" python3 "$here/lifecycle.py"
