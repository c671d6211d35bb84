#!/bin/sh
# make-busybox-image.sh OUTDIR
#
# Builds msb's built-in default image `local/busybox:latest` as an OCI image layout
# directory (oci-layout, index.json, blobs/sha256/…) from Debian's busybox-static:
# one gzip'd layer holding /bin/busybox, a symlink per applet, a minimal /etc and the usual
# empty mount points. Reproducible: the same busybox binary gives the same digests on every
# run (sorted names, mtime 0, numeric owners, gzip -n). Load it with
#     msb image load OUTDIR --tag local/busybox:latest
#
# Needs: sh, coreutils, GNU tar, gzip, sha256sum, python3 (stdlib only, for the JSON).
# BUSYBOX=/path/to/busybox overrides /bin/busybox.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
OUT=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
REF=local/busybox:latest

[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
  echo "$0: $OUT exists and is not empty" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64) ARCH=amd64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  armv7l | armv6l) ARCH=arm ;;
  i?86) ARCH=386 ;;
  *) ARCH=$(uname -m) ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/rootfs
umask 022

# ---- the root filesystem ----
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/root" \
  "$root/home/user" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/var"
cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"

# One symlink per applet at the path busybox lists; a path already taken stays as it is.
"$BUSYBOX" --list-full | LC_ALL=C sort | while read -r applet; do
  case "$applet" in
    "" | */ | bin/busybox) continue ;;
  esac
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
user:x:1000:
nogroup:x:65534:
GROUP
: > "$root/etc/resolv.conf"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/resolv.conf"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"
find "$root" -type d ! -path "$root/tmp" ! -path "$root/root" -exec chmod 0755 {} +

# ---- the layer: everything root-owned, then /home/user owned by 1000 ----
TAR_OPTS="--sort=name --mtime=@0 --numeric-owner --format=gnu"
tops=$(cd "$root" && ls -A | LC_ALL=C sort)
# shellcheck disable=SC2086
tar -C "$root" $TAR_OPTS --owner=0 --group=0 --exclude=./home/user --exclude=home/user \
  -cf "$work/layer.tar" $tops
# shellcheck disable=SC2086
tar -C "$root" $TAR_OPTS --owner=1000 --group=1000 -rf "$work/layer.tar" home/user
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"

digest() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c < "$1" | tr -d ' '; }
DIFF_ID=$(digest "$work/layer.tar")
LAYER=$(digest "$work/layer.tar.gz")
LAYER_SIZE=$(size "$work/layer.tar.gz")

mkdir -p "$OUT/blobs/sha256"
cp "$work/layer.tar.gz" "$OUT/blobs/sha256/$LAYER"

# ---- config, manifest, index (compact JSON with sorted keys: stable bytes) ----
"$PYTHON" - "$OUT" "$ARCH" "$DIFF_ID" "$LAYER" "$LAYER_SIZE" "$REF" <<'PY'
import hashlib, json, os, sys

out, arch, diff_id, layer, layer_size, ref = sys.argv[1:]

def blob(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)

config = {
    "architecture": arch,
    "os": "linux",
    "created": "1970-01-01T00:00:00Z",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["/bin/sh"],
        "WorkingDir": "/",
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "make-busybox-image.sh"}],
}
config_digest, config_size = blob(config)
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + layer, "size": int(layer_size)}],
}
manifest_digest, manifest_size = blob(manifest)
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": manifest_digest, "size": manifest_size,
                   "platform": {"architecture": arch, "os": "linux"},
                   "annotations": {"org.opencontainers.image.ref.name": ref}}],
}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f, sort_keys=True, separators=(",", ":"))
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print(manifest_digest)
PY
