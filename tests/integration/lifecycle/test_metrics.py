"""Live metrics (issue 4, Metrics): they move when the sandbox burns CPU, allocates memory and
writes to disk; a stopped or unknown sandbox is a clear error. Sampling until a value moves
is bounded; no test asserts a rate. The runtimes here sample every 100 ms
(MSB_METRICS_INTERVAL_MS) so the suite does not wait on the default second."""

import json

import pytest

from .helpers import eventually

FAST = {"MSB_METRICS_INTERVAL_MS": "100"}
MiB = 1 << 20
KEYS = {"name", "state", "cpu_percent", "vcpu_time_ns", "memory_bytes", "memory_limit_bytes",
        "disk_read_bytes", "disk_write_bytes", "net_rx_bytes", "net_tx_bytes", "uptime_ms",
        "timestamp_ms", "cpus"}


@pytest.fixture
def metered(sandboxes):
    """A running sandbox with 256 MiB and fast sampling."""
    return sandboxes.create("-m", "256M", label="metrics", env=FAST)


def sample(cli, name):
    return cli.json("metrics", name, "--format", "json")


def grows(cli, name, key, first, by, what):
    """Samples until metrics[key] reaches first + by; returns that sample's value."""
    return eventually(lambda: (lambda v: v if v >= first + by else None)(sample(cli, name)[key]),
                      timeout=30, what=what)


def test_metrics_json_has_every_field(cli, metered):
    m = sample(cli, metered)
    assert KEYS <= set(m)
    assert m["name"] == metered
    assert m["state"] == "running"
    assert m["memory_limit_bytes"] == 256 * MiB
    assert m["cpus"] == 1
    assert m["memory_bytes"] > 0
    assert m["timestamp_ms"] > 1.6e12


def test_uptime_and_timestamp_advance(cli, metered):
    first = sample(cli, metered)
    eventually(lambda: sample(cli, metered)["uptime_ms"] > first["uptime_ms"],
               what="uptime advancing")
    assert sample(cli, metered)["timestamp_ms"] > first["timestamp_ms"]


def test_cpu_time_and_percent_move_when_the_sandbox_burns_cpu(cli, metered, held):
    first = sample(cli, metered)["vcpu_time_ns"]
    burner = held(metered, script="echo started; while :; do :; done")
    grows(cli, metered, "vcpu_time_ns", first, 300_000_000, "CPU time growing by 0.3 s")
    eventually(lambda: sample(cli, metered)["cpu_percent"] > 20, timeout=30,
               what="cpu_percent showing the busy loop")
    burner.kill()


def test_memory_moves_when_the_sandbox_allocates(cli, metered, held):
    first = sample(cli, metered)["memory_bytes"]
    # 64 MiB held in a shell variable (anonymous memory of the shell).
    hog = held(metered, script="x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo started; "
                               "read line; echo ${#x}")
    last = grows(cli, metered, "memory_bytes", first, 48 * MiB, "memory growing by 48 MiB")
    assert last <= 256 * MiB
    assert hog.release() == (0, "67108864\n", "")


def test_disk_write_moves_when_the_sandbox_writes(cli, metered):
    first = sample(cli, metered)["disk_write_bytes"]
    cli.sh(metered, "dd if=/dev/zero of=/data bs=1M count=16 conv=fsync 2>/dev/null")
    grows(cli, metered, "disk_write_bytes", first, 16 * MiB, "disk_write_bytes growing by 16 MiB")


def test_counters_never_go_back(cli, metered):
    cli.sh(metered, "dd if=/dev/zero of=/data bs=1M count=4 conv=fsync 2>/dev/null")
    seen = [sample(cli, metered) for _ in range(10)]
    for key in ("vcpu_time_ns", "disk_write_bytes", "disk_read_bytes", "uptime_ms"):
        values = [m[key] for m in seen]
        assert values == sorted(values), key


def test_follow_streams_one_json_object_per_line(cli, metered):
    p = cli.popen("metrics", metered, "-f", "--interval", "0.1")
    try:
        lines = [p.stdout.readline() for _ in range(3)]
    finally:
        p.kill()
        p.communicate()
    samples = [json.loads(line) for line in lines]
    assert all(KEYS <= set(s) for s in samples)
    stamps = [s["timestamp_ms"] for s in samples]
    assert stamps == sorted(stamps)


def test_metrics_without_a_name_lists_running_sandboxes_only(cli, sandboxes):
    running = sandboxes.create(label="m-run")
    stopped = sandboxes.create(label="m-stop")
    cli("stop", stopped, check=True)
    names = [m["name"] for m in cli.json("metrics", "--format", "json")]
    assert running in names
    assert stopped not in names


def test_metrics_of_a_stopped_sandbox_is_a_clear_error(cli, sandbox):
    cli("stop", sandbox, check=True)
    p = cli("metrics", sandbox, "--format", "json")
    assert p.returncode == 1
    assert p.stdout == ""
    assert "not running" in p.stderr


def test_metrics_of_a_crashed_sandbox_is_a_clear_error(cli, sandbox):
    cli("kill", sandbox, check=True)
    p = cli("metrics", sandbox)
    assert p.returncode == 1
    assert "not running" in p.stderr


def test_metrics_of_an_unknown_sandbox_says_not_found(cli):
    p = cli("metrics", "lc-no-such-sandbox")
    assert p.returncode == 1
    assert "not found" in p.stderr


def test_follow_ends_with_exited_when_the_sandbox_stops(cli, metered):
    p = cli.popen("metrics", metered, "-f", "--interval", "0.1")
    assert json.loads(p.stdout.readline())["state"] == "running"
    cli("stop", metered, check=True)
    out, err = p.communicate(timeout=30)
    last = json.loads(out.splitlines()[-1])
    assert last == {"name": metered, "state": "exited"}
    assert p.returncode == 0, err
