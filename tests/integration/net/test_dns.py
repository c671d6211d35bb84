"""DNS: every query to port 53 is answered by the engine through the host's resolver (here the
fake internet's, 198.51.100.53); domain rules follow only what this sandbox resolved; rebind
protection; denied names are NXDOMAIN."""

from .conftest import DNS, PUBLIC, PUBLIC2, PRIVATE


def test_resolv_conf_and_hosts_point_at_the_gateway(netmsb, default_box):
    gateway = netmsb.sh(default_box, "ip route | awk '/default/ {print $3}'").strip()
    assert netmsb.sh(default_box, "grep ^nameserver /etc/resolv.conf").split() == ["nameserver", gateway]
    hosts = netmsb.sh(default_box, "cat /etc/hosts")
    assert f"{gateway}\thost.microsandbox.internal" in hosts



def test_editing_resolv_conf_does_not_route_dns_around_the_engine(netmsb, boxes):
    name = boxes.create()
    # The sandbox's root may edit its resolver file (as on any Linux system)…
    netmsb.sh(name, "echo nameserver 9.9.9.9 > /etc/resolv.conf; echo '10.20.0.10 evil' >> /etc/hosts")
    assert "9.9.9.9" in netmsb.sh(name, "cat /etc/resolv.conf")
    # …and its queries still reach only the engine, under the sandbox's policy.
    assert netmsb.probe(name, "resolve", "good.test") == f"ok {PUBLIC}"
    assert netmsb.probe(name, "resolve", "rebind.test") == "NXDOMAIN"


def test_queries_to_any_resolver_are_answered_by_the_engine(netmsb, default_box):
    # 9.9.9.9 is not in the fake internet at all: the answer can only come from the engine.
    assert netmsb.probe(default_box, "resolve", "good.test", "9.9.9.9") == f"ok {PUBLIC}"
    assert netmsb.probe(default_box, "resolve", "good.test", "9.9.9.9", "tcp") == f"ok {PUBLIC}"
    assert netmsb.probe(default_box, "resolve", "other.test") == f"ok {PUBLIC2}"
    assert netmsb.probe(default_box, "resolve", "nosuch.test") == "NXDOMAIN"
    # busybox's resolver agrees.
    assert PUBLIC2 in netmsb.sh(default_box, "nslookup other.test")


def test_connect_by_name(netmsb, default_box):
    # (busybox-static's wget cannot resolve names: glibc's NSS does not work static.)
    out = netmsb.sh(default_box, "nettool connect $(nslookup good.test | awk '/^Address: / {a=$2} END {print a}') 80")
    assert out.strip() == f"ok hello from {PUBLIC}"


def test_host_name_is_the_gateway(netmsb, default_box):
    gateway = netmsb.sh(default_box, "ip route | awk '/default/ {print $3}'").strip()
    assert netmsb.probe(default_box, "resolve", "host.microsandbox.internal") == f"ok {gateway}"
    assert netmsb.probe(default_box, "resolve", "HOST.microsandbox.internal", DNS, "tcp") == f"ok {gateway}"


def test_domain_rule_allows_good_not_bad_with_the_same_address(netmsb, boxes):
    flags = ("--net", "none", "--net-rule", "allow@dns", "--net-rule", "allow@good.test")
    name = boxes.create(*flags)
    # bad.test resolves to good.test's address, but no rule names it: NXDOMAIN.
    assert netmsb.probe(name, "resolve", "bad.test") == "NXDOMAIN"
    # Nothing resolved yet: the address alone is not allowed.
    assert netmsb.probe(name, "connect", PUBLIC, 80) == "unreachable"
    assert netmsb.probe(name, "resolve", "good.test") == f"ok {PUBLIC}"
    assert netmsb.probe(name, "connect", PUBLIC, 80) == f"ok hello from {PUBLIC}"
    assert netmsb.probe(name, "connect", PUBLIC2, 80) == "unreachable"


