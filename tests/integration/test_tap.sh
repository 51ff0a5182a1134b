#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# wg-dpdk on net_tap ports, and the outer fragments that net_af_packet never
# delivers (its sockets ask the kernel to reassemble IPv4 first):
#
#   [x] tw<sfx> (kernel end) ==tap== net_tap0 [wg-dpdk] net_tap1 ==tap== tl<sfx> [lan]
#
# net_tap creates its kernel interfaces in wg-dpdk's namespace; once the
# ports run they are moved to the WAN host's and the LAN host's namespaces
# (the PMD keeps its file descriptors), so nothing there can route around
# wg-dpdk. Checks, each with exact counters of /wg/stats and no other drop
# reason moved:
#   ping over both ports (ARP, IPv6 neighbour discovery, echo);
#   a UDP datagram to the listen port with a transport data message of an
#     unknown receiver index, whole:                     wg_unknown_index=1
#   the same in 24-byte IPv4 fragments, in order and reversed: each
#     fragment                                           ip4_fragment=N
#   the kernel's own fragments (ping -s 3000, MTU 1500: 3 per request, never
#     answered)                                          ip4_fragment=3 x count
#   the datagram in IPv6 fragments                       ip6_fragment=N
# then ping still works and SIGTERM gives exit status 0 (no mbuf leaked).
#   tests/integration/test_tap.sh [path/to/wg-dpdk]     (root)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}
HOSTILE=$(cd "$(dirname "$0")" && pwd)/hostile.py

it_init tap 80
it_require ip ping timeout wg
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"
[ -x "$WG_DPDK" ] || it_skip "no binary at $WG_DPDK"
"$IT_PY" -c 'import scapy' 2>/dev/null || it_skip "no python3-scapy"

NS_DP=$(it_name pdp)
NS_X=$(it_name px)
NS_LAN=$(it_name plan)
TW=$(it_name tw)
TL=$(it_name tl)
PREFIX=wgp-$IT_SFX
it_defer rm -rf "/var/run/dpdk/$PREFIX"
for ns in "$NS_DP" "$NS_X" "$NS_LAN"; do
	it_netns_add "$ns" || it_fail "netns $ns"
done

cat >"$IT_DIR/wg.yaml" <<YAML
version: 1
interface:
  private-key: $(wg genkey)
  listen-port: 51820
  mtu: 1420
dpdk:
  eal-args: [--lcores, "0@0,1@1", --no-huge, -m, "512", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning, --log-level=pmd.net.tap:error,
             "--vdev=net_tap0,iface=$TW", "--vdev=net_tap1,iface=$TL"]
ports:
  wan:
    device: net_tap0
    address: [198.51.100.1/24, "2001:db8:1::1/64"]
  lan:
    device: net_tap1
    address: [10.0.0.1/24]
YAML

# No WG_DPDK_IDLE here: idle back-off comes from the YAML's default
# (dpdk.idle-backoff: true), checked below through telemetry.
it_spawn wgdpdk "$NS_DP" env -u WG_DPDK_IDLE WG_DPDK_UAPI_DIR="$IT_DIR" "$WG_DPDK" \
	--conf "$IT_DIR/wg.yaml"
DP_PID=$IT_LAST_PID
tel() {
	"$IT_PY" "$HOSTILE" tel "$PREFIX" "$@"
}
it_wait_for "[ -S /var/run/dpdk/$PREFIX/dpdk_telemetry.v2 ] || ! kill -0 $DP_PID" 30 ||
	it_fail "wg-dpdk did not start"
