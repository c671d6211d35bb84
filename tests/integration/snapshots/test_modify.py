"""Live modification through the CLI (API.md §1.8, §2 `modify`): cpus and memory resized live
in the sandbox's cgroup and seen by metrics, dry runs and conflicts that change nothing,
boot-time fields at the next start or through a restart, labels at once."""

import json
import time

from msb_it import unique_name

from .conftest import cgroup_dirs, knob


def _modify(msb, name, *flags, check=False):
    p = msb("modify", name, *flags, "--format", "json", check=check)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip().startswith("{") else None


def _config(msb, name):
    return json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["config"]


def _limits(msb, name):
    dirs = cgroup_dirs(msb, name)
    memory = knob(dirs, "memory.limit_in_bytes", "memory.max")
    quota = knob(dirs, "cpu.cfs_quota_us", "cpu.max")
    return int(memory[0]), int(quota[0])


def _metrics(msb, name):
    return json.loads(msb("metrics", name, "--format", "json", check=True).stdout)


def _resizable(sandboxes):
    return sandboxes.create("--cpus", "1", "--max-cpus", "2", "-m", "128M", "--max-memory", "256M",
                            label="rs")


def test_live_resize_rewrites_the_cgroup_and_metrics(msb, sandboxes):
    name = _resizable(sandboxes)
    assert _limits(msb, name) == (128 << 20, 100000)
    rc, plan = _modify(msb, name, "--cpus", "2", "--memory", "256M")
    assert rc == 0
    assert plan["applied"] is True and plan["policy"] == "no_restart" and plan["status"] == "running"
    assert [(c["field"], c["change"], c["disposition"], c["before"], c["after"]) for c in plan["changes"]] == [
        ("cpus", "updated", "live", 1, 2), ("memory", "updated", "live", 128, 256)]
    assert plan["conflicts"] == []
    assert plan["resize_status"] == [
        {"resource": "cpus", "requested": 2, "actual": 2, "enforced": "cgroup", "state": "applied"},
        {"resource": "memory", "requested": 256, "actual": 256, "enforced": "cgroup", "state": "applied"}]
    assert _limits(msb, name) == (256 << 20, 200000)
    m = _metrics(msb, name)
    assert m["memory_limit_bytes"] == 256 << 20 and m["cpus"] == 2
    res = _config(msb, name)["resources"]
    assert (res["cpus"], res["memory_mib"], res["max_cpus"], res["max_memory_mib"]) == (2, 256, 2, 256)
    # Down again, live too; the sandbox keeps working.
    rc, plan = _modify(msb, name, "--memory", "64M")
    assert rc == 0 and plan["applied"] is True
    assert _limits(msb, name) == (64 << 20, 200000)
    assert msb.sh(name, "echo ok") == "ok\n"


def test_dry_run_changes_nothing(msb, sandboxes):
    name = _resizable(sandboxes)
    before = _config(msb, name)
    rc, plan = _modify(msb, name, "--cpus", "2", "--label", "x=y", "--dry-run")
    assert rc == 0
    assert plan["applied"] is False and plan["conflicts"] == []
    assert {c["disposition"] for c in plan["changes"]} == {"live"}
    assert plan["resize_status"][0]["state"] == "accepted" and plan["resize_status"][0]["actual"] == 1
    assert _limits(msb, name) == (128 << 20, 100000)
    assert _config(msb, name) == before
    assert name not in msb("ls", "-q", "--label", "x=y", check=True).stdout.split()


def test_a_conflict_applies_nothing(msb, sandboxes):
    name = _resizable(sandboxes)
    before = _config(msb, name)
    # cpus alone could go live; memory above max_memory cannot: neither happens.
    rc, plan = _modify(msb, name, "--cpus", "2", "--memory", "1G", "--label", "x=y")
    assert rc == 1
    assert plan["applied"] is False
    assert [c["field"] for c in plan["conflicts"]] == ["memory"]
    assert "max_memory" in plan["conflicts"][0]["message"]
    assert _limits(msb, name) == (128 << 20, 100000)
    assert _config(msb, name) == before
    # Also a change that needs a restart under the default policy.
    rc, plan = _modify(msb, name, "--cpus", "2", "--env", "A=1")
    assert rc == 1 and plan["applied"] is False
    assert [c["field"] for c in plan["conflicts"]] == ["env"]
    assert _limits(msb, name) == (128 << 20, 100000)
    assert _config(msb, name) == before