def test_a_name_resolved_by_someone_else_opens_nothing_here(netmsb, boxes):
    flags = ("--net", "none", "--net-rule", "allow@dns", "--net-rule", "allow@good.test")
    first, second = boxes.create(*flags), boxes.create(*flags)
    assert netmsb.probe(first, "resolve", "good.test") == f"ok {PUBLIC}"
    assert netmsb.probe(first, "connect", PUBLIC, 80).startswith("ok")
    # The second sandbox asks only for bad.test (same address): refused, and the address is
    # still closed to it although the first sandbox resolved good.test to it.
    assert netmsb.probe(second, "resolve", "bad.test") == "NXDOMAIN"
    assert netmsb.probe(second, "connect", PUBLIC, 80) == "unreachable"


def test_cname_target_is_pinned_for_the_alias(netmsb, boxes):
    name = boxes.create("--net", "none", "--net-rule", "allow@dns", "--net-rule", "allow@alias.test")
    assert netmsb.probe(name, "resolve", "alias.test") == f"ok {PUBLIC}"
    assert netmsb.probe(name, "connect", PUBLIC, 80).startswith("ok")


def test_suffix_rule(netmsb, boxes):
    name = boxes.create("--net", "none", "--net-rule", "allow@dns", "--net-rule", "allow@*.test:tcp:80")
    assert netmsb.probe(name, "resolve", "other.test") == f"ok {PUBLIC2}"
    assert netmsb.probe(name, "connect", PUBLIC2, 80).startswith("ok")
    assert netmsb.probe(name, "connect", PUBLIC2, 81) == "unreachable"


def test_rebinding_answers_are_refused(netmsb, default_box):
    for n in ("rebind.test", "meta.test", "loop.test"):
        assert netmsb.probe(default_box, "resolve", n) == "NXDOMAIN", n
    assert "rebind protection" in netmsb.runtime_log(default_box)


def test_a_rule_for_the_range_lets_the_private_answer_through(netmsb, boxes):
    name = boxes.create("--net-rule", "allow@10.20.0.0/16")
    assert netmsb.probe(name, "resolve", "rebind.test") == f"ok {PRIVATE}"
    assert netmsb.probe(name, "connect", PRIVATE, 80) == f"ok hello from {PRIVATE}"


def test_allow_all_has_nothing_to_protect(netmsb, boxes):
    name = boxes.create("--net", "all")
    assert netmsb.probe(name, "resolve", "rebind.test") == f"ok {PRIVATE}"


def test_denied_name_is_nxdomain(netmsb, boxes):
    name = boxes.create("--net-rule", "deny@other.test")
    assert netmsb.probe(name, "resolve", "other.test") == "NXDOMAIN"
    assert netmsb.probe(name, "resolve", "good.test") == f"ok {PUBLIC}"


def test_big_answer_truncates_over_udp_and_completes_over_tcp(netmsb, default_box):
    assert netmsb.probe(default_box, "resolve", "many.test").startswith("TC ok")
    out = netmsb.probe(default_box, "resolve", "many.test", "-", "tcp")
    assert out.startswith("ok ") and len(out.split()) == 121


def test_a_burst_of_tcp_dns_connections_leaves_the_runtime_responsive(netmsb, boxes):
    name = boxes.create()
    # 100 clients at once: some are refused (the engine rations new DNS-over-TCP connections
    # per round so slirp's blocking connect to the interceptor never finds its backlog full),
    # none hangs the runtime, and DNS works afterwards.
    out = netmsb.sh(name, "for i in $(seq 100); do nettool resolve good.test - tcp & done 2>&1; wait",
                    timeout=60)
    assert out.count(f"ok {PUBLIC}") >= 16
    assert netmsb.probe(name, "resolve", "good.test", "-", "tcp") == f"ok {PUBLIC}"
    assert netmsb("ping", name).returncode == 0
