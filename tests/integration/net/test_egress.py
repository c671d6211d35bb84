"""Egress policy: presets, groups, rules by address, port and protocol, and how a denied
connection fails (at once, "No route to host"), checked from inside real sandboxes against the
fake internet (conftest.py)."""

import pytest

from .conftest import DNS, HOST_PORT, METADATA, PRIVATE, PUBLIC, PUBLIC2, timed

FAST = 1.0  # seconds: a denied connection must fail well before any TCP timeout


def test_default_policy_reaches_the_public_internet(netmsb, default_box):
    assert netmsb.probe(default_box, "connect", PUBLIC, 80) == f"ok hello from {PUBLIC}"
    assert netmsb.probe(default_box, "udp", PUBLIC, 7, "ping") == f"ok echo {PUBLIC} ping"


# 198.18.0.1 is the host's own address (in the test namespace): the host group.
@pytest.mark.parametrize("addr,port", [(PRIVATE, 80), (METADATA, 80), ("198.18.0.1", 22)])
def test_default_policy_denies_private_metadata_and_host_fast(netmsb, default_box, addr, port):
    out, took = timed(netmsb.probe, default_box, "connect", addr, port, 5000)
    assert out == "unreachable", netmsb.runtime_log(default_box)[-3000:]
    assert took < FAST + 0.5  # msb exec itself included


def test_default_policy_denies_the_gateway_as_host_loopback(netmsb, default_box):
    gateway = netmsb.sh(default_box, "ip route | awk '/default/ {print $3}'").strip()
    assert netmsb.probe(default_box, "connect", gateway, HOST_PORT) == "unreachable"


def test_denial_is_logged(netmsb, default_box):
    netmsb.probe(default_box, "connect", PRIVATE, 81)
    assert f"denied TCP to {PRIVATE} port 81" in netmsb.runtime_log(default_box)


def test_allow_all_reaches_everything(netmsb, boxes):
    name = boxes.create("--net", "all")
    gateway = netmsb.sh(name, "ip route | awk '/default/ {print $3}'").strip()
    assert netmsb.probe(name, "connect", PUBLIC, 80) == f"ok hello from {PUBLIC}"
    assert netmsb.probe(name, "connect", PRIVATE, 80) == f"ok hello from {PRIVATE}"
    assert netmsb.probe(name, "connect", METADATA, 80) == f"ok hello from {METADATA}"
    # The gateway is the host's loopback.
    assert netmsb.probe(name, "connect", gateway, HOST_PORT) == "ok hello from 127.0.0.1"


def test_none_reaches_nothing_not_even_dns(netmsb, boxes):
    name = boxes.create("--net", "none")
    for addr in (PUBLIC, PRIVATE, METADATA, DNS):
        assert netmsb.probe(name, "connect", addr, 80) == "unreachable"
    assert netmsb.probe(name, "udp", PUBLIC, 7, "x") in ("unreachable", "timeout")
    assert netmsb.probe(name, "resolve", "good.test") == "REFUSED"


def test_host_profile_opens_the_hosts_loopback_by_name(netmsb, boxes):
    name = boxes.create("--net", "public,host")
    assert netmsb.probe(name, "resolve", "host.microsandbox.internal").startswith("ok 172.16.")
    out = netmsb.sh(name, f"nettool connect $(nettool resolve host.microsandbox.internal | cut -d' ' -f2) {HOST_PORT}")
    assert out.strip() == "ok hello from 127.0.0.1"
    # Still not the LAN.
    assert netmsb.probe(name, "connect", PRIVATE, 80) == "unreachable"


def test_private_profile(netmsb, boxes):
    name = boxes.create("--net", "private")
    assert netmsb.probe(name, "connect", PRIVATE, 80) == f"ok hello from {PRIVATE}"
    assert netmsb.probe(name, "connect", PUBLIC, 80) == "unreachable"
    assert netmsb.probe(name, "connect", METADATA, 80) == "unreachable"


def test_rule_narrows_the_default_first_match_wins(netmsb, boxes):
    name = boxes.create("--net-rule", f"deny@{PUBLIC2}", "--net-rule", f"allow@{PRIVATE}:tcp:80")
    assert netmsb.probe(name, "connect", PUBLIC, 80).startswith("ok")
    assert netmsb.probe(name, "connect", PUBLIC2, 80) == "unreachable"
    assert netmsb.probe(name, "connect", PRIVATE, 80) == f"ok hello from {PRIVATE}"
    # Port and protocol are part of the rule.
    assert netmsb.probe(name, "connect", PRIVATE, 81) == "unreachable"
    assert netmsb.probe(name, "udp", PRIVATE, 7, "x") in ("unreachable", "timeout")


def test_default_deny_with_a_cidr_rule(netmsb, boxes):
    name = boxes.create("--net", "none", "--net-rule", "allow@203.0.113.0/24:udp")
    assert netmsb.probe(name, "udp", PUBLIC2, 7, "hi") == f"ok echo {PUBLIC2} hi"
    assert netmsb.probe(name, "connect", PUBLIC2, 80) == "unreachable"


def test_net_default_allow_opens_what_no_rule_denies(netmsb, boxes):
    name = boxes.create("--net-default", "allow", "--net-rule", f"deny@{METADATA}")
    assert netmsb.probe(name, "connect", PRIVATE, 80).startswith("ok")
    assert netmsb.probe(name, "connect", METADATA, 80) == "unreachable"


def test_no_net_has_only_loopback(netmsb, boxes):
    name = boxes.create("--no-net")
    links = netmsb.sh(name, "ip -o link | awk -F': ' '{print $2}'").split()
    assert links == ["lo"]
    assert netmsb.probe(name, "connect", PUBLIC, 80) == "unreachable"


def test_bad_rule_is_refused_at_create(netmsb):
    p = netmsb("create", "--net-rule", "allow@10.0.0.0/33", "local/busybox:latest")
    assert p.returncode != 0
    assert "10.0.0.0/33" in p.stderr and "--net-rule" in p.stderr
    p = netmsb("create", "--net", "public,lan", "local/busybox:latest")
    assert p.returncode != 0 and "lan" in p.stderr
