"""The behaviours every isolation backend must show alike: one list of tests, run once per
backend (conftest.py: ns, vm under TCG, vm under KVM). exec, output streams, stdin, TTY,
signals, files, persistence, stop/start, kill, crash, isolation, id mapping, volumes, scripts,
patches and the size-limited writable layer."""

import hashlib
import json
import os
import secrets
import signal
import time

import pytest

from msb_it import EXIT_NOT_FOUND, EXIT_SIGNALED, EXIT_TIMEOUT

from .bk_helpers import eventually, sandbox_process
from .conftest import small


def test_exec_prints_stdout_and_propagates_the_exit_code(bk, sandbox):
    p = bk.exec(sandbox, "sh", "-c", "echo hello; exit 3")
    assert p.stdout == "hello\n"
    assert p.returncode == 3


def test_exec_of_a_missing_command_exits_127(bk, sandbox):
    assert bk.exec(sandbox, "/no/such/command").returncode == EXIT_NOT_FOUND


def test_stdout_and_stderr_arrive_separately(bk, sandbox):
    p = bk.exec(sandbox, "sh", "-c", "echo out; echo err >&2")
    assert (p.stdout, p.stderr) == ("out\n", "err\n")


def test_large_output_arrives_whole_and_in_order(bk, sandbox):
    out = bk.exec(sandbox, "seq", "1", "200000", check=True).stdout.split("\n")
    assert out[:-1] == [str(i) for i in range(1, 200001)]


def test_stdin_reaches_the_command_until_eof(bk, sandbox):
    data = secrets.token_hex(64 * 1024)
    p = bk.exec(sandbox, "sha256sum", input=data, check=True)
    assert p.stdout.split()[0] == hashlib.sha256(data.encode()).hexdigest()


def test_tty_session_runs_on_a_terminal(bk, sandbox):
    p = bk.exec(sandbox, "sh", "-c", "tty; stty size", flags=("-t",), check=True)
    lines = p.stdout.replace("\r", "").split("\n")
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "24 80"


def test_timeout_kills_the_command(bk, sandbox):
    started = time.monotonic()
    p = bk.exec(sandbox, "sleep", "100", flags=("--timeout", "1s"))
    assert p.returncode == EXIT_TIMEOUT
    assert time.monotonic() - started < 30
    assert "sleep 100" not in bk.sh(sandbox, "ps -o args")


def test_command_killed_by_a_signal_exits_255(bk, sandbox):
    assert bk.exec(sandbox, "sh", "-c", "kill -TERM $$").returncode == EXIT_SIGNALED


def test_files_copy_in_and_out(bk, sandbox, tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(300 * 1024))
    bk("cp", str(src), f"{sandbox}:/copied.bin", check=True)
    assert bk.sh(sandbox, "wc -c < /copied.bin").strip() == str(300 * 1024)
    bk("cp", f"{sandbox}:/copied.bin", str(tmp_path / "out.bin"), check=True)
    assert (tmp_path / "out.bin").read_bytes() == src.read_bytes()


def test_file_synced_before_stop_is_there_after_start(bk, sandbox):
    bk.sh(sandbox, "echo kept > /kept.txt; mkdir -p /srv/a; echo deep > /srv/a/b; sync")
    bk("stop", sandbox, check=True)
    assert bk.status(sandbox) == "Stopped"
    bk("start", sandbox, check=True)
    assert bk.sh(sandbox, "cat /kept.txt /srv/a/b") == "kept\ndeep\n"


def test_stop_is_graceful_and_prompt(bk, sandbox):
    bk.sh(sandbox, "echo unsynced > /late.txt")
    started = time.monotonic()
    bk("stop", sandbox, check=True)
    assert time.monotonic() - started < 8, "stop should not wait for the kill timeout"
    info = json.loads(bk("inspect", sandbox, "--format", "json", check=True).stdout)
    assert info["status"] == "stopped"
    bk("start", sandbox, check=True)
    assert bk.sh(sandbox, "cat /late.txt") == "unsynced\n"


def test_kill_ends_the_sandbox_at_once(bk, sandbox):
    process = sandbox_process(bk, sandbox)
    bk("kill", sandbox, check=True)
    assert bk.status(sandbox) in ("Stopped", "Crashed")
    eventually(lambda: not os.path.exists(f"/proc/{process}") or _is_zombie(process),
               what="the sandbox process's end")


