"""Drain (issue 4, Lifecycle): SIGUSR1 to the runtime — commands already running finish, new
ones are refused, and the sandbox stops once the last one ends. `msb drain` returns once the
signal is delivered; the runtime acts on it a moment later, so tests that need the draining
state wait for it."""

from .helpers import eventually


def drain(cli, name):
    cli("drain", name, check=True)
    cli.wait_status(name, "draining", "stopped")


def test_drain_lets_a_running_command_finish(cli, sandbox, held):
    running = held(sandbox)
    cli("drain", sandbox, check=True)
    assert running.release("after drain") == (0, "finished after drain\n", "")


def test_draining_sandbox_is_reported_draining(cli, sandbox, held):
    running = held(sandbox)
    drain(cli, sandbox)
    assert cli.status(sandbox) == "draining"
    rows = {r["name"]: r for r in cli.json("ls", "--format", "json")}
    assert rows[sandbox]["status"] == "Draining"
    assert running.running()


def test_draining_sandbox_refuses_a_new_command(cli, sandbox, held):
    running = held(sandbox)
    drain(cli, sandbox)
    p = cli("exec", sandbox, "--", "echo", "should not run")
    assert p.returncode == 125
    assert p.stdout == ""
    assert "draining" in p.stderr
    assert running.running()


def test_drained_sandbox_stops_after_its_last_command(cli, sandbox, held):
    running = held(sandbox)
    cli("drain", sandbox, check=True)
    running.release()
    info = cli.wait_status(sandbox, "stopped", "crashed")
    assert info["status"] == "stopped"
    assert info["termination_reason"] == "drained"


def test_drain_waits_for_every_running_command(cli, sandbox, held):
    first, second = held(sandbox), held(sandbox)
    drain(cli, sandbox)
    assert first.release() == (0, "finished ok\n", "")
    assert cli.status(sandbox) == "draining"
    assert second.running()
    assert second.release("last") == (0, "finished last\n", "")
    cli.wait_status(sandbox, "stopped")


def test_drain_of_an_idle_sandbox_stops_it(cli, sandbox):
    cli("drain", sandbox, check=True)
    info = cli.wait_status(sandbox, "stopped", "crashed")
    assert (info["status"], info["termination_reason"]) == ("stopped", "drained")


def test_drained_sandbox_starts_again_and_accepts_commands(cli, sandbox):
    cli("drain", sandbox, check=True)
    cli.wait_status(sandbox, "stopped")
    cli("start", sandbox, check=True)
    assert cli.sh(sandbox, "echo back") == "back\n"


def test_drain_of_a_stopped_sandbox_fails(cli, sandbox):
    cli("stop", sandbox, check=True)
    p = cli("drain", sandbox)
    assert p.returncode == 1
    assert "not running" in p.stderr


def test_stop_during_drain_stops_now(cli, sandbox, held):
    running = held(sandbox)
    cli("drain", sandbox, check=True)
    cli("stop", "-t", "5s", sandbox, check=True)
    assert cli.status(sandbox) == "stopped"
    code, _, _ = running.finish()
    assert code != 0
    eventually(lambda: not running.running(), what="the held command ending")
