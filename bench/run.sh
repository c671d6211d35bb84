#!/bin/bash
# bench/run.sh — every msb benchmark in one go (`make bench` runs it with MSB_BUILD set).
#
#   1. cold start   `msb run local/busybox:latest -- true` against bwrap and crun on the same
#                   rootfs (hyperfine), plus `msb create`, `msb exec`, `msb rm -f` on their own
#   2. cold phases  where a cold run's time goes, through the C API and the runtime's boot log
#   3. exec rtt     `true` in a running sandbox through msb_exec_run, against
#                   `nsenter -a -t <agent pid> true` and a local fork+exec+wait of /bin/true
#
# Prints a markdown summary on stdout (hyperfine's progress goes to stderr) and writes every
# number to bench/results/<timestamp>.json. Needs root (the ns backend and the baselines),
# hyperfine, bwrap, crun, nsenter (util-linux), unshare and python3. Nothing outside a scratch
# directory is touched: the sandboxes live in a temporary MSB_HOME that is removed at the end.
#
# Knobs (environment): MSB_BUILD (default: build), BENCH_RUNS (hyperfine runs, default 50),
# BENCH_WARMUP (default 5), BENCH_EXEC_N (msb and local exec samples, default 2000),
# BENCH_NSENTER_N (default 300), BENCH_PHASES_N (default 30), BENCH_KEEP=1 keeps the scratch dir,
# BENCH_QUIET_WAIT (default 120): seconds to wait for the CPU to go quiet first (the "some"
# line of /proc/pressure/cpu, avg10 below BENCH_QUIET_PSI, default 5 %); 0 = do not wait.
set -euo pipefail
# Benchmarks of the ns backend unless told otherwise (`auto` picks vm on a KVM host);
# bench/vm compares the two backends itself.
export MSB_BACKEND="${MSB_BACKEND:-ns}"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
runs=${BENCH_RUNS:-50}
warmup=${BENCH_WARMUP:-5}
exec_n=${BENCH_EXEC_N:-2000}
nsenter_n=${BENCH_NSENTER_N:-300}
phases_n=${BENCH_PHASES_N:-30}
quiet_wait=${BENCH_QUIET_WAIT:-120}
quiet_psi=${BENCH_QUIET_PSI:-5}
image=local/busybox:latest
msb=$build/cli/msb

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (the ns backend, bwrap and crun baselines need it)"
for tool in hyperfine bwrap crun nsenter unshare python3 tar; do
  command -v "$tool" >/dev/null || die "\`$tool\` not found (install it: see scripts/install-deps.sh)"
done
for bin in "$msb" "$build/bench/exec_rtt" "$build/bench/cold_phases"; do
  [ -x "$bin" ] || die "$bin missing: build first (make build, or ninja -C $build)"
  rc=0; "$bin" --help >/dev/null 2>&1 || rc=$?
  [ "$rc" -lt 126 ] || die "$bin does not start (exit $rc): is the build complete?"
done

