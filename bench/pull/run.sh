#!/bin/bash
# bench/pull/run.sh — image pull and create benchmarks (issue 3); bench/run.sh may call it.
#
#   1. pull + unpack of a ~100 MiB, 5-layer image from a local docker-registry (plain HTTP on
#      127.0.0.1): `msb pull` into an empty MSB_HOME, against `skopeo copy docker://… oci:…`
#      followed by `umoci unpack`; and `msb pull` again with every layer cached.
#   2. `msb create` from a cached 5-layer and a cached 20-layer image, with the disk usage of
#      the image cache and of the sandbox's own directory around the creates (a create copies
#      nothing: the cache does not grow and the sandbox holds only its empty upper layer).
#
# Prints a markdown table on stdout. Needs root, docker-registry, skopeo, umoci, python3.
# Knobs: MSB_BUILD (default: build), BENCH_PULL_RUNS (default 3), BENCH_CREATE_RUNS (default 10),
# BENCH_PULL_MB (image size in MiB, default 100), BENCH_KEEP=1 keeps the scratch directory.
# Everything happens in a scratch directory; the registry it starts is stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
for tool in docker-registry skopeo umoci; do
  command -v "$tool" >/dev/null || { echo "bench/pull: $tool is not installed" >&2; exit 1; }
done
[ -x "$build/cli/msb" ] || { echo "bench/pull: $build/cli/msb not built" >&2; exit 1; }
exec /usr/bin/python3 "$here/bench_pull.py" "$build" "$root"
