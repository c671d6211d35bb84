"""Hostile lifecycle cases: the sandbox's own processes misbehaving (OOM, ignoring SIGTERM,
killing init), a hung runtime, and several lifecycle commands racing each other."""

import os
import signal
import socket

from .helpers import IMAGE, SMALL, cgroup_processes, eventually, name_hash, pid_alive


def agent_pid(cli, name):
    rt = cli.runtime_pid(name)
    with open(f"/proc/{rt}/task/{rt}/children") as f:
        kids = [int(p) for p in f.read().split()]
    assert len(kids) == 1, kids
    return kids[0]


def test_out_of_memory_kills_the_hog_not_the_sandbox(cli, sandboxes):
    name = sandboxes.create("-m", "32M", label="oom")
    p = cli("exec", name, "--", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived")
    assert p.returncode != 0
    assert "survived" not in p.stdout
    assert cli.status(name) == "running"
    assert cli.sh(name, "echo still ok") == "still ok\n"


def test_sandbox_whose_init_is_killed_is_reported_crashed(cli, sandbox):
    os.kill(agent_pid(cli, sandbox), signal.SIGKILL)
    info = cli.wait_status(sandbox, "crashed", "stopped")
    assert info["status"] == "crashed"
    assert info["termination_reason"] == "sandbox exited"
    assert cli.runtime_pid(sandbox) is None
    cli("start", sandbox, check=True)
    assert cli.sh(sandbox, "echo again") == "again\n"


def test_stop_completes_when_a_process_ignores_sigterm(cli, sandbox, held):
    stubborn = held(sandbox, script="trap '' TERM; echo started; while :; do sleep 1; done")
    cli("stop", "-t", "5s", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"
    eventually(lambda: not cgroup_processes(sandbox), what="the sandbox's processes exiting")
    code, _, _ = stubborn.finish()
    assert code != 0


def test_stop_of_a_hung_runtime_kills_it_after_the_timeout(cli, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create(label="hung")
    pid = cli.runtime_pid(name)
    os.kill(pid, signal.SIGSTOP)
    try:
        cli("stop", "-t", "1s", name, check=True)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert not pid_alive(pid)
    assert cli.status(name) == "stopped"
    cli("rm", name, check=True)
    leaks.assert_none_since(before)


def test_metrics_of_a_hung_runtime_say_stalled(cli, sandboxes):
    name = sandboxes.create(label="stall", env={"MSB_METRICS_INTERVAL_MS": "100"})
    pid = cli.runtime_pid(name)
    assert cli.json("metrics", name, "--format", "json")["state"] == "running"
    os.kill(pid, signal.SIGSTOP)
    try:
        eventually(lambda: cli.json("metrics", name, "--format", "json")["state"] == "stalled",
                   what="the metrics showing the runtime stalled")
    finally:
        os.kill(pid, signal.SIGCONT)
    eventually(lambda: cli.json("metrics", name, "--format", "json")["state"] == "running",
               what="the metrics recovering")


def test_stop_of_a_frozen_sandbox_is_forced_after_the_flush_window(cli, sandbox, leaks):
    agent = agent_pid(cli, sandbox)
    os.kill(agent, signal.SIGSTOP)  # core.shutdown goes unanswered
    try:
        cli("stop", "-t", "30s", sandbox, check=True)
    finally:
        if pid_alive(agent):
            os.kill(agent, signal.SIGCONT)
    info = cli.inspect(sandbox)
    assert (info["status"], info["termination_reason"]) == ("stopped", "stopped")
    assert not pid_alive(agent)
    assert not cgroup_processes(sandbox)


def test_kill_waits_out_a_stop_in_progress(cli, sandbox):
    agent = agent_pid(cli, sandbox)
    os.kill(agent, signal.SIGSTOP)
    try:
        stopper = cli.popen("stop", "-t", "30s", sandbox)
        cli("kill", sandbox, check=True)
        stopper.communicate(timeout=60)
    finally:
        if pid_alive(agent):
            os.kill(agent, signal.SIGCONT)
    assert stopper.returncode == 0
    assert cli.status(sandbox) == "stopped"
    assert cli.runtime_pid(sandbox) is None


def test_concurrent_starts_boot_one_runtime(cli, sandbox):
    cli("stop", sandbox, check=True)
    starters = [cli.popen("start", sandbox) for _ in range(6)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in starters]
    ok = [r for r in results if r[0] == 0]
    assert len(ok) >= 1
    for code, err in results:
        assert code == 0 or "already running" in err, err
    assert cli.status(sandbox) == "running"
    assert cli.sh(sandbox, "echo one") == "one\n"


def test_concurrent_creates_of_one_name_make_one_sandbox(cli, sandboxes):
    name = sandboxes.name("race")
    creators = [cli.popen("create", "-n", name, *SMALL, IMAGE) for _ in range(6)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in creators]
    assert sum(1 for code, _ in results if code == 0) == 1, results
    for code, err in results:
        assert code == 0 or "already exists" in err, err
    assert cli.status(name) == "running"


def test_concurrent_stop_and_remove(cli, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create(label="stoprm")
    procs = [cli.popen("stop", name), cli.popen("rm", "-f", name), cli.popen("kill", name)]
    for p in procs:
        p.wait(timeout=60)
    assert procs[1].returncode == 0, procs[1].stderr.read()
    assert cli.inspect(name) is None
    leaks.assert_none_since(before)


def test_readers_never_see_a_booting_sandbox_as_crashed(cli, sandboxes):
    name = sandboxes.name("boot-read")
    creator = cli.popen("create", "-n", name, *SMALL, IMAGE)
    seen = set()
    while creator.poll() is None:
        p = cli("inspect", name)
        if p.returncode == 0:
            seen.add(p.stdout.split('"status": "', 1)[1].split('"', 1)[0])
    assert creator.returncode == 0
    seen.add(cli.status(name))
    assert "crashed" not in seen, seen
    assert cli.status(name) == "running"


def test_stop_with_zero_timeout_kills_at_once(cli, sandbox, held):
    held(sandbox, script="trap '' TERM; echo started; exec sleep 1000")
    cli("stop", "-t", "0s", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"


def test_runtime_ignores_a_client_that_sends_garbage(cli, sandbox):
    path = os.path.join(cli.home, "run", "sandboxes", name_hash(sandbox, 12), "agent.sock")
    for payload in (b"\xff" * 64, b"\x00\x00\x00\x05\x00" * 1000, os.urandom(4096)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        try:
            s.sendall(payload)
        except OSError:
            pass
        s.close()
    assert cli.sh(sandbox, "echo fine") == "fine\n"
    assert cli.status(sandbox) == "running"
