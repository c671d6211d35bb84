"""Networking through the package (API.md §1.3 `ports`/`network`, §1.15, §1.20): validation,
the network section of the stored config, published ports and egress policy seen from inside
real sandboxes. Self-contained: the only peer is a listener on the host's loopback, which a
sandbox reaches as `host.microsandbox.internal` (the gateway is the host's loopback) — when its
policy lets it."""

import asyncio
import json
import socket
import time

import pytest

from conftest import IMAGE, unique_name
from microsandbox import (
    Destination,
    DestGroup,
    DnsConfig,
    InvalidConfigError,
    Network,
    NetworkPolicy,
    NetworkProfile,
    NetworkRateLimiter,
    PortBinding,
    Rule,
    Sandbox,
    Secret,
    TlsConfig,
    UnsupportedError,
)

HOST = "host.microsandbox.internal"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def network_of(sb):
    return (await Sandbox.get(await sb.name)).config()["network"]


@pytest.fixture
async def host_listener():
    """A TCP server on the host's 127.0.0.1: greets every client with "hello from host"."""
    clients = []

    async def greet(reader, writer):
        clients.append(writer.get_extra_info("peername"))
        writer.write(b"hello from host\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    server.clients = clients
    server.port = server.sockets[0].getsockname()[1]
    yield server
    server.close()
    await server.wait_closed()


async def dial_host(sb, port):
    """`nc` from inside the sandbox to the host listener → (exit code, output)."""
    out = await sb.shell(f"nc -w 3 {HOST} {port} </dev/null 2>&1", timeout=10)
    return out.exit_code, out.stdout_text


# ---- validation: before anything is created ----------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Destination.cidr("10.0.0.0/33"), "cidr"),
        (lambda: Rule.deny(destination="10.0.0.0/33"), "cidr"),
        (lambda: Destination.cidr("10.0.0.0/255.0.0.0"), "cidr"),
        (lambda: Destination.ip("10.0.0.300"), "ip"),
        (lambda: Rule.allow(port="90-80"), "port"),
        (lambda: Rule.allow(port=70000), "port"),
        (lambda: Destination.group("lan"), "DestGroup"),
        (lambda: PortBinding(70000, 80), "host_port"),
        (lambda: PortBinding.tcp(8080, 0), "guest_port"),
        (lambda: PortBinding.tcp(8080, 80, bind="localhost"), "bind"),
        (lambda: Network(max_connections=5000), "max_connections"),
    ],
)
def test_invalid_network_values_are_value_errors_naming_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ports": {0: 80}}, ValueError, "host_port"),
        ({"ports": "8080:80"}, TypeError, "ports must be"),
        ({"ports": [(8080, 80)]}, TypeError, "PortBinding"),
        ({"network": Network(ipv4_pool="10.0.0.0/31")}, ValueError, r"network\.ipv4_pool"),
        ({"network": Network(dns=DnsConfig(nameservers=("resolver.example",)))}, ValueError,
         r"network\.dns"),
        ({"network": Network(deny_domains=("bad..name",))}, ValueError, r"network\.deny_domains\[0\]"),
        ({"network": Network(tls=TlsConfig())}, UnsupportedError, "TLS interception"),
        ({"secrets": [Secret.env("K", value="v", allow_hosts=["api.example"])]}, UnsupportedError,
         "secrets="),
    ],
)
async def test_bad_network_kwargs_raise_before_anything_is_created(kwargs, error, message):
    name = unique_name("badnet")
    with pytest.raises(error, match=message):
        await Sandbox.create(name, image=IMAGE, **kwargs)
    assert name not in {h.name for h in await Sandbox.list()}


def test_create_with_progress_validates_the_network_synchronously():
    with pytest.raises(ValueError, match=r"network\.ipv4_pool"):
        Sandbox.create_with_progress(unique_name(), image=IMAGE, network=Network(ipv4_pool="fd00::/64"))


def test_unknown_profile_names_the_enum():
    with pytest.raises(TypeError, match="NetworkProfile"):
        Network.from_profiles("lan")


# ---- the stored config ------------------------------------------------------------------

DNS_RULES = [
    {"action": "allow", "direction": "egress", "destination": {"group": "host"}, "protocols": [proto],
     "ports": [{"start": 53, "end": 53}]}
    for proto in ("udp", "tcp")
]


def group_rule(group):
    return {"action": "allow", "direction": "egress", "destination": {"group": group},
            "protocols": [], "ports": []}


async def test_presets_are_stored_as_policies(sandbox_factory):
    default, none, all_, profiles = await asyncio.gather(
        sandbox_factory("n-dflt"),
        sandbox_factory("n-none", network=Network.none()),
        sandbox_factory("n-all", network=Network.allow_all()),
        sandbox_factory("n-prof", network=Network.from_profiles(NetworkProfile.PUBLIC, "private", "host")))
    net = await network_of(default)
    assert net["enabled"] is True and net["ports"] == [] and net["max_connections"] == 256
    assert "policy" not in net  # public-only
    assert (await network_of(none))["policy"] == {"default_egress": "deny", "default_ingress": "deny", "rules": []}
    assert (await network_of(all_))["policy"] == {"default_egress": "allow", "default_ingress": "allow", "rules": []}
    assert (await network_of(profiles))["policy"] == {
        "default_egress": "deny", "default_ingress": "allow",
        "rules": DNS_RULES + [group_rule("public"), group_rule("private"), group_rule("host")]}


