"""`msb exec NAME -- CMD`: exit codes, stdin, terminals, signals, env/cwd/user and many
commands at once, all in one sandbox shared by the module."""

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import threading

import pytest

from msb_it import (EXIT_MSB_FAILED, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_SIGNALED,
                      EXIT_TIMEOUT)


@pytest.fixture(scope="module")
def sb(module_sandboxes):
    return module_sandboxes.create(label="exec")


# ---- output and exit codes ----


def test_exec_prints_output_and_exits_0(msb, sb):
    p = msb.exec(sb, "echo", "hi")
    assert (p.returncode, p.stdout, p.stderr) == (0, "hi\n", "")


def test_exec_keeps_stdout_and_stderr_apart(msb, sb):
    p = msb.exec(sb, "sh", "-c", "echo out; echo err >&2")
    assert (p.stdout, p.stderr) == ("out\n", "err\n")


def test_exec_propagates_the_exit_code(msb, sb):
    assert msb.exec(sb, "sh", "-c", "exit 7").returncode == 7


def test_exec_of_a_missing_command_exits_127(msb, sb):
    p = msb.exec(sb, "no-such-command")
    assert p.returncode == EXIT_NOT_FOUND
    assert "not found" in p.stderr


def test_exec_of_a_missing_absolute_path_exits_127(msb, sb):
    assert msb.exec(sb, "/no/such/file").returncode == EXIT_NOT_FOUND


def test_exec_of_a_file_without_exec_permission_exits_126(msb, sb):
    msb.sh(sb, "printf 'echo x\\n' > /tmp/noexec; chmod 644 /tmp/noexec")
    p = msb.exec(sb, "/tmp/noexec")
    assert p.returncode == EXIT_NOT_EXECUTABLE
    assert "Permission denied" in p.stderr


def test_exec_of_an_executable_with_no_known_format_exits_126(msb, sb):
    msb.sh(sb, "printf '\\001\\002garbage' > /tmp/badformat; chmod 755 /tmp/badformat")
    assert msb.exec(sb, "/tmp/badformat").returncode == EXIT_NOT_EXECUTABLE


def test_exec_of_a_directory_exits_126(msb, sb):
    assert msb.exec(sb, "/etc").returncode == EXIT_NOT_EXECUTABLE


def test_exec_of_a_command_killed_by_a_signal_exits_255(msb, sb):
    assert msb.exec(sb, "sh", "-c", "kill -KILL $$").returncode == EXIT_SIGNALED


def test_exec_timeout_kills_the_command_and_exits_124(msb, sb):
    p = msb.exec(sb, "sleep", "600", flags=("--timeout", "500ms"))
    assert p.returncode == EXIT_TIMEOUT
    assert "sleep 600" not in msb.exec(sb, "ps", "-o", "args").stdout


def test_exec_in_an_unknown_sandbox_exits_125(msb):
    p = msb.exec("no-such-sandbox", "true")
    assert p.returncode == EXIT_MSB_FAILED
    assert "no-such-sandbox" in p.stderr


def test_exec_without_a_command_exits_125(msb, sb):
    assert msb("exec", sb).returncode == EXIT_MSB_FAILED


def test_exec_with_a_bad_flag_exits_125(msb, sb):
    assert msb("exec", "--bogus", sb, "--", "true").returncode == EXIT_MSB_FAILED


def test_exec_with_a_bad_timeout_exits_125_naming_the_flag(msb, sb):
    p = msb("exec", "--timeout", "soon", sb, "--", "true")
    assert p.returncode == EXIT_MSB_FAILED
    assert "--timeout" in p.stderr


def test_exec_output_is_binary_safe(msb, sb):
    p = msb.exec(sb, "sh", "-c", "printf '\\000\\001\\377end'", text=False)
    assert p.stdout == b"\x00\x01\xffend"


def test_exec_streams_large_output_completely(msb, sb):
    p = msb.exec(sb, "head", "-c", "5000000", "/dev/zero", text=False)
    assert (p.returncode, len(p.stdout)) == (0, 5000000)


# ---- stdin ----


def test_exec_pipes_stdin_to_cat(msb, sb):
    p = msb.exec(sb, "cat", input="line one\nline two\n")
    assert (p.returncode, p.stdout) == (0, "line one\nline two\n")


def test_exec_pipes_large_binary_stdin_intact(msb, sb):
    data = os.urandom(3 * 1024 * 1024 + 17)
    p = msb.exec(sb, "sha256sum", input=data, text=False)
    import hashlib
    assert p.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_exec_stdin_eof_reaches_the_command(msb, sb):
    # wc only prints once its stdin is closed.
    assert msb.exec(sb, "wc", "-c", input="12345").stdout.split() == ["5"]


def test_exec_with_no_stdin_sees_eof_at_once(msb, sb):
    p = msb.exec(sb, "cat", input="")
    assert (p.returncode, p.stdout) == (0, "")


