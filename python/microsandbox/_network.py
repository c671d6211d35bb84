"""``ports=`` and ``network=`` of ``Sandbox.create`` (API.md §1.3, §1.15) as the ``network``
object of the stored config (§1.20), the JSON libmsb takes through
``msb_config_set_network_json``.

Serialisation only: the value types (``types.py``) have already checked what Python can check
without knowing the policy engine, and libmsb judges the rest (``_native.network_normalize``
turns its verdict into ``ValueError`` naming the key, e.g. ``network.ipv4_pool``). Nothing here
decides what a rule means: presets arrive as the rules ``NetworkPolicy`` already holds.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from microsandbox import _microsandbox as _native
from microsandbox.errors import unsupported
from microsandbox.types import (
    Network,
    NetworkDestination,
    NetworkDestinationKind,
    NetworkPolicy,
    NetworkRateLimiter,
    PortBinding,
    PortProtocol,
    Rule,
    _cidr,
    _unbracket,
)


def port_bindings(ports: Any) -> list[PortBinding]:
    """``ports=``: a mapping host→guest (TCP on 127.0.0.1) or a sequence of ``PortBinding``."""
    if ports is None:
        return []
    if isinstance(ports, Mapping):
        return [PortBinding(h, g) for h, g in ports.items()]  # validates both
    if isinstance(ports, Sequence) and not isinstance(ports, (str, bytes)):
        out = []
        for p in ports:
            if not isinstance(p, PortBinding):
                raise TypeError(f"port must be PortBinding, got {type(p).__name__}")
            out.append(p)
        return out
    raise TypeError("ports must be a Mapping[int, int] or a list of PortBinding")


def section(network: Optional[Network], ports: Sequence[PortBinding]) -> Optional[str]:
    """The ``network`` JSON of a create, or None when both are left at their defaults (the core
    then applies public-only with no published ports). Raises ``UnsupportedError`` for the parts
    of ``Network`` the engine does not have (TLS interception, rate limits)."""
    if network is None and not ports:
        return None
    obj: dict[str, Any] = {"enabled": True}
    bindings = [PortBinding(h, g) for h, g in network.ports.items()] if network is not None else []
    obj["ports"] = [_port_json(p) for p in (*bindings, *ports)]
    if network is not None:
        _refuse_missing_features(network)
        if network.policy is not None:
            obj["policy"] = _policy_json(network.policy)
        if network.deny_domains:
            obj["deny_domains"] = list(network.deny_domains)
        if network.deny_domain_suffixes:
            obj["deny_domain_suffixes"] = list(network.deny_domain_suffixes)
        if network.dns is not None:
            obj["dns"] = {"rebind_protection": network.dns.rebind_protection,
                          "nameservers": list(network.dns.nameservers),
                          "query_timeout_ms": network.dns.query_timeout_ms}
        if network.max_connections is not None:
            obj["max_connections"] = network.max_connections
        if network.ipv4_pool is not None:
            obj["ipv4_pool"] = network.ipv4_pool
        if network.ipv6_pool is not None:
            obj["ipv6_pool"] = network.ipv6_pool
    return json.dumps(obj, separators=(",", ":"))


def normalize(text: str) -> str:
    """``text`` as libmsb stores it; ValueError (naming the key) when libmsb refuses it."""
    return _native.network_normalize(text)


def _refuse_missing_features(network: Network) -> None:
    if network.tls is not None:
        raise unsupported("network=Network(tls=...)",
                          "the network engine has no TLS interception yet; leave tls=None")
    if not _limiter_is_empty(network.rate_limiter):
        raise unsupported("network=Network(rate_limiter=...)",
                          "the network engine has no bandwidth or packet-rate limits yet; "
                          "max_connections caps concurrent connections")


def _limiter_is_empty(limiter: Optional[NetworkRateLimiter]) -> bool:
    if limiter is None:
        return True
    return all(rl is None or (rl.bandwidth is None and rl.ops is None)
               for rl in (limiter.egress, limiter.ingress))


def _port_json(p: PortBinding) -> dict[str, Any]:
    return {"host_port": p.host_port, "guest_port": p.guest_port,
            "protocol": PortProtocol(p.protocol).value, "host_bind": p.bind}


def _policy_json(policy: NetworkPolicy) -> dict[str, Any]:
    return {"default_egress": policy.default_egress.value,
            "default_ingress": policy.default_ingress.value,
            "rules": [_rule_json(r) for r in policy.rules]}


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {"action": rule.action.value,
            "direction": rule.direction.value,
            "destination": _destination_json(rule.destination),
            "protocols": [rule.protocol.value] if rule.protocol is not None else [],
            "ports": _ports_json(rule.port)}


def _destination_json(d: Optional[NetworkDestination]) -> Any:
    """§1.20: ``"any"`` or one of ``{cidr|domain|domain_suffix|group: value}``; an IP is its
    /32 or /128."""
    if d is None or d.kind is NetworkDestinationKind.ANY:
        return "any"
    assert d.value is not None
    if d.kind is NetworkDestinationKind.IP:
        ip = ipaddress.ip_address(_unbracket(d.value))
        return {"cidr": f"{ip}/{ip.max_prefixlen}"}
    if d.kind is NetworkDestinationKind.CIDR:
        return {"cidr": str(_cidr(d.value))}
    if d.kind is NetworkDestinationKind.GROUP:
        return {"group": d.value.replace("-", "_")}  # link-local → link_local
    if d.kind is NetworkDestinationKind.DOMAIN_SUFFIX:
        return {"domain_suffix": d.value.lstrip("*.")}  # "*.example.com" → "example.com"
    return {"domain": d.value}


def _ports_json(port: Any) -> list[dict[str, int]]:
    if port is None:
        return []
    if isinstance(port, int):
        return [{"start": port, "end": port}]
    lo, _, hi = str(port).partition("-")
    return [{"start": int(lo), "end": int(hi or lo)}]
