"""Published ports: a host listener (127.0.0.1 by default) forwarded into the sandbox, TCP and
UDP, the error when the host port is taken, and ingress rules."""

import json
import os
import random

import pytest

from msb_it import IMAGE


def free_port(internet, udp=False):
    """A port nothing uses in the fake internet's host namespace (checked from there)."""
    table = internet.run("cat", f"/proc/net/{'udp' if udp else 'tcp'}").stdout
    for _ in range(100):
        port = random.randint(20000, 60000)
        if f":{port:04X} " not in table:
            return port
    pytest.fail("no free port")


def serve(netmsb, name, *servers):
    """Starts nettool servers in the sandbox, detached from the exec session."""
    cmd = " ".join(f"nettool {s} >/dev/null 2>&1 &" for s in servers)
    netmsb.sh(name, cmd + " sleep 0.2")


def test_published_tcp_port_round_trips(netmsb, boxes, internet, nettool):
    port = free_port(internet)
    name = boxes.create("-p", f"{port}:8080")
    serve(netmsb, name, "tcp-echo 8080")
    p = internet.run(nettool, "echo", "127.0.0.1", str(port), "hello-sandbox")
    assert p.stdout.strip() == "ok hello-sandbox", p
    # Bound on 127.0.0.1 only, by default.
    p = internet.run(nettool, "connect", "198.18.0.1", str(port), "1000")
    assert p.stdout.strip() == "refused"


def test_guest_root_serves_a_low_port(netmsb, boxes, internet, nettool):
    # ns: the network namespace is not the sandbox user namespace's, so binding below 1024
    # relies on that namespace's ip_unprivileged_port_start, which the runtime sets to 0.
    # vm: the guest's root owns its kernel.
    port = free_port(internet)
    name = boxes.create("-p", f"{port}:80")
    if os.environ.get("MSB_IT_BACKEND", "ns") == "ns":
        assert netmsb.sh(name, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start").strip() == "0"
    serve(netmsb, name, "tcp-echo 80")
    p = internet.run(nettool, "echo", "127.0.0.1", str(port), "low-port")
    assert p.stdout.strip() == "ok low-port", p


def test_published_udp_port_round_trips(netmsb, boxes, internet, nettool):
    port = free_port(internet, udp=True)
    name = boxes.create("-p", f"127.0.0.1:{port}:9000/udp")
    serve(netmsb, name, "udp-echo 9000")
    p = internet.run(nettool, "udp", "127.0.0.1", str(port), "dgram")
    assert p.stdout.strip() == "ok dgram", p


def test_bind_address_and_several_ports(netmsb, boxes, internet, nettool):
    a, b = free_port(internet), free_port(internet) + 1
    name = boxes.create("-p", f"0.0.0.0:{a}:8080", "-p", f"{b}:8081")
    serve(netmsb, name, "tcp-echo 8080", "tcp-echo 8081")
    assert internet.run(nettool, "echo", "198.18.0.1", str(a), "x").stdout.strip() == "ok x"
    assert internet.run(nettool, "echo", "127.0.0.1", str(b), "y").stdout.strip() == "ok y"
    ports = json.loads(netmsb("inspect", name, "--format", "json", check=True).stdout)["config"]["network"]["ports"]
    assert ports == [{"host_port": a, "guest_port": 8080, "protocol": "tcp", "host_bind": "0.0.0.0"},
                     {"host_port": b, "guest_port": 8081, "protocol": "tcp", "host_bind": "127.0.0.1"}]
    rows = {r["name"]: r for r in json.loads(netmsb("ps", "--format", "json", check=True).stdout)}
    assert rows[name]["ports"] == [f"0.0.0.0:{a}->8080/tcp", f"127.0.0.1:{b}->8081/tcp"]
    assert f"0.0.0.0:{a}->8080/tcp,127.0.0.1:{b}->8081/tcp" in netmsb("ps", check=True).stdout


def test_taken_host_port_fails_the_create_clearly(netmsb, boxes, internet):
    port = free_port(internet)
    boxes.create("-p", f"{port}:80")
    p = netmsb("create", "-p", f"{port}:80", IMAGE)
    assert p.returncode != 0
    assert f"publish port 127.0.0.1:{port}/tcp" in p.stderr
    assert "Address already in use" in p.stderr


def test_ports_without_network_are_refused(netmsb):
    p = netmsb("create", "--no-net", "-p", "18999:80", IMAGE)
    assert p.returncode != 0 and "networking" in p.stderr


def test_bad_port_specs(netmsb):
    for spec in ("80", "99999:80", "localhost:80:80", "80:80/sctp"):
        p = netmsb("create", "-p", spec, IMAGE)
        assert p.returncode != 0 and spec in p.stderr, spec


def test_ingress_rule_refuses_a_published_port(netmsb, boxes, internet, nettool):
    port = free_port(internet)
    name = boxes.create("-p", f"{port}:8080", "--net-rule", "deny:ingress@any:tcp:8080")
    serve(netmsb, name, "tcp-echo 8080")
    out = internet.run(nettool, "echo", "127.0.0.1", str(port), "x", "2000").stdout.strip()
    assert out != "ok x"