async def test_rules_and_options_are_stored_in_the_documented_shape(sandbox_factory):
    policy = NetworkPolicy(rules=(
        Rule.allow(destination=Destination.ip("192.0.2.7"), protocol="tcp", port=443),
        Rule.allow(destination="2001:db8::1", port="8000-8100"),
        Rule.deny(direction="any", destination=Destination.cidr("198.51.100.9/24")),
        Rule.allow(destination=Destination.domain("pypi.org")),
        Rule.allow(destination="*.example.org", protocol="udp"),
        Rule.deny(destination=Destination.group(DestGroup.LINK_LOCAL)),
        *Rule.allow_dns(),
    ))
    network = Network(policy=policy, deny_domains=("ads.example",), deny_domain_suffixes=("track.example",),
                      dns=DnsConfig(rebind_protection=False, query_timeout_ms=1500), max_connections=64,
                      rate_limiter=NetworkRateLimiter())  # empty: accepted
    sb = await sandbox_factory("n-rules", network=network, secrets=[], vsock={})
    net = await network_of(sb)

    def rule(action, dest, protocols=(), ports=(), direction="egress"):
        return {"action": action, "direction": direction, "destination": dest, "protocols": list(protocols),
                "ports": [{"start": a, "end": b} for a, b in ports]}

    assert net["policy"] == {"default_egress": "deny", "default_ingress": "allow", "rules": [
        rule("allow", {"cidr": "192.0.2.7/32"}, ["tcp"], [(443, 443)]),
        rule("allow", {"cidr": "2001:db8::1/128"}, [], [(8000, 8100)]),
        rule("deny", {"cidr": "198.51.100.0/24"}, direction="any"),
        rule("allow", {"domain": "pypi.org"}),
        rule("allow", {"domain_suffix": "example.org"}, ["udp"]),
        rule("deny", {"group": "link_local"}),
        *DNS_RULES,
    ]}
    assert net["deny_domains"] == ["ads.example"] and net["deny_domain_suffixes"] == ["track.example"]
    assert net["dns"] == {"rebind_protection": False, "nameservers": [], "query_timeout_ms": 1500}
    assert net["max_connections"] == 64
    assert json.loads((await Sandbox.get(await sb.name)).config_json)["network"] == net


# ---- published ports ---------------------------------------------------------------------


async def read_published(port, deadline):
    """What the guest's server sends to a client of host 127.0.0.1:`port` (retried until the
    server in the guest listens)."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                data = await asyncio.wait_for(reader.read(100), 2)
            finally:
                writer.close()
            if data:
                return data
        except OSError:
            pass
        if time.monotonic() > deadline:
            return b""
        await asyncio.sleep(0.05)


async def test_published_tcp_ports_reach_the_guest_from_host_loopback(sandbox_factory):
    a, b = free_port(), free_port()
    sb = await sandbox_factory("n-ports", network=Network(ports={a: 8080}), ports=[PortBinding.tcp(b, 8081)])
    assert (await network_of(sb))["ports"] == [
        {"host_port": a, "guest_port": 8080, "protocol": "tcp", "host_bind": "127.0.0.1"},
        {"host_port": b, "guest_port": 8081, "protocol": "tcp", "host_bind": "127.0.0.1"}]
    await sb.shell("for p in 8080 8081; do nc -ll -p $p -e echo hi-$p >/dev/null 2>&1 & done")
    deadline = time.monotonic() + 5
    assert await read_published(a, deadline) == b"hi-8080\n"
    assert await read_published(b, deadline) == b"hi-8081\n"


async def test_dict_ports_are_tcp_on_loopback(sandbox_factory):
    port = free_port()
    sb = await sandbox_factory("n-dict", ports={port: 80})
    assert (await network_of(sb))["ports"] == [
        {"host_port": port, "guest_port": 80, "protocol": "tcp", "host_bind": "127.0.0.1"}]
    await sb.shell("nc -ll -p 80 -e echo dict >/dev/null 2>&1 &")
    assert await read_published(port, time.monotonic() + 5) == b"dict\n"


async def test_taken_host_port_is_invalid_config(sandbox_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidConfigError, match=str(port)):
            await sandbox_factory("n-taken", ports={port: 80})


# ---- egress policy -----------------------------------------------------------------------


async def test_egress_to_the_host_follows_the_policy(sandbox_factory, host_listener):
    default, none, host = await asyncio.gather(
        sandbox_factory("e-dflt"),
        sandbox_factory("e-none", network=Network.none()),
        sandbox_factory("e-host", network=Network.from_profiles(NetworkProfile.PUBLIC, NetworkProfile.HOST)))
    # The default policy (public-only) and Network.none() keep the host out of reach.
    for sb in (default, none):
        code, out = await dial_host(sb, host_listener.port)
        assert code != 0 and "hello" not in out, out
    assert host_listener.clients == []
    # The host profile opens it: the gateway is the host's loopback.
    code, out = await dial_host(host, host_listener.port)
    assert (code, out) == (0, "hello from host\n")
    assert len(host_listener.clients) == 1
