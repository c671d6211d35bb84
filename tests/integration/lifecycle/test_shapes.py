"""The JSON of `msb ls`, `msb ps` and `msb inspect` (API.md §2, §1.20)."""

from .helpers import IMAGE, RFC3339

LS_STATUSES = {"Running", "Stopped", "Crashed", "Draining", "Created", "Starting", "Paused"}
PS_KEYS = {"name", "status", "image", "command", "cpus", "max_cpus", "memory_mib",
           "max_memory_mib", "thp", "ports"}
CONFIG_KEYS = {"name", "image", "resources", "runtime", "env", "labels", "mounts", "patches",
               "rlimits", "network", "init", "pull_policy", "security_profile", "lifecycle"}


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_ls_json_rows(cli, sandboxes):
    running = sandboxes.create(label="ls-run")
    stopped = sandboxes.create(label="ls-stop")
    cli("stop", stopped, check=True)
    rows = cli.json("ls", "--format", "json")
    assert isinstance(rows, list)
    for row in rows:
        assert set(row) == {"name", "status", "created_at", "image"}
        assert row["status"] in LS_STATUSES
        assert RFC3339.match(row["created_at"]), row["created_at"]
    mine = by_name(rows)
    assert mine[running]["status"] == "Running"
    assert mine[stopped]["status"] == "Stopped"
    assert mine[running]["image"] == IMAGE


def test_ls_is_newest_first(cli, sandboxes):
    first = sandboxes.create(label="old")
    second = sandboxes.create(label="new")
    names = [r["name"] for r in cli.json("ls", "--format", "json")]
    assert names.index(second) < names.index(first)


def test_ls_filters_and_quiet(cli, sandboxes):
    running = sandboxes.create(label="f-run")
    stopped = sandboxes.create(label="f-stop")
    cli("stop", stopped, check=True)
    quiet = cli("ls", "-q", check=True).stdout.split()
    assert running in quiet and stopped in quiet
    only_running = [r["name"] for r in cli.json("ls", "--running", "--format", "json")]
    assert running in only_running and stopped not in only_running
    only_stopped = [r["name"] for r in cli.json("ls", "--stopped", "--format", "json")]
    assert stopped in only_stopped and running not in only_stopped


def test_ls_table_has_the_documented_columns(cli, sandbox):
    header, *lines = cli("ls", check=True).stdout.splitlines()
    assert header.split() == ["NAME", "IMAGE", "STATUS", "CREATED"]
    assert any(line.split()[0] == sandbox for line in lines)


def test_ps_json_rows(cli, sandboxes):
    name = sandboxes.create("-c", "2", "-m", "96M", label="ps")
    rows = by_name(cli.json("ps", "--format", "json"))
    row = rows[name]
    assert set(row) == PS_KEYS
    assert (row["cpus"], row["max_cpus"], row["memory_mib"], row["max_memory_mib"]) == (2, 2, 96, 96)
    assert row["image"] == IMAGE
    assert row["status"] == "running"
    assert row["ports"] == []


def test_ps_shows_running_sandboxes_unless_all(cli, sandboxes):
    running = sandboxes.create(label="ps-run")
    stopped = sandboxes.create(label="ps-stop")
    cli("stop", stopped, check=True)
    default = by_name(cli.json("ps", "--format", "json"))
    assert running in default and stopped not in default
    everything = by_name(cli.json("ps", "-a", "--format", "json"))
    assert everything[stopped]["status"] == "stopped"
    assert by_name(cli.json("ps", stopped, "--format", "json")).keys() == {stopped}


def test_ps_table_has_the_documented_columns(cli, sandbox):
    header, *lines = cli("ps", check=True).stdout.splitlines()
    assert header.split() == ["NAME", "IMAGE", "COMMAND", "CPUS", "MEM", "STATUS", "PORTS"]
    assert any(line.split()[0] == sandbox for line in lines)


def test_inspect_json(cli, sandboxes):
    name = sandboxes.create("--label", "team=lc", "-e", "A=1", "--max-duration", "1h",
                            label="inspect")
    info = cli.inspect(name)
    assert {"name", "status", "config", "created_at", "updated_at"} <= set(info)
    assert info["name"] == name and info["status"] == "running"
    assert RFC3339.match(info["created_at"]) and RFC3339.match(info["updated_at"])
    config = info["config"]
    assert CONFIG_KEYS <= set(config)
    assert config["name"] == name
    assert config["image"] == {"Oci": {"reference": IMAGE}}
    assert config["labels"] == {"team": "lc"}
    assert {"key": "A", "value": "1"} in config["env"]
    assert config["lifecycle"] == {"ephemeral": False, "max_duration_secs": 3600,
                                   "idle_timeout_secs": None}
    assert config["pull_policy"] in ("IfMissing", "Always", "Never")
    assert set(config["resources"]) >= {"cpus", "memory_mib", "max_cpus", "max_memory_mib"}


def test_inspect_follows_the_status(cli, sandbox):
    created = cli.inspect(sandbox)
    assert created["pid"] > 0
    cli("stop", sandbox, check=True)
    stopped = cli.inspect(sandbox)
    assert (stopped["status"], stopped["pid"]) == ("stopped", 0)
    assert stopped["updated_at"] >= created["updated_at"]
    assert stopped["created_at"] == created["created_at"]
