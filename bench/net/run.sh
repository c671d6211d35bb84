#!/bin/bash
# bench/net/run.sh — a sandbox's network through msb's engine against slirp4netns and a veth
# pair, in one run, as a markdown table on stdout (progress on stderr):
#
#   throughput   one TCP connection: BENCH_NET_BYTES (1 GiB) from the sandbox to a server on
#                the host's loopback, then as many back (nettool bulk / bulk-server)
#   connections  connect, read a greeting byte, reset, to a host-loopback server for BENCH_NET_SECS
#                seconds, one client after another (setup latency) and BENCH_NET_PAR (8)
#                clients at once (setup throughput) (nettool connrate / close-server)
#
# The three paths, client → server on the host's 127.0.0.1 (all at MTU 1500):
#   msb          a busybox sandbox created with `--net all`, dialling its gateway (the engine
#                maps it to the host's loopback): TAP → policy filter → libslirp → host socket
#   slirp4netns  Debian's slirp4netns (libslirp behind a TAP, no filter) for a plain network
#                namespace, dialling 10.0.2.2 (its host-loopback address)
#   veth         a network namespace joined to the host by a veth pair: the kernel's own path,
#                the ceiling (the server listens on 0.0.0.0, reached at the host's veth address)
# The same static client (tests/integration/net/nettool.c) and the same server processes serve
# all three.
#
# Nothing on the host changes: "the host" is a network namespace this script creates (the
# servers, the msb runtime and slirp4netns live there), and every namespace, process, sandbox
# and scratch file is removed at the end. Needs root, iproute2, nsenter, slirp4netns, a C
# compiler with static libc. Knobs: MSB_BUILD (default: build), BENCH_NET_BYTES (1073741824),
# BENCH_NET_SECS (5), BENCH_NET_PAR (8), BENCH_NET_ROUNDS (how many times each path is measured, best kept: 1),
# BENCH_KEEP=1 keeps the scratch directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MSB_BUILD:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
msb=$build/cli/msb
bytes=${BENCH_NET_BYTES:-1073741824}
secs=${BENCH_NET_SECS:-5}
par=${BENCH_NET_PAR:-8}
rounds=${BENCH_NET_ROUNDS:-1}
image=local/busybox:latest

die() { echo "bench/net: $*" >&2; exit 1; }
note() { echo "bench/net: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces and the ns backend need it)"
for tool in ip nsenter slirp4netns cc python3; do
  command -v "$tool" >/dev/null || die "\`$tool\` not found (see scripts/install-deps.sh)"
done
[ -x "$msb" ] || die "$msb missing: build first (ninja -C $build)"

work=$(mktemp -d /tmp/msb-netbench.XXXXXX)
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
host_ns=msbnb${tag}h
slirp_ns=msbnb${tag}s
veth_ns=msbnb${tag}v
pids=()
export MSB_HOME=$work/home

cleanup() {
  local rc=$?
  set +e
  if [ -d "$MSB_HOME/db" ]; then
    "$msb" rm -f netbench >/dev/null 2>&1
  fi
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for ns in "$host_ns" "$slirp_ns" "$veth_ns"; do
    ip netns del "$ns" 2>/dev/null
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then note "kept $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
# A server in a namespace, in the background: nsenter execs it, so $! is the server itself
# (a backgrounded shell function would leave $! pointing at a subshell).
start_in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@" & pids+=($!); }

note "building nettool (static)"
cc -static -O2 -o "$work/nettool" "$root/tests/integration/net/nettool.c" || die "cannot build nettool statically"

ip netns add "$host_ns"
ip -n "$host_ns" link set lo up
start_in_ns "$host_ns" "$work/nettool" bulk-server 5201 >/dev/null 2>&1
start_in_ns "$host_ns" "$work/nettool" close-server 5202 >/dev/null 2>&1

# ---- msb ------------------------------------------------------------------------------------
note "msb: creating the sandbox"
mkdir -p "$MSB_HOME"
img=${MSB_TEST_IMAGE_DIR:-}
if [ -z "$img" ]; then
  img=$work/busybox-image
  "$root/scripts/make-busybox-image.sh" "$img" >/dev/null
fi
"$msb" image load -q "$img" --tag "$image" >/dev/null
in_ns "$host_ns" "$msb" create -n netbench --net all --copy "$work/nettool:/usr/bin/nettool" "$image" >/dev/null
gateway=$("$msb" exec netbench -- sh -c "ip route | awk '/default/ {print \$3}'")

# ---- slirp4netns ----------------------------------------------------------------------------
note "slirp4netns: starting"
ip netns add "$slirp_ns"
start_in_ns "$host_ns" slirp4netns --configure --mtu=1500 --netns-type=path "/run/netns/$slirp_ns" \
  tap0 >"$work/slirp4netns.log" 2>&1
for _ in $(seq 100); do
  ip -n "$slirp_ns" -4 addr show tap0 2>/dev/null | grep -q 10.0.2.100 && break
  sleep 0.05
done
ip -n "$slirp_ns" -4 addr show tap0 | grep -q 10.0.2.100 || die "slirp4netns did not configure tap0"

# ---- veth -----------------------------------------------------------------------------------
ip netns add "$veth_ns"
ip link add vb netns "$host_ns" type veth peer name vd netns "$veth_ns"
ip -n "$host_ns" addr add 10.99.0.1/30 dev vb
ip -n "$host_ns" link set vb up
ip -n "$veth_ns" addr add 10.99.0.2/30 dev vd
ip -n "$veth_ns" link set vd up
ip -n "$veth_ns" link set lo up

# One line of nettool output for a path: "msb", "slirp4netns" or "veth".
client() {
  local path=$1; shift
  case "$path" in
    msb) "$msb" exec netbench -- nettool "$@" ;;
    slirp4netns) in_ns "$slirp_ns" "$work/nettool" "$@" ;;
    veth) in_ns "$veth_ns" "$work/nettool" "$@" ;;
  esac
}

