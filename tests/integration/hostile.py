#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of test_hostile.sh: wg-dpdk's telemetry read straight from its
socket, counter differences, and an initiation flood with valid mac1 whose
cookie replies are captured and checked.

Subcommands:

  tel PREFIX CMD...        one JSON line per telemetry command (the answer's value)
  snap PREFIX OUT [PUB...] /wg/stats and /wg/peer of each PUB into OUT (JSON)
  delta A B [--ignore N,...]
                           "name delta" for every /wg/stats counter that moved from
                           snapshot A to B (names in --ignore left out)
  check PREFIX BEFORE AFTER [PUB...] --want NAME=N[,NAME>=N...] [--noise NAME,...]
        [--base SNAP --same PUB.FIELD,...] [--peer PUB]
                           take snapshot AFTER; the counters of --want moved by exactly
                           N (or at least N) since BEFORE, no other drop_* / hs_*
                           counter moved (but those of --noise) and the /wg/peer fields
                           of --same equal those of --base: exit 0; 3 while a wanted
                           counter is still short (poll again); 1 when a counter moved
                           too much, another one moved or a peer field changed; prints
                           what moved. Per peer ("drops" of /wg/peer): the --peer's
                           counter of each wanted drop_* reason it has moved exactly as
                           much as /wg/stats' (3 while it is ahead: read later), every
                           other per-peer drop counter of every PUB did not move
  sum SNAP NAME,...        the sum of these /wg/stats counters of a snapshot
  field SNAP PATH          a field of a snapshot: stats.NAME, peer.PUB.NAME or
                           peer.PUB.drops.REASON
  pick IN OUT              the first frame of a wgpkt.py capture whose transport data
                           message has a ciphertext (longer than a keepalive)
  frag6 ...                the UDP payload of a captured frame in IPv6 fragments (scapy)
                           to wg-dpdk's MAC; prints the number of fragments sent
  flood ...                initiations with a valid mac1 (HASH("mac1----" || Spub_r)
                           over the first 116 bytes, protocol.md 5.4) and random
                           bodies, one per (source address, source port), sent as raw
                           frames; then listens for the cookie replies, decrypts each
                           (XChaCha20-Poly1305, key HASH("cookie--" || Spub_r), the
                           initiation's mac1 as AAD, libsodium through ctypes) and
                           writes a JSON report (sent, cookie replies valid / invalid /
                           unmatched, the cookies by source)
  mac2 ...                 the same sources again, each initiation carrying a valid
                           mac2 made with the cookie its source received (from the
                           flood report); counts any cookie reply that still comes

Only the standard library, wgpkt.py (beside this file) and libsodium.
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wgpkt  # noqa: E402

MSG_INITIATION = 1
MSG_COOKIE = 3
INITIATION_LEN = 148
COOKIE_LEN = 64
MAC1_OFF = 116
MAC2_OFF = 132

# ---------------------------------------------------------------------------
# Telemetry


def tel_query(prefix, cmds, timeout=10.0):
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    try:
        s.connect(path)
        banner = json.loads(s.recv(1024).decode())
        size = int(banner.get("max_output_len", 16384)) + 1024
        out = []
        for c in cmds:
            s.send(c.encode())
            reply = json.loads(s.recv(size).decode())
            out.append(reply.get(c.split(",")[0]))
        return out
    finally:
        s.close()


def cmd_tel(o):
    for v in tel_query(o.prefix, o.cmd):
        print(json.dumps(v))
    return 0


def cmd_snap(o):
    take_snap(o.prefix, o.pub, o.out)
    return 0


def cmd_delta(o):
    with open(o.a) as f:
        a = json.load(f)["stats"]
    with open(o.b) as f:
        b = json.load(f)["stats"]
    ignore = set(filter(None, (o.ignore or "").split(",")))
    for k in sorted(b):
        d = b[k] - a.get(k, 0)
        if d and k not in ignore:
            print("%s %d" % (k, d))
    return 0


def take_snap(prefix, pubs, out):
    cmds = ["/wg/stats"] + ["/wg/peer," + p for p in pubs]
    res = tel_query(prefix, cmds)
    if not isinstance(res[0], dict):
        raise ValueError("no /wg/stats answer: %r" % (res[0],))
    snap = {"stats": {k: v for k, v in res[0].items() if isinstance(v, int)}, "peer": {}}
    for p, v in zip(pubs, res[1:]):
        if not isinstance(v, dict):
            raise ValueError("no /wg/peer answer for %s: %r" % (p, v))
        snap["peer"][p] = v
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(snap, f)
    os.replace(tmp, out)
    return snap


def cmd_check(o):
    with open(o.before) as f:
        a = json.load(f)["stats"]
    after = take_snap(o.prefix, o.pub, o.after)
    b = after["stats"]
    want = {}
    for w in filter(None, o.want.split(",")):
        if ">=" in w:
            k, n = w.split(">=")
            want[k] = (int(n), False)
        else:
            k, n = w.split("=")
            want[k] = (int(n), True)
        if k not in b:
            raise ValueError("no counter %s in /wg/stats" % k)
    noise = set(filter(None, (o.noise or "").split(",")))
    moved = {k: b[k] - a.get(k, 0) for k in b if b[k] != a.get(k, 0)}
    print(" ".join("%s+%d" % (k, moved[k]) for k in sorted(moved)
                   if k.startswith(("drop_", "hs_"))))
    short = bad = False
    for k, (n, exact) in want.items():
        d = moved.get(k, 0)
        if d < n:
            short = True
        elif exact and d > n:
            print("%s moved by %d, expected %d" % (k, d, n))
            bad = True
    for k, d in moved.items():
        if k.startswith(("drop_", "hs_")) and k not in want and k not in noise:
            print("%s moved by %d, expected 0" % (k, d))
            bad = True
    pb, pa = load_peers(o.before), after["peer"]
    for pub in pa:
        for r, v in pa[pub].get("drops", {}).items():
            d = v - pb.get(pub, {}).get("drops", {}).get(r, 0)
            n = moved.get("drop_" + r, 0) if pub == o.peer and "drop_" + r in want else 0
            if d > n and n > 0:
                short = True
            elif d != n:
                print("peer %s: drop %s moved by %d, expected %d" % (pub, r, d, n))
                bad = True
    if o.base and o.same:
        with open(o.base) as f:
            base = json.load(f)["peer"]
        for s in o.same.split(","):
            pub, name = s.rsplit(".", 1)
            if base[pub][name] != after["peer"][pub][name]:
                print("peer %s: %s changed from %r to %r" % (pub, name, base[pub][name],
                                                             after["peer"][pub][name]))
                bad = True
    return 1 if bad else 3 if short else 0


def load_peers(path):
    with open(path) as f:
        return json.load(f)["peer"]


def cmd_field(o):
    with open(o.snap) as f:
        v = json.load(f)
    parts = o.path.split(".")
    if parts[0] == "peer":
        v = v["peer"][parts[1]]
        for k in parts[2:]:
            v = v[k]
    else:
        v = v[parts[0]][parts[1]]
    print(v)
    return 0


def cmd_sum(o):
    with open(o.snap) as f:
        st = json.load(f)["stats"]
    print(sum(st[k] for k in o.names.split(",")))
    return 0


def cmd_pick(o):
    with open(o.inp) as f:
        for line in f:
            fr = bytes.fromhex(line.strip()) if line.strip() else b""
            p = wgpkt.parse_frame(fr) if fr else None
            if p and len(p["payload"]) > 32 and p["payload"][:4] == b"\x04\0\0\0":
                with open(o.out, "w") as g:
                    g.write(line.strip() + "\n")
                return 0
    print("no transport data message with a ciphertext in %s" % o.inp, file=sys.stderr)
    return 1


def cmd_frag6(o):
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import sendp

    with open(o.from_file) as f:
        frame = bytes.fromhex(f.readline().strip())
    p = wgpkt.parse_frame(frame)
    if p is None:
        raise ValueError("%s: not a UDP frame" % o.from_file)
    if o.netns:
        wgpkt.enter_netns(o.netns)
    pkt = (IPv6(src=o.src, dst=o.dst) / IPv6ExtHdrFragment(id=random.randrange(1 << 32))
           / UDP(sport=o.sport, dport=p["dport"]) / p["payload"])
    frags = fragment6(pkt, o.size)
    eth = Ether(src=wgpkt.iface_mac(o.iface), dst=p["dst_mac"])
    sendp([eth / fr for fr in frags], iface=o.iface, verbose=False)
    print(len(frags))
    return 0


# ---------------------------------------------------------------------------
# Initiations, mac1 / mac2, cookie replies


def blake2s_hash(data):
    return hashlib.blake2s(data).digest()


def mac16(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


class Sodium:
    def __init__(self):
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0:
            raise OSError("sodium_init failed")
        f = self.lib.crypto_aead_xchacha20poly1305_ietf_decrypt
        f.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_ulonglong), ctypes.c_void_p,
                      ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_ulonglong,
                      ctypes.c_char_p, ctypes.c_char_p]
        f.restype = ctypes.c_int

    def xopen(self, key, nonce, ct, aad):
        out = ctypes.create_string_buffer(max(1, len(ct)))
        n = ctypes.c_ulonglong(0)
        r = self.lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, ctypes.byref(n), None, ct, len(ct), aad, len(aad), nonce, key)
        return out.raw[:n.value] if r == 0 else None


