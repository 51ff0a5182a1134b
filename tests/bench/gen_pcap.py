#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write a pcap of pre-encrypted WireGuard data packets (type 4) for the
decrypt-direction benchmark: pktgen replays it toward wg-dpdk's WAN port
(`pktgen ... -s P:decrypt.pcap`, scripts/pktgen/README.md).

Every packet is Ethernet / IPv4 / UDP (peer endpoint -> our listen port) /
a type 4 message whose counter increases by one per packet of its session,
carrying an inner IPv4/UDP packet from the peer's allowed IPs to LAN hosts.

Sessions (keys wg-dpdk must hold for the packets to decrypt):

  --kat nopsk|psk   the session of tests/vectors/handshake_kat.json: the peer
                    is the KAT initiator (si_priv), wg-dpdk the responder
                    (sr_priv), receiver index idx_r, key T_send(initiator).
                    Deterministic: a wg-dpdk that installs the KAT session
                    (a test-only option, not in wg-dpdk yet) accepts it.
  --session IDX:KEY[:ENDPOINT[:INNER_SRC]]   (repeatable) a live session's
                    receiver index (wg-dpdk's local index, decimal) and the
                    peer's sending key (base64 or hex), e.g. read from a
                    lab peer; ENDPOINT is the peer's outer source ip:port,
                    INNER_SRC an address inside its allowed IPs. Packets of
                    several sessions are interleaved (RSS spreads peers).

A replayed pcap repeats its counters: after the first pass wg-dpdk drops the
repeats as replays (after decrypting them). Size --count for one pass of a
trial, or count the replay drops as decrypted work (README).

Inner sizes (--size): the inner IP packet length, 64..MTU, or "imix"
(7 x 64, 4 x 576, 1 x 1420, in that repeating order).

  gen_pcap.py --kat nopsk --size 1420 --count 100000 -o decrypt-1420.pcap \\
      --dst-mac 3c:fd:fe:00:00:01 --dst-ip 198.51.100.1
  gen_pcap.py --plain --size imix --count 12000 -o encrypt-imix.pcap \\
      --dst-mac <LAN port MAC> --plain-dst 10.192.0.1 --plain-dst-count 4096
  gen_pcap.py --selftest
"""

import argparse
import base64
import json
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import wgpkt  # noqa: E402  (pure-python ChaCha20-Poly1305, headers)

KAT = os.path.join(ROOT, "tests", "vectors", "handshake_kat.json")
IMIX = (64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1420)
PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1

try:  # fast path when available; the selftest checks it against wgpkt
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305 as _Fast
except ImportError:  # pragma: no cover
    _Fast = None


def seal(key, counter, plain, fast=True):
    nonce = wgpkt.wg_nonce(counter)
    if fast and _Fast is not None:
        return _Fast(key).encrypt(nonce, plain, b"")
    return wgpkt.aead_encrypt(key, nonce, plain)


def parse_key(s):
    s = s.strip()
    if len(s) == 64:
        k = bytes.fromhex(s)
    else:
        k = base64.b64decode(s, validate=True)
    if len(k) != 32:
        raise ValueError("a key is 32 bytes (base64 or hex)")
    return k


class Session:
    def __init__(self, index, key, endpoint, inner_src):
        self.index = index
        self.key = key
        host, _, port = endpoint.rpartition(":")
        self.src_ip = host
        self.src_port = int(port)
        self.inner_src = inner_src
        self.counter = 0


def kat_session(case, endpoint, inner_src):
    d = json.load(open(KAT))[case]
    key = None
    for label, value in d["steps"]:
        if label.startswith("T_send(initiator)"):
            key = bytes.fromhex(value)
    if key is None:
        raise SystemExit("gen_pcap: no T_send(initiator) in %s" % KAT)
    return Session(d["inputs"]["idx_r"], key, endpoint, inner_src)


def parse_session(spec, default_endpoint, default_inner):
    parts = spec.split(":")
    # ENDPOINT is ip:port, so IDX:KEY:IP:PORT[:INNER_SRC]
    if len(parts) < 2 or len(parts) == 3:
        raise SystemExit("gen_pcap: --session IDX:KEY[:IP:PORT[:INNER_SRC]]")
    endpoint = ":".join(parts[2:4]) if len(parts) >= 4 else default_endpoint
    inner = parts[4] if len(parts) >= 5 else default_inner
    return Session(int(parts[0]), parse_key(parts[1]), endpoint, inner)


def ip4_add(addr, n):
    (v,) = struct.unpack("!I", bytes(int(x) for x in addr.split(".")))
    return ".".join(str(b) for b in struct.pack("!I", (v + n) & 0xFFFFFFFF))


def inner_packet(src, dst, size, seq):
    """An IPv4/UDP packet of exactly size bytes (size >= 28)."""
    payload = struct.pack("!I", seq) + bytes((seq + i) & 0xFF for i in range(size - 32))
    udp = wgpkt.udp_dgram(src, dst, 10000 + seq % 1000, 9, payload)
    return wgpkt.ipv4_hdr(src, dst, len(udp), ident=seq & 0xFFFF) + udp


def frame_for(o, s, size, seq, fast=True):
    dst = ip4_add(o.lan_dst, seq % o.lan_hosts)
    plain = wgpkt.wg_pad(inner_packet(s.inner_src, dst, size, seq), o.mtu)
    msg = struct.pack("<IIQ", wgpkt.MSG_DATA, s.index, s.counter) + seal(s.key, s.counter, plain,
                                                                         fast)
    s.counter += 1
    udp = wgpkt.udp_dgram(s.src_ip, o.dst_ip, s.src_port, o.dst_port, msg)
    ip = wgpkt.ipv4_hdr(s.src_ip, o.dst_ip, len(udp))
    return wgpkt.eth_frame(o.dst_mac, o.src_mac, 0x0800, ip + udp)


def plain_frames(o):
    """Encrypt direction: plain inner frames toward the LAN port, destinations
    spread over --plain-dst-count addresses (the peers' allowed IPs)."""
    sz = sizes(o.size)
    for i in range(o.count):
        size = min(sz[i % len(sz)], o.mtu)
        dst = ip4_add(o.plain_dst, i % o.plain_dst_count)
        yield wgpkt.eth_frame(o.dst_mac, o.src_mac, 0x0800, inner_packet(o.plain_src, dst, size, i))


def sizes(spec):
    if spec == "imix":
        return IMIX
    n = int(spec)
    if not 28 <= n <= 9000:
        raise SystemExit("gen_pcap: --size must be 28..9000 or imix")
    return (n,)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, _, link = struct.unpack("<IHHiIII", data[:24])
    if magic != PCAP_MAGIC or link != LINKTYPE_ETHERNET:
        raise ValueError("not an Ethernet pcap")
    off, out = 24, []
    while off < len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def generate(o, sessions, fast=True):
    sz = sizes(o.size)
    for i in range(o.count):
        s = sessions[i % len(sessions)]
        yield frame_for(o, s, min(sz[i % len(sz)], o.mtu), i, fast)


def options(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kat", choices=("nopsk", "psk"), help="use the KAT session")
    p.add_argument("--session", action="append", default=[],
                   help="IDX:KEY[:IP:PORT[:INNER_SRC]] (repeatable)")
    p.add_argument("--first-counter", type=int, default=0)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--size", default="64", help="inner IP packet bytes, or imix")
    p.add_argument("--mtu", type=int, default=1420, help="wg-dpdk interface.mtu")
    p.add_argument("--src-mac", default="02:00:00:00:00:02", help="the generator's port")
    p.add_argument("--dst-mac", default="02:00:00:00:00:01", help="wg-dpdk's WAN port")
    p.add_argument("--endpoint", default="192.0.2.10:51820",
                   help="default peer endpoint (outer source)")
    p.add_argument("--dst-ip", default="198.51.100.1", help="wg-dpdk's WAN address")
    p.add_argument("--dst-port", type=int, default=51820, help="interface.listen-port")
    p.add_argument("--inner-src", default="10.192.122.3",
                   help="default inner source (inside the peer's allowed IPs)")
    p.add_argument("--lan-dst", default="10.0.0.10", help="first inner destination")
    p.add_argument("--lan-hosts", type=int, default=16, help="inner destinations, from --lan-dst")
    p.add_argument("--plain", action="store_true",
                   help="encrypt direction: plain frames for the LAN port, no session")
    p.add_argument("--plain-src", default="10.0.0.10", help="--plain: inner source (a LAN host)")
    p.add_argument("--plain-dst", default="10.192.0.1",
                   help="--plain: first destination (inside the peers' allowed IPs)")
    p.add_argument("--plain-dst-count", type=int, default=1024, help="--plain: destinations")
    p.add_argument("-o", "--out", help="pcap file to write")
    p.add_argument("--selftest", action="store_true", help="offline checks, exit 0 on success")
    o = p.parse_args(argv)
    if not o.selftest and (o.out is None or
                           (not o.plain and (o.kat is None) == (not o.session))):
        p.error("need -o and exactly one of --plain / --kat / --session")
    return o


# ---------------------------------------------------------------------------
# selftest: known answer (the KAT's data packet) and a decrypted round trip

def check(cond, what):
    if not cond:
        raise SystemExit("gen_pcap selftest FAILED: " + what)


def selftest():
    d = json.load(open(KAT))["nopsk"]
    s = kat_session("nopsk", "192.0.2.10:51820", "10.192.122.3")
    plain = bytes.fromhex(d["data_i2r_plain"])
    for fast in (False, True):
        msg = struct.pack("<IIQ", 4, s.index, 0) + seal(s.key, 0, wgpkt.wg_pad(plain), fast)
        check(msg == bytes.fromhex(d["data_i2r"]), "KAT data packet (fast=%s)" % fast)
    d_r = dict(json.load(open(KAT))["nopsk"]["steps"])
    recv_key = bytes.fromhex(d_r["T_send(initiator) = T_recv(responder)"])
    o = options(["--kat", "nopsk", "-o", "/dev/null", "--count", "40", "--size", "imix",
                 "--first-counter", "5"])
    sessions = [kat_session("nopsk", o.endpoint, o.inner_src)]
    sessions[0].counter = 5
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.pcap")
        write_pcap(path, generate(o, sessions))
        frames = read_pcap(path)
    check(len(frames) == 40, "frame count")
    for i, fr in enumerate(frames):
        f = wgpkt.parse_frame(fr)
        check(f is not None and f.get("dport") == 51820 and f.get("src") == "192.0.2.10",
              "outer headers of frame %d: %r" % (i, f))
        idx, ctr, pt = wgpkt.data_open(recv_key, f["payload"])
        check(idx == sessions[0].index and ctr == 5 + i, "index/counter of frame %d" % i)
        check(pt is not None, "tag of frame %d" % i)
        want = IMIX[i % len(IMIX)]
        tot = struct.unpack("!H", pt[2:4])[0]
        check(tot == want and len(pt) == min(o.mtu, (want + 15) & ~15), "inner size %d" % i)
        check(wgpkt.inet_csum(pt[:20]) == 0, "inner IPv4 checksum %d" % i)
        check(pt[12:16] == bytes([10, 192, 122, 3]), "inner source %d" % i)
        check(pt[16:19] == bytes([10, 0, 0]) and 10 <= pt[19] < 26, "inner destination %d" % i)
    o = options(["--plain", "-o", "/dev/null", "--count", "12", "--size", "imix"])
    for i, fr in enumerate(plain_frames(o)):
        check(len(fr) == 14 + IMIX[i] and fr[30:34] == bytes([10, 192, 0, 1 + i]),
              "plain frame %d" % i)
    print("gen_pcap selftest: KAT packet matches (both AEADs), 40 frames decrypt in order")


def main(argv=None):
    o = options(argv)
    if o.selftest:
        selftest()
        return 0
    if o.plain:
        write_pcap(o.out, plain_frames(o))
        print("%s: %d plain frames, inner size %s" % (o.out, o.count, o.size))
        return 0
    if o.kat:
        sessions = [kat_session(o.kat, o.endpoint, o.inner_src)]
    else:
        sessions = [parse_session(x, o.endpoint, o.inner_src) for x in o.session]
    for s in sessions:
        s.counter = o.first_counter
    write_pcap(o.out, generate(o, sessions))
    print("%s: %d frames, %d session(s), counters %d..%d, inner size %s" % (
        o.out, o.count, len(sessions), o.first_counter,
        o.first_counter + (o.count + len(sessions) - 1) // len(sessions) - 1, o.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
