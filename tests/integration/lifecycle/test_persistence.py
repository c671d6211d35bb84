"""The writable layer across stop/start, and what `rm` deletes (issue 4, Persistence)."""

import os

from .helpers import IMAGE, SMALL, name_hash, pid_alive


def test_file_synced_before_graceful_stop_is_there_after_start(cli, sandbox):
    cli.sh(sandbox, "echo kept > /data.txt; mkdir -p /srv/a; echo deep > /srv/a/b; sync")
    cli("stop", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"
    cli("start", sandbox, check=True)
    assert cli.sh(sandbox, "cat /data.txt /srv/a/b") == "kept\ndeep\n"


def test_graceful_stop_keeps_unsynced_writes(cli, sandbox):
    cli.sh(sandbox, "echo unsynced > /late.txt")
    cli("stop", sandbox, check=True)
    cli("start", sandbox, check=True)
    assert cli.sh(sandbox, "cat /late.txt") == "unsynced\n"


def test_deleted_image_file_stays_deleted_after_restart(cli, sandbox):
    cli.sh(sandbox, "rm /etc/passwd; sync")
    cli("restart", sandbox, check=True)
    assert cli("exec", sandbox, "--", "cat", "/etc/passwd").returncode != 0


def test_exec_on_stopped_sandbox_starts_it_and_sees_the_files(cli, sandbox):
    cli.sh(sandbox, "echo there > /f; sync")
    cli("stop", sandbox, check=True)
    assert cli.sh(sandbox, "cat /f") == "there\n"
    # `exec` on a stopped sandbox starts it only for the command.
    assert cli.status(sandbox) == "stopped"


def test_remove_deletes_every_file_of_the_sandbox(cli, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create(label="rm")
    cli.sh(name, "echo x > /f; sync")
    cli("stop", name, check=True)
    assert os.path.isdir(cli.sandbox_dir(name))
    cli("rm", name, check=True)
    assert not os.path.exists(cli.sandbox_dir(name))
    assert not os.path.exists(os.path.join(cli.home, "run", "sandboxes", name_hash(name, 12)))
    assert not os.path.exists(cli.live_lock(name))
    assert name not in cli("ls", "-q", check=True).stdout.split()
    p = cli("inspect", name)
    assert p.returncode == 1 and "not found" in p.stderr
    leaks.assert_none_since(before)


def test_removed_name_is_fresh_when_reused(cli, sandboxes):
    name = sandboxes.create(label="reuse")
    cli.sh(name, "echo old > /f; sync")
    cli("rm", "-f", name, check=True)
    cli("create", "-n", name, *SMALL, IMAGE, check=True)
    assert cli("exec", name, "--", "cat", "/f").returncode != 0


def test_remove_refuses_a_running_sandbox(cli, sandbox):
    p = cli("rm", sandbox)
    assert p.returncode == 1
    assert "running" in p.stderr
    assert cli.status(sandbox) == "running"
    assert cli.sh(sandbox, "echo alive") == "alive\n"


def test_remove_force_stops_and_removes_a_running_sandbox(cli, sandboxes, leaks):
    before = leaks.snapshot()
    name = sandboxes.create(label="rmf")
    cli("rm", "-f", name, check=True)
    assert cli.inspect(name) is None
    leaks.assert_none_since(before)


def test_start_of_a_running_sandbox_is_refused(cli, sandbox):
    pid = cli.runtime_pid(sandbox)
    p = cli("start", sandbox)
    assert p.returncode == 1
    assert "already running" in p.stderr
    assert cli.runtime_pid(sandbox) == pid


def test_stop_of_a_stopped_sandbox_succeeds(cli, sandbox):
    cli("stop", sandbox, check=True)
    cli("stop", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"


def test_graceful_stop_records_the_reason(cli, sandbox):
    cli("stop", sandbox, check=True)
    info = cli.inspect(sandbox)
    assert info["status"] == "stopped"
    assert info["termination_reason"] == "stopped"
    assert info["pid"] == 0


def test_kill_stops_a_running_sandbox(cli, sandbox):
    pid = cli.runtime_pid(sandbox)
    cli("kill", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"
    assert cli.runtime_pid(sandbox) is None
    assert not pid_alive(pid)


def test_lifecycle_verbs_on_an_unknown_sandbox_say_not_found(cli):
    for verb in (("start",), ("stop",), ("kill",), ("rm",), ("inspect",), ("logs",),
                 ("metrics",), ("drain",), ("wait",), ("restart",)):
        p = cli(*verb, "lc-no-such-sandbox")
        assert p.returncode == 1, verb
        assert "not found" in p.stderr, (verb, p.stderr)
