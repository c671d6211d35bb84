#!/bin/bash
# bench/fs/run.sh — moving 100 MiB between the host and a running sandbox:
#
#   api    msb_fs_write / msb_fs_read streams (the fs protocol through the relay)
#   exec   `cat > f` / `cat f` through msb_exec (stdin / stdout of a command)
#   bind   a bind volume: the host writes / reads the file in the shared directory
#   cli    `msb cp` and `… | msb exec NAME -- sh -c 'cat > f'` / `msb exec NAME -- cat f`
#          (whole commands: connection, and for exec the CLI's stdio, included)
#
# Prints a markdown table (MB/s, 10^6 bytes per second, median of BENCH_FS_RUNS runs; page
# cache warm: this measures the transport, not the disk). The target for the fs API is
# ≥ 500 MB/s each way. Needs root; uses a scratch MSB_HOME removed at the end.
#
# Knobs: MSB_BUILD (default: build), BENCH_FS_MIB (default 100), BENCH_FS_RUNS (default 5),
# MSB_TEST_IMAGE_DIR (an OCI layout of the busybox image; built when unset), BENCH_KEEP=1.
set -euo pipefail
export MSB_BACKEND="${MSB_BACKEND:-ns}"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
mib=${BENCH_FS_MIB:-100}
runs=${BENCH_FS_RUNS:-5}
msb=$build/cli/msb
bench=$build/bench/fs/fs_bench

die() { echo "bench/fs: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the ns backend needs it)"
for bin in "$msb" "$bench"; do
  [ -x "$bin" ] || die "$bin missing: build first (ninja -C $build)"
done

work=$(mktemp -d /tmp/msb-bench-fs.XXXXXX)
export MSB_HOME=$work/home
cleanup() {
  local rc=$?
  "$msb" rm -f fs-bench-cli >/dev/null 2>&1 || true
  "$msb" rm -f fs-bench >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench/fs: kept $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

image=${MSB_TEST_IMAGE_DIR:-}
if [ -z "$image" ]; then
  image=$work/image
  "$root/scripts/make-busybox-image.sh" "$image" >/dev/null
fi
"$msb" image load -q "$image" --tag local/busybox:latest >/dev/null

mkdir -p "$work/bind" "$work/host"
chown 1000:1000 "$work/bind"  # an ordinary user's directory: the idmapped case
api_rows=$("$bench" --bind "$work/bind" --size-mib "$mib" --runs "$runs")

# The CLI: whole commands, timed from the shell.
head -c $((mib << 20)) /dev/urandom > "$work/host/src.bin"
"$msb" create -q -n fs-bench-cli local/busybox:latest >/dev/null
mbs() { awk -v b=$((mib << 20)) -v s="$1" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
cp_in() { "$msb" cp "$work/host/src.bin" fs-bench-cli:/tmp/cp.bin; }
cp_out() { "$msb" cp fs-bench-cli:/tmp/cp.bin "$work/host/back.bin"; }
exec_in() { "$msb" exec --no-tty fs-bench-cli -- sh -c 'cat > /tmp/ex.bin' < "$work/host/src.bin"; }
exec_out() { "$msb" exec --no-tty fs-bench-cli -- cat /tmp/ex.bin; }
cp_in; exec_in  # warm-up
cp_w=(); cp_r=(); ex_w=(); ex_r=()
for _ in $(seq "$runs"); do
  cp_w+=("$(timed cp_in)"); cp_r+=("$(timed cp_out)")
  ex_w+=("$(timed exec_in)"); ex_r+=("$(timed exec_out)")
done
cmp -s "$work/host/src.bin" "$work/host/back.bin" || die "msb cp round trip differs"
med() { printf '%s\n' "$@" | median; }

echo
echo "### fs transfer, ${mib} MiB (MB/s, median of $runs; host $(nproc) CPUs, $(uname -r))"
echo
echo "| method | host → sandbox | sandbox → host |"
echo "|---|---:|---:|"
echo "$api_rows"
echo "| \`msb cp\` (CLI, whole command) | $(mbs "$(med "${cp_w[@]}")") | $(mbs "$(med "${cp_r[@]}")") |"
echo "| \`msb exec … cat\` (CLI, whole command) | $(mbs "$(med "${ex_w[@]}")") | $(mbs "$(med "${ex_r[@]}")") |"
