"""Live modification from Python (API.md §1.8): Sandbox.modify / SandboxHandle.modify return
the plan dict with enum members; cpus and memory change live (metrics see the new limit), dry
runs and conflicts apply nothing, the rest follows the policy."""

import asyncio

import pytest

from microsandbox import (
    ChangeKind,
    ModificationDisposition,
    ModificationPolicy,
    PlannedChangeKind,
    ResourceConvergenceState,
    ResourceKind,
    Sandbox,
    SandboxNotFoundError,
    SandboxStatus,
    SecretChangeKind,
)


async def _resizable(sandbox_factory):
    return await sandbox_factory("mod", cpus=1, max_cpus=2, memory=128, max_memory=256)


async def _memory_limit(sb):
    # The sample published right after a resize already reports it; allow one tick anyway.
    for _ in range(20):
        m = await sb.metrics()
        if m.memory_limit_bytes:
            return m.memory_limit_bytes
        await asyncio.sleep(0.05)
    return None


async def test_live_cpus_and_memory(sandbox_factory):
    sb = await _resizable(sandbox_factory)
    plan = await sb.modify(cpus=2, memory=256)
    assert plan["sandbox"] == await sb.name
    assert plan["status"] is SandboxStatus.RUNNING
    assert plan["applied"] is True
    assert plan["policy"] is ModificationPolicy.NO_RESTART
    assert plan["conflicts"] == [] and plan["warnings"] == []
    cpus, memory = plan["changes"]
    assert cpus["kind"] is PlannedChangeKind.CONFIG and cpus["field"] == "cpus"
    assert cpus["change"] is ChangeKind.UPDATED and cpus["disposition"] is ModificationDisposition.LIVE
    assert (cpus["before"], cpus["after"]) == (1, 2) and (memory["before"], memory["after"]) == (128, 256)
    status = {r["resource"]: r for r in plan["resize_status"]}
    assert set(status) == {ResourceKind.CPUS, ResourceKind.MEMORY}
    assert status[ResourceKind.MEMORY]["state"] is ResourceConvergenceState.APPLIED
    assert status[ResourceKind.MEMORY]["actual"] == 256 and status[ResourceKind.MEMORY]["enforced"] == "cgroup"
    assert await _memory_limit(sb) == 256 << 20
    assert (await sb.shell("echo alive")).stdout_text == "alive\n"
    cfg = (await Sandbox.get(await sb.name)).config()
    assert cfg["resources"]["cpus"] == 2 and cfg["resources"]["memory_mib"] == 256


async def test_dry_run_changes_nothing(sandbox_factory):
    sb = await _resizable(sandbox_factory)
    before = (await Sandbox.get(await sb.name)).config_json
    plan = await sb.modify(memory=200, labels={"a": "b"}, dry_run=True)
    assert plan["applied"] is False and plan["conflicts"] == []
    assert plan["resize_status"][0]["state"] is ResourceConvergenceState.ACCEPTED
    assert (await Sandbox.get(await sb.name)).config_json == before
    assert await _memory_limit(sb) == 128 << 20


async def test_conflicts_apply_nothing(sandbox_factory):
    sb = await _resizable(sandbox_factory)
    name = await sb.name
    before = (await Sandbox.get(name)).config_json
    plan = await sb.modify(cpus=2, memory=512)
    assert plan["applied"] is False
    assert [c["field"] for c in plan["conflicts"]] == ["memory"]
    assert await _memory_limit(sb) == 128 << 20
    plan = await sb.modify(cpus=2, env={"A": "1"})  # needs a restart under NO_RESTART
    assert plan["applied"] is False and plan["conflicts"][0]["field"] == "env"
    env = [c for c in plan["changes"] if c["field"] == "env"][0]
    assert env["disposition"] is ModificationDisposition.REQUIRES_RESTART
    plan = await sb.modify(secrets={"TOKEN": {"env": "TOKEN", "allowed_hosts": ["api.example.com"]}})
    (secret,) = plan["changes"]
    assert secret["kind"] is PlannedChangeKind.SECRET and secret["name"] == "TOKEN"
    assert secret["change"] is SecretChangeKind.ADDED
    assert secret["disposition"] is ModificationDisposition.UNSUPPORTED
    assert plan["applied"] is False
    assert (await Sandbox.get(name)).config_json == before


async def test_env_at_next_start_and_restart_policy(sandbox_factory):
    sb = await sandbox_factory("envmod")
    name = await sb.name
    plan = await sb.modify(env={"STAGE": "next"}, policy=ModificationPolicy.NEXT_START)
    assert plan["applied"] is True and plan["policy"] is ModificationPolicy.NEXT_START
    assert plan["changes"][0]["disposition"] is ModificationDisposition.NEXT_START
    assert plan["changes"][0]["change"] is ChangeKind.ADDED and plan["changes"][0]["key"] == "STAGE"
    assert (await sb.shell("echo [$STAGE]")).stdout_text == "[]\n"
    await sb.stop()
    sb = await Sandbox.start(name)
    assert (await sb.shell("echo [$STAGE]")).stdout_text == "[next]\n"
    # "restart" (a plain string is accepted too): applied at once; the handle follows.
    plan = await sb.modify(env={"STAGE": "now"}, policy="restart")
    assert plan["applied"] is True and plan["status"] is SandboxStatus.RUNNING
    assert plan["changes"][0]["change"] is ChangeKind.UPDATED
    assert (await sb.shell("echo [$STAGE]")).stdout_text == "[now]\n"
    assert await sb.owns_lifecycle is False


async def test_handle_modify_of_a_stopped_sandbox_and_labels(sandbox_factory):
    sb = await _resizable(sandbox_factory)
    name = await sb.name
    await sb.stop()
    handle = await Sandbox.get(name)
    plan = await handle.modify(cpus=2, labels={"tier": "gold"}, labels_rm=["nope"])
    assert plan["applied"] is True and plan["status"] is SandboxStatus.STOPPED
    dispositions = {c["field"]: c["disposition"] for c in plan["changes"]}
    assert dispositions == {"cpus": ModificationDisposition.NEXT_START, "label": ModificationDisposition.LIVE}
    assert plan["warnings"] and plan["warnings"][0]["field"] == "label"
    page = await Sandbox.list_with(labels={"tier": "gold"})
    assert [h.name for h in page] == [name]
    sb = await Sandbox.start(name)
    assert (await Sandbox.get(name)).config()["resources"]["cpus"] == 2


async def test_argument_errors(sandbox):
    with pytest.raises(TypeError, match="unexpected keyword argument 'cpu'"):
        await sandbox.modify(cpu=2)
    with pytest.raises(TypeError):
        await sandbox.modify(cpus="2")
    with pytest.raises(ValueError):
        await sandbox.modify(cpus=0)
    with pytest.raises(TypeError, match="ModificationPolicy"):
        await sandbox.modify(cpus=1, policy="sometimes")
    with pytest.raises(TypeError):
        await sandbox.modify(env=["A=1"])
    with pytest.raises(SandboxNotFoundError):
        handle = await Sandbox.get(await sandbox.name)
        handle.name = "no-such-sandbox-here"
        await handle.modify(cpus=1)
