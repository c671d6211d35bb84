"""Fixtures of the snapshot and modify() tests. The session fixtures (msb, sandboxes, leaks)
come from tests/integration/conftest.py; this directory is a package so its module names
never clash with the rest of the suite."""

import glob
import json
import os
import time

import pytest

from msb_it import runtime_pid


@pytest.fixture
def snapshots(msb):
    """Names or paths of snapshots to remove at teardown."""
    made = []
    yield made
    for s in made:
        msb("snapshot", "rm", "-f", s)


def descriptor(msb, name):
    with open(os.path.join(msb.home, "snapshots", name, "snapshot.json")) as f:
        return json.load(f)


def loop_devices_of(home):
    """Loop devices whose backing file lives under `home`, other than the size-limited
    writable layers of running sandboxes (sandboxes/<name>/upper.ext4): a detached mount a
    snapshot operation leaked would keep one."""
    out = []
    for f in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            backing = open(f).read().strip()
        except OSError:
            continue
        if backing.startswith(home) and not (
                backing.startswith(os.path.join(home, "sandboxes") + "/") and backing.endswith("/upper.ext4")):
            out.append(backing)
    return out


def wait_no_loop_devices(home, timeout=5.0):
    deadline = time.monotonic() + timeout
    while loop_devices_of(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    return loop_devices_of(home)


def cgroup_dirs(msb, name):
    """The host cgroup directories of the sandbox's agent, per hierarchy."""
    runtime = runtime_pid(msb, name)
    agent = int(open(f"/proc/{runtime}/task/{runtime}/children").read().split()[0])
    dirs = []
    for line in open(f"/proc/{agent}/cgroup"):
        _, _, path = line.rstrip("\n").split(":", 2)
        for mount in glob.glob("/sys/fs/cgroup/*") + ["/sys/fs/cgroup"]:
            d = mount + path
            if "/msb/" in path and os.path.isdir(d) and d not in dirs:
                dirs.append(d)
    return dirs


def knob(dirs, *names):
    for d in dirs:
        for n in names:
            f = os.path.join(d, n)
            if os.path.exists(f):
                return open(f).read().split()
    return None
