"""What only the vm backend has: a kernel of its own, a guest console, boot failures that
must surface as errors (never hangs), the accelerator choice, and file shares whose caching
must stay coherent where the host or another sandbox can change the files."""

import json
import os
import secrets
import subprocess
import sys
import time

import pytest

from .bk_helpers import doctor, eventually, sandbox_process
from .conftest import BACKENDS, small

pytestmark = pytest.mark.parametrize("backend", [b for b in BACKENDS if b.startswith("vm")],
                                     indirect=True)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "scripts"))


def test_guest_runs_its_own_kernel_with_the_agent_as_init(bk, sandbox):
    out = bk.sh(sandbox, "uname -r; cat /proc/1/comm; cat /proc/cmdline")
    release, init, cmdline = out.split("\n")[:3]
    assert release != os.uname().release
    assert init == "msb-agent"
    assert "msb.vm=1" in cmdline


def test_guest_clock_follows_the_host(bk, sandbox):
    guest = int(bk.sh(sandbox, "date +%s"))
    assert abs(guest - time.time()) < 5


def test_guest_console_is_kept_in_kernel_log(bk, sandbox):
    assert os.path.exists(os.path.join(bk.sandbox_dir(sandbox), "logs", "kernel.log"))


def _initramfs(tmp_path, init_script=None, garbage=False):
    """A guest initramfs that is not msb's: garbage, or busybox running `init_script`."""
    path = tmp_path / "initramfs.cpio"
    if garbage:
        path.write_bytes(b"this is not a cpio archive\n" * 100)
        return str(path)
    mk = __import__("make-vm-initramfs")
    c = mk.Cpio()
    for d in ("bin", "dev", "proc"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    with open("/bin/busybox", "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    c.file("init", f"#!/bin/busybox sh\n{init_script}\n".encode(), 0o755)
    path.write_bytes(c.finish())
    return str(path)


def test_boot_failure_reports_the_guest_console(bk, sandbox, tmp_path):
    bk("stop", sandbox, check=True)
    started = time.monotonic()
    p = bk("start", sandbox, env={"MSB_VM_INITRAMFS": _initramfs(tmp_path, garbage=True)})
    assert p.returncode != 0
    assert time.monotonic() - started < 30
    assert "guest console (logs/kernel.log" in p.stderr
    assert "Kernel panic" in p.stderr or "init" in p.stderr
    with open(os.path.join(bk.sandbox_dir(sandbox), "logs", "boot-error.json")) as f:
        assert json.load(f)["message"]
    # The sandbox is intact: a good initramfs boots it again.
    bk("start", sandbox, check=True)
    assert bk.sh(sandbox, "echo ok") == "ok\n"


@pytest.mark.skipif(not os.access("/bin/busybox", os.X_OK), reason="needs /bin/busybox")
def test_guest_that_never_becomes_ready_is_killed_at_the_boot_timeout(bk, sandbox, tmp_path):
    bk("stop", sandbox, check=True)
    started = time.monotonic()
    p = bk("start", sandbox,
           env={"MSB_VM_INITRAMFS": _initramfs(tmp_path, "echo hanging; exec /bin/busybox sleep 1000")})
    elapsed = time.monotonic() - started
    assert p.returncode != 0
    assert "did not become ready" in p.stderr
    assert "hanging" in p.stderr, "the console's last lines belong in the error"
    assert elapsed < 40
    assert bk.status(sandbox) == "Stopped"


def test_demanding_kvm_where_it_is_unusable_fails_clearly(bk, sandboxes):
    if doctor()["kvm"]["ok"]:
        pytest.skip("KVM is usable here")
    p = bk("create", "-n", f"kvm-{secrets.token_hex(2)}", *small(bk), "local/busybox:latest",
           env={"MSB_VM_ACCEL": "kvm"})
    assert p.returncode != 0
    assert "KVM is not usable" in p.stderr


def test_auto_picks_what_doctor_reports(bk, sandboxes):
    report = doctor()
    expected = "vm" if report["kvm"]["ok"] and report["backends"]["vm"]["ok"] else "ns"
    assert report["auto"] == expected
    name = f"auto-{secrets.token_hex(2)}"
    sandboxes.adopt(name)
    bk.names_used.add(name)
    bk("create", "-n", name, "-m", "256M", "--no-net", "local/busybox:latest",
       env={"MSB_BACKEND": "auto"}, check=True)
    bk.is_vm, was = expected == "vm", bk.is_vm
    try:
        sandbox_process(bk, name)  # the process the chosen backend runs
    finally:
        bk.is_vm = was


def test_bind_volume_sees_host_changes(bk, sandboxes, tmp_path):
    shared = tmp_path / "live"
    shared.mkdir()
    (shared / "f").write_text("first\n")
    name = sandboxes.create(*small(bk), "-v", f"{shared}:/live")
    assert bk.sh(name, "cat /live/f") == "first\n"
    (shared / "f").write_text("second, longer\n")
    eventually(lambda: bk.sh(name, "cat /live/f") == "second, longer\n", timeout=10,
               what="the guest seeing the host's change")


def test_named_volume_is_shared_between_sandboxes(bk, sandboxes):
    vol = f"bkvol{secrets.token_hex(2)}"
    a = sandboxes.create(*small(bk), "-v", f"{vol}:/v")
    b = sandboxes.create(*small(bk), "-v", f"{vol}:/v")
    bk.sh(a, "echo from-a > /v/a")
    eventually(lambda: bk.sh(b, "cat /v/a 2>/dev/null || true") == "from-a\n", timeout=10,
               what="sandbox b seeing a's file")
    bk.sh(b, "echo from-b >> /v/a")
    eventually(lambda: bk.sh(a, "cat /v/a") == "from-a\nfrom-b\n", timeout=10,
               what="sandbox a seeing b's append")
