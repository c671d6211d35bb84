"""Who owns a sandbox's life (issue 4, Lifecycle): an attached sandbox stops when its creating
process dies; a detached one survives it and other processes connect to it, several at once."""

import os
import signal

from .helpers import IMAGE, LC_EXIT_NOT_RUNNING, eventually, pid_alive


def test_attached_sandbox_stops_when_its_creator_is_killed(cli, sandboxes):
    name = sandboxes.name("attached")
    creator = cli.client_popen("attached", name, IMAGE)
    assert creator.stdout.readline() == "ready owner\n"
    assert cli.status(name) == "running"
    creator.send_signal(signal.SIGKILL)
    creator.communicate()
    info = cli.wait_status(name, "stopped", "crashed")
    assert info["status"] == "stopped"
    assert info["termination_reason"] == "creator exited"


def test_detached_handle_lets_the_sandbox_outlive_its_creator(cli, sandboxes):
    name = sandboxes.name("detach")
    p = cli.client("detach", name, IMAGE)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ready owner\ndetached not-owner\n"
    assert cli.status(name) == "running"
    assert cli.sh(name, "echo outlived") == "outlived\n"


def test_owner_closing_its_handle_stops_the_sandbox(cli, sandboxes):
    name = sandboxes.name("close")
    creator = cli.client_popen("close", name, IMAGE)
    try:
        assert creator.stdout.readline() == "ready owner\n"
        assert creator.stdout.readline() == "closed\n"
        info = cli.wait_status(name, "stopped", "crashed")
        assert info["status"] == "stopped"
    finally:
        creator.kill()
        creator.communicate()


def test_attached_run_stops_when_the_cli_is_killed(cli, sandboxes):
    name = sandboxes.name("run")
    run = cli.popen("run", "-n", name, "-m", "64M", IMAGE, "--", "sh", "-c",
                    "echo started; exec sleep 1000")
    assert run.stdout.readline() == "started\n"
    run.send_signal(signal.SIGKILL)
    run.communicate()
    info = cli.wait_status(name, "stopped", "crashed")
    assert info["status"] == "stopped"
    assert info["termination_reason"] == "creator exited"


def test_detached_sandbox_survives_its_creator(cli, sandboxes):
    name = sandboxes.name("detached")
    p = cli.client("detached", name, IMAGE)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ready not-owner\n"
    assert cli.status(name) == "running"
    assert cli.sh(name, "echo still here") == "still here\n"


def test_second_process_connects_and_runs_commands(cli, sandboxes):
    name = sandboxes.name("connect")
    assert cli.client("detached", name, IMAGE).returncode == 0
    p = cli.client("shell", name, "echo $((6 * 7)); echo oops >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, "42\n", "oops\n")
    # A connected (non-owner) handle closing does not stop the sandbox.
    assert cli.status(name) == "running"
    assert cli.client("shell", name, "true").returncode == 0


def test_connected_client_killed_mid_command_leaves_the_sandbox_running(cli, sandbox):
    # lc_client buffers the command's output: watch the sandbox for the command instead.
    client = cli.client_popen("shell", sandbox, "exec sleep 1000")
    eventually(lambda: "sleep 1000" in cli.sh(sandbox, "ps -o args"), what="the sleep starting")
    client.send_signal(signal.SIGKILL)
    client.communicate()
    # Its command is killed with it; the sandbox stays.
    eventually(lambda: "sleep 1000" not in cli.sh(sandbox, "ps -o args"),
               what="the orphaned command being killed")
    assert cli.status(sandbox) == "running"


def test_connect_to_a_stopped_sandbox_is_refused(cli, sandbox):
    cli("stop", sandbox, check=True)
    p = cli.client("shell", sandbox, "true")
    assert p.returncode == LC_EXIT_NOT_RUNNING
    assert "sandbox-not-running" in p.stderr


def test_two_clients_in_one_process_are_served_at_once(cli, sandbox):
    p = cli.client("two-clients", sandbox)
    assert p.returncode == 0, p.stderr
    # The second client's command completed while the first one's was still waiting.
    assert p.stdout == "second\nfirst:go\nfirst exit 0\n"


def test_two_cli_processes_run_commands_at_once(cli, sandbox, held):
    first = held(sandbox)
    assert cli.sh(sandbox, "echo second") == "second\n"
    assert first.running()
    assert first.release("go") == (0, "finished go\n", "")


def test_many_clients_at_once(cli, sandbox, held):
    holders = [held(sandbox) for _ in range(8)]
    procs = [cli.popen("exec", sandbox, "--", "sh", "-c", f"echo {i}") for i in range(8)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [o for o, _ in outs] == [f"{i}\n" for i in range(8)]
    for i, h in enumerate(holders):
        assert h.release(str(i)) == (0, f"finished {i}\n", "")


def test_cli_create_leaves_the_sandbox_running_in_its_own_session(cli, sandboxes):
    # `msb create` creates through the C API and exits: the sandbox must outlive it.
    name = sandboxes.create(label="create-exits")
    assert cli.status(name) == "running"
    pid = cli.runtime_pid(name)
    assert pid and pid_alive(pid)
    assert os.getsid(pid) != os.getsid(0), "the runtime must not share the caller's session"
