"""create / start / stop / kill / rm / ls through the CLI, a runtime that dies under its
sandbox, and a creator that dies under its attached sandbox."""

import json
import os
import signal
import subprocess
import tempfile

import pytest

from msb_it import IMAGE, Msb, runtime_pid, runtime_pids, unique_name


def _kill_runtime(msb, name):
    pid = runtime_pid(msb, name)
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)


def _wait_gone(pid):
    """Until `pid` is no longer a live process (reaped, or a zombie of someone else's)."""
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still alive")


# ---- create ----


def test_create_prints_the_name_and_leaves_it_running(msb, sandboxes):
    name = unique_name("create")
    sandboxes.adopt(name)
    p = msb("create", "-n", name, IMAGE)
    assert (p.returncode, p.stdout) == (0, f"{name}\n")
    assert msb.status(name) == "Running"
    assert msb.exec(name, "true").returncode == 0


def test_create_without_a_name_generates_one(msb, sandboxes):
    p = msb("create", IMAGE)
    assert p.returncode == 0
    name = sandboxes.adopt(p.stdout.strip())
    assert name and msb.status(name) == "Running"


def test_create_of_an_existing_name_fails(msb, sandbox):
    p = msb("create", "-n", sandbox, IMAGE)
    assert p.returncode == 1
    assert "already exists" in p.stderr
    assert msb.status(sandbox) == "Running"


def test_create_with_replace_replaces_the_sandbox(msb, sandbox):
    msb.sh(sandbox, "echo old > /root/mark")
    p = msb("create", "--replace", "-n", sandbox, IMAGE)
    assert p.returncode == 0, p.stderr
    assert msb.exec(sandbox, "cat", "/root/mark").returncode == 1
    assert msb.status(sandbox) == "Running"


# ---- stop / start / kill ----


def test_stop_then_start_keeps_the_writable_layer(msb, sandbox):
    msb.sh(sandbox, "echo kept > /root/mark")
    assert msb("stop", sandbox).returncode == 0
    assert msb.status(sandbox) == "Stopped"
    assert runtime_pid(msb, sandbox) == 0
    assert msb("start", sandbox).returncode == 0
    assert msb.status(sandbox) == "Running"
    assert msb.sh(sandbox, "cat /root/mark") == "kept\n"


def test_stop_of_a_stopped_sandbox_succeeds(msb, sandbox):
    assert msb("stop", sandbox).returncode == 0
    assert msb("stop", sandbox).returncode == 0
    assert msb.status(sandbox) == "Stopped"


def test_start_of_a_running_sandbox_fails(msb, sandbox):
    p = msb("start", sandbox)
    assert p.returncode == 1
    assert "already running" in p.stderr