# ---- terminals ----


def _spawn_on_pty(msb, args, rows=None, cols=None):
    """Starts msb with a fresh pseudo-terminal as its stdin, stdout and stderr."""
    master, slave = pty.openpty()
    if rows:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = msb.popen(*args, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    return proc, master


def _read_until(master, proc, needle=None):
    """Terminal output until `needle` appears (or, without one, until msb exits)."""
    out = b""
    while needle is None or needle not in out:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            raise AssertionError(f"no terminal output in 30 s; so far {out!r}")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed, msb exited
            break
        if not chunk:
            break
        out += chunk
    return out


def _finish_pty(master, proc):
    out = _read_until(master, proc)
    code = proc.wait(timeout=60)
    os.close(master)
    return code, out


def test_exec_on_a_terminal_gets_a_pty(msb, sb):
    proc, master = _spawn_on_pty(msb, ["exec", sb, "--", "tty"])
    code, out = _finish_pty(master, proc)
    assert code == 0
    assert out.strip().startswith(b"/dev/pts/"), out


def test_exec_without_a_terminal_gets_pipes(msb, sb):
    p = msb.exec(sb, "tty")
    assert p.stdout.strip() == "not a tty"


def test_exec_tty_flag_merges_stderr_into_stdout(msb, sb):
    p = msb.exec(sb, "sh", "-c", "echo to-stderr >&2; tty", flags=("-t",))
    assert p.returncode == 0
    assert "to-stderr" in p.stdout
    assert "/dev/pts/" in p.stdout
    assert "to-stderr" not in p.stderr


def test_exec_pty_has_the_callers_window_size(msb, sb):
    proc, master = _spawn_on_pty(msb, ["exec", sb, "--", "stty", "size"], rows=33, cols=101)
    code, out = _finish_pty(master, proc)
    assert code == 0
    assert out.strip() == b"33 101"


def test_exec_pty_follows_a_window_resize(msb, sb):
    proc, master = _spawn_on_pty(msb, ["exec", sb, "--", "sh", "-c", "echo ready; read x; stty size"],
                                 rows=24, cols=80)
    _read_until(master, proc, b"ready")
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
    proc.send_signal(signal.SIGWINCH)
    os.write(master, b"go\r")
    code, out = _finish_pty(master, proc)
    assert code == 0
    assert b"50 132" in out


def test_exec_pty_input_reaches_the_command(msb, sb):
    proc, master = _spawn_on_pty(msb, ["exec", sb, "--", "sh", "-c", "read x; echo got:$x"])
    os.write(master, b"typed\r")
    code, out = _finish_pty(master, proc)
    assert code == 0
    assert b"got:typed" in out


def test_exec_pty_exit_code_is_propagated(msb, sb):
    proc, master = _spawn_on_pty(msb, ["exec", sb, "--", "sh", "-c", "exit 9"])
    assert _finish_pty(master, proc)[0] == 9


# ---- signals ----


def _start_waiting(msb, sb, script, setup="true"):
    """msb exec running `script`, once `setup` ran and `ready` was printed."""
    proc = msb.popen(*["exec", sb, "--", "sh", "-c", f"{setup}; echo ready; {script}"],
                     stdin=None, stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_msb_exec_is_forwarded_to_the_command(msb, sb, sig):
    proc = _start_waiting(msb, sb, "exec sleep 600")
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == EXIT_SIGNALED
    assert "sleep 600" not in msb.exec(sb, "ps", "-o", "args").stdout


def test_forwarded_signal_can_be_handled_by_the_command(msb, sb):
    proc = _start_waiting(msb, sb, "while :; do sleep 0.05; done",
                          setup="trap 'echo caught; exit 5' TERM")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (5, b"caught\n")


def test_command_killed_from_another_exec_exits_255(msb, sb):
    proc = _start_waiting(msb, sb, "exec sleep 601")
    msb.exec(sb, "killall", "sleep", check=True)
    assert proc.wait(timeout=60) == EXIT_SIGNALED


def test_killing_msb_exec_kills_its_command(msb, sb):
    # The relay signals every session of a client that goes away.
    proc = _start_waiting(msb, sb, "exec sleep 602")
    proc.kill()
    proc.wait(timeout=60)
    for _ in range(500):
        if "sleep 602" not in msb.exec(sb, "ps", "-o", "args").stdout:
            break
    assert "sleep 602" not in msb.exec(sb, "ps", "-o", "args").stdout


# ---- env, cwd and user ----


def test_exec_env_flag_sets_variables(msb, sb):
    p = msb.exec(sb, "sh", "-c", 'echo "$A,$B"', flags=("-e", "A=1", "-e", "B=two words"))
    assert p.stdout == "1,two words\n"


def test_exec_env_overrides_image_env(msb, sb):
    path = msb.exec(sb, "sh", "-c", "echo $PATH", flags=("-e", "PATH=/bin")).stdout.strip()
    # /.msb/scripts is always prepended (API.md §3.6); the rest is the request's.
    assert path in ("/bin", "/.msb/scripts:/bin")


def test_exec_inherits_image_env(msb, sb):
    assert "/usr/bin" in msb.exec(sb, "sh", "-c", "echo $PATH").stdout


def test_exec_workdir_flag_sets_cwd(msb, sb):
    assert msb.exec(sb, "pwd", flags=("-w", "/tmp")).stdout == "/tmp\n"


def test_exec_default_cwd_is_the_image_workdir(msb, sb):
    assert msb.exec(sb, "pwd").stdout == "/\n"


def test_exec_with_a_missing_workdir_fails_naming_it(msb, sb):
    p = msb.exec(sb, "pwd", flags=("-w", "/no/such/dir"))
    assert p.returncode == EXIT_MSB_FAILED
    assert "/no/such/dir" in p.stderr


@pytest.mark.parametrize("user,expected", [
    ("root", "0 0 root"),
    ("nobody", "65534 65534 nobody"),
    ("1000", "1000 1000 user"),
    ("user:nogroup", "1000 65534 user"),
    ("1000:65534", "1000 65534 user"),
    ("65534:0", "65534 0 nobody"),
])
def test_exec_user_forms(msb, sb, user, expected):
    p = msb.exec(sb, "sh", "-c", 'echo "$(id -u) $(id -g) $(id -un)"', flags=("-u", user))
    assert (p.returncode, p.stdout.strip()) == (0, expected)


def test_exec_user_has_no_supplementary_groups_of_root(msb, sb):
    assert msb.exec(sb, "id", "-G", flags=("-u", "nobody")).stdout.split() == ["65534"]


def test_exec_as_user_gets_its_home(msb, sb):
    p = msb.exec(sb, "sh", "-c", 'echo "$HOME"; cd; pwd', flags=("-u", "user"))
    assert p.stdout == "/home/user\n/home/user\n"


@pytest.mark.parametrize("user", ["no-such-user", "user:no-such-group", ":", "1000:"])
def test_exec_with_an_unknown_user_fails_naming_it(msb, sb, user):
    p = msb.exec(sb, "true", flags=("-u", user))
    assert p.returncode == EXIT_MSB_FAILED
    assert "user" in p.stderr or "group" in p.stderr


def test_unprivileged_user_cannot_write_roots_files(msb, sb):
    p = msb.exec(sb, "sh", "-c", "echo x >> /etc/passwd", flags=("-u", "nobody"))
    assert p.returncode != 0
    assert "Permission denied" in p.stderr


def test_sandbox_defaults_apply_and_exec_flags_override_them(msb, sandboxes):
    name = sandboxes.create("-e", "A=from-create", "-e", "B=kept", "-w", "/tmp", "-u", "user")
    p = msb.exec(name, "sh", "-c", 'echo "$A $B $(pwd) $(id -un)"')
    assert p.stdout == "from-create kept /tmp user\n"
    p = msb.exec(name, "sh", "-c", 'echo "$A $B $(pwd) $(id -un)"',
                 flags=("-e", "A=from-exec", "-w", "/", "-u", "root"))
    assert p.stdout == "from-exec kept / root\n"


# ---- many at once ----


def test_fifty_concurrent_execs_in_one_sandbox(msb, sb):
    results = [None] * 50

    def one(i):
        results[i] = msb.exec(sb, "sh", "-c", f"echo out-{i}; echo err-{i} >&2; exit {i % 7}",
                              input=f"in-{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, p in enumerate(results):
        assert (p.returncode, p.stdout, p.stderr) == (i % 7, f"out-{i}\n", f"err-{i}\n"), i


def test_fifty_concurrent_execs_with_stdin(msb, sb):
    results = [None] * 50

    def one(i):
        results[i] = msb.exec(sb, "cat", input=f"payload-{i}\n" * 100)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, p in enumerate(results):
        assert (p.returncode, p.stdout) == (0, f"payload-{i}\n" * 100), i


def test_client_beyond_the_relay_limit_gets_a_clear_error(msb, sandboxes):
    # 128 clients hold the relay's slots; the next one is refused, and says why.
    name = sandboxes.create(label="relayfull")
    holders = [msb.popen("exec", name, "--", "sh", "-c", "echo ready; read x", stdin=-1, stdout=-1,
                         stderr=-1) for _ in range(128)]
    try:
        for h in holders:
            assert h.stdout.readline() == b"ready\n"
        p = msb.exec(name, "true")
        assert p.returncode == EXIT_MSB_FAILED
        assert "128" in p.stderr and "already running" not in p.stderr
    finally:
        for h in holders:
            h.communicate(b"\n", timeout=60)
    assert msb.exec(name, "echo", "free again").stdout == "free again\n"
