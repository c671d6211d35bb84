"""exec.log and `msb logs` (issue 4, Logs; API.md §3.8, §2): filters by source and time,
--tail, the JSON line form, system markers, follow, and rotation at 10 MiB × 3."""

import json
import os
import time

import pytest

from .helpers import RFC3339_MS


def entries(cli, name, *flags):
    """`msb logs NAME --json FLAGS…` → list of dicts."""
    out = cli("logs", name, "--json", *flags, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def logged(cli, module_sandboxes):
    """A sandbox with a known history: run 1 (stdout + stderr), run 2 (stdout), a TTY run,
    stop and start again. Returns (name, the exec.log entries)."""
    name = module_sandboxes.create(label="logs")
    cli.sh(name, "echo out-one; echo err-one >&2")
    time.sleep(0.01)  # distinct millisecond timestamps between the runs
    cli.sh(name, "echo out-two")
    time.sleep(0.01)
    cli("exec", "-t", name, "--", "echo", "tty-three", check=True)
    cli("stop", name, check=True)
    cli("start", name, check=True)
    return name, entries(cli, name, "--source", "all")


def texts(es):
    return [e["d"] for e in es]


def test_json_lines_have_the_exec_log_keys_in_order(logged):
    _, es = logged
    for e in es:
        keys = list(e)
        if e["s"] == "system":
            assert keys[:3] == ["t", "s", "d"] and "id" not in e
        else:
            assert keys == ["t", "s", "d", "id"]
            assert isinstance(e["id"], int) and e["id"] >= 1
        assert RFC3339_MS.match(e["t"]), e["t"]
        assert e["s"] in ("stdout", "stderr", "output", "system")


def test_exec_log_file_lines_match_the_spec(cli, logged):
    name, _ = logged
    with open(os.path.join(cli.sandbox_dir(name), "logs", "exec.log")) as f:
        lines = [json.loads(line) for line in f]
    assert lines[0] == {"t": lines[0]["t"], "s": "system", "d": "--- sandbox started ---\n"}
    assert {"t", "s", "d"} <= set(lines[1]) and list(lines[1])[:3] == ["t", "s", "d"]


def test_default_sources_are_stdout_stderr_and_output(cli, logged):
    name, _ = logged
    es = entries(cli, name)
    assert texts(es) == ["out-one\n", "err-one\n", "out-two\n", "tty-three\r\n"]
    assert [e["s"] for e in es] == ["stdout", "stderr", "stdout", "output"]


def test_source_filter_selects_one_stream(cli, logged):
    name, _ = logged
    assert texts(entries(cli, name, "--source", "stdout")) == ["out-one\n", "out-two\n"]
    assert texts(entries(cli, name, "--source", "stderr")) == ["err-one\n"]
    assert texts(entries(cli, name, "--source", "output")) == ["tty-three\r\n"]
    assert texts(entries(cli, name, "--source", "stderr,output")) == ["err-one\n", "tty-three\r\n"]


def test_system_source_has_the_lifecycle_markers(cli, logged):
    name, _ = logged
    markers = [d for d in texts(entries(cli, name, "--source", "system")) if d.startswith("---")]
    assert markers == ["--- sandbox started ---\n", "--- sandbox stopped ---\n",
                       "--- sandbox started ---\n"]


def test_plain_output_goes_to_the_matching_stream(cli, logged):
    name, _ = logged
    p = cli("logs", name, check=True)
    # (text mode reads the TTY's \r\n as \n)
    assert p.stdout == "out-one\nout-two\ntty-three\n"
    assert p.stderr == "err-one\n"


def test_session_ids_count_commands(logged):
    _, es = logged
    runs = [e for e in es if e["s"] != "system"]
    one, err_one, two, three = runs
    assert one["id"] == err_one["id"]
    assert one["id"] < two["id"] < three["id"]


def test_tail_keeps_the_last_entries_after_filtering(cli, logged):
    name, _ = logged
    assert texts(entries(cli, name, "--tail", "2")) == ["out-two\n", "tty-three\r\n"]
    assert texts(entries(cli, name, "--source", "stdout", "--tail", "1")) == ["out-two\n"]
    assert texts(entries(cli, name, "--tail", "100")) == texts(entries(cli, name))


def test_since_is_inclusive_and_until_exclusive(cli, logged):
    name, es = logged
    two = next(e for e in es if e["d"] == "out-two\n")
    assert texts(entries(cli, name, "--since", two["t"])) == ["out-two\n", "tty-three\r\n"]
    assert texts(entries(cli, name, "--until", two["t"])) == ["out-one\n", "err-one\n"]
    assert texts(entries(cli, name, "--since", two["t"], "--until", two["t"])) == []


def test_since_accepts_an_offset_and_relative_durations(cli, logged):
    name, es = logged
    two = next(e for e in es if e["d"] == "out-two\n")
    # The same instant written with a +01:00 offset.
    t = two["t"]
    hour = int(t[11:13])
    shifted = f"{t[:11]}{(hour + 1) % 24:02d}{t[13:23]}+01:00"
    if hour != 23:
        assert texts(entries(cli, name, "--since", shifted)) == ["out-two\n", "tty-three\r\n"]
    # Without a zone: UTC, like exec.log.
    assert texts(entries(cli, name, "--since", t[:-1])) == ["out-two\n", "tty-three\r\n"]
    assert len(entries(cli, name, "--since", "1h")) == 4
    assert entries(cli, name, "--until", "1h") == []


def test_grep_filters_by_text_and_tail_counts_matches(cli, logged):
    name, _ = logged
    assert texts(entries(cli, name, "--grep", "^out-")) == ["out-one\n", "out-two\n"]
    assert texts(entries(cli, name, "--grep", "one|three", "--tail", "1")) == ["tty-three\r\n"]
    assert entries(cli, name, "--grep", "nothing matches this") == []


def test_color_sessions_colors_each_command(cli, logged):
    name, _ = logged
    out = cli("logs", name, "--source", "stdout", "--color-sessions", "--color", "always",
              check=True).stdout
    one, two = out.split("\033[0m")[:2]
    assert one.startswith("\033[3") and one.endswith("out-one\n")
    assert two.startswith("\033[3") and two.endswith("out-two\n")
    assert one[:5] != two[:5], "two commands, two colors"
    plain = cli("logs", name, "--source", "stdout", "--color-sessions", "--color", "never",
                check=True).stdout
    assert plain == "out-one\nout-two\n"


def test_bad_filters_are_refused(cli, logged):
    name, _ = logged
    for flags in (("--source", "bogus"), ("--since", "yesterday"), ("--until", "12:00"),
                  ("--grep", "("), ("--color", "rainbow")):
        p = cli("logs", name, *flags)
        assert p.returncode == 1, flags
        assert flags[0] in p.stderr


def test_logs_work_on_a_stopped_sandbox(cli, sandbox):
    cli.sh(sandbox, "echo before stop")
    cli("stop", sandbox, check=True)
    assert texts(entries(cli, sandbox)) == ["before stop\n"]
    system = texts(entries(cli, sandbox, "--source", "system"))
    assert "--- sandbox stopped ---\n" in system


def test_invalid_utf8_is_replaced(cli, sandbox):
    cli("exec", sandbox, "--", "printf", "a\\377b", check=True)
    assert texts(entries(cli, sandbox)) == ["a\ufffdb"]


def test_follow_prints_new_output_as_it_arrives(cli, sandbox):
    cli.sh(sandbox, "echo old")
    follower = cli.popen("logs", sandbox, "-f")
    try:
        assert follower.stdout.readline() == "old\n"
        cli.sh(sandbox, "echo new")
        assert follower.stdout.readline() == "new\n"
    finally:
        follower.kill()
        follower.communicate()


def test_follow_loses_and_repeats_nothing_across_rotations(cli, sandbox):
    # ~14 MB of numbered lines: exec.log rotates at least once while the follower reads.
    follower = cli.popen("logs", sandbox, "-f")
    try:
        cli("exec", sandbox, "--", "seq", "1", "1900000", check=True,
            stdout=open(os.devnull, "w"))
        got = []
        while not got or got[-1] != "1900000":
            line = follower.stdout.readline()
            assert line, "the follower ended"
            got.append(line.rstrip("\n"))
    finally:
        follower.kill()
        follower.communicate()
    assert os.path.exists(os.path.join(cli.sandbox_dir(sandbox), "logs", "exec.log.1"))
    assert got == [str(i) for i in range(1, 1900001)]


def test_timestamps_and_ids_on_request(cli, sandbox):
    cli.sh(sandbox, "echo hi")
    line = cli("logs", sandbox, "--timestamps", "--show-id", check=True).stdout
    stamp, sid, text = line.split(" ", 2)
    assert float(stamp) > 1.6e9
    assert sid == "[1]" and text == "hi\n"


def test_rotation_keeps_at_most_three_old_files(cli, sandbox):
    logs = os.path.join(cli.sandbox_dir(sandbox), "logs")
    # 45 MB of output (more than the 40 MiB four files hold), one 100-byte line after another.
    line = "x" * 99
    cli("exec", sandbox, "--", "sh", "-c", f"yes {line} | head -n 450000", check=True,
        stdout=open(os.devnull, "w"))
    names = sorted(f for f in os.listdir(logs) if f.startswith("exec.log"))
    assert names == ["exec.log", "exec.log.1", "exec.log.2", "exec.log.3"]
    for rotated in names[1:]:
        size = os.path.getsize(os.path.join(logs, rotated))
        assert 10 << 20 <= size < (10 << 20) + (1 << 20), (rotated, size)
    # Every file is whole JSON lines, and the reader sees the newest output last.
    for f in names:
        with open(os.path.join(logs, f)) as fh:
            for raw in fh:
                json.loads(raw)
    tail = entries(cli, sandbox, "--tail", "1")
    assert tail[0]["d"].endswith(line + "\n")
    # The oldest lines (the start marker) were rotated away, the stopped marker comes next.
    cli("stop", sandbox, check=True)
    system = texts(entries(cli, sandbox, "--source", "system"))
    assert "--- sandbox started ---\n" not in system
    assert system.count("--- sandbox stopped ---\n") == 1


def test_logs_of_an_unknown_sandbox_say_not_found(cli):
    p = cli("logs", "lc-no-such-sandbox")
    assert p.returncode == 1 and "not found" in p.stderr