server_addr() {
  case "$1" in
    msb) echo "$gateway" ;;
    slirp4netns) echo 10.0.2.2 ;;
    veth) echo 10.99.0.1 ;;
  esac
}

declare -A up down rate prate
for path in msb slirp4netns veth; do
  addr=$(server_addr "$path")
  for r in $(seq "$rounds"); do
    note "$path: $bytes bytes each way (round $r)"
    out=$(client "$path" bulk "$addr" 5201 "$bytes")
    read -r _ u _ d <<<"$out"
    [ -n "${u:-}" ] && [ -n "${d:-}" ] || die "$path: bulk transfer failed: $out"
    if [ -z "${up[$path]:-}" ] || python3 -c "import sys; sys.exit(0 if $u > ${up[$path]} else 1)"; then up[$path]=$u; fi
    if [ -z "${down[$path]:-}" ] || python3 -c "import sys; sys.exit(0 if $d > ${down[$path]} else 1)"; then down[$path]=$d; fi
    note "$path: connection rate for ${secs}s (round $r)"
    out=$(client "$path" connrate "$addr" 5202 "$secs")
    read -r _ _ _ c <<<"$out"
    [ -n "${c:-}" ] || die "$path: connection rate failed: $out"
    if [ -z "${rate[$path]:-}" ] || [ "$c" -gt "${rate[$path]}" ]; then rate[$path]=$c; fi
    note "$path: connection rate, $par clients, for ${secs}s (round $r)"
    out=$(client "$path" connrate "$addr" 5202 "$secs" "$par")
    read -r _ _ _ c <<<"$out"
    [ -n "${c:-}" ] || die "$path: parallel connection rate failed: $out"
    if [ -z "${prate[$path]:-}" ] || [ "$c" -gt "${prate[$path]}" ]; then prate[$path]=$c; fi
  done
done

. /etc/os-release
echo "Measured $(date -u +%Y%m%dT%H%M%SZ) on ${PRETTY_NAME:-Linux}, kernel $(uname -r), $(nproc) CPUs; msb $("$msb" --version 2>/dev/null | awk '{print $NF}') at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(slirp4netns --version | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "**Network** — one TCP connection, $((bytes / 1048576)) MiB sandbox → host loopback, then back; connect + close for ${secs} s by 1 client and by $par at once (MB/s = 10^6 bytes/s; best of $rounds):"
echo
echo "| path | sandbox → host | host → sandbox | conn/s, 1 client | conn/s, $par clients | msb ÷ this (up / down / conn 1 / conn $par) |"
echo "|---|---:|---:|---:|---:|---:|"
for path in msb slirp4netns veth; do
  ratio=$(python3 -c "print(f'{${up[msb]}/${up[$path]}:.2f} / {${down[msb]}/${down[$path]}:.2f} / {${rate[msb]}/${rate[$path]}:.2f} / {${prate[msb]}/${prate[$path]}:.2f}')")
  echo "| $path | ${up[$path]} MB/s | ${down[$path]} MB/s | ${rate[$path]} | ${prate[$path]} | $ratio |"
done
