"""The fake internet of the network tests: one process, run inside a test network namespace,
serving
  - TCP port 80 on every address: greets with "hello from <the address dialled>\\n", then
    reads until the client closes;
  - UDP port 7 on every address: answers "echo <the address dialled> <data>";
  - DNS on --dns ADDR (UDP and TCP port 53): the zone below, NXDOMAIN for anything else,
    every answer over UDP whatever its size (the interceptor must cope).

Run: python3 world.py --dns 198.51.100.53 [--tcp-only PORT --bind ADDR]  (prints "ready")
Stdlib only; exits when stdin closes, so a test that dies takes it along.
"""

import argparse
import socket
import struct
import sys
import threading

ZONE = {
    "good.test": ["203.0.113.10"],
    "bad.test": ["203.0.113.10"],  # the same address as good.test
    "other.test": ["203.0.113.11"],
    "rebind.test": ["10.20.0.10"],
    "meta.test": ["169.254.169.254"],
    "loop.test": ["127.0.0.1"],
    "many.test": [f"203.0.113.{i}" for i in range(1, 121)],  # too big for one UDP answer
}
CNAMES = {"alias.test": "good.test"}


def name_bytes(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_question(msg):
    off, labels = 12, []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode().lower())
        off += 1 + n
    qtype, qclass = struct.unpack(">HH", msg[off + 1:off + 5])
    return ".".join(labels), qtype, qclass, off + 5


def answer(msg):
    name, qtype, _qclass, end = read_question(msg)
    (qid,) = struct.unpack(">H", msg[:2])
    target = CNAMES.get(name, name)
    addrs = ZONE.get(target)
    records = b""
    count = 0
    if addrs is None:
        rcode = 3
    else:
        rcode = 0
        if target != name:
            rdata = name_bytes(target)
            records += b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 300, len(rdata)) + rdata
            count += 1
        if qtype == 1:
            for a in addrs:
                records += (name_bytes(target) if target != name else b"\xc0\x0c")
                records += struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(a)
                count += 1
    flags = 0x8180 | rcode
    return struct.pack(">HHHHHH", qid, flags, 1, count, 0, 0) + msg[12:end] + records


def bind_udp(addr, port, pktinfo=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if pktinfo:
        s.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO: learn the address dialled
    s.bind((addr, port))
    return s


def bind_tcp(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    return ls


def serve_dns_udp(s):
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(msg), peer)
        except Exception:  # noqa: BLE001 — a malformed query just gets no answer
            pass


def serve_dns_tcp(ls):
    while True:
        c, _ = ls.accept()
        threading.Thread(target=dns_tcp_client, args=(c,), daemon=True).start()


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def dns_tcp_client(c):
    with c:
        while True:
            head = recv_exact(c, 2)
            if head is None:
                return
            msg = recv_exact(c, struct.unpack(">H", head)[0])
            if msg is None:
                return
            out = answer(msg)
            c.sendall(struct.pack(">H", len(out)) + out)


def serve_tcp(ls):
    while True:
        c, _ = ls.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()


def tcp_client(c):
    with c:
        try:
            c.sendall(f"hello from {c.getsockname()[0]}\n".encode())
            while c.recv(4096):
                pass
        except OSError:
            pass


def serve_udp(s):
    while True:
        data, anc, _flags, peer = s.recvmsg(4096, 256)
        local = "?"
        for level, kind, payload in anc:
            if level == socket.IPPROTO_IP and kind == 8:
                local = socket.inet_ntoa(payload[8:12])
        # Answer from the address dialled (a connected client ignores anything else).
        pktinfo = struct.pack("=I4s4s", 0, socket.inet_aton(local), b"\0" * 4) if local != "?" else None
        s.sendmsg([b"echo " + local.encode() + b" " + data],
                  [(socket.IPPROTO_IP, 8, pktinfo)] if pktinfo else [], 0, peer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dns")
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--tcp-port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=7)
    args = ap.parse_args()
    # Every socket is bound before "ready": the test may dial at once.
    servers = [(serve_tcp, bind_tcp(args.bind, args.tcp_port))]
    if args.udp_port:
        servers.append((serve_udp, bind_udp(args.bind, args.udp_port, pktinfo=True)))
    if args.dns:
        servers += [(serve_dns_udp, bind_udp(args.dns, 53)), (serve_dns_tcp, bind_tcp(args.dns, 53))]
    for fn, sock in servers:
        threading.Thread(target=fn, args=(sock,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
