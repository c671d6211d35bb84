"""Helpers of the backend suite: the host's capabilities (msb doctor), the process whose exit
ends a sandbox, and what a vm sandbox could leave behind (QEMU, virtiofsd, cgroups)."""

import functools
import glob
import hashlib
import json
import os
import subprocess
import time

import pytest

from msb_it import MSB, runtime_pid


@functools.lru_cache(maxsize=None)
def doctor():
    p = subprocess.run([MSB, "doctor", "--format", "json"], capture_output=True, text=True,
                       timeout=60)
    return json.loads(p.stdout)


def eventually(predicate, timeout=30.0, what="the condition", interval=0.05):
    """Polls until predicate() is truthy (returned); fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def sandbox_process(bk, name):
    """Host pid of the process whose exit ends the sandbox: QEMU (vm) or the agent (ns)."""
    runtime = runtime_pid(bk, name)
    want = "msb-vm" if bk.is_vm else "msb-agent"
    for child in children(runtime):
        if comm(child) == want:
            return child
    pytest.fail(f"no {want} child of runtime {runtime}")


def host_id(home, name):
    """The sandbox's host-wide id (lib/home.c msb_sandbox_host_id): names its cgroups and QEMU."""
    st = os.stat(home)
    return hashlib.sha256(f"{st.st_dev:x}:{st.st_ino:x}:{name}".encode()).hexdigest()[:24]


def vm_leftovers(home, names):
    """QEMU processes and cgroups of the given sandboxes of `home` still present after a grace
    period (a killed process is reaped asynchronously)."""
    ids = {host_id(home, n) for n in names}

    def scan():
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                with open(f"/proc/{d}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state == "Z":
                continue
            text = b" ".join(argv).decode(errors="replace")
            if any(f"msb-{i}," in text for i in ids):
                found.append((int(d), text[:120]))
        for c in glob.glob("/sys/fs/cgroup/*/msb/*"):
            if os.path.basename(c) in ids:
                found.append(c)
        return found

    deadline = time.monotonic() + 10
    while True:
        found = scan()
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)
