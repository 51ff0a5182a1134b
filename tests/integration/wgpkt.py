#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Craft WireGuard transport-data (type 4) packets, valid or hostile, and send
them as raw Ethernet frames; standard library only (pure-python
ChaCha20-Poly1305, RFC 8439), so it runs under any python3.

Subcommands (run with -h for the options of each):

  selftest   offline checks: RFC 8439 vectors, the WireGuard KAT data packets
             of tests/vectors/handshake_kat.json rebuilt from their inputs,
             round trips, every variant's framing (checksums, lengths,
             fragment reassembly); exit 0 when all pass
  build      print a type 4 message (hex) from key, receiver index, counter
             and plaintext
  decrypt    print the plaintext (hex) of a type 4 message, exit 1 if the tag
             does not verify
  send       build a message, wrap it in UDP/IP/Ethernet with a variant and
             send it on an interface (AF_PACKET), optionally inside a network
             namespace (--netns); --dry-run prints the frames (hex) instead
  capture    record frames of UDP port P on an interface to a file (one hex
             frame a line), for `send --from-file` (replay, or variants of a
             real packet)

Variants (send --variant):
  ok              a valid message
  flip-hdr        flip bit --bit (default 32: receiver index) of the 16-byte header
  flip-ct         flip bit --bit (default 0) of the ciphertext
  flip-tag        flip bit --bit (default 0) of the tag
  truncate        drop --cut bytes (default 1) from the end of the message
  oversize        plaintext padded so that the UDP payload is --size bytes
                  (default: fills a 1500-byte outer MTU); valid tag
  udp-len-long / udp-len-short   UDP length field +/- --delta (default 8)
  ip-len-long / ip-len-short     IPv4 total length (IPv6 payload length) +/- --delta
  bad-ihl         IPv4 IHL nibble set to --ihl (default 4) over a 20-byte header
  ip-options      a valid IPv4 header with 4 bytes of NOP options (IHL 6)
  bad-ip-csum / bad-udp-csum     wrong IPv4 header / UDP checksum
  frag            outer IPv4 fragments of --frag-size bytes (multiple of 8),
                  --frag-order inorder|reverse, --frag-drop-last
  replay          the same frame sent --count times (default 2)

Length options (send, with any variant but frag):
  --append N      N zero bytes appended to the message (UDP and IP lengths cover them)
  --trailer N     N zero bytes after the UDP datagram, inside the IP packet (the IP
                  length covers them, the UDP length does not)
  --pad-frame N   N zero bytes after the IP packet (the frame is longer than the IP
                  total length / IPv6 payload length say)
  --frame-len N   the frame cut to its first N bytes (truncated headers)
  --proto N       IPv4 protocol / IPv6 next header (default 17, UDP)

Examples:
  wgpkt.py build --key HEX --index 1432778632 --counter 0 --plain 4500...
  ip netns exec NS wgpkt.py send --iface veth0 --dst-mac 02:..  --src 10.0.0.1 \\
      --dst 10.0.0.2 --dport 51820 --key B64 --index 7 --counter 5 \\
      --inner-ping 10.9.0.1 10.9.0.2 --variant flip-tag
  wgpkt.py capture --netns NS --iface veth0 --port 51820 --count 1 --out f.hex &
  wgpkt.py send --netns NS --iface veth0 --from-file f.hex --variant replay
