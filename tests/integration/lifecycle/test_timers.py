"""max_duration and idle_timeout, enforced by the runtime (issue 4, Timers), with the reason
recorded. Short values (1–2 s); every wait is bounded, nothing asserts a duration."""

import subprocess
import time

import pytest

from .helpers import IMAGE, SMALL


def wait_cli(cli, name, timeout=30):
    """`msb wait NAME` → (exit status, printed exit code)."""
    p = cli("wait", name, timeout=timeout)
    return p.returncode, p.stdout.strip()


def test_max_duration_stops_an_idle_sandbox(cli, sandboxes):
    name = sandboxes.create("--max-duration", "1s", label="maxdur")
    assert wait_cli(cli, name)[0] == 0
    info = cli.inspect(name)
    assert (info["status"], info["termination_reason"]) == ("stopped", "max_duration")


def test_max_duration_stops_a_busy_sandbox(cli, sandboxes, held):
    name = sandboxes.create("--max-duration", "1s", label="maxbusy")
    running = held(name)
    assert wait_cli(cli, name)[0] == 0
    assert cli.inspect(name)["termination_reason"] == "max_duration"
    code, _, _ = running.finish()
    assert code != 0


def test_max_duration_counts_again_from_each_start(cli, sandboxes):
    name = sandboxes.create("--max-duration", "1s", label="maxrestart")
    wait_cli(cli, name)
    cli("start", name, check=True)
    assert cli.status(name) == "running"
    assert wait_cli(cli, name)[0] == 0
    assert cli.inspect(name)["termination_reason"] == "max_duration"


def test_idle_timeout_stops_an_idle_sandbox(cli, sandboxes):
    name = sandboxes.create("--idle-timeout", "1s", label="idle")
    assert wait_cli(cli, name)[0] == 0
    info = cli.inspect(name)
    assert (info["status"], info["termination_reason"]) == ("stopped", "idle_timeout")


def test_idle_timeout_spares_a_sandbox_running_a_command(cli, sandboxes, held):
    name = sandboxes.create("--idle-timeout", "1s", label="idlebusy")
    running = held(name)
    time.sleep(2.5)  # well past the timeout, with a command running the whole time
    assert cli.status(name) == "running"
    assert running.release() == (0, "finished ok\n", "")
    assert wait_cli(cli, name)[0] == 0
    assert cli.inspect(name)["termination_reason"] == "idle_timeout"


def test_touch_refreshes_the_idle_timer(cli, sandboxes):
    name = sandboxes.create("--idle-timeout", "2s", label="touch")
    seqs = []
    for _ in range(10):  # 5 s of touching, 2.5 times the timeout
        p = cli("touch", name, check=True)
        seqs.append(int(p.stdout.rsplit(" ", 1)[1]))
        time.sleep(0.5)
    assert cli.status(name) == "running"
    assert seqs == sorted(seqs) and seqs[0] > 0 and len(set(seqs)) == len(seqs)
    assert wait_cli(cli, name)[0] == 0
    assert cli.inspect(name)["termination_reason"] == "idle_timeout"


def test_ping_does_not_refresh_the_idle_timer(cli, sandboxes):
    name = sandboxes.create("--idle-timeout", "1s", label="ping")
    waiter = cli.popen("wait", name)
    pings = 0
    while waiter.poll() is None:
        p = cli("ping", name)
        if p.returncode == 0:
            assert p.stdout.startswith(f"{name}: ") and p.stdout.endswith(" ms\n")
            pings += 1
        time.sleep(0.2)
        assert pings < 150, "pinging kept the sandbox alive"
    assert pings > 0
    assert cli.inspect(name)["termination_reason"] == "idle_timeout"


def test_ping_and_touch_of_a_stopped_sandbox_fail(cli, sandbox):
    cli("stop", sandbox, check=True)
    for verb in ("ping", "touch"):
        p = cli(verb, sandbox)
        assert p.returncode == 1
        assert "not running" in p.stderr


def test_timers_are_stored_in_the_config(cli, sandboxes):
    name = sandboxes.create("--max-duration", "1h", "--idle-timeout", "90s", label="cfg")
    lifecycle = cli.inspect(name)["config"]["lifecycle"]
    assert lifecycle["max_duration_secs"] == 3600
    assert lifecycle["idle_timeout_secs"] == 90


@pytest.mark.parametrize("flag", ["--max-duration", "--idle-timeout"])
def test_negative_or_malformed_durations_are_refused(cli, sandboxes, flag):
    for value in ("-1s", "soon"):
        name = sandboxes.name("baddur")
        p = cli("create", "-n", name, *SMALL, flag, value, IMAGE)
        assert p.returncode == 1
        assert flag in p.stderr
        assert cli.inspect(name) is None


def test_wait_returns_after_a_stop_from_another_process(cli, sandbox):
    waiter = cli.popen("wait", sandbox)
    cli("stop", sandbox, check=True)
    out, err = waiter.communicate(timeout=30)
    assert (waiter.returncode, out) == (0, "0\n")


def test_wait_on_a_stopped_sandbox_returns_at_once(cli, sandbox):
    cli("stop", sandbox, check=True)
    assert wait_cli(cli, sandbox) == (0, "0")


def test_wait_reports_a_killed_sandbox(cli, sandbox):
    waiter = cli.popen("wait", sandbox)
    cli("kill", sandbox, check=True)
    out, _ = waiter.communicate(timeout=30)
    assert waiter.returncode == 0
    assert out == "-1\n"


def test_wait_outlives_nothing_when_killed(cli, sandbox):
    waiter = cli.popen("wait", sandbox)
    waiter.kill()
    waiter.communicate()
    assert cli.status(sandbox) == "running"
    with pytest.raises(subprocess.TimeoutExpired):
        cli("wait", sandbox, timeout=0.5)
