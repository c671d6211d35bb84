"""create --replace / --replace-with-timeout on an existing sandbox (issue 4, Lifecycle)."""

import os
import signal

from .helpers import IMAGE, SMALL, eventually, pid_alive


def test_replace_of_a_running_sandbox_gives_a_fresh_one(cli, sandbox):
    old_pid = cli.runtime_pid(sandbox)
    cli.sh(sandbox, "echo old > /marker; sync")
    cli("create", "-n", sandbox, *SMALL, "--replace", IMAGE, check=True)
    assert cli.status(sandbox) == "running"
    new_pid = cli.runtime_pid(sandbox)
    assert new_pid != old_pid
    eventually(lambda: not pid_alive(old_pid), what="the old runtime exiting")
    assert cli("exec", sandbox, "--", "cat", "/marker").returncode != 0


def test_replace_of_a_stopped_sandbox(cli, sandbox):
    cli.sh(sandbox, "echo old > /marker; sync")
    cli("stop", sandbox, check=True)
    cli("create", "-n", sandbox, *SMALL, "--replace", IMAGE, check=True)
    assert cli.status(sandbox) == "running"
    assert cli("exec", sandbox, "--", "cat", "/marker").returncode != 0


def test_replace_with_timeout_zero_kills_at_once(cli, sandbox, held):
    busy = held(sandbox, script="trap '' TERM; echo started; exec sleep 1000")
    cli("create", "-n", sandbox, *SMALL, "--replace-with-timeout", "0s", IMAGE, check=True)
    code, _, _ = busy.finish()
    assert code != 0
    assert cli.status(sandbox) == "running"


def test_replace_takes_the_new_config(cli, sandbox):
    cli("create", "-n", sandbox, "-m", "96M", "--label", "gen=2", "--replace", IMAGE, check=True)
    config = cli.inspect(sandbox)["config"]
    assert config["resources"]["memory_mib"] == 96
    assert config["labels"] == {"gen": "2"}


def test_create_of_an_existing_name_without_replace_fails(cli, sandbox):
    pid = cli.runtime_pid(sandbox)
    p = cli("create", "-n", sandbox, *SMALL, IMAGE)
    assert p.returncode == 1
    assert "already exists" in p.stderr
    assert cli.runtime_pid(sandbox) == pid
    assert cli.status(sandbox) == "running"


def test_replace_of_a_crashed_sandbox_leaves_nothing_of_it(cli, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create(label="replcrash")
    pid = cli.runtime_pid(name)
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not pid_alive(pid), what="the runtime's death")
    cli("create", "-n", name, *SMALL, "--replace", IMAGE, check=True)
    assert cli.status(name) == "running"
    cli("rm", "-f", name, check=True)
    leaks.assert_none_since(before)
