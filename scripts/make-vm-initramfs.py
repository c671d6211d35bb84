#!/usr/bin/env python3
"""make-vm-initramfs.py — the guest boot files of msb's vm backend.

    make-vm-initramfs.py --agent BUILD/agent/msb-agent --kernel /boot/vmlinuz-R \\
        --initramfs OUT.cpio [--vmlinux OUT.vmlinux]
    make-vm-initramfs.py --find-kernel          prints the default guest kernel, if any

The initramfs (uncompressed newc cpio: the guest would spend longer inflating it than reading
it) holds msb-agent as /init, /dev/console, the mount points the agent uses, and the kernel
modules the guest needs — virtio-mmio, virtio-serial and virtiofs with their dependencies,
resolved from modules.dep of the kernel's release into /lib/modules/msb/*.ko plus the load
order in /lib/modules/msb/order; virtio-net and what it needs beyond those in order.net
(loaded for networked sandboxes only). Modules built into the kernel are left out. The file
is reproducible (sorted, mtime 0, owner 0).

--vmlinux writes the uncompressed kernel when it can be extracted from the bzImage (gzip,
xz, lzma and bzip2 with Python's own modules; lz4 and zstd with their command-line tools).
QEMU boots such an ELF through its PVH entry, skipping the in-guest decompression (about a
quarter of a second under TCG). When it cannot, an empty file is written and msb boots the
bzImage.

Only the standard library is used.
"""

import argparse
import bz2
import glob
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import sys

ROOT_MODULES = ["virtio_mmio", "virtio_console", "virtiofs"]
# Loaded only for a networked sandbox (msb.net=), after ROOT_MODULES.
NET_MODULES = ["virtio_net"]


def kernel_release(kernel):
    """Release string of a bzImage (setup header), else from the file name vmlinuz-<release>."""
    try:
        with open(kernel, "rb") as f:
            head = f.read(0x10000)
        if head[0x202:0x206] == b"HdrS":
            off = struct.unpack_from("<H", head, 0x20E)[0] + 0x200
            version = head[off:off + 256].split(b"\0")[0].decode(errors="replace")
            if version:
                return version.split()[0]
    except OSError:
        pass
    base = os.path.basename(kernel)
    for prefix in ("vmlinuz-", "vmlinux-", "bzImage-"):
        if base.startswith(prefix):
            return base[len(prefix):]
    sys.exit(f"{sys.argv[0]}: cannot tell the release of kernel {kernel}")


def find_kernel():
    """Newest Debian cloud kernel, else the newest kernel in /boot."""
    def key(p):
        return [int(x) if x.isdigit() else x for x in os.path.basename(p).replace("-", ".").split(".")]
    for pattern in ("/boot/vmlinuz-*-cloud-*", "/boot/vmlinuz-*"):
        found = sorted(glob.glob(pattern), key=key)
        if found:
            return found[-1]
    return None


# ---- modules ---------------------------------------------------------------------------------

def read_modules_dep(moddir):
    deps, by_name = {}, {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            path = path.strip()
            deps[path] = rest.split()
            by_name[module_name(path)] = path
    return deps, by_name


def module_name(path):
    base = os.path.basename(path)
    for ext in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    return base.replace("-", "_")


def builtin_modules(moddir):
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            return {module_name(line.strip()) for line in f if line.strip()}
    except OSError:
        return set()


def load_order(moddir, roots):
    """Module paths, dependencies first (depth-first post-order over modules.dep)."""
    deps, by_name = read_modules_dep(moddir)
    builtin = builtin_modules(moddir)
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        for d in deps.get(path, []):
            visit(d)
        order.append(path)

    for name in roots:
        if name in builtin:
            continue
        if name not in by_name:
            sys.exit(f"{sys.argv[0]}: module {name} not found in {moddir}/modules.dep")
        visit(by_name[name])
    return order


def module_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    return data


# ---- cpio (newc) -----------------------------------------------------------------------------

class Cpio:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.out += hdr.encode() + name_b
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name, perm=0o755):
        self._entry(name, 0o040000 | perm, nlink=2)

    def file(self, name, data, perm=0o644):
        self._entry(name, 0o100000 | perm, data)

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, 0o020000 | perm, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.out += b"\0" * (-len(self.out) % 512)
        return bytes(self.out)


def build_initramfs(agent, kernel, out):
    release = kernel_release(kernel)
    moddir = os.path.join("/lib/modules", release)
    if not os.path.isdir(moddir):
        sys.exit(f"{sys.argv[0]}: {moddir} not found: the modules of kernel {kernel} are needed")
    core = load_order(moddir, ROOT_MODULES)
    net = [m for m in load_order(moddir, ROOT_MODULES + NET_MODULES) if m not in core]
    c = Cpio()
    for d in ("dev", "proc", "sys", "newroot", "lib", "lib/modules", "lib/modules/msb"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    for list_name, modules in (("order", core), ("order.net", net)):
        names = []
        for rel in modules:
            name = module_name(rel)
            names.append(name)
            c.file(f"lib/modules/msb/{name}.ko", module_bytes(os.path.join(moddir, rel)))
        c.file(f"lib/modules/msb/{list_name}", ("\n".join(names) + "\n").encode())
    c.file("lib/modules/msb/release", (release + "\n").encode())
    with open(agent, "rb") as f:
        c.file("init", f.read(), 0o755)
    write_atomic(out, c.finish())


# ---- vmlinux ---------------------------------------------------------------------------------

def _tool(cmd, data):
    if shutil.which(cmd[0]) is None:
        return None
    p = subprocess.run(cmd, input=data, capture_output=True)
    return p.stdout or None


# magic → decompressor of the payload starting at that offset (trailing bytes are tolerated:
# the compressed kernel is followed by the rest of the bzImage).
DECOMPRESSORS = [
    (b"\x02\x21\x4c\x18", lambda d: _tool(["lz4", "-dc"], d)),
    (b"\x28\xb5\x2f\xfd", lambda d: _tool(["zstd", "-dc"], d)),
    (b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor().decompress(d)),
    (b"\x1f\x8b\x08", lambda d: gzip.GzipFile(fileobj=__import__("io").BytesIO(d)).read()),
    (b"BZh", lambda d: bz2.BZ2Decompressor().decompress(d)),
    (b"\x5d\x00\x00", lambda d: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(d)),
]


def extract_vmlinux(kernel):
    with open(kernel, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        return data
    for magic, decompress in DECOMPRESSORS:
        start = 0
        while True:
            i = data.find(magic, start)
            if i < 0:
                break
            start = i + 1
            try:
                out = decompress(data[i:])
            except Exception:
                out = None
            if out and out[:4] == b"\x7fELF" and b"Xen\x00" in out:
                return out
    return None


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--find-kernel", action="store_true")
    ap.add_argument("--agent")
    ap.add_argument("--kernel")
    ap.add_argument("--initramfs")
    ap.add_argument("--vmlinux")
    a = ap.parse_args()
    if a.find_kernel:
        k = find_kernel()
        if k:
            print(k)
        return
    if not (a.agent and a.kernel and a.initramfs):
        ap.error("--agent, --kernel and --initramfs are required")
    build_initramfs(a.agent, a.kernel, a.initramfs)
    if a.vmlinux:
        # PVH needs the ELF note of the Xen/PVH entry point; without it QEMU cannot boot it.
        write_atomic(a.vmlinux, extract_vmlinux(a.kernel) or b"")


if __name__ == "__main__":
    main()