def initiation(rnd, mac1_key, cookie=None):
    """A 148-byte type 1 message: random sender index and body, valid mac1,
    mac2 valid for cookie (or zero)."""
    idx = rnd.randrange(1, 1 << 32)
    body = struct.pack("<II", MSG_INITIATION, idx) + bytes(rnd.randrange(256) for _ in range(108))
    msg = body + mac16(mac1_key, body)
    msg += mac16(cookie, msg) if cookie else bytes(16)
    assert len(msg) == INITIATION_LEN
    return idx, msg


def sources(o):
    """(address, port) pairs: every address in turn, ports counting up."""
    addrs = o.srcs.split(",")
    return [(addrs[i % len(addrs)], o.sport_base + i // len(addrs)) for i in range(o.count)]


def send_and_listen(o, frames, expect):
    """Send frames on o.iface, then collect cookie replies from o.dst:o.dport to the
    (address, port) keys of expect until none came for o.quiet seconds."""
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    rx.bind((o.iface, 0))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    tx.bind((o.iface, 0))
    for i, f in enumerate(frames):
        tx.send(f)
        if o.burst and (i + 1) % o.burst == 0 and o.pause:
            time.sleep(o.pause)
    tx.close()
    replies = []
    end = time.monotonic() + o.deadline
    last = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end or now - last >= o.quiet:
            break
        if not select.select([rx], [], [], min(end, last + o.quiet) - now)[0]:
            continue
        frame, addr = rx.recvfrom(65535)
        if addr[2] == wgpkt.PACKET_OUTGOING:
            continue
        p = wgpkt.parse_frame(frame)
        if not p or p["src"] != o.dst or p["sport"] != o.dport:
            continue
        if (p["dst"], p["dport"]) not in expect:
            continue
        last = time.monotonic()
        replies.append(p)
    rx.close()
    return replies


def check_cookies(o, replies, expect, pub):
    """Classify the replies against the initiations sent (expect: (addr, port) ->
    (sender index, mac1)); returns the report and the cookies by source."""
    sodium = Sodium()
    ckey = blake2s_hash(b"cookie--" + pub)
    rep = {"replies": len(replies), "valid": 0, "invalid": 0, "not_cookie": 0}
    cookies = {}
    for p in replies:
        m = p["payload"]
        if len(m) != COOKIE_LEN or struct.unpack("<I", m[:4])[0] != MSG_COOKIE:
            rep["not_cookie"] += 1
            continue
        idx, mac1 = expect[(p["dst"], p["dport"])]
        cookie = None
        if struct.unpack("<I", m[4:8])[0] == idx:
            cookie = sodium.xopen(ckey, m[8:32], m[32:64], mac1)
        if cookie is None or len(cookie) != 16:
            rep["invalid"] += 1
            continue
        rep["valid"] += 1
        cookies["%s:%d" % (p["dst"], p["dport"])] = cookie.hex()
    return rep, cookies


def build(o, cookies=None):
    pub = wgpkt.parse_key(o.pub)
    mac1_key = blake2s_hash(b"mac1----" + pub)
    rnd = random.Random(o.seed)
    src_mac = wgpkt.iface_mac(o.iface)
    frames, expect = [], {}
    for addr, port in sources(o):
        cookie = None
        if cookies is not None:
            c = cookies.get("%s:%d" % (addr, port))
            if c is None:
                continue
            cookie = bytes.fromhex(c)
        idx, msg = initiation(rnd, mac1_key, cookie)
        expect[(addr, port)] = (idx, msg[MAC1_OFF:MAC2_OFF])
        udp = wgpkt.udp_dgram(addr, o.dst, port, o.dport, msg)
        ip = wgpkt.ipv4_hdr(addr, o.dst, len(udp), ident=rnd.randrange(1, 0x10000), frag=0x4000)
        frames.append(wgpkt.eth_frame(o.dst_mac, src_mac, 0x0800, ip + udp))
    return pub, frames, expect


def cmd_flood(o):
    if o.netns:
        wgpkt.enter_netns(o.netns)
    pub, frames, expect = build(o)
    replies = send_and_listen(o, frames, expect)
    rep, cookies = check_cookies(o, replies, expect, pub)
    rep["sent"] = len(frames)
    rep["cookies"] = cookies
    with open(o.out, "w") as f:
        json.dump(rep, f)
    print("sent %d, replies %d, valid cookies %d, invalid %d, not cookies %d"
          % (rep["sent"], rep["replies"], rep["valid"], rep["invalid"], rep["not_cookie"]))
    return 0


def cmd_mac2(o):
    with open(o.cookies) as f:
        cookies = json.load(f)["cookies"]
    if o.netns:
        wgpkt.enter_netns(o.netns)
    pub, frames, expect = build(o, cookies)
    replies = send_and_listen(o, frames, expect)
    rep = {"sent": len(frames), "replies": len(replies)}
    with open(o.out, "w") as f:
        json.dump(rep, f)
    print("sent %d initiations with a valid mac2, %d replies" % (rep["sent"], rep["replies"]))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Subcommands"):])
    sub = ap.add_subparsers(dest="sub", required=True)
    t = sub.add_parser("tel")
    t.add_argument("prefix")
    t.add_argument("cmd", nargs="+")
    s = sub.add_parser("snap")
    s.add_argument("prefix")
    s.add_argument("out")
    s.add_argument("pub", nargs="*")
    d = sub.add_parser("delta")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--ignore")
    c = sub.add_parser("check")
    c.add_argument("prefix")
    c.add_argument("before")
    c.add_argument("after", help="written: the new snapshot")
    c.add_argument("pub", nargs="*")
    c.add_argument("--want", required=True)
    c.add_argument("--noise")
    c.add_argument("--base", help="snapshot for --same")
    c.add_argument("--same", help="PUB.FIELD,...: /wg/peer fields equal to --base")
    c.add_argument("--peer", help="PUB whose drop counters must follow the wanted drop_*")
    fl = sub.add_parser("field")
    fl.add_argument("snap")
    fl.add_argument("path")
    sm = sub.add_parser("sum")
    sm.add_argument("snap")
    sm.add_argument("names")
    p = sub.add_parser("pick")
    p.add_argument("inp")
    p.add_argument("out")
    f6 = sub.add_parser("frag6")
    f6.add_argument("--netns")
    f6.add_argument("--iface", required=True)
    f6.add_argument("--from-file", required=True)
    f6.add_argument("--src", required=True)
    f6.add_argument("--dst", required=True)
    f6.add_argument("--sport", type=int, default=40000)
    f6.add_argument("--size", type=int, default=48, help="fragment size (scapy fragment6)")
    for name in ("flood", "mac2"):
        f = sub.add_parser(name)
        f.add_argument("--netns")
        f.add_argument("--iface", required=True)
        f.add_argument("--dst-mac", required=True)
        f.add_argument("--dst", required=True, help="wg-dpdk's WAN address")
        f.add_argument("--dport", type=int, default=51820)
        f.add_argument("--pub", required=True, help="wg-dpdk's public key (base64)")
        f.add_argument("--srcs", required=True, help="source addresses, comma separated")
        f.add_argument("--sport-base", type=int, default=20000)
        f.add_argument("--count", type=int, default=1000)
        f.add_argument("--seed", type=int, default=1)
        f.add_argument("--burst", type=int, default=0, help="pause after every BURST frames")
        f.add_argument("--pause", type=float, default=0.0)
        f.add_argument("--quiet", type=float, default=2.0,
                       help="stop listening after this many seconds without a reply")
        f.add_argument("--deadline", type=float, default=20.0)
        f.add_argument("--out", required=True)
        if name == "mac2":
            f.add_argument("--cookies", required=True, help="the flood's report")
    o = ap.parse_args(argv)
    fn = {"tel": cmd_tel, "snap": cmd_snap, "delta": cmd_delta, "check": cmd_check,
          "field": cmd_field, "sum": cmd_sum, "pick": cmd_pick, "frag6": cmd_frag6,
          "flood": cmd_flood, "mac2": cmd_mac2}[o.sub]
    try:
        return fn(o)
    except (ValueError, OSError, KeyError) as e:
        print("hostile.py: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