"""

import argparse
import base64
import ctypes
import hmac
import json
import os
import random
import select
import socket
import struct
import sys
import time

# ---------------------------------------------------------------------------
# ChaCha20-Poly1305 (RFC 8439)

_M32 = 0xFFFFFFFF


def _rotl(v, c):
    return ((v << c) & _M32) | (v >> (32 - c))


def chacha20_block(key, counter, nonce):
    """One 64-byte ChaCha20 block: 32-byte key, 32-bit counter, 12-byte nonce."""
    init = ([0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
            + list(struct.unpack("<8I", key)) + [counter & _M32]
            + list(struct.unpack("<3I", nonce)))
    s = init[:]

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & _M32
        s[d] = _rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & _M32
        s[b] = _rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & _M32
        s[d] = _rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & _M32
        s[b] = _rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12)
        qr(1, 5, 9, 13)
        qr(2, 6, 10, 14)
        qr(3, 7, 11, 15)
        qr(0, 5, 10, 15)
        qr(1, 6, 11, 12)
        qr(2, 7, 8, 13)
        qr(3, 4, 9, 14)
    return struct.pack("<16I", *[(x + y) & _M32 for x, y in zip(s, init)])


def chacha20_xor(key, counter, nonce, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        chunk = data[i:i + 64]
        ks = chacha20_block(key, counter + i // 64, nonce)[:len(chunk)]
        x = int.from_bytes(chunk, "little") ^ int.from_bytes(ks, "little")
        out += x.to_bytes(len(chunk), "little")
    return bytes(out)


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:32], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(b):
    return b"\0" * (-len(b) % 16)


def _aead_tag(key, nonce, aad, ct):
    otk = chacha20_block(key, 0, nonce)[:32]
    return poly1305(otk, aad + _pad16(aad) + ct + _pad16(ct)
                    + struct.pack("<QQ", len(aad), len(ct)))


def aead_encrypt(key, nonce, plaintext, aad=b""):
    """ChaCha20-Poly1305 with a raw 96-bit nonce: returns ciphertext || tag."""
    ct = chacha20_xor(key, 1, nonce, plaintext)
    return ct + _aead_tag(key, nonce, aad, ct)


def aead_decrypt(key, nonce, data, aad=b""):
    """Returns the plaintext, or None if data is shorter than a tag or the tag is wrong."""
    if len(data) < 16:
        return None
    ct, tag = data[:-16], data[-16:]
    if not hmac.compare_digest(_aead_tag(key, nonce, aad, ct), tag):
        return None
    return chacha20_xor(key, 1, nonce, ct)


def wg_nonce(counter):
    """protocol.md 1.6: 4 zero bytes || LE64(counter)."""
    return b"\0\0\0\0" + struct.pack("<Q", counter)


# ---------------------------------------------------------------------------
# WireGuard type 4

MSG_DATA = 4
DATA_HDR_LEN = 16
TAG_LEN = 16
TUNNEL_MTU = 1420


def wg_pad(plain, mtu=TUNNEL_MTU):
    """protocol.md 9.1 padding, for L <= M: zero bytes up to min(M, roundup16(L))."""
    n = len(plain)
    pad_to = min(mtu, (n + 15) & ~15) if mtu else (n + 15) & ~15
    return plain + b"\0" * max(0, pad_to - n)


def data_msg(key, index, counter, plain):
    """A type 4 message; plain is used as given (pad it with wg_pad first)."""
    hdr = struct.pack("<IIQ", MSG_DATA, index, counter)
    return hdr + aead_encrypt(key, wg_nonce(counter), plain)


def data_open(key, msg):
    """(index, counter, plaintext) of a type 4 message; plaintext None if it does not verify."""
    if len(msg) < DATA_HDR_LEN + TAG_LEN:
        return None, None, None
    typ, index, counter = struct.unpack("<IIQ", msg[:DATA_HDR_LEN])
    if typ != MSG_DATA:
        return index, counter, None
    return index, counter, aead_decrypt(key, wg_nonce(counter), msg[DATA_HDR_LEN:])


# ---------------------------------------------------------------------------
# Inner and outer packets

def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_hdr(src, dst, payload_len, proto=17, ident=0, frag=0, ttl=64, ihl=None,
             tot_len=None, options=b"", bad_csum=False):
    """frag: the 16-bit flags/fragment-offset field. ihl overrides the IHL nibble."""
    hl = 20 + len(options)
    if ihl is None:
        ihl = hl // 4
    if tot_len is None:
        tot_len = hl + payload_len
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 15), 0, tot_len & 0xFFFF, ident,
                    frag, ttl, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    h += options
    c = inet_csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return h[:10] + struct.pack("!H", c) + h[12:]


def ipv6_hdr(src, dst, payload_len, nh=17, hlim=64):
    """payload_len is written as given (masked to 16 bits), so it may disagree."""
    return (struct.pack("!IHBB", 6 << 28, payload_len & 0xFFFF, nh, hlim)
            + socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst))


def _is_v6(addr):
    return ":" in addr


def udp_dgram(src, dst, sport, dport, payload, udp_len=None, bad_csum=False):
    """UDP header + payload, checksum over the IPv4/IPv6 pseudo-header."""
    length = 8 + len(payload)
    if udp_len is None:
        udp_len = length
    if _is_v6(src):
        pseudo = (socket.inet_pton(socket.AF_INET6, src)
                  + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", length, 17))
    else:
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", 17, length)
    u = struct.pack("!HHHH", sport, dport, udp_len & 0xFFFF, 0) + payload
    c = inet_csum(pseudo + u) or 0xFFFF
    if bad_csum:
        c ^= 0x5A5A
    return u[:6] + struct.pack("!H", c) + u[8:]


def inner_ping(src, dst, payload=b"wgpkt", ident=0x7767, seq=1):
    """An ICMP (IPv4) or ICMPv6 echo request from src to dst."""
    if _is_v6(src):
        icmp = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                  + struct.pack("!IxxxB", len(icmp), 58))
        icmp = icmp[:2] + struct.pack("!H", inet_csum(pseudo + icmp)) + icmp[4:]
        return ipv6_hdr(src, dst, len(icmp), nh=58) + icmp
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", inet_csum(icmp)) + icmp[4:]
    return ipv4_hdr(src, dst, len(icmp), proto=1) + icmp


def mac_bytes(mac):
    b = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(b) != 6:
        raise ValueError("bad MAC address %r" % mac)
    return b


def eth_frame(dst_mac, src_mac, ethertype, payload):
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ethertype) + payload


def ipv4_fragments(src, dst, proto, payload, size, ident, order="inorder", drop_last=False):
    """Split an IPv4 payload into fragments carrying size bytes (multiple of 8) each."""
    if size <= 0 or size % 8:
        raise ValueError("fragment size must be a positive multiple of 8")
    frags = []
    for off in range(0, len(payload), size):
        piece = payload[off:off + size]
        mf = 0x2000 if off + size < len(payload) else 0
        frags.append(ipv4_hdr(src, dst, len(piece), proto=proto, ident=ident,
                              frag=mf | (off // 8)) + piece)
    if drop_last and len(frags) > 1:
        frags.pop()
    if order == "reverse":
        frags.reverse()
    return frags


def parse_frame(frame):
    """-> dict(dst_mac, src_mac, src, dst, sport, dport, payload) of a non-fragmented
    IPv4/IPv6 UDP frame, or None."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    r = {"dst_mac": frame[0:6].hex(":"), "src_mac": frame[6:12].hex(":")}
    ip = frame[14:]
    if et == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        frag = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != 17 or frag & 0x3FFF or ihl < 20 or tot > len(ip):
            return None
        r["src"], r["dst"] = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        udp = ip[ihl:tot]
    elif et == 0x86DD and len(ip) >= 40:
        if ip[6] != 17:
            return None
        plen = struct.unpack("!H", ip[4:6])[0]
        r["src"] = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        r["dst"] = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        udp = ip[40:40 + plen]
    else:
        return None
    if len(udp) < 8:
        return None
    r["sport"], r["dport"], ulen = struct.unpack("!HHH", udp[:6])
    r["payload"] = udp[8:ulen] if 8 <= ulen <= len(udp) else udp[8:]
    return r


