#!/bin/bash
# bench/all.sh — every benchmark suite in one run (`make bench`), one markdown report.
#
#   core       cold start against bwrap and crun, CLI verbs, cold phases, exec round trip (run.sh)
#   pull       pull against skopeo + umoci from a local registry, create from cached images
#   lifecycle  stop → start, idle memory per sandbox, density
#   fs         100 MiB in and out through the fs API, exec stdio, a bind volume and the CLI
#   python     the Python binding against the C API
#   net        msb's network engine against slirp4netns and a veth pair
#   vm         the vm backend (TCG; KVM when usable) against the ns backend
#
# The suites run one after another on the same machine, so their ratios are comparable within
# the run. The report goes to stdout and to bench/results/<UTC timestamp>.md; progress goes to
# stderr. BENCH_SUITES (default: all of the above, in that order) picks some. A suite that
# fails is reported as failed and the others still run; the exit status is then 1.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suites=${BENCH_SUITES:-core pull lifecycle fs python net vm}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$here/results"
report=$here/results/$stamp.md
: > "$report"
status=0

script_of() {
  case "$1" in
    core) echo "$here/run.sh" ;;
    pull | lifecycle | fs | python | net | vm) echo "$here/$1/run.sh" ;;
    *) return 1 ;;
  esac
}

for suite in $suites; do
  script=$(script_of "$suite") || { echo "bench: unknown suite \`$suite\`" >&2; exit 2; }
  echo "bench: === $suite ($script)" >&2
  start=$(date +%s)
  out=$(mktemp)
  if "$script" > "$out"; then
    { echo "## $suite"; echo; cat "$out"; echo; } | tee -a "$report"
  else
    rc=$?
    status=1
    { echo "## $suite"; echo; echo "**failed** (exit $rc): see the progress output above."; echo; } | tee -a "$report"
  fi
  rm -f "$out"
  echo "bench: $suite took $(( $(date +%s) - start )) s" >&2
done
echo "bench: report: $report" >&2
exit $status