def test_env_change_applies_at_the_next_start(msb, sandboxes):
    name = sandboxes.create(label="env")
    rc, plan = _modify(msb, name, "--env", "GREETING=hi", "--workdir", "/tmp", "--next-start")
    assert rc == 0 and plan["applied"] is True and plan["policy"] == "next_start"
    assert {(c["field"], c["disposition"]) for c in plan["changes"]} == {("env", "next start"),
                                                                        ("workdir", "next start")}
    env = [c for c in plan["changes"] if c["field"] == "env"][0]
    assert (env["key"], env["change"], env["before"], env["after"]) == ("GREETING", "added", None, "hi")
    assert msb.sh(name, "echo \"[$GREETING]\"; pwd") == "[]\n/\n"
    msb("stop", name, check=True)
    msb("start", name, check=True)
    assert msb.sh(name, "echo \"[$GREETING]\"; pwd") == "[hi]\n/tmp\n"
    rc, plan = _modify(msb, name, "--env-rm", "GREETING", "--next-start")
    assert rc == 0 and plan["changes"][0]["change"] == "removed"


def test_restart_policy_applies_at_once(msb, sandboxes):
    name = sandboxes.create(label="rst")
    rc, plan = _modify(msb, name, "--env", "MODE=now", "--restart")
    assert rc == 0 and plan["applied"] is True and plan["policy"] == "restart"
    assert plan["changes"][0]["disposition"] == "requires restart"
    assert msb.status(name) == "Running"
    assert msb.sh(name, "echo $MODE") == "now\n"


def test_a_stopped_sandbox_takes_the_changes_when_it_starts(msb, sandboxes):
    name = _resizable(sandboxes)
    msb("stop", name, check=True)
    rc, plan = _modify(msb, name, "--cpus", "2", "--memory", "192M")
    assert rc == 0 and plan["applied"] is True and plan["status"] == "stopped"
    assert {c["disposition"] for c in plan["changes"]} == {"next start"}
    assert "resize_status" not in plan
    msb("start", name, check=True)
    assert _limits(msb, name) == (192 << 20, 200000)


def test_labels_change_at_once_and_filter_ls(msb, sandboxes):
    name = sandboxes.create("--label", "tier=silver", label="lbl")
    assert name in msb("ls", "-q", "--label", "tier=silver", check=True).stdout.split()
    rc, plan = _modify(msb, name, "--label", "tier=gold", "--label", "owner=me")
    assert rc == 0 and plan["applied"] is True
    assert {c["disposition"] for c in plan["changes"]} == {"live"}
    assert name in msb("ls", "-q", "--label", "tier=gold", check=True).stdout.split()
    assert name in msb("ls", "-q", "--label", "tier=gold", "--label", "owner", check=True).stdout.split()
    assert name not in msb("ls", "-q", "--label", "tier=silver", check=True).stdout.split()
    rc, plan = _modify(msb, name, "--label-rm", "tier")
    assert rc == 0
    assert name not in msb("ls", "-q", "--label", "tier=gold", check=True).stdout.split()
    rc, plan = _modify(msb, name, "--label", "sandbox.id=x")
    assert rc == 1 and "reserved" in plan["conflicts"][0]["message"]


def test_secrets_are_unsupported(msb, sandboxes):
    name = sandboxes.create(label="sec")
    rc, plan = _modify(msb, name, "--secret", "TOKEN@api.example.com")
    assert rc == 1 and plan["applied"] is False
    (change,) = plan["changes"]
    assert (change["kind"], change["field"], change["name"], change["disposition"]) == (
        "secret", "secret", "TOKEN", "unsupported")
    assert "networking" in change["reason"]


def test_root_disk_grows_at_the_next_start(msb, sandboxes):
    name = sandboxes.create("--root-disk", "64M", label="grow")
    msb.sh(name, "echo kept > /root/kept")
    rc, plan = _modify(msb, name, "--root-disk", "128M")
    assert rc == 1  # not live
    rc, plan = _modify(msb, name, "--root-disk", "128M", "--next-start")
    assert rc == 0 and plan["changes"][0]["disposition"] == "next start"
    msb("stop", name, check=True)
    msb("start", name, check=True)
    size_kib = int(msb.sh(name, "df -k / | tail -1").split()[1])
    assert size_kib > 100 * 1024
    assert msb.sh(name, "cat /root/kept") == "kept\n"
    rc, plan = _modify(msb, name, "--root-disk", "64M")
    assert rc == 1 and "shrink" in plan["conflicts"][0]["message"]


def test_modify_of_an_unknown_sandbox_fails(msb):
    p = msb("modify", unique_name("ghost"), "--cpus", "2")
    assert p.returncode == 1 and "not found" in p.stderr
    p = msb("modify", unique_name("ghost"), "--cpus", "two")
    assert p.returncode == 1


def test_resize_is_immediate_for_a_hog(msb, sandboxes):
    """A process already running meets the new memory limit: the resize is live."""
    name = _resizable(sandboxes)
    ok = msb.exec(name, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    assert ok.returncode == 0
    rc, _ = _modify(msb, name, "--memory", "32M")
    assert rc == 0
    time.sleep(0.1)
    p = msb.exec(name, "dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1")
    assert p.returncode != 0
