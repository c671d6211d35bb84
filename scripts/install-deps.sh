#!/bin/sh
# Installs every Debian package msb needs to build, test and benchmark.
# The README, `make demo` and .ci/run all call this one script.
set -eu

PACKAGES="
  build-essential pkg-config meson ninja-build git
  clang libclang-rt-14-dev llvm
  libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev liblzma-dev libbz2-dev libssl-dev libsqlite3-dev
  libseccomp-dev libjansson-dev libslirp-dev libglib2.0-dev
  busybox-static
  python3 python3-dev python3-pytest python3-pytest-asyncio
  iproute2 util-linux procps psmisc
  docker-registry skopeo umoci apache2-utils openssl
  bubblewrap crun hyperfine slirp4netns
  qemu-system-x86 qemu-utils linux-image-cloud-amd64 cpio kmod e2fsprogs lz4
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The registry package starts a system service on install; msb's tests run their own.
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