# ---------------------------------------------------------------------------
# Variants

VARIANTS = ("ok", "flip-hdr", "flip-ct", "flip-tag", "truncate", "oversize",
            "udp-len-long", "udp-len-short", "ip-len-long", "ip-len-short", "bad-ihl",
            "ip-options", "bad-ip-csum", "bad-udp-csum", "frag", "replay")


def _flip(b, bit):
    b = bytearray(b)
    b[bit // 8 % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def mutate_msg(msg, variant, bit=None, cut=1):
    """Apply a message-level variant to a type 4 message."""
    if variant == "flip-hdr":
        return _flip(msg[:16], 32 if bit is None else bit) + msg[16:]
    if variant == "flip-ct":
        if len(msg) <= 32:
            raise ValueError("flip-ct: the message has no ciphertext (keepalive)")
        ct = _flip(msg[16:-16], bit or 0)
        return msg[:16] + ct + msg[-16:]
    if variant == "flip-tag":
        return msg[:-16] + _flip(msg[-16:], bit or 0)
    if variant == "truncate":
        return msg[:max(0, len(msg) - cut)]
    return msg


def build_frames(o, msg):
    """Wrap a UDP payload into Ethernet frames according to o.variant."""
    v = o.variant
    v6 = _is_v6(o.src)
    if v6 != _is_v6(o.dst):
        raise ValueError("--src and --dst must be the same family")
    if v6 and v in ("bad-ihl", "ip-options", "bad-ip-csum", "frag"):
        raise ValueError("variant %s needs IPv4 outer addresses" % v)
    ulen = None
    if v == "udp-len-long":
        ulen = 8 + len(msg) + o.delta
    elif v == "udp-len-short":
        ulen = 8 + len(msg) - o.delta
    udp = udp_dgram(o.src, o.dst, o.sport, o.dport, msg, udp_len=ulen,
                    bad_csum=(v == "bad-udp-csum"))
    udp += bytes(getattr(o, "trailer", 0) or 0)
    proto = getattr(o, "proto", None)
    proto = 17 if proto is None else proto
    ident = o.ip_id if o.ip_id is not None else random.randrange(1, 0x10000)
    if v6:
        plen = len(udp) + {"ip-len-long": o.delta, "ip-len-short": -o.delta}.get(v, 0)
        ip = ipv6_hdr(o.src, o.dst, plen, nh=proto) + udp
        return [_frame_len(o, eth_frame(o.dst_mac, o.src_mac, 0x86DD, ip))]
    if v == "frag":
        return [eth_frame(o.dst_mac, o.src_mac, 0x0800, f)
                for f in ipv4_fragments(o.src, o.dst, 17, udp, o.frag_size, ident,
                                        o.frag_order, o.frag_drop_last)]
    kw = {}
    if v == "ip-len-long":
        kw["tot_len"] = 20 + len(udp) + o.delta
    elif v == "ip-len-short":
        kw["tot_len"] = 20 + len(udp) - o.delta
    elif v == "bad-ihl":
        kw["ihl"] = o.ihl
    elif v == "ip-options":
        kw["options"] = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    elif v == "bad-ip-csum":
        kw["bad_csum"] = True
    ip = ipv4_hdr(o.src, o.dst, len(udp), proto=proto, ident=ident, frag=0x4000, **kw) + udp
    return [_frame_len(o, eth_frame(o.dst_mac, o.src_mac, 0x0800, ip))]


def _frame_len(o, frame):
    """--pad-frame, then --frame-len: a frame longer or shorter than its headers say."""
    frame += bytes(getattr(o, "pad_frame", 0) or 0)
    n = getattr(o, "frame_len", None)
    return frame if n is None else frame[:n]


# ---------------------------------------------------------------------------
# Raw sockets and namespaces

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
CLONE_NEWNET = 0x40000000


def enter_netns(name):
    path = name if "/" in name else "/run/netns/" + name
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "setns"):
            os.setns(fd, CLONE_NEWNET)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns(%s): %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def iface_mac(iface):
    """The MAC address of iface in the current network namespace (sysfs may belong
    to another one after setns)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        s.bind((iface, 0))
        return s.getsockname()[4].hex(":")
    finally:
        s.close()


def send_frames(iface, frames, count=1, interval=0.0):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        s.bind((iface, 0))
        n = 0
        for i in range(count):
            for f in frames:
                s.send(f)
                n += 1
            if interval and i + 1 < count:
                time.sleep(interval)
        return n
    finally:
        s.close()


def capture(iface, port, count, timeout, out, wgtype=None, direction="any", ready=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    if ready:
        open(ready, "w").close()
    got = []
    end = time.monotonic() + timeout
    while len(got) < count:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        frame, addr = s.recvfrom(65535)
        outgoing = addr[2] == PACKET_OUTGOING
        if direction == "in" and outgoing or direction == "out" and not outgoing:
            continue
        p = parse_frame(frame)
        if not p or port not in (p["sport"], p["dport"]):
            continue
        if wgtype is not None and (len(p["payload"]) < 4
                                   or struct.unpack("<I", p["payload"][:4])[0] != wgtype):
            continue
        got.append(frame)
    s.close()
    with open(out, "w") as f:
        for fr in got:
            f.write(fr.hex() + "\n")
    return len(got)


# ---------------------------------------------------------------------------
# Command line

def parse_key(s):
    s = s.strip()
    try:
        k = bytes.fromhex(s)
    except ValueError:
        k = base64.b64decode(s, validate=True)
    if len(k) != 32:
        raise ValueError("a key is 32 bytes (64 hex digits or 44 base64 characters)")
    return k


def _msg_from_args(o):
    """The UDP payload to send (before message-level variants)."""
    if o.raw_msg is not None:
        return bytes.fromhex(o.raw_msg)
    if o.key is None or o.index is None:
        raise ValueError("--key and --index are needed (or --raw-msg / --from-file)")
    key = parse_key(o.key)
    if o.inner_ping:
        plain = inner_ping(o.inner_ping[0], o.inner_ping[1])
    else:
        plain = bytes.fromhex(o.plain or "")
    if not o.no_pad:
        plain = wg_pad(plain, o.mtu)
    if o.variant == "oversize":
        size = o.size or (1472 if not _is_v6(o.dst or "") else 1452)
        if size < 32 + len(plain):
            raise ValueError("--size %d is smaller than the message" % size)
        plain += b"\0" * (size - 32 - len(plain))
    return data_msg(key, o.index, o.counter, plain)


def cmd_build(o):
    o.variant = "ok" if not o.size else "oversize"
    o.raw_msg = None
    o.dst = None
    print(_msg_from_args(o).hex())
    return 0


def cmd_decrypt(o):
    idx, ctr, plain = data_open(parse_key(o.key), bytes.fromhex(o.msg))
    if plain is None:
        print("does not verify", file=sys.stderr)
        return 1
    print(plain.hex())
    if o.verbose:
        print("index=%s counter=%s len=%d" % (idx, ctr, len(plain)), file=sys.stderr)
    return 0


def cmd_send(o):
    if o.netns:
        enter_netns(o.netns)
    frames_src = None
    if o.from_file:
        with open(o.from_file) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        if not lines:
            raise ValueError("%s holds no frame" % o.from_file)
        p = parse_frame(bytes.fromhex(lines[o.line]))
        if p is None:
            raise ValueError("line %d of %s is not a UDP frame" % (o.line, o.from_file))
        frames_src = p
        o.src = o.src or p["src"]
        o.dst = o.dst or p["dst"]
        o.sport = o.sport or p["sport"]
        o.dport = o.dport or p["dport"]
        o.src_mac = o.src_mac or p["src_mac"]
        o.dst_mac = o.dst_mac or p["dst_mac"]
    if not o.src or not o.dst:
        raise ValueError("--src and --dst are needed")
    o.sport = o.sport or 51820
    o.dport = o.dport or 51820
    if not o.src_mac:
        o.src_mac = iface_mac(o.iface) if o.iface else "02:00:00:00:00:01"
    o.dst_mac = o.dst_mac or "ff:ff:ff:ff:ff:ff"
    count = o.count if o.count is not None else (2 if o.variant == "replay" else 1)
    frames = []
    # With --counter-step, each of the count messages gets its own counter.
    n_msgs = count if o.counter_step and frames_src is None else 1
    for i in range(n_msgs):
        msg = frames_src["payload"] if frames_src else _msg_from_args(o)
        msg = mutate_msg(msg, o.variant, o.bit, o.cut) + bytes(o.append)
        frames += build_frames(o, msg)
        o.counter += o.counter_step
    reps = 1 if n_msgs > 1 else count
    if o.dry_run:
        for _ in range(reps):
            for f in frames:
                print(f.hex())
        return 0
    if not o.iface:
        raise ValueError("--iface is needed (or --dry-run)")
    n = send_frames(o.iface, frames, reps, o.interval)
    if o.verbose:
        print("sent %d frames on %s" % (n, o.iface), file=sys.stderr)
    return 0


def cmd_capture(o):
    if o.netns:
        enter_netns(o.netns)
    n = capture(o.iface, o.port, o.count, o.timeout, o.out, o.type, o.direction, o.ready)
    if o.verbose:
        print("captured %d frames" % n, file=sys.stderr)
    return 0 if n >= o.count else 1


# ---------------------------------------------------------------------------
# Self test

_HERE = os.path.dirname(os.path.abspath(__file__))
_KAT = os.path.join(_HERE, "..", "vectors", "handshake_kat.json")


def _step(case, label):
    for name, value in case["steps"]:
        if name.startswith(label):
            return bytes.fromhex(value)
    raise KeyError(label)


def _reassemble(frames):
    """Reassemble IPv4 fragments (frames) -> payload, checking every header checksum."""
    parts, total = {}, None
    for f in frames:
        ip = f[14:]
        assert inet_csum(ip[:20]) == 0, "fragment header checksum"
        fo = struct.unpack("!H", ip[6:8])[0]
        off = (fo & 0x1FFF) * 8
        tot = struct.unpack("!H", ip[2:4])[0]
        parts[off] = ip[20:tot]
        if not fo & 0x2000:
            total = off + tot - 20
    assert total is not None, "no last fragment"
    buf = b"".join(parts[k] for k in sorted(parts))
    assert len(buf) == total, "fragments do not cover the datagram"
    return buf


def selftest(kat_path):
    fails = []

    def check(name, cond):
        if not cond:
            fails.append(name)
        print("%s %s" % ("ok  " if cond else "FAIL", name))

    # RFC 8439 2.3.2 block function.
    key = bytes(range(32))
    blk = chacha20_block(key, 1, bytes.fromhex("000000090000004a00000000"))
    check("chacha20 block (RFC 8439 2.3.2)", blk.hex().startswith(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"))
    # RFC 8439 2.5.2 Poly1305.
    pk = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    check("poly1305 (RFC 8439 2.5.2)", poly1305(pk, b"Cryptographic Forum Research Group")
          == bytes.fromhex("a8061dc1305136c6c22b8baf0c0127a9"))
    # RFC 8439 2.8.2 AEAD (raw nonce, not expressible as a WireGuard counter).
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
          b"for the future, sunscreen would be it.")
    out = aead_encrypt(bytes(range(0x80, 0xA0)), bytes.fromhex("070000004041424344454647"),
                       pt, bytes.fromhex("50515253c0c1c2c3c4c5c6c7"))
    check("aead encrypt (RFC 8439 2.8.2)", out.hex() == (
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691"))
    # RFC 8439 A.5 decryption, through the WireGuard nonce format.
    a5_key = bytes.fromhex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0")
    a5_ct = bytes.fromhex(
        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
        "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
        "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
        "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
        "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
        "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
        "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
        "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
        "a6ad5cb4022b02709b" "eead9d67890cbb22392336fea1851f38")
    a5_nonce = wg_nonce(0x0807060504030201)
    check("wg nonce layout", a5_nonce.hex() == "000000000102030405060708")
    a5 = aead_decrypt(a5_key, a5_nonce, a5_ct, bytes.fromhex("f33388860000000000004e91"))
    check("aead decrypt (RFC 8439 A.5)", a5 is not None and len(a5) == 265
          and a5.startswith(b"Internet-Drafts are draft documents valid for a maximum of six"))
    check("aead rejects a flipped tag (RFC 8439 A.5)",
          aead_decrypt(a5_key, a5_nonce, _flip(a5_ct, len(a5_ct) * 8 - 1),
                       bytes.fromhex("f33388860000000000004e91")) is None)

    # The KAT data packets, rebuilt from their inputs.
    with open(kat_path) as f:
        kat = json.load(f)
    for case in ("nopsk", "psk"):
        c = kat[case]
        t_i2r = _step(c, "T_send(initiator)")
        t_r2i = _step(c, "T_recv(initiator)")
        plain = bytes.fromhex(c["data_i2r_plain"])
        msg = data_msg(t_i2r, c["inputs"]["idx_r"], 0, wg_pad(plain))
        check("KAT %s data_i2r" % case, msg.hex() == c["data_i2r"])
        ka = data_msg(t_r2i, c["inputs"]["idx_i"], 0, b"")
        check("KAT %s data_r2i_keepalive" % case, ka.hex() == c["data_r2i_keepalive"])
        idx, ctr, dec = data_open(t_i2r, bytes.fromhex(c["data_i2r"]))
        check("KAT %s data_i2r decrypts" % case,
              (idx, ctr, dec) == (c["inputs"]["idx_r"], 0, wg_pad(plain)))
        check("KAT %s wrong key rejected" % case,
              data_open(t_r2i, bytes.fromhex(c["data_i2r"]))[2] is None)

    # Round trips and tampering on random data.
    rnd = random.Random(4)
    key = bytes(rnd.randrange(256) for _ in range(32))
    ok = True
    for n in (0, 1, 15, 16, 17, 63, 64, 65, 1420):
        p = bytes(rnd.randrange(256) for _ in range(n))
        ctr = rnd.randrange(1 << 64)
        m = data_msg(key, 0xDEADBEEF, ctr, p)
        ok &= len(m) == 32 + n and data_open(key, m) == (0xDEADBEEF, ctr, p)
        ok &= data_open(key, _flip(m, 64))[2] is None  # counter bit: wrong nonce
        ok &= data_open(key, m[:-1])[2] is None
        if n:
            ok &= data_open(key, mutate_msg(m, "flip-ct", rnd.randrange(n * 8)))[2] is None
        ok &= data_open(key, mutate_msg(m, "flip-tag", rnd.randrange(128)))[2] is None
    check("round trips; flipped counter/ciphertext/tag and truncation rejected", ok)
    check("padding (protocol.md 9.1)", [len(wg_pad(b"x" * n)) for n in (0, 1, 28, 32, 1419, 1420)]
          == [0, 16, 32, 32, 1420, 1420])

    # Optional differential check against python3-cryptography.
    try:
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    except ImportError:
        print("skip differential check: python3-cryptography not importable")
    else:
        same = True
        for n in range(0, 300, 7):
            k = bytes(rnd.randrange(256) for _ in range(32))
            nonce = bytes(rnd.randrange(256) for _ in range(12))
            p = bytes(rnd.randrange(256) for _ in range(n))
            aad = bytes(rnd.randrange(256) for _ in range(n % 37))
            same &= aead_encrypt(k, nonce, p, aad) == ChaCha20Poly1305(k).encrypt(nonce, p, aad)
        check("differential vs python3-cryptography", same)

    # Inner ping checksums.
    ping4 = inner_ping("10.0.0.1", "10.0.0.2")
    check("inner IPv4 ping checksums", inet_csum(ping4[:20]) == 0 and inet_csum(ping4[20:]) == 0)

    # Framing of every variant.
    class O:
        pass

    o = O()
    o.src, o.dst, o.sport, o.dport = "10.1.0.1", "10.1.0.2", 40000, 51820
    o.src_mac, o.dst_mac = "02:00:00:00:00:01", "02:00:00:00:00:02"
    o.delta, o.ihl, o.ip_id, o.frag_size, o.frag_order, o.frag_drop_last = 8, 4, 77, 24, "inorder", False
    m = data_msg(key, 7, 3, wg_pad(ping4))

    def one(variant):
        o.variant = variant
        return build_frames(o, m)

    f = one("ok")[0]
    p = parse_frame(f)
    check("ok frame parses back", p is not None and p["payload"] == m and p["dport"] == 51820)
    ip = f[14:]
    pseudo = ip[12:20] + struct.pack("!xBH", 17, len(ip) - 20)
    check("ok frame checksums", inet_csum(ip[:20]) == 0 and inet_csum(pseudo + ip[20:]) == 0)
    check("bad-ip-csum", inet_csum(one("bad-ip-csum")[0][14:34]) != 0)
    b = one("bad-udp-csum")[0][14:]
    check("bad-udp-csum", inet_csum(b[:20]) == 0 and inet_csum(pseudo + b[20:]) != 0)
    check("bad-ihl", one("bad-ihl")[0][14] == 0x44)
    b = one("ip-options")[0][14:]
    check("ip-options", b[0] == 0x46 and inet_csum(b[:24]) == 0 and b[24:32] == f[34:42])
    b = one("ip-len-long")[0][14:]
    check("ip-len-long", struct.unpack("!H", b[2:4])[0] == len(b) + 8 and inet_csum(b[:20]) == 0)
    b = one("ip-len-short")[0][14:]
    check("ip-len-short", struct.unpack("!H", b[2:4])[0] == len(b) - 8)
    b = one("udp-len-long")[0][14:]
    check("udp-len-long", struct.unpack("!H", b[24:26])[0] == len(b) - 20 + 8)
    fr = one("frag")
    check("frag: reassembles to the UDP datagram", len(fr) > 1 and _reassemble(fr) == f[34:])
    o.frag_order = "reverse"
    check("frag reverse", _reassemble(one("frag")) == f[34:])
    o.frag_drop_last = True
    check("frag drop last", len(one("frag")) == len(fr) - 1)
    o.frag_drop_last = False
    o.trailer = 20
    b = one("ok")[0][14:]
    check("trailer: IPv4 length covers it, UDP length does not",
          struct.unpack("!H", b[2:4])[0] == len(b) == 20 + 8 + len(m) + 20
          and struct.unpack("!H", b[24:26])[0] == 8 + len(m) and inet_csum(b[:20]) == 0)
    o.trailer, o.pad_frame = 0, 30
    b = one("ok")[0]
    check("pad-frame: 30 bytes past the IPv4 total length",
          len(b) == len(f) + 30 and b[:len(f)] == f and struct.unpack("!H", b[16:18])[0]
          == len(f) - 14)
    o.pad_frame, o.frame_len, o.proto = 0, 30, 6
    b = one("ok")[0]
    check("frame-len, proto (IPv4)", len(b) == 30 and b[23] == 6)
    o.frame_len, o.proto = None, None
    o.src, o.dst = "fd00::1", "fd00::2"
    b = one("ok")[0]
    p = parse_frame(b)
    pseudo6 = b[22:54] + struct.pack("!IxxxB", len(b) - 54, 17)
    check("IPv6 frame parses back, UDP checksum", p is not None and p["payload"] == m
          and inet_csum(pseudo6 + b[54:]) == 0)
    b6 = one("ip-len-long")[0]
    check("IPv6 ip-len-long", struct.unpack("!H", b6[18:20])[0] == len(b6) - 54 + 8)
    b6 = one("udp-len-short")[0]
    check("IPv6 udp-len-short", struct.unpack("!H", b6[58:60])[0] == len(b6) - 54 - 8)
    o.proto, o.trailer, o.pad_frame = 59, 16, 8
    b6 = one("ok")[0]
    check("IPv6 proto, trailer, pad-frame", b6[20] == 59
          and struct.unpack("!H", b6[18:20])[0] == len(b) - 54 + 16 == len(b6) - 54 - 8
          and b6[:len(b)][54:] == b[54:] and struct.unpack("!H", b6[58:60])[0] == len(b) - 54)
    o.proto, o.trailer, o.pad_frame, o.frame_len = None, 0, 0, 14 + 39
    check("IPv6 frame-len: truncated header", len(one("ok")[0]) == 53)
    o.frame_len = None
    check("truncate", len(mutate_msg(m, "truncate", cut=5)) == len(m) - 5)
    o.variant, o.raw_msg, o.key, o.index, o.counter = "oversize", None, key.hex(), 9, 1
    o.inner_ping, o.plain, o.no_pad, o.mtu, o.size = None, "4500", False, TUNNEL_MTU, None
    big = _msg_from_args(o)
    check("oversize fills a 1500-byte outer MTU (IPv6)", len(big) == 1452
          and data_open(key, big)[2] is not None)
    hdr = mutate_msg(m, "flip-hdr")
    check("flip-hdr default flips the receiver index", hdr[4:8] != m[4:8] and hdr[8:] == m[8:])

    print("%d failed" % len(fails))
    return 1 if fails else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Subcommands"):])
    sub = ap.add_subparsers(dest="cmd", required=True)

    st = sub.add_parser("selftest", help="offline checks")
    st.add_argument("--kat", default=_KAT, help="handshake_kat.json")

    def msg_opts(p):
        p.add_argument("--key", help="T_send key: 64 hex digits or base64")
        p.add_argument("--index", type=lambda s: int(s, 0), help="receiver index (LE32 on the wire)")
        p.add_argument("--counter", type=lambda s: int(s, 0), default=0)
        p.add_argument("--plain", help="plaintext (inner packet), hex")
        p.add_argument("--inner-ping", nargs=2, metavar=("SRC", "DST"),
                       help="plaintext: an ICMP echo request from SRC to DST")
        p.add_argument("--no-pad", action="store_true", help="do not pad the plaintext to 16")
        p.add_argument("--mtu", type=int, default=TUNNEL_MTU, help="tunnel MTU for padding")
        p.add_argument("--size", type=int, help="oversize: UDP payload bytes")

    b = sub.add_parser("build", help="print a type 4 message (hex)")
    msg_opts(b)

    d = sub.add_parser("decrypt", help="print the plaintext of a type 4 message")
    d.add_argument("--key", required=True)
    d.add_argument("--msg", required=True, help="the message (UDP payload), hex")
    d.add_argument("-v", "--verbose", action="store_true")

    s = sub.add_parser("send", help="send crafted frames")
    msg_opts(s)
    s.add_argument("--raw-msg", help="UDP payload to send as is, hex")
    s.add_argument("--from-file", help="take addresses and message from a captured frame")
    s.add_argument("--line", type=int, default=0, help="which frame of --from-file")
    s.add_argument("--netns", help="network namespace to send from")
    s.add_argument("--iface", help="interface to send on")
    s.add_argument("--src-mac")
    s.add_argument("--dst-mac", help="default ff:ff:ff:ff:ff:ff")
    s.add_argument("--src", help="outer source address")
    s.add_argument("--dst", help="outer destination address")
    s.add_argument("--sport", type=int)
    s.add_argument("--dport", type=int)
    s.add_argument("--variant", choices=VARIANTS, default="ok")
    s.add_argument("--bit", type=int)
    s.add_argument("--cut", type=int, default=1)
    s.add_argument("--delta", type=int, default=8)
    s.add_argument("--ihl", type=int, default=4)
    s.add_argument("--ip-id", type=int)
    s.add_argument("--frag-size", type=int, default=24)
    s.add_argument("--frag-order", choices=("inorder", "reverse"), default="inorder")
    s.add_argument("--frag-drop-last", action="store_true")
    s.add_argument("--append", type=int, default=0, help="zero bytes appended to the message")
    s.add_argument("--trailer", type=int, default=0,
                   help="zero bytes after the UDP datagram, inside the IP packet")
    s.add_argument("--pad-frame", type=int, default=0,
                   help="zero bytes after the IP packet")
    s.add_argument("--frame-len", type=int, help="cut the frame to this many bytes")
    s.add_argument("--proto", type=int, help="IPv4 protocol / IPv6 next header (default 17)")
    s.add_argument("--count", type=int, help="send this many times (replay: default 2)")
    s.add_argument("--counter-step", type=int, default=0,
                   help="with --count: a new message per send, counter += STEP")
    s.add_argument("--interval", type=float, default=0.0, help="seconds between sends")
    s.add_argument("--dry-run", action="store_true", help="print frames (hex), send nothing")
    s.add_argument("-v", "--verbose", action="store_true")

    c = sub.add_parser("capture", help="record UDP frames of a port")
    c.add_argument("--netns")
    c.add_argument("--iface", required=True)
    c.add_argument("--port", type=int, required=True, help="UDP source or destination port")
    c.add_argument("--type", type=int, help="only WireGuard messages of this type")
    c.add_argument("--direction", choices=("in", "out", "any"), default="any")
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--timeout", type=float, default=10.0)
    c.add_argument("--out", required=True)
    c.add_argument("--ready", help="create this file once listening")
    c.add_argument("-v", "--verbose", action="store_true")

    o = ap.parse_args(argv)
    try:
        if o.cmd == "selftest":
            return selftest(o.kat)
        return {"build": cmd_build, "decrypt": cmd_decrypt, "send": cmd_send,
                "capture": cmd_capture}[o.cmd](o)
    except (ValueError, OSError) as e:
        print("wgpkt: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