kill -0 "$DP_PID" 2>/dev/null || it_fail "wg-dpdk exited at start"
it_wait_for "tel /wg/ports | grep -q wan_mac" 10 || it_fail "no telemetry"
DP_MAC=$(tel /wg/ports | "$IT_PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())["wan_mac"])')

# ---- the kernel ends leave wg-dpdk's namespace ----
it_run ip -n "$NS_DP" link set "$TW" netns "$NS_X" || it_fail "move $TW"
it_run ip -n "$NS_DP" link set "$TL" netns "$NS_LAN" || it_fail "move $TL"
it_ns "$NS_X" sysctl -qw "net.ipv6.conf.$TW.accept_dad=0"
it_ns "$NS_LAN" sysctl -qw "net.ipv6.conf.$TL.disable_ipv6=1"
it_addr "$NS_X" "$TW" 198.51.100.2/24
it_addr "$NS_X" "$TW" 2001:db8:1::2/64
it_addr "$NS_LAN" "$TL" 10.0.0.2/24
it_run ip -n "$NS_X" link set "$TW" up
it_run ip -n "$NS_LAN" link set "$TL" up
[ -z "$(ip -n "$NS_DP" -o link show | grep -v ' lo:')" ] ||
	it_fail "a kernel end is still in wg-dpdk's namespace"

it_ping "$NS_X" 198.51.100.1 3 || it_fail "ping WAN IPv4 over net_tap"
it_ping "$NS_X" 2001:db8:1::1 3 || it_fail "ping WAN IPv6 over net_tap (ND)"
it_ping "$NS_LAN" 10.0.0.1 3 || it_fail "ping LAN IPv4 over net_tap"

# ---- frames from the WAN host ----
# frames MODE: send a 100-byte transport data message (random receiver index)
# to wg-dpdk's listen port, whole (whole4), in 24-byte IPv4 fragments (frag4,
# frag4rev: reversed) or in IPv6 fragments (frag6); prints the frames sent.
frames() {
	ip netns exec "$NS_X" "$IT_PY" - "$1" "$TW" "$DP_MAC" <<'PY' 2>>"$IT_LOG"
import os, struct, sys
from scapy.all import (Ether, IP, IPv6, IPv6ExtHdrFragment, UDP, Raw, fragment, fragment6,
                       sendp)
mode, iface, dst = sys.argv[1:4]
msg = struct.pack("<II", 4, struct.unpack("<I", os.urandom(4))[0]) + os.urandom(92)
if mode == "frag6":
    pkt = (IPv6(src="2001:db8:1::2", dst="2001:db8:1::1") / IPv6ExtHdrFragment() /
           UDP(sport=40000, dport=51820) / Raw(msg))
    pkts = fragment6(pkt, 96)
else:
    pkt = IP(src="198.51.100.2", dst="198.51.100.1", id=0x4242) / \
        UDP(sport=40000, dport=51820) / Raw(msg)
    pkts = [pkt] if mode == "whole4" else fragment(pkt, fragsize=24)
    if mode == "frag4rev":
        pkts.reverse()
assert mode == "whole4" or len(pkts) >= 2
sendp([Ether(dst=dst) / p for p in pkts], iface=iface, verbose=False)
print(len(pkts))
PY
}

# The WAN host's kernel talks on its link too (IPv6 router solicitations,
# MLD reports): not caused by a case.
NOISE=drop_l3_multicast,drop_icmp_unhandled,drop_nd_not_for_us,drop_eth_not_for_us
REPORT=$IT_DIR/report.txt
: >"$REPORT"
"$IT_PY" "$HOSTILE" snap "$PREFIX" "$IT_DIR/after.json" || it_fail "telemetry snapshot"

# expect NAME WANT: the counters of WANT ("drop_x=N") moved by exactly that
# since the last case, no other drop_* counter did (but the noise).
expect() {
	local name=$1 want=$2 rc=3 end out=$IT_DIR/check.txt
	end=$(($(date +%s) + 10))
	while [ "$rc" -eq 3 ] && [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$DP_PID" 2>/dev/null || it_fail "$name: wg-dpdk is gone"
		rc=0
		"$IT_PY" "$HOSTILE" check "$PREFIX" "$IT_DIR/before.json" "$IT_DIR/after.json" \
			--want "$want" --noise "$NOISE" >"$out" 2>&1 || rc=$?
		[ "$rc" -ne 3 ] || sleep 0.1
	done
	it_log "$name: $(tr '\n' ' ' <"$out")"
	[ "$rc" -eq 0 ] || it_fail "$name: expected $want, got: $(tr '\n' ' ' <"$out")"
	printf '%-22s %s\n' "$name" "$(head -n 1 "$out")" >>"$REPORT"
}
before() {
	cp "$IT_DIR/after.json" "$IT_DIR/before.json"
}

before
n=$(frames whole4) || it_fail "scapy: whole datagram"
expect whole_datagram drop_wg_unknown_index=1
before
n=$(frames frag4) || it_fail "scapy: IPv4 fragments"
expect ip4_fragments "drop_ip4_fragment=$n"
before
n=$(frames frag4rev) || it_fail "scapy: IPv4 fragments, reversed"
expect ip4_fragments_reversed "drop_ip4_fragment=$n"
before
if timeout 10 ip netns exec "$NS_X" ping -n -q -c 2 -i 0.2 -W 1 -s 3000 198.51.100.1 \
		>>"$IT_LOG" 2>&1; then
	it_fail "a fragmented echo request was answered"
fi
expect kernel_fragments drop_ip4_fragment=6
before
n=$(frames frag6) || it_fail "scapy: IPv6 fragments"
expect ip6_fragments "drop_ip6_fragment=$n"

it_ping "$NS_X" 198.51.100.1 2 || it_fail "ping WAN IPv4 after the fragments"
# Idle back-off on by default (no dpdk.idle-backoff in wg.yaml, no WG_DPDK_IDLE):
# /wg/ports says so and the worker has slept.
it_telemetry "$PREFIX" /wg/ports >"$IT_DIR/ports.json"
it_telemetry "$PREFIX" /wg/stats >"$IT_DIR/stats.json"
idle=$(it_tel_field "$IT_DIR/ports.json" idle_backoff)
[ "$idle" = 1 ] || it_fail "/wg/ports idle_backoff=$idle, expected 1 (the default)"
sleeps=$(it_tel_field "$IT_DIR/stats.json" idle_sleeps)
[ "$sleeps" -gt 0 ] || it_fail "idle back-off on but idle_sleeps=$sleeps"
it_log "idle back-off: idle_backoff=$idle idle_sleeps=$sleeps"
kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "wg-dpdk exit status $IT_STATUS after SIGTERM"
echo "drop reasons per case:"
cat "$REPORT"
it_pass "net_tap: ping both ports, outer fragments counted ($(wc -l <"$REPORT") cases), exit 0"
