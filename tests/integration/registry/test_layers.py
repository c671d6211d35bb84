"""Layer semantics end to end: whiteouts and opaque directories of a pulled image inside a
sandbox, and hostile layers served by a registry — `../` entries, absolute paths, symlinks out
then written through, hardlinks to outside, device nodes, absurd sizes — rejected or confined,
never followed."""

import hashlib
import os
import tarfile

import pytest

from .regfix import Image, Layer, unique_repo

LOWER = [
    ("dir", "data"), ("file", "data/a", "a"), ("file", "data/b", "b"),
    ("dir", "opq"), ("file", "opq/lower1", "1"), ("dir", "opq/sub"), ("file", "opq/sub/x", "x"),
    ("dir", "gone"), ("file", "gone/file", "f"),
]
UPPER = [
    ("whiteout", "data/a"),
    ("dir", "opq"), ("opaque", "opq"), ("file", "opq/upper", "u"),
    ("whiteout", "gone"),
]


def whiteout_image(base):
    return Image([base, Layer.of(LOWER), Layer.of(UPPER)])


CHECK_SCRIPT = ("ls /data; echo --; ls -a /opq; echo --; "
                "test -e /data/a && echo a-visible; test -e /gone && echo gone-visible; "
                "test -e /opq/sub && echo sub-visible; true")


def expected_listing():
    return "b\n--\n.\n..\nupper\n--\n"


def test_whiteouts_and_opaque_dirs_inside_a_sandbox(cli, registry, pusher, base):
    repo = unique_repo("whiteout")
    pusher.image(repo, "v1", whiteout_image(base))
    ref = f"{registry.host}/{repo}:v1"
    cli("pull", ref, check=True)
    assert cli("run", ref, "--", "sh", "-c", CHECK_SCRIPT, check=True).stdout == expected_listing()
    # A deleted file can be made again in the sandbox's upper layer, and stays deleted below.
    out = cli("run", ref, "--", "sh", "-c", "echo new > /data/a; cat /data/a; rm /data/b; ls /data",
              check=True).stdout
    assert out == "new\na\n"


def _file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _raw(name, kind=tarfile.REGTYPE, data=b"", link="", **kw):
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.linkname = kind, 0, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    for k, v in kw.items():
        setattr(info, k, v)
    return ("raw", info, data if kind == tarfile.REGTYPE else None)


HOSTILE = {
    "dotdot": [_raw("../../../../../../tmp/msb-escape-dotdot", data=b"pwned")],
    "absolute": [_raw("/tmp/msb-escape-absolute", data=b"pwned")],
    "symlink_out_then_write": [
        ("symlink", "evil", "/tmp"),
        _raw("evil/msb-escape-symlink", data=b"pwned"),
    ],
    "symlink_dotdot_then_write": [
        ("symlink", "evil2", "../../../../../../../tmp"),
        _raw("evil2/msb-escape-symlink2", data=b"pwned"),
    ],
    "hardlink_outside": [_raw("passwd-link", kind=tarfile.LNKTYPE, link="/etc/passwd")],
    "hardlink_dotdot": [_raw("hosts-link", kind=tarfile.LNKTYPE, link="../../../../../../etc/hosts")],
    "device_nodes": [
        _raw("evil-mem", kind=tarfile.CHRTYPE, devmajor=1, devminor=1),
        _raw("evil-sda", kind=tarfile.BLKTYPE, devmajor=8, devminor=0),
    ],
}


def _absurd_size_layer():
    # A header that claims a 1 TiB file (base-256 size field) over 5 real bytes.
    info = tarfile.TarInfo("huge")
    info.size = 5
    data = Layer.of([("raw", info, b"12345")]).tar
    header = bytearray(data[:512])
    header[124:136] = bytes([0x80]) + (2**40).to_bytes(11, "big")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return Layer(bytes(header) + data[512:])


@pytest.mark.parametrize("case", sorted(HOSTILE) + ["absurd_size"])
def test_hostile_layers_are_rejected_or_confined(cli, home, registry, pusher, base, case):
    for leftover in ("/tmp/msb-escape-dotdot", "/tmp/msb-escape-absolute",
                     "/tmp/msb-escape-symlink", "/tmp/msb-escape-symlink2"):
        if os.path.lexists(leftover):
            os.unlink(leftover)
    watched = {p: (_file_digest(p), os.stat(p).st_nlink) for p in ("/etc/passwd", "/etc/hosts")}
    layer = _absurd_size_layer() if case == "absurd_size" else Layer.of(HOSTILE[case])
    repo = unique_repo("hostile")
    pusher.image(repo, "v1", Image([base, layer]))
    ref = f"{registry.host}/{repo}:v1"
    p = cli("pull", ref)
    # Never followed: nothing was written outside the layer, no host file was touched.
    for leftover in ("/tmp/msb-escape-dotdot", "/tmp/msb-escape-absolute",
                     "/tmp/msb-escape-symlink", "/tmp/msb-escape-symlink2"):
        assert not os.path.lexists(leftover), leftover
    for path, (digest, nlink) in watched.items():
        assert _file_digest(path) == digest and os.stat(path).st_nlink == nlink, path
    assert os.listdir(os.path.join(home, "cache", "tmp")) == []
    if p.returncode != 0:
        assert "msb: pull" in p.stderr and "layer 1" in p.stderr, p.stderr
        assert layer.diff_id.split(":")[1] not in os.listdir(os.path.join(home, "cache", "layers"))
        return
    # Accepted: then confined to the layer. No device node exists, nothing points outside.
    root = os.path.join(home, "cache", "layers", layer.diff_id.split(":")[1])
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            st = os.lstat(full)
            assert not (os.path.stat.S_ISBLK(st.st_mode) or
                        (os.path.stat.S_ISCHR(st.st_mode) and st.st_rdev != 0)), full
            if os.path.stat.S_ISREG(st.st_mode):
                assert st.st_ino not in {os.stat(w).st_ino for w in watched}, full
    out = cli("run", ref, "--", "sh", "-c",
              "ls -la /evil-mem /evil-sda /tmp/msb-escape-dotdot 2>&1; cat /passwd-link 2>&1; true")
    assert "root:x:0:0" not in out.stdout or "/passwd-link" not in out.stdout
