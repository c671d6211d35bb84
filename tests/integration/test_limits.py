"""cgroup limits: a fork bomb meets the pids limit, a memory hog the memory limit, and the
sandbox stays usable afterwards."""

import glob
import os

import pytest

from msb_it import EXIT_SIGNALED, runtime_pid

PIDS_LIMIT = 64


@pytest.fixture(scope="module")
def sb(module_sandboxes):
    return module_sandboxes.create("--pids-limit", str(PIDS_LIMIT), "-m", "64M", "--cpus", "2",
                                   label="limits")


def _count_procs(msb, sb):
    return len([d for d in msb.sh(sb, "ls /proc").split() if d.isdigit()])


def _kill_sleeps(msb, sb):
    """Until no sleep is left: a shell that died at the limit may leave children that were
    between fork and exec when the first killall ran."""
    for _ in range(100):
        if msb.exec(sb, "killall", "-9", "sleep").returncode != 0:  # none left
            return
    raise AssertionError("sleeps keep coming back")


def test_fork_bomb_is_stopped_by_the_pids_limit(msb, sb):
    p = msb.exec(sb, "sh", "-c",
                 "i=0; while [ $i -lt 500 ]; do sleep 600 & i=$((i+1)); done; echo spawned-all")
    assert p.returncode != 0
    assert "spawned-all" not in p.stdout
    assert "can't fork" in p.stderr or "Resource temporarily unavailable" in p.stderr
    # The sleeps that did start are still there, and never more than the limit.
    assert _count_procs(msb, sb) <= PIDS_LIMIT
    _kill_sleeps(msb, sb)


def test_sandbox_is_usable_after_a_fork_bomb(msb, sb):
    msb.exec(sb, "sh", "-c", "while :; do sleep 600 & done")
    _kill_sleeps(msb, sb)
    assert msb.exec(sb, "echo", "still alive").stdout == "still alive\n"
    assert _count_procs(msb, sb) < 8


def test_memory_hog_is_killed_by_the_memory_limit(msb, sb):
    # tail keeps a whole newline-free line in memory: 200 MiB against a 64 MiB limit.
    p = msb.exec(sb, "sh", "-c", 'head -c 209715200 /dev/zero | tail >/dev/null; echo "status=$?"')
    assert (p.returncode, p.stdout) == (0, "status=137\n")  # 128 + SIGKILL


def test_single_process_memory_hog_is_killed(msb, sb):
    p = msb.exec(sb, "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
    assert p.returncode == EXIT_SIGNALED


def test_sandbox_is_usable_after_a_memory_hog(msb, sb):
    msb.exec(sb, "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1")
    assert msb.exec(sb, "echo", "still alive").stdout == "still alive\n"
    assert msb.sh(sb, "cat /proc/1/comm") == "msb-agent\n"


def test_memory_within_the_limit_is_usable(msb, sb):
    p = msb.exec(sb, "dd", "if=/dev/zero", "of=/dev/null", "bs=16M", "count=4")
    assert p.returncode == 0


def _agent_cgroup_dirs(msb, sb):
    """The host cgroup directories of the sandbox's agent, per hierarchy."""
    runtime = runtime_pid(msb, sb)
    agent = int(open(f"/proc/{runtime}/task/{runtime}/children").read().split()[0])
    dirs = []
    for line in open(f"/proc/{agent}/cgroup"):
        _, controllers, path = line.rstrip("\n").split(":", 2)
        for mount in glob.glob("/sys/fs/cgroup/*") + ["/sys/fs/cgroup"]:
            d = mount + path
            if "/msb/" in path and os.path.isdir(d) and d not in dirs:
                dirs.append(d)
    return dirs


def _knob(dirs, *names):
    for d in dirs:
        for n in names:
            f = os.path.join(d, n)
            if os.path.exists(f):
                return open(f).read().split()
    return None


def test_limits_are_set_on_the_sandboxs_host_cgroups(msb, sb):
    # Whatever the layout (v1, v2 or hybrid), the agent's own cgroups carry the limits.
    dirs = _agent_cgroup_dirs(msb, sb)
    assert dirs
    assert _knob(dirs, "memory.limit_in_bytes", "memory.max") == [str(64 << 20)]
    assert _knob(dirs, "pids.max") == [str(PIDS_LIMIT)]
    quota = _knob(dirs, "cpu.cfs_quota_us", "cpu.max")
    assert quota and quota[0] == "200000"
