"""The `auto` backend's KVM probe is remembered for the boot in /run/msb/kvm-verdict (keyed by
the boot id and /dev/kvm's identity), so creates do not pay a VM and a vCPU each; `msb doctor`
always probes afresh; a verdict for another boot or device is ignored and replaced."""

import json
import os

import pytest

from msb_it import IMAGE

VERDICT = "/run/msb/kvm-verdict"

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/kvm") or os.geteuid() != 0,
                                reason="needs root and /dev/kvm (nothing is remembered without them)")


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def read_verdict():
    with open(VERDICT) as f:
        key, ok, why = f.read().split("\n", 2)
    return key, ok, why


def auto_create(msb, sandboxes):
    """A create with the backend left to `auto` → the backend it recorded."""
    name = sandboxes.create("--backend", "auto", "--no-net", label="kvmv")
    return json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["backend"]


@pytest.fixture
def verdict_restored(msb):
    yield
    msb("doctor", "--format", "json", check=True)  # a true verdict for whatever runs next


def test_doctor_probes_and_remembers_its_verdict(msb, verdict_restored):
    report = json.loads(msb("doctor", "--format", "json", check=True).stdout)
    key, ok, why = read_verdict()
    st = os.stat("/dev/kvm")
    assert key.split()[:4] == ["v1", boot_id(), str(st.st_rdev), str(st.st_ino)]
    assert ok == ("1" if report["kvm"]["ok"] else "0")
    if not report["kvm"]["ok"]:
        assert why == report["kvm"]["detail"]
    assert os.stat(VERDICT).st_mode & 0o777 == 0o644 and os.stat(VERDICT).st_uid == 0


def test_a_remembered_verdict_spares_the_probe(msb, sandboxes, verdict_restored):
    msb("doctor", "--format", "json", check=True)
    key, _, _ = read_verdict()
    # The same key with a verdict of our own: a create must take it as it is (no probe, so
    # no rewrite) and, told KVM is unusable, choose ns.
    with open(VERDICT, "w") as f:
        f.write(f"{key}\n0\nforged by the test")
    assert auto_create(msb, sandboxes) == "ns"
    assert read_verdict() == (key, "0", "forged by the test")
    # doctor does not trust it: it probes and rewrites.
    msb("doctor", "--format", "json", check=True)
    assert read_verdict()[2] != "forged by the test"


def test_a_verdict_from_another_boot_is_replaced(msb, sandboxes, verdict_restored):
    st = os.stat("/dev/kvm")
    with open(VERDICT, "w") as f:
        f.write(f"v1 00000000-0000-0000-0000-000000000000 {st.st_rdev} {st.st_ino} 0.0\n1\n")
    backend = auto_create(msb, sandboxes)
    key, ok, _ = read_verdict()
    assert key.split()[1] == boot_id()
    # Whatever the fresh probe found, the stale "usable" was not believed blindly.
    assert backend == ("vm" if ok == "1" else "ns")
