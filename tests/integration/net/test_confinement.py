"""The sandbox cannot get around the engine. On the ns backend root inside it holds no
capability over its network namespace (owned by the host's initial user namespace): it cannot
add routes, addresses or interfaces, bring eth0 down, open raw or packet sockets or create a
TAP device. On the vm backend the guest owns its kernel and may do all of that — but every
frame still leaves through the engine, so whatever it crafts meets the filter. Plus the
engine's byte counters."""

import json
import os
import time

import pytest

from .conftest import BULK_PORT, PRIVATE, PUBLIC

VM = os.environ.get("MSB_IT_BACKEND") == "vm"
ns_only = pytest.mark.skipif(VM, reason="a VM's root owns its guest kernel: see the crafted-packet tests")


def attempt(netmsb, name, cmd):
    p = netmsb.exec(name, "sh", "-c", cmd + " 2>&1")
    return p.returncode, p.stdout


def guest_ip(netmsb, name):
    return netmsb.sh(name, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").strip()


@ns_only
def test_guest_cannot_change_routes_addresses_or_links(netmsb, default_box):
    for cmd in ("ip route add 10.0.0.0/8 dev eth0",
                "ip route replace default via 172.16.0.1 dev eth0 metric 1",
                "ip addr add 10.20.0.99/24 dev eth0",
                "ip link set eth0 down",
                "ip link set eth0 address 02:00:00:00:00:01",
                "ip link add dummy0 type dummy",
                "ip link add v0 type veth peer name v1",
                "ip tuntap add tap1 mode tap",
                "sysctl -w net.ipv4.ip_forward=1"):
        rc, out = attempt(netmsb, default_box, cmd)
        assert rc != 0, (cmd, out)
    links = netmsb.sh(default_box, "ip -o link | awk -F': ' '{print $2}'").split()
    assert links == ["lo", "eth0"]


@ns_only
def test_guest_has_no_raw_sockets_and_no_tun(netmsb, default_box):
    assert netmsb.probe(default_box, "raw") == "raw Operation not permitted packet Operation not permitted"
    assert netmsb.probe(default_box, "tun").startswith("tun ")
    assert netmsb.probe(default_box, "tun") != "tun CREATED"


def test_routes_and_addresses_the_guest_adds_lead_nowhere_new(netmsb, boxes):
    name = boxes.create()
    # An on-link route to the private server, an address in its range: still refused (on the
    # ns backend the attempts themselves fail).
    attempt(netmsb, name, f"ip route add {PRIVATE}/32 dev eth0; ip addr add 10.20.0.99/24 dev eth0")
    assert netmsb.probe(name, "connect", PRIVATE, 80, 2000) in ("unreachable", "timeout")
    assert netmsb.probe(name, "connect", PUBLIC, 80).startswith("ok")


def test_crafted_packets_meet_the_filter(netmsb, boxes):
    name = boxes.create()
    me = guest_ip(netmsb, name)
    out = netmsb.probe(name, "rawsyn", me, PUBLIC, 80)
    if out.startswith("raw "):
        assert not VM
        assert out == "raw Operation not permitted"  # ns: no raw sockets at all
        return
    assert out == "answered"                          # a well-formed SYN to the internet
    assert netmsb.probe(name, "rawsyn", me, PRIVATE, 80) == "prohibited"
    # A forged source never leaves, whatever the policy says about the destination.
    assert netmsb.probe(name, "rawsyn", "10.20.0.99", PUBLIC, 80) == "silent"
    assert netmsb.probe(name, "rawsyn", "172.16.0.1", PUBLIC, 80) == "silent"


def test_tap_fd_never_reaches_the_sandbox(netmsb, default_box):
    # No process in the sandbox holds /dev/net/tun (the runtime keeps the only fd).
    out = netmsb.sh(default_box, "ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c tun || true")
    assert out.strip() == "0"


def metrics(netmsb, name):
    return json.loads(netmsb("metrics", name, "--format", "json", check=True).stdout)


def test_net_counters_come_from_the_engine(netmsb, boxes):
    name = boxes.create()
    before = metrics(netmsb, name)
    size = 4 << 20
    out = netmsb.probe(name, "bulk", PUBLIC, BULK_PORT, size)
    assert out.startswith("up "), out
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = metrics(netmsb, name)
        if after["net_rx_bytes"] - before["net_rx_bytes"] >= size and \
           after["net_tx_bytes"] - before["net_tx_bytes"] >= size:
            break
        time.sleep(0.2)
    # Frames, so headers included: a little more than the payload each way.
    assert size <= after["net_tx_bytes"] - before["net_tx_bytes"] < size * 1.2
    assert size <= after["net_rx_bytes"] - before["net_rx_bytes"] < size * 1.2
