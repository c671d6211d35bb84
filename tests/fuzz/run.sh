#!/bin/sh
# Builds and runs msb's libFuzzer targets.
#
# Usage: tests/fuzz/run.sh [build-dir] [target...]
#   build-dir  where binaries, scratch corpora, crash artifacts and logs go
#              (default: <repo>/build/fuzz; a relative path is taken from the current directory)
#   target     fuzz_<name>, <name> or a path to tests/fuzz/fuzz_<name>.c
#              (default: every tests/fuzz/fuzz_*.c)
#
# Environment:
#   FUZZ_SECONDS  run time per target (default 15)
#   CC            compiler (default clang; libFuzzer needs clang)
#   FUZZ_ARGS     extra libFuzzer flags for every target, e.g. "-max_len=65536 -jobs=2"
#
# Convention for a target tests/fuzz/fuzz_<name>.c (the target is called fuzz_<name>):
#   - it defines LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize);
#   - it names the repo sources it links, relative to the repo root, on one or more lines
#         // FUZZ_SOURCES: proto/cbor.c common/buf.c
#   - optionally, linker flags and extra compiler flags:
#         // FUZZ_LIBS: -larchive -lcrypto
#         // FUZZ_CFLAGS: -DSOMETHING
#   - its seed inputs live in tests/fuzz/seeds/fuzz_<name>/ (committed). They are copied to
#     <build-dir>/corpus/fuzz_<name>/ and the fuzzer grows that copy, so a run never modifies
#     the repository; crashes land in <build-dir>/crashes/fuzz_<name>/, the build and run log
#     in <build-dir>/logs/fuzz_<name>.log;
#   - an optional libFuzzer dictionary tests/fuzz/fuzz_<name>.dict is passed with -dict=.
# Every target is compiled with -fsanitize=fuzzer,address,undefined (UB aborts), -g -O1,
# -D_GNU_SOURCE, -fno-strict-aliasing (as the meson build), -I<repo>/include and -I<repo>.
# To replay a crash: <build-dir>/bin/fuzz_<name> <build-dir>/crashes/fuzz_<name>/crash-…
#
# Exit status: 0 when every target built and ran its time without a crash, leak, timeout or
# sanitizer report; 1 otherwise (the tail of each failing log is printed).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_dir="$root/tests/fuzz"
build_dir=${1:-"$root/build/fuzz"}
[ $# -gt 0 ] && shift
seconds=${FUZZ_SECONDS:-15}
cc=${CC:-clang}

mkdir -p "$build_dir" || exit 1
build_dir=$(cd "$build_dir" && pwd)

# Values of every "// KEY:" line of a target, joined by spaces.
directive () {
  sed -n "s|^// $1:[[:space:]]*||p" "$2" | tr '\n' ' '
}

target_source () {
  case "$1" in
    */*.c) echo "$1" ;;
    fuzz_*) echo "$fuzz_dir/$1.c" ;;
    *) echo "$fuzz_dir/fuzz_$1.c" ;;
  esac
}

build_target () {
  src=$1 name=$2
  sources=""
  for s in $(directive FUZZ_SOURCES "$src"); do
    sources="$sources $root/$s"
  done
  # shellcheck disable=SC2046,SC2086 # word splitting of the flag lists is intended
  "$cc" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -g -O1 -std=gnu17 -D_GNU_SOURCE -fno-strict-aliasing '-DMSB_VERSION="fuzz"' \
    -I"$root/include" -I"$root" \
    $(directive FUZZ_CFLAGS "$src") \
    -o "$build_dir/bin/$name" "$src" $sources $(directive FUZZ_LIBS "$src")
}

run_target () {
  name=$1
  corpus="$build_dir/corpus/$name"
  crashes="$build_dir/crashes/$name"
  mkdir -p "$corpus" "$crashes"
  if [ -d "$fuzz_dir/seeds/$name" ]; then
    cp -R "$fuzz_dir/seeds/$name/." "$corpus/"
  fi
  dict=""
  if [ -f "$fuzz_dir/$name.dict" ]; then
    dict="-dict=$fuzz_dir/$name.dict"
  fi
  # shellcheck disable=SC2086 # FUZZ_ARGS is a flag list
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build_dir/bin/$name" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" ${dict:+"$dict"} ${FUZZ_ARGS:-} "$corpus"
}

if [ $# -eq 0 ]; then
  set -- "$fuzz_dir"/fuzz_*.c
fi

mkdir -p "$build_dir/bin" "$build_dir/logs"
failed=""
for t in "$@"; do
  src=$(target_source "$t")
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  name="fuzz_$name"
  log="$build_dir/logs/$name.log"
  if [ ! -f "$src" ]; then
    echo "FAIL $name: no source $src"
    failed="$failed $name"
    continue
  fi
  printf '%s: building\n' "$name"
  if ! build_target "$src" "$name" >"$log" 2>&1; then
    echo "FAIL $name: build failed (log: $log)"
    tail -n 30 "$log"
    failed="$failed $name"
    continue
  fi
  printf '%s: fuzzing for %ss\n' "$name" "$seconds"
  if run_target "$name" >>"$log" 2>&1; then
    echo "ok   $name ($(find "$build_dir/corpus/$name" -type f | wc -l) corpus inputs)"
  else
    echo "FAIL $name: crashed (log: $log, artifacts: $build_dir/crashes/$name/)"
    tail -n 40 "$log"
    failed="$failed $name"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz targets failed:$failed"
  exit 1
fi
exit 0
