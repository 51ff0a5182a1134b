#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generate a wg-dpdk configuration with N peers, for scale tests.

    scripts/gen-peers.py N [--seed S] > peers.yaml

Each peer gets a random public key (the base64 of 32 random bytes: valid for
parsing, not a key anyone holds), one IPv4 /32 handed out sequentially from
10.0.0.0/8 and one IPv6 /128 from fd00::/64. The interface gets a random
private key; ports are the net_tap pair of conf/peers.yaml.
"""
import argparse
import base64
import ipaddress
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of peers (at most 1048576)")
    ap.add_argument("--seed", type=int, help="reproducible keys")
    args = ap.parse_args()
    if not 0 <= args.n <= (1 << 24) - 2:
        ap.error("n out of range")
    rnd = random.Random(args.seed) if args.seed is not None else random.SystemRandom()

    def key():
        return base64.b64encode(rnd.getrandbits(256).to_bytes(32, "little")).decode()

    out = sys.stdout
    out.write(f"""version: 1
interface:
  private-key: {key()}
  listen-port: 51820
dpdk:
  eal-args: [-l, "0-1", --no-huge, -m, "4096", --no-pci,
             "--vdev=net_tap0,iface=wan0", "--vdev=net_tap1,iface=lan0"]
ports:
  wan:
    device: net_tap0
    address: [198.51.100.1/24]
  lan:
    device: net_tap1
    address: [172.16.0.1/12]
peers:
""")
    v4 = int(ipaddress.IPv4Address("10.0.0.1"))
    v6 = int(ipaddress.IPv6Address("fd00::1"))
    chunk = []
    for i in range(args.n):
        a4 = ipaddress.IPv4Address(v4 + i)
        a6 = ipaddress.IPv6Address(v6 + i)
        chunk.append(f'  - public-key: {key()}\n    allowed-ips: [{a4}/32, "{a6}/128"]\n')
        if len(chunk) >= 4096:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


if __name__ == "__main__":
    main()