work=$(mktemp -d /tmp/msb-bench.XXXXXX)
export MSB_HOME=$work/home
cleanup() {
  local rc=$?
  if [ -d "$MSB_HOME/db" ]; then
    # Whatever a failed step left running in the scratch home.
    "$msb" ls 2>/dev/null | awk 'NR > 1 { print $1 }' | while read -r name; do
      "$msb" rm -f "$name" >/dev/null 2>&1 || true
    done
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then note "kept $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the image, and the same rootfs as a plain directory and an OCI bundle ----
imgdir=$build/images/busybox
if [ ! -f "$imgdir/index.json" ]; then
  imgdir=$work/image
  "$root/scripts/make-busybox-image.sh" "$imgdir" >/dev/null
fi
"$msb" image load -q "$imgdir" --tag "$image" >/dev/null
bundle=$work/bundle
mkdir -p "$bundle/rootfs"
layers=$(python3 - "$imgdir" <<'PY'
import json, os, sys
d = sys.argv[1]
blob = lambda dg: os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1])
index = json.load(open(os.path.join(d, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    print(blob(layer["digest"]))
PY
)
for layer in $layers; do
  tar -xzf "$layer" -C "$bundle/rootfs" --numeric-owner
done
rootfs=$bundle/rootfs
(cd "$bundle" && crun spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(path, "w"), indent=2)
PY

bwrap_cmd="bwrap --unshare-all --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev true"
crun_cmd="crun --root $work/crun-state run --bundle $bundle bench-crun"
# This host mounts an empty cgroup v2 tree at /sys/fs/cgroup/unified beside the v1 controllers
# ("hybrid"), which crun 1.8 refuses. Hiding it in a private mount namespace is the workaround;
# `unshare -m` makes that namespace's propagation private, so the host's mount is untouched.
unified=/sys/fs/cgroup/unified
hide_v2="true"
if mountpoint -q "$unified" 2>/dev/null; then hide_v2="umount $unified"; fi
crun_wrapped="unshare -m sh -c '$hide_v2 && exec $crun_cmd'"

# Each baseline must actually work before it is timed.
$bwrap_cmd || die "bwrap baseline failed: $bwrap_cmd"
unshare -m sh -c "$hide_v2 && exec $crun_cmd" || die "crun baseline failed: $crun_wrapped"
"$msb" run "$image" -- true || die "msb run failed"

# On a shared machine every number below moves with other people's work: wait a while for a
# quiet moment, and record how busy the machine was either way.
cpu_psi() { awk '/^some/ { sub("avg10=", "", $2); print $2 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
waited=0
while [ "$waited" -lt "$quiet_wait" ] && awk -v p="$(cpu_psi)" -v t="$quiet_psi" 'BEGIN { exit !(p > t) }'; do
  [ "$waited" = 0 ] && note "waiting up to ${quiet_wait}s for the CPU to go quiet (pressure $(cpu_psi) %)"
  sleep 5
  waited=$((waited + 5))
done

mkdir -p "$here/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
load_before="$(cut -d' ' -f1-3 /proc/loadavg), cpu pressure $(cpu_psi) %"

# ---- 1. cold start ----
note "cold start: msb run vs bwrap vs crun ($runs runs each)"
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$work/cold.json" \
  -n "msb run" "$msb run $image -- true" \
  -n "bwrap" "$bwrap_cmd" \
  -n "crun (+ unshare wrapper)" "$crun_wrapped" >&2
# crun alone, from inside a namespace prepared once: its own cost, without the wrapper's.
unshare -m sh -c "$hide_v2 && exec hyperfine -N --warmup $warmup --runs $runs \
  --export-json $work/crun.json -n crun '$crun_cmd'" >&2

note "msb create / exec / rm -f separately"
"$msb" create --name bench-exec "$image" >/dev/null
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$work/lifecycle.json" \
  -n "msb create" --prepare "sh -c '$msb rm -f bench-create >/dev/null 2>&1 || true'" \
  "$msb create --name bench-create $image" \
  -n "msb exec true" --prepare "true" "$msb exec bench-exec -- true" \
  -n "msb rm -f" --prepare "sh -c '$msb rm -f bench-rm >/dev/null 2>&1; $msb create --name bench-rm $image >/dev/null'" \
  "$msb rm -f bench-rm" >&2
"$msb" rm -f bench-create bench-exec >/dev/null 2>&1 || true

# ---- 2. cold phases ----
note "cold phases through the C API ($phases_n iterations)"
"$build/bench/cold_phases" -n "$phases_n" -i "$image" > "$work/phases.json"

# ---- 3. exec round trip ----
note "exec round trip ($exec_n msb / local, $nsenter_n nsenter)"
"$build/bench/exec_rtt" -n "$exec_n" -N "$nsenter_n" -i "$image" > "$work/exec_rtt.json"

load_after="$(cut -d' ' -f1-3 /proc/loadavg), cpu pressure $(cpu_psi) %"
leftover=$("$msb" ls 2>/dev/null | awk 'NR > 1' | wc -l)
[ "$leftover" = 0 ] || note "warning: $leftover sandbox(es) left in the scratch home"

out=$here/results/$stamp.json
python3 "$here/report.py" \
  --out "$out" --work "$work" --stamp "$stamp" --msb "$msb" --root "$root" \
  --load-before "$load_before" --load-after "$load_after" \
  --bwrap-cmd "$bwrap_cmd" --crun-cmd "$crun_cmd" --crun-wrapped "$crun_wrapped"
note "results: $out"