def test_kill_stops_the_sandbox_at_once(msb, sandbox):
    proc = msb.popen("exec", sandbox, "--", "sh", "-c", "trap '' TERM; echo ready; sleep 600",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    assert msb("kill", sandbox).returncode == 0
    assert msb.status(sandbox) == "Stopped"
    assert runtime_pid(msb, sandbox) == 0
    proc.wait(timeout=60)
    assert proc.returncode != 0


def test_stop_with_timeout_kills_a_command_ignoring_sigterm(msb, sandbox):
    proc = msb.popen("exec", sandbox, "--", "sh", "-c", "trap '' TERM; echo ready; sleep 600",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    assert msb("stop", "-t", "1", sandbox).returncode == 0
    assert msb.status(sandbox) == "Stopped"
    proc.wait(timeout=60)
    assert proc.returncode != 0


def test_exec_in_a_stopped_sandbox_starts_it_for_the_command(msb, sandbox):
    msb("stop", sandbox, check=True)
    assert msb.exec(sandbox, "echo", "temporary").stdout == "temporary\n"
    assert msb.status(sandbox) == "Stopped"


def test_lifecycle_verbs_on_an_unknown_sandbox_fail(msb):
    for verb in ("start", "stop", "kill", "rm"):
        p = msb(verb, "no-such-sandbox")
        assert p.returncode == 1, verb
        assert "no-such-sandbox" in p.stderr and "not found" in p.stderr, (verb, p.stderr)


# ---- rm ----


def test_rm_of_a_running_sandbox_fails_and_keeps_it(msb, sandbox):
    p = msb("rm", sandbox)
    assert p.returncode == 1
    assert "running" in p.stderr
    assert msb.status(sandbox) == "Running"


def test_rm_of_a_stopped_sandbox_removes_all_its_state(msb, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create()
    msb("stop", name, check=True)
    assert msb("rm", name).returncode == 0
    assert name not in msb.names()
    assert not os.path.exists(msb.sandbox_dir(name))
    leaks.assert_none_since(before)


def test_rm_force_removes_a_running_sandbox_and_leaves_nothing(msb, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create()
    proc = msb.popen("exec", name, "--", "sh", "-c", "echo ready; sleep 600",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    assert msb("rm", "-f", name).returncode == 0
    assert name not in msb.names()
    assert not os.path.exists(msb.sandbox_dir(name))
    proc.wait(timeout=60)
    assert proc.returncode != 0
    leaks.assert_none_since(before)


def test_rm_force_wins_over_an_exec_that_would_restart_the_sandbox(msb, sandboxes):
    # `msb exec` starts a stopped sandbox for its command; racing it against `rm -f` must never
    # leave the sandbox behind (kill and removal happen under one lock).
    for _ in range(5):
        name = sandboxes.create()
        proc = msb.popen("exec", name, "--", "true", stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        assert msb("rm", "-f", name).returncode == 0
        proc.wait(timeout=60)
        assert name not in msb.names()


# ---- ls ----


def test_ls_lists_name_image_status_and_creation_time(msb, sandbox):
    rows = {r["name"]: r for r in json.loads(msb("ls", "--format", "json", check=True).stdout)}
    row = rows[sandbox]
    assert row["image"] == IMAGE
    assert row["status"] == "Running"
    assert row["created_at"].endswith("Z") and "T" in row["created_at"]
    assert sandbox in msb("ls", check=True).stdout
    assert sandbox in msb("ls", "--running", "-q", check=True).stdout.split()
    assert sandbox not in msb("ls", "--stopped", "-q", check=True).stdout.split()


# ---- a runtime or an agent that dies ----


def test_runtime_killed_with_sigkill_is_reported_crashed(msb, sandbox):
    _kill_runtime(msb, sandbox)
    assert msb.status(sandbox) == "Crashed"
    assert msb.exec(sandbox, "true").returncode == 0  # exec starts it temporarily
    assert msb.status(sandbox) == "Stopped"


def test_crashed_sandbox_can_be_started_again(msb, sandboxes, leaks):
    name = sandboxes.create()
    msb.sh(name, "echo survived > /root/mark")
    before = leaks.snapshot()
    _kill_runtime(msb, name)
    assert msb.status(name) == "Crashed"
    assert msb("start", name).returncode == 0
    assert msb.status(name) == "Running"
    assert msb.sh(name, "cat /root/mark") == "survived\n"
    assert runtime_pid(msb, name) > 0
    assert msb("rm", "-f", name).returncode == 0
    leaks.assert_none_since(before)


def test_crashed_sandbox_can_be_removed_leaving_nothing(msb, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create()
    _kill_runtime(msb, name)
    assert msb.status(name) == "Crashed"
    assert msb("rm", name).returncode == 0
    assert name not in msb.names()
    assert not os.path.exists(msb.sandbox_dir(name))
    leaks.assert_none_since(before)


def test_agent_killed_from_the_host_ends_the_sandbox_as_crashed(msb, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create()
    runtime = runtime_pid(msb, name)
    agents = [int(p) for p in open(f"/proc/{runtime}/task/{runtime}/children").read().split()]
    assert len(agents) == 1
    os.kill(agents[0], signal.SIGKILL)
    _wait_gone(runtime)
    assert msb.status(name) == "Crashed"
    assert msb("rm", name).returncode == 0
    leaks.assert_none_since(before)


# ---- attached mode ----


def test_named_run_stops_its_sandbox_when_msb_is_killed(msb, sandboxes, leaks):
    name = sandboxes.adopt(unique_name("attached"))
    before = leaks.snapshot()
    proc = msb.popen("run", "-n", name, IMAGE, "--", "sh", "-c", "echo ready; sleep 600",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"ready\n"
    runtime = runtime_pid(msb, name)
    proc.kill()
    proc.wait()
    _wait_gone(runtime)
    assert msb.status(name) == "Stopped"
    msb("rm", name, check=True)
    leaks.assert_none_since(before)


# ---- state roots ----


def test_same_name_in_two_state_roots_do_not_interfere(msb, leaks):
    other_home = tempfile.mkdtemp(prefix="msb-it-other-")
    other = Msb(other_home)
    name = unique_name("twin")
    try:
        image_dir = os.environ.get("MSB_TEST_IMAGE_DIR")
        if not image_dir:
            pytest.skip("needs MSB_TEST_IMAGE_DIR")
        other("image", "load", "-q", image_dir, "--tag", IMAGE, check=True)
        msb("create", "-n", name, IMAGE, check=True)
        other("create", "-n", name, IMAGE, check=True)
        # Removing the twin in the other root must not touch ours, and the other way round.
        assert other("rm", "-f", name).returncode == 0
        assert msb.status(name) == "Running"
        assert msb.exec(name, "echo", "alive").stdout == "alive\n"
        other("create", "-n", name, IMAGE, check=True)
        assert msb("stop", name).returncode == 0
        assert msb("start", name).returncode == 0
        assert other.exec(name, "echo", "alive").stdout == "alive\n"
        assert msb.exec(name, "echo", "alive").stdout == "alive\n"
    finally:
        msb("rm", "-f", name)
        other("rm", "-f", name)
        for pid in runtime_pids(other_home):
            os.kill(pid, signal.SIGKILL)
        import shutil
        shutil.rmtree(other_home, ignore_errors=True)
