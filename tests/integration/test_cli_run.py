"""`msb run IMAGE -- CMD`: output, exit codes (API.md §2) and what an unnamed run leaves."""

import signal

from msb_it import (EXIT_MSB_FAILED, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SIGNALED,
                      EXIT_TIMEOUT, IMAGE, unique_name)


def run(msb, *cmd, flags=(), **kw):
    return msb("run", *flags, IMAGE, "--", *cmd, **kw)


def test_run_prints_the_command_output(msb):
    p = run(msb, "echo", "hello from the sandbox")
    assert (p.returncode, p.stdout) == (0, "hello from the sandbox\n")


def test_run_keeps_stdout_and_stderr_apart(msb):
    p = run(msb, "sh", "-c", "echo out; echo err >&2")
    assert (p.returncode, p.stdout, p.stderr) == (0, "out\n", "err\n")


def test_run_propagates_the_exit_code(msb):
    assert run(msb, "sh", "-c", "exit 42").returncode == 42


def test_run_of_a_missing_command_exits_127(msb):
    p = run(msb, "no-such-command")
    assert p.returncode == EXIT_NOT_FOUND
    assert "no-such-command" in p.stderr


def test_run_of_a_non_executable_file_exits_126(msb):
    p = run(msb, "/etc/passwd")
    assert p.returncode == EXIT_NOT_EXECUTABLE
    assert "/etc/passwd" in p.stderr


def test_run_of_a_command_killed_by_a_signal_exits_255(msb):
    assert run(msb, "sh", "-c", "kill -9 $$").returncode == EXIT_SIGNALED


def test_run_timeout_kills_the_command_and_exits_124(msb):
    p = run(msb, "sleep", "600", flags=("--timeout", "1s"))
    assert p.returncode == EXIT_TIMEOUT
    assert "timed out" in p.stderr


def test_run_of_an_unknown_image_exits_125(msb):
    p = msb("run", "--pull", "never", "local/no-such-image:latest", "--", "true")
    assert p.returncode == EXIT_MSB_FAILED
    assert "no-such-image" in p.stderr


def test_run_with_an_unknown_flag_exits_125(msb):
    p = msb("run", "--no-such-flag", IMAGE, "--", "true")
    assert p.returncode == EXIT_MSB_FAILED


def test_run_pipes_stdin_to_the_command(msb):
    p = run(msb, "sh", "-c", "tr a-z A-Z; echo done", input="piped text\n")
    assert (p.returncode, p.stdout) == (0, "PIPED TEXT\ndone\n")


def test_run_without_a_command_runs_the_image_cmd(msb):
    # The image's CMD is /bin/sh: it reads its script from stdin.
    p = msb("run", IMAGE, input="echo from-image-cmd\nexit 3\n")
    assert (p.returncode, p.stdout) == (3, "from-image-cmd\n")


def test_run_applies_env_workdir_user_and_hostname_flags(msb):
    p = run(msb, "sh", "-c", 'echo "$GREETING $(pwd) $(id -un) $(hostname)"',
            flags=("-e", "GREETING=hi", "-w", "/tmp", "-u", "nobody", "-H", "box"))
    assert (p.returncode, p.stdout) == (0, "hi /tmp nobody box\n")


def test_unnamed_run_leaves_nothing_behind(msb, leaks):
    before_names = msb.names()
    before = leaks.snapshot()
    assert run(msb, "true").returncode == 0
    assert msb.names() == before_names
    leaks.assert_none_since(before)


def test_failed_unnamed_run_leaves_nothing_behind(msb, leaks):
    before_names = msb.names()
    before = leaks.snapshot()
    assert run(msb, "no-such-command").returncode == EXIT_NOT_FOUND
    assert msb.names() == before_names
    leaks.assert_none_since(before)


def test_named_run_is_kept_stopped(msb, sandboxes):
    name = sandboxes.adopt(unique_name("named-run"))
    p = run(msb, "sh", "-c", "echo kept > /root/mark", flags=("-n", name))
    assert p.returncode == 0
    assert msb.status(name) == "Stopped"
    # Its writable layer survives: exec starts it temporarily and stops it again.
    assert msb.exec(name, "cat", "/root/mark").stdout == "kept\n"
    assert msb.status(name) == "Stopped"


def test_run_forwards_sigterm_to_the_command(msb, leaks):
    before_names = msb.names()
    before = leaks.snapshot()
    proc = msb.popen("run", IMAGE, "--", "sh", "-c", "echo ready; exec sleep 600",
                     stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT_SIGNALED
    proc.stdout.close()
    proc.stderr.close()
    assert msb.names() == before_names
    leaks.assert_none_since(before)
