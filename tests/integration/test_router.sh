#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Router duties of the data plane on net_af_packet over veth pairs:
#
#   [wan host ns] wh<pid> ==veth== wd<pid> [wg-dpdk ns] ld<pid> ==veth== lh<pid> [lan host ns]
#
# ARP / ND resolution of wg-dpdk's addresses from both hosts, ping (IPv4,
# IPv6 global and link-local), the gratuitous ARP and unsolicited NAs sent at
# start (seen in the LAN host's neighbour table), TTL expiry and fragmentation-needed /
# packet-too-big on forwarded LAN packets, hostile packets counted under
# their drop reason in /wg/stats (read with dpdk-telemetry.py), then SIGTERM
# and exit status 0 (every mbuf back in the pool).
#   tests/integration/test_router.sh [path/to/wg-dpdk]     (root)
set -euo pipefail

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}
ID=$$
NS_WG=wgr-dp-$ID
NS_WAN=wgr-wan-$ID
NS_LAN=wgr-lan-$ID
PREFIX=wgr-$ID
TMP=$(mktemp -d /tmp/wg-router.XXXXXX)
PID=
FAILS=0

cleanup() {
	set +e
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	ip netns del "$NS_WG" 2>/dev/null
	ip netns del "$NS_WAN" 2>/dev/null
	ip netns del "$NS_LAN" 2>/dev/null
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() {
	local what=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then ok "$what"; else fail "$what"; cat "$TMP/out"; fi
}

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
[ -x "$WG_DPDK" ] || skip "no binary at $WG_DPDK"
for tool in ip ethtool ping wg dpdk-telemetry.py; do
	command -v "$tool" >/dev/null || skip "missing $tool"
done
# Debian's python3 (python3-scapy), not whatever python3 comes first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import scapy' 2>/dev/null || skip "missing python3-scapy"

in_wg() { ip netns exec "$NS_WG" "$@"; }
in_wan() { ip netns exec "$NS_WAN" "$@"; }
in_lan() { ip netns exec "$NS_LAN" "$@"; }

# ---- topology ----
ip netns add "$NS_WG"
ip netns add "$NS_WAN"
ip netns add "$NS_LAN"
ip -n "$NS_WG" link add "wd$ID" type veth peer name "wh$ID" netns "$NS_WAN"
ip -n "$NS_WG" link add "ld$ID" type veth peer name "lh$ID" netns "$NS_LAN"
for dev in "wd$ID" "ld$ID"; do
	in_wg sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
	ip -n "$NS_WG" link set "$dev" up
done
in_wan sysctl -qw "net.ipv6.conf.wh$ID.accept_dad=0"
in_lan sysctl -qw "net.ipv6.conf.lh$ID.accept_dad=0"
in_wan ethtool -K "wh$ID" tx off >/dev/null
# The LAN host takes neighbour entries from gratuitous ARP and unsolicited NA
# (off by default; an untracked NA only on a forwarding interface, RFC 9131):
# wg-dpdk's announcements at start are then visible there.
in_lan sysctl -qw "net.ipv4.conf.lh$ID.arp_accept=1"
UNTRACKED_NA=/proc/sys/net/ipv6/conf/all/accept_untracked_na
if [ -e "$UNTRACKED_NA" ]; then
	in_lan sysctl -qw "net.ipv6.conf.lh$ID.accept_untracked_na=1"
	in_lan sysctl -qw "net.ipv6.conf.lh$ID.forwarding=1"
fi
in_lan ethtool -K "lh$ID" tx off >/dev/null
ip -n "$NS_WAN" addr add 198.51.100.2/24 dev "wh$ID"
ip -n "$NS_WAN" addr add 2001:db8:1::2/64 dev "wh$ID"
ip -n "$NS_LAN" addr add 10.0.0.2/24 dev "lh$ID"
ip -n "$NS_LAN" addr add fd00::2/64 dev "lh$ID"
ip -n "$NS_WAN" link set "wh$ID" up
ip -n "$NS_LAN" link set "lh$ID" up
# Inner traffic from the LAN host to the tunnels goes through wg-dpdk.
ip -n "$NS_LAN" route add 10.192.0.0/16 via 10.0.0.1
ip -n "$NS_LAN" route add fd01::/64 via fd00::1
WAN_MAC=$(in_wg cat "/sys/class/net/wd$ID/address")
LAN_MAC=$(in_wg cat "/sys/class/net/ld$ID/address")
WH_MAC=$(in_wan cat "/sys/class/net/wh$ID/address")
LH_MAC=$(in_lan cat "/sys/class/net/lh$ID/address")

# fe80::/64 + modified EUI-64 of a MAC
link_local() {
	"$PY" - "$1" <<'PY'
import ipaddress, sys
b = bytes.fromhex(sys.argv[1].replace(':', ''))
iid = bytes([b[0] ^ 2]) + b[1:3] + b'\xff\xfe' + b[3:6]
print(ipaddress.IPv6Address(b'\xfe\x80' + bytes(6) + iid))
PY
}
WAN_LL=$(link_local "$WAN_MAC")
LAN_LL=$(link_local "$LAN_MAC")

# ---- configuration ----
cat >"$TMP/wg.yaml" <<YAML
version: 1
interface:
  private-key: $(wg genkey)
  listen-port: 51820
  mtu: 1420
dpdk:
  eal-args: [-l, "0-1", --no-huge, -m, "512", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning,
             "--vdev=net_af_packet0,iface=wd$ID", "--vdev=net_af_packet1,iface=ld$ID"]
ports:
  wan:
    device: net_af_packet0
    address: [198.51.100.1/24, "2001:db8:1::1/64"]
    gateway: [198.51.100.2]
  lan:
    device: net_af_packet1
    address: [10.0.0.1/24, "fd00::1/64"]
  neighbors:
    - { ip: "fd00::2", mac: "$LH_MAC" }
YAML

telemetry() {
	echo "$1" | timeout 10 dpdk-telemetry.py -f "$PREFIX" 2>/dev/null |
		"$PY" -c '
import json, sys
text = sys.stdin.read()
# dpdk-telemetry.py prints the connection banner, then one JSON object per command.
objs = []
dec = json.JSONDecoder()
i = 0
while True:
	j = text.find("{", i)
	if j < 0:
		break
	try:
		obj, end = dec.raw_decode(text, j)
	except ValueError:
		i = j + 1
		continue
	objs.append(obj)
	i = end
print(json.dumps(objs[-1]))'
}

# ---- startup checks: a tunnel MTU the ports cannot carry is refused, clearly ----
# interface.mtu 9000 needs 9080-byte outer packets; net_af_packet's frames are
# 2048 bytes by default.
sed 's/^  mtu: 1420$/  mtu: 9000/' "$TMP/wg.yaml" >"$TMP/big.yaml"
RC=0
WG_DPDK_UAPI_DIR="$TMP" timeout 30 ip netns exec "$NS_WG" "$WG_DPDK" --conf "$TMP/big.yaml" \
	>"$TMP/big.log" 2>&1 || RC=$?
if [ "$RC" -eq 3 ] && grep -q 'interface.mtu 9000 needs a port MTU of 9080' "$TMP/big.log"; then
	ok "interface.mtu 9000 refused at start (exit 3, one clear line)"
else
	fail "interface.mtu 9000: exit status $RC"
	cat "$TMP/big.log"
fi
rm -rf "/var/run/dpdk/$PREFIX"

# ---- start ----
WG_DPDK_UAPI_DIR="$TMP" ip netns exec "$NS_WG" "$WG_DPDK" --conf "$TMP/wg.yaml" >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	[ -S "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" ] && telemetry /wg/ports | grep -q wan_mac &&
		break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/log"; echo "FAIL: wg-dpdk exited"; exit 1; }
	sleep 0.2
done
telemetry /wg/ports >"$TMP/ports"
if ! grep -qi "$WAN_MAC" "$TMP/ports"; then
	cat "$TMP/log" "$TMP/ports"
	echo "FAIL: no telemetry"
	exit 1
fi

# ---- announcements at start ----
# Nothing else makes the LAN host learn our MAC before it pings us (no gateway
# on the LAN port, so no resolution from us either).
announced() {
	local n
	for n in $(seq 30); do
		ip -n "$NS_LAN" neigh show "$1" | grep -qi "$LAN_MAC" && return 0
		sleep 0.1
	done
	ip -n "$NS_LAN" neigh show
	return 1
}
check "gratuitous ARP (lan 10.0.0.1)" announced 10.0.0.1
if [ -e "$UNTRACKED_NA" ]; then
	check "unsolicited NA (lan fd00::1)" announced fd00::1
	check "unsolicited NA (lan link-local)" announced "$LAN_LL"
	in_lan sysctl -qw "net.ipv6.conf.lh$ID.forwarding=0"
fi

# ---- router duties ----
# Forget what the announcements taught the hosts, so that they resolve us now.
ip -n "$NS_WAN" neigh flush dev "wh$ID"
ip -n "$NS_LAN" neigh flush dev "lh$ID"
check "ping wan IPv4 (ARP)" in_wan ping -c 2 -i 0.2 -W 2 198.51.100.1
check "ping lan IPv4 (ARP)" in_lan ping -c 2 -i 0.2 -W 2 10.0.0.1
check "wan host resolved our MAC" sh -c "ip -n $NS_WAN neigh show 198.51.100.1 | grep -q $WAN_MAC"
check "lan host resolved our MAC" sh -c "ip -n $NS_LAN neigh show 10.0.0.1 | grep -q $LAN_MAC"
check "ping wan IPv6 (ND)" in_wan ping -6 -c 2 -i 0.2 -W 2 2001:db8:1::1
check "ping lan IPv6 (ND)" in_lan ping -6 -c 2 -i 0.2 -W 2 fd00::1
check "ping wan link-local" in_wan ping -6 -c 2 -i 0.2 -W 2 "$WAN_LL%wh$ID"
check "ping lan link-local" in_lan ping -6 -c 2 -i 0.2 -W 2 "$LAN_LL%lh$ID"
check "lan host resolved our link-local" \
	sh -c "ip -n $NS_LAN -6 neigh show $LAN_LL | grep -q $LAN_MAC"

# Forwarded inner packets: TTL expiry, too big for the tunnel, then no route yet.
check "ttl exceeded (IPv4)" sh -c "ip netns exec $NS_LAN ping -c 1 -W 2 -t 1 10.192.0.5 | \
	grep -q 'Time to live exceeded'"
check "frag needed (IPv4)" sh -c "ip netns exec $NS_LAN ping -c 1 -W 2 -M do -s 1400 10.192.0.5 | \
	grep -q 'mtu = 1420'"
check "hop limit exceeded (IPv6)" sh -c "ip netns exec $NS_LAN ping -6 -c 1 -W 2 -t 1 fd01::5 | \
	grep -q 'Time exceeded'"
check "packet too big (IPv6)" sh -c "ip netns exec $NS_LAN \
	ping -6 -c 1 -W 2 -M do -s 1400 fd01::5 | grep -q 'mtu=1420'"
in_lan ping -c 1 -W 1 10.192.0.5 >/dev/null 2>&1 || true

# Hostile and handshake packets from the WAN host.
in_wan "$PY" - "wh$ID" "$WAN_MAC" <<'PY' >/dev/null 2>&1
import sys
from scapy.all import Ether, IP, UDP, Raw, sendp, raw
iface, dst = sys.argv[1], sys.argv[2]
eth = Ether(dst=dst, type=0x0800)
base = IP(src="198.51.100.2", dst="198.51.100.1")
bad_ihl = bytearray(raw(base / UDP(dport=51820) / Raw(b"x" * 8)))
bad_ihl[0] = 0x44                                    # IHL 4: shorter than a header
trunc_udp = bytearray(raw(base / UDP(dport=51820, len=200) / Raw(b"\x01" + bytes(147))))
init_ok = raw(base / UDP(sport=40000, dport=51820) / Raw(b"\x01\x00\x00\x00" + bytes(144)))
init_short = raw(base / UDP(sport=40000, dport=51820) / Raw(b"\x01\x00\x00\x00" + bytes(100)))
data = raw(base / UDP(sport=40000, dport=51820) / Raw(b"\x04\x00\x00\x00" + bytes(60)))
frames = [eth / Raw(bytes(bad_ihl))] * 3 + [eth / Raw(bytes(trunc_udp))] * 2 + \
	[eth / Raw(init_ok)] * 2 + [eth / Raw(init_short)] + [eth / Raw(data)]
sendp(frames, iface=iface, verbose=False)
PY
sleep 0.5
telemetry /wg/stats >"$TMP/stats"
echo "stats: $(cat "$TMP/stats")" | cut -c1-3000
stat_ge() {
	local v
	v=$("$PY" -c "import json,sys; print(json.load(open('$TMP/stats'))['/wg/stats']['$1'])")
	if [ "$v" -ge "$2" ]; then ok "$1 = $v (>= $2)"; else fail "$1 = $v, expected >= $2"; fi
}
stat_ge rx_wan 10
stat_ge rx_lan 10
stat_ge tx_wan 6
stat_ge tx_lan 6
stat_ge arp_replies 2
stat_ge nd_adverts 2
stat_ge echo_replies 12
stat_ge icmp_errors 4
stat_ge handshakes_rx 2
stat_ge drop_ip4_bad_header 3
stat_ge drop_udp_malformed 2
stat_ge drop_wg_bad_size 1
stat_ge drop_wg_unknown_index 1
stat_ge drop_no_route 1
stat_ge drop_handshake_consumed 2
check "per-lcore counters" grep -q '"echo_replies_by_lcore"' "$TMP/stats"
telemetry /wg/neigh >"$TMP/neigh"
check "gateway resolved (wan 198.51.100.2)" \
	grep -qi "wan 198.51.100.2 $WH_MAC reachable" "$TMP/neigh"
check "static neighbour (lan fd00::2)" grep -qi "lan fd00::2 $LH_MAC permanent" "$TMP/neigh"
check "learned from ARP request (lan 10.0.0.2)" grep -qi "lan 10.0.0.2 $LH_MAC" "$TMP/neigh"

# ---- clean shutdown: exit 0 means every mbuf came back ----
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
PID=
if [ "$RC" -eq 0 ]; then ok "SIGTERM: exit status 0"; else fail "SIGTERM: exit status $RC"; fi
if [ "$FAILS" -ne 0 ]; then
	echo "--- wg-dpdk log"
	cat "$TMP/log"
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
