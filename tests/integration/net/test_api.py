"""The network section through the C API (msb_config_set_network_json, what the Python
package's Network(...) maps onto): DnsConfig.nameservers, structured rules, and validation
errors as invalid-argument (ValueError) naming the key."""

import json

from .conftest import DNS, PRIVATE, PUBLIC


def test_nameservers_from_the_config_win_over_the_hosts(netmsb, boxes, netcfg, nettool, tmp_path):
    # The host's resolver file names a server that does not exist; the config names the real one.
    bogus = tmp_path / "resolv.conf"
    bogus.write_text("nameserver 192.0.2.99\n")
    name = boxes.adopt(f"api-dns-{tmp_path.name[-6:]}")
    p = netmsb.create_json(netcfg, name, json.dumps({"dns": {"nameservers": [DNS], "query_timeout_ms": 2000}}),
                           nettool, env={"MSB_RESOLV_CONF": str(bogus)})
    assert p.returncode == 0, p.stderr
    assert netmsb.probe(name, "resolve", "good.test") == f"ok {PUBLIC}"
    config = json.loads(netmsb("inspect", name, "--format", "json", check=True).stdout)["config"]
    assert config["network"]["dns"] == {"rebind_protection": True, "nameservers": [DNS],
                                        "query_timeout_ms": 2000}


def test_structured_policy(netmsb, boxes, netcfg, nettool, tmp_path):
    network = {
        "policy": {
            "default_egress": "deny",
            "rules": [
                {"action": "allow", "destination": {"group": "host"}, "protocols": ["udp"], "ports": [{"start": 53, "end": 53}]},
                {"action": "allow", "destination": {"cidr": f"{PUBLIC}/32"}, "protocols": ["tcp"],
                 "ports": [{"start": 80, "end": 80}]},
                {"action": "allow", "direction": "egress", "destination": {"domain": "rebind.test"}},
            ],
        },
        "deny_domains": ["other.test"],
    }
    name = boxes.adopt(f"api-pol-{tmp_path.name[-6:]}")
    p = netmsb.create_json(netcfg, name, json.dumps(network), nettool)
    assert p.returncode == 0, p.stderr
    assert netmsb.probe(name, "connect", PUBLIC, 80).startswith("ok")
    assert netmsb.probe(name, "udp", PUBLIC, 7, "x") in ("unreachable", "timeout")
    assert netmsb.probe(name, "resolve", "other.test") == "NXDOMAIN"
    # A domain rule lets a private answer through (rebind protection defers to rules), then
    # the connection follows the pin.
    assert netmsb.probe(name, "resolve", "rebind.test") == f"ok {PRIVATE}"
    assert netmsb.probe(name, "connect", PRIVATE, 80) == f"ok hello from {PRIVATE}"


def test_invalid_network_is_an_invalid_argument_naming_the_key(netmsb, netcfg, tmp_path):
    bad = {"policy": {"rules": [{"action": "allow", "destination": {"cidr": "10.0.0.0/40"}}]}}
    p = netmsb.create_json(netcfg, f"api-bad-{tmp_path.name[-6:]}", json.dumps(bad))
    assert p.returncode == 1
    assert p.stderr.startswith("invalid-argument: network.policy.rules[0].destination")
