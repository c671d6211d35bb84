#!/bin/bash
# bench/python/run.sh — overhead of the microsandbox Python binding against the C API.
#
# Times the same two operations through libmsb directly (capi_ops, C) and through the
# Python package (py_ops.py, asyncio), in interleaved rounds so drift on a busy machine hits
# both alike, and prints a markdown table of the medians with their ratio (target ≤ 1.2×):
#
#   lifecycle  Sandbox.create + shell("true") + stop   vs  msb_sandbox_create + msb_shell + msb_sandbox_stop
#   exec       shell("true") in a running sandbox      vs  msb_shell (the exec round trip)
#
# Needs root (the ns backend). Uses a scratch MSB_HOME with the busybox image, removed at
# the end. Knobs: MSB_BUILD (default: build), BENCH_ROUNDS (5), BENCH_EXEC_N (300 per round),
# BENCH_LIFECYCLE_N (20 per round).
set -euo pipefail
export MSB_BACKEND="${MSB_BACKEND:-ns}"

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
rounds=${BENCH_ROUNDS:-5}
exec_n=${BENCH_EXEC_N:-300}
life_n=${BENCH_LIFECYCLE_N:-20}
capi=$build/bench/python/capi_ops
python=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$capi" ] || { echo "bench: $capi missing: build first (ninja -C $build)" >&2; exit 1; }

scratch=$(mktemp -d /tmp/msb-bench-py-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export MSB_HOME=$scratch/home
export PYTHONPATH=$build/python
"$root/scripts/make-busybox-image.sh" "$scratch/image" >/dev/null
"$build/cli/msb" image load -q "$scratch/image" --tag local/busybox:latest >/dev/null

results=$scratch/results.jsonl
for ((r = 1; r <= rounds; r++)); do
  echo "bench: round $r/$rounds" >&2
  { "$capi" exec "$exec_n" | sed 's/^{/{"side": "c", /'
    "$python" "$here/py_ops.py" exec "$exec_n" | sed 's/^{/{"side": "python", /'
    "$capi" lifecycle "$life_n" | sed 's/^{/{"side": "c", /'
    "$python" "$here/py_ops.py" lifecycle "$life_n" | sed 's/^{/{"side": "python", /'
  } >>"$results"
done

"$python" - "$results" <<'PY'
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1])]
def med(op, side, key="median_us"):
    return statistics.median(r[key] for r in rows if r["op"] == op and r["side"] == side)

print("| operation | C API (median µs) | Python (median µs) | ratio | C min µs | Python min µs |")
print("|---|---:|---:|---:|---:|---:|")
names = {"lifecycle": "create + shell(\"true\") + stop", "exec": "exec round trip: shell(\"true\")"}
for op in ("lifecycle", "exec"):
    c, p = med(op, "c"), med(op, "python")
    cm, pm = med(op, "c", "min_us"), med(op, "python", "min_us")
    print(f"| {names[op]} | {c:.0f} | {p:.0f} | {p / c:.2f}× | {cm:.0f} | {pm:.0f} |")
print(f"\n(median over rounds of per-round medians; {len(rows) // 4} rounds)")
PY