def test_killed_sandbox_process_marks_it_crashed_and_it_starts_again(bk, sandbox):
    bk.sh(sandbox, "echo survived > /s.txt; sync")
    os.kill(sandbox_process(bk, sandbox), signal.SIGKILL)
    eventually(lambda: bk.status(sandbox) == "Crashed", what="the crashed status")
    bk("start", sandbox, check=True)
    assert bk.sh(sandbox, "cat /s.txt") == "survived\n"


def test_sandbox_cannot_see_host_processes_or_files(bk, sandbox, tmp_path):
    marker = tmp_path / f"host-only-{secrets.token_hex(4)}"
    marker.write_text("secret")
    # Kernel threads (a guest kernel's own, on the vm backend) have an empty command line.
    out = bk.sh(sandbox, f"test -e {marker} && echo visible; "
                         "for p in /proc/[0-9]*; do tr -d '\\0' < $p/cmdline | grep -q . && echo p; done | wc -l")
    assert "visible" not in out
    assert int(out.split()[-1]) < 20, "host processes are visible"
    assert str(os.getpid()) not in bk.sh(sandbox, "ls /proc").split()


def test_root_in_the_sandbox_writes_as_an_unprivileged_host_uid(bk, sandbox):
    bk.sh(sandbox, "echo x > /owned; mkdir /d; chown 1000:1000 /d; sync")
    upper = os.path.join(bk.sandbox_dir(sandbox), "upper")
    base = os.stat(upper).st_uid
    assert base >= 65536, "the sandbox's root must not be a low host uid"
    assert os.stat(os.path.join(upper, "owned")).st_uid == base
    assert os.stat(os.path.join(upper, "d")).st_uid == base + 1000


def test_bind_volume_is_shared_with_the_host_under_its_owner(bk, sandboxes, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, 1000, 1000)
    (shared / "from-host").write_text("hello guest\n")
    name = sandboxes.create(*small(bk), "-v", f"{shared}:/data", "-v", f"{shared}:/ro:ro")
    assert bk.sh(name, "cat /data/from-host") == "hello guest\n"
    bk.sh(name, "echo hello host > /data/from-guest")
    assert (shared / "from-guest").read_text() == "hello host\n"
    # The directory's owner is the sandbox's root: what root writes there is the owner's.
    assert os.stat(shared / "from-guest").st_uid == 1000
    assert bk.exec(name, "sh", "-c", "echo no > /ro/x").returncode != 0


def test_tmpfs_mount_is_in_the_sandbox(bk, sandboxes):
    name = sandboxes.create(*small(bk), "--tmpfs", "/scratch:8M")
    out = bk.sh(name, "echo x > /scratch/f && cat /scratch/f; df -k /scratch | tail -1")
    assert out.startswith("x\n")
    assert out.split()[2] == "8192"


def test_scripts_are_in_msb_scripts_and_on_path(bk, sandboxes):
    name = sandboxes.create(*small(bk), "--script", "greet=#!/bin/sh\necho hi from $0")
    assert bk.sh(name, "greet; ls /.msb/scripts") == "hi from /.msb/scripts/greet\ngreet\n"


def test_patches_apply_at_the_first_boot_only(bk, sandboxes, tmp_path):
    src = tmp_path / "conf"
    src.write_text("v1\n")
    name = sandboxes.create(*small(bk), "--copy", f"{src}:/etc/app.conf", "--mkdir", "/srv/data")
    assert bk.sh(name, "cat /etc/app.conf; test -d /srv/data && echo dir") == "v1\ndir\n"
    bk.sh(name, "echo edited > /etc/app.conf; sync")
    bk("restart", name, check=True)
    assert bk.sh(name, "cat /etc/app.conf") == "edited\n"


def test_size_limited_writable_layer_fills_up_and_persists(bk, sandboxes):
    name = sandboxes.create(*small(bk), "--root-disk", "64M")
    p = bk.exec(name, "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=100 2>&1; sync")
    assert "No space left" in p.stdout + p.stderr
    bk.sh(name, "rm /big; echo small > /small; sync")
    bk("restart", name, check=True)
    assert bk.sh(name, "cat /small") == "small\n"


def test_metrics_report_cpu_and_memory(bk, sandbox):
    bk.sh(sandbox, "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done")
    m = eventually(lambda: _metrics(bk, sandbox), what="metrics with memory")
    assert m["memory_bytes"] > 0
    assert m["memory_limit_bytes"] >= 64 << 20


def _metrics(bk, name):
    p = bk("metrics", name, "--format", "json")
    if p.returncode != 0:
        return None
    m = json.loads(p.stdout)
    m = m[0] if isinstance(m, list) else m
    return m if m.get("memory_bytes") else None


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
