"""Live modification (API.md §1.8): ``modify()``'s keyword arguments into the changes JSON of
``msb_sandbox_modify``, and its plan back into the ``SandboxModificationPlan`` dict with enum
members. The core plans and applies; nothing is decided here beyond argument types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from microsandbox import _microsandbox as _native
from microsandbox import _runtime
from microsandbox.types import (
    ChangeKind,
    ModificationDisposition,
    ModificationPolicy,
    PlannedChangeKind,
    ResourceConvergenceState,
    ResourceKind,
    SandboxModificationPlan,
    SandboxStatus,
    SecretChangeKind,
    _bool,
    _enum,
    _int,
    _str,
    _str_mapping,
    _str_tuple,
)

__all__ = ["modify"]

KWARGS = frozenset({
    "cpus", "max_cpus", "memory", "max_memory", "root_disk_size", "env", "env_rm", "labels",
    "labels_rm", "workdir", "secrets", "secrets_rm", "policy", "dry_run",
})


def _secret_spec(name: str, spec: Any) -> dict[str, Any]:
    """What the plan may show of a secret: never its value."""
    if not isinstance(spec, Mapping) and not hasattr(spec, "__dataclass_fields__"):
        raise TypeError(f"secrets[{name!r}] must be a SecretModifySpec mapping")
    get = spec.get if isinstance(spec, Mapping) else (lambda k, d=None: getattr(spec, k, d))
    sources = [k for k in ("env", "value", "store") if get(k) is not None]
    if len(sources) > 1:
        raise ValueError(f"secrets[{name!r}]: env, value and store are mutually exclusive")
    hosts = get("allowed_hosts") or get("allow_hosts") or ()
    return {"source": sources[0] if sources else None, "allowed_hosts": list(hosts)}


def build_changes(kwargs: Mapping[str, Any]) -> tuple[str, int]:
    """(changes JSON, MSB_MODIFY_* flags) of ``modify(**kwargs)``."""
    for key in kwargs:
        if key not in KWARGS:
            raise TypeError(f"unexpected keyword argument '{key}'")
    changes: dict[str, Any] = {}
    for key in ("cpus", "max_cpus", "memory", "max_memory", "root_disk_size"):
        v = _int(kwargs.get(key), key, optional=True, minimum=1)
        if v is not None:
            changes[key] = v
    for key in ("env", "labels"):
        if kwargs.get(key) is not None:
            changes[key] = _str_mapping(kwargs[key], key)
    for key in ("env_rm", "labels_rm", "secrets_rm"):
        if kwargs.get(key) is not None:
            changes[key] = list(_str_tuple(kwargs[key], key))
    if kwargs.get("workdir") is not None:
        changes["workdir"] = _str(kwargs["workdir"], "workdir")
    secrets = kwargs.get("secrets")
    if secrets is not None:
        if not isinstance(secrets, Mapping):
            raise TypeError("secrets must be a Mapping[str, SecretModifySpec]")
        changes["secrets"] = {_str(k, "secret name"): _secret_spec(k, v) for k, v in secrets.items()}
    flags = 0
    policy = kwargs.get("policy")
    if policy is not None:
        policy = _enum(ModificationPolicy, policy, "policy")
        if policy is ModificationPolicy.NEXT_START:
            flags |= _native.MODIFY_NEXT_START
        elif policy is ModificationPolicy.RESTART:
            flags |= _native.MODIFY_RESTART
    if _bool(kwargs.get("dry_run", False), "dry_run"):
        flags |= _native.MODIFY_DRY_RUN
    return json.dumps(changes), flags


def _enum_of(cls: Any, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        return value


def _change(c: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(c)
    kind = _enum_of(PlannedChangeKind, c.get("kind"))
    out["kind"] = kind
    out["change"] = _enum_of(SecretChangeKind if kind is PlannedChangeKind.SECRET else ChangeKind, c.get("change"))
    out["disposition"] = _enum_of(ModificationDisposition, c.get("disposition"))
    for key in ("before", "after", "reason"):
        if out.get(key) is None:
            out.pop(key, None)
    return out


def plan_from_json(text: str) -> SandboxModificationPlan:
    d = json.loads(text)
    try:
        status = SandboxStatus(d["status"])
    except ValueError:
        status = SandboxStatus.CRASHED
    plan: dict[str, Any] = {
        "sandbox": d["sandbox"],
        "status": status,
        "applied": bool(d["applied"]),
        "policy": ModificationPolicy(d["policy"]),
        "changes": [_change(c) for c in d.get("changes", [])],
        "conflicts": list(d.get("conflicts", [])),
        "warnings": list(d.get("warnings", [])),
    }
    if "resize_status" in d:
        plan["resize_status"] = [
            dict(r, resource=_enum_of(ResourceKind, r["resource"]),
                 state=_enum_of(ResourceConvergenceState, r["state"]))
            for r in d["resize_status"]
        ]
    return plan  # type: ignore[return-value]


async def modify(ctx: Any, name: str, kwargs: Mapping[str, Any]) -> SandboxModificationPlan:
    """Plans and (unless dry_run) applies ``kwargs`` to sandbox ``name``."""
    changes, flags = build_changes(kwargs)
    return plan_from_json(await _runtime.run(ctx.sandbox_modify, name, changes, flags))


def restarted(plan: Mapping[str, Any]) -> bool:
    """Whether applying the plan restarted the sandbox (its connections are gone)."""
    return bool(plan.get("applied")) and any(
        c.get("disposition") is ModificationDisposition.REQUIRES_RESTART for c in plan.get("changes", ()))

