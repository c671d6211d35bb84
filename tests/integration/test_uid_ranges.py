"""Sandboxes of different state roots (MSB_HOME) never share a host uid range: each range is
claimed host-wide (/var/lib/msb/uid-ranges, one file per slot), released by `rm`, and taken
over only when its holder is gone — state root or sandbox directory deleted, and no process
left in the range."""

import os
import shutil
import signal
import tempfile
import time

import pytest

from msb_it import IMAGE, Msb, image_dir, runtime_pid

CLAIMS = "/var/lib/msb/uid-ranges"
RANGE = 65536
BASE = 1 << 30

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uid ranges are claimed by root only")


def host_root_uid(msb, name):
    """The host uid of root in the sandbox (its /proc/self/uid_map)."""
    inside, outside, count = msb.sh(name, "cat /proc/self/uid_map").split()
    assert (inside, count) == ("0", str(RANGE))
    return int(outside)


def slot_of(uid):
    return (uid - BASE) // RANGE


@pytest.fixture
def homes(tmp_path_factory):
    """State roots with the busybox image loaded; each one's sandboxes removed at the end."""
    made = []
    image = image_dir(str(tmp_path_factory.mktemp("img")))

    def make(claims=None):
        m = Msb(tempfile.mkdtemp(prefix="msb-uid-"))
        if claims:
            m.env["MSB_UID_RANGES_DIR"] = claims
        m("image", "load", "-q", image, "--tag", IMAGE, check=True)
        made.append(m)
        return m

    yield make
    for m in made:
        if os.path.isdir(m.home):
            for name in m("ls", "-q").stdout.split():
                m("rm", "-f", name)
            shutil.rmtree(m.home, ignore_errors=True)


def test_two_state_roots_get_different_ranges(homes):
    a, b = homes(), homes()
    a("create", "-n", "same", IMAGE, check=True)
    b("create", "-n", "same", IMAGE, check=True)
    ua, ub = host_root_uid(a, "same"), host_root_uid(b, "same")
    assert ua != ub
    for m, uid in ((a, ua), (b, ub)):
        with open(os.path.join(CLAIMS, str(slot_of(uid)))) as f:
            identity, root, name = f.read().split("\n")[:3]
        st = os.stat(m.home)
        assert (identity, root, name) == (f"{st.st_dev}:{st.st_ino}", m.home, "same")


def test_rm_releases_the_claim(homes):
    a = homes()
    a("create", "-n", "x", IMAGE, check=True)
    claim = os.path.join(CLAIMS, str(slot_of(host_root_uid(a, "x"))))
    assert os.path.exists(claim)
    a("rm", "-f", "x", check=True)
    assert not os.path.exists(claim)


def occupy(claims, tmp_path, slots):
    """Claims `slots` in `claims` for a holder that exists (a directory standing in for a state
    root with a sandbox), so creates skip them: this test's sandboxes then get slots no other
    sandbox on the host runs in."""
    root = tmp_path / "holder-root"
    (root / "sandboxes" / "holder").mkdir(parents=True, exist_ok=True)
    st = os.stat(root)
    os.makedirs(claims, mode=0o700, exist_ok=True)
    for slot in slots:
        with open(os.path.join(claims, str(slot)), "w") as f:
            f.write(f"{st.st_dev}:{st.st_ino}\n{root}\nholder\n")


def wait_until_range_is_empty(slot, timeout=10.0):
    lo = BASE + slot * RANGE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uids = []
        for p in os.listdir("/proc"):
            try:
                uids.append(os.stat(f"/proc/{p}").st_uid) if p.isdigit() else None
            except FileNotFoundError:
                pass
        if not any(lo <= u < lo + RANGE for u in uids):
            return
        time.sleep(0.05)
    pytest.fail(f"processes of uid range {slot} did not go away")


def test_a_claim_is_taken_over_only_once_its_holder_is_gone(homes, tmp_path):
    # A claims directory of this test's own, its first 1000 slots held, so the slots this test
    # gets are predictable and no other sandbox on the host runs in them.
    claims = str(tmp_path / "claims")
    occupy(claims, tmp_path, range(1000))
    a = homes(claims)
    a("create", "-n", "x", IMAGE, check=True)
    assert slot_of(host_root_uid(a, "x")) == 1000
    pid = runtime_pid(a, "x")
    # The state root is deleted under the running sandbox: its range is still in use.
    shutil.rmtree(a.home)
    b = homes(claims)
    b("create", "-n", "y", IMAGE, check=True)
    assert slot_of(host_root_uid(b, "y")) == 1001
    # Once its processes are gone, the claim is stale and the next create takes the range.
    os.kill(pid, signal.SIGKILL)
    wait_until_range_is_empty(1000)
    c = homes(claims)
    c("create", "-n", "z", IMAGE, check=True)
    assert slot_of(host_root_uid(c, "z")) == 1000
    with open(os.path.join(claims, "1000")) as f:
        assert f.read().split("\n")[1:3] == [c.home, "z"]


def test_a_sandbox_whose_range_was_given_away_refuses_to_start(homes, tmp_path):
    claims = str(tmp_path / "claims")
    occupy(claims, tmp_path, range(1000))
    a = homes(claims)
    a("create", "-n", "x", IMAGE, check=True)
    a("stop", "x", check=True)
    # As if its claim had been taken over while its state root was elsewhere.
    b = homes(claims)
    b("create", "-n", "thief", IMAGE, check=True)
    with open(os.path.join(claims, "1001")) as f:
        text = f.read()
    with open(os.path.join(claims, "1000"), "w") as f:
        f.write(text)
    p = a("start", "x")
    assert p.returncode == 1
    assert "uid range (slot 1000) now belongs to sandbox `thief`" in p.stderr, p.stderr
