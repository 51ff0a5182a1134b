#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End to end: two wg-dpdk instances back to back, each the other's peer, their
# WAN ports joined by net_memif (A is the memif server, B the client), their
# LAN ports net_af_packet on veths to a source and a sink namespace:
#
#   [e2e-src] 10.91.1.2 --veth-- LAN A [wg-dpdk A] WAN 192.0.2.1 ==memif==
#   192.0.2.2 WAN [wg-dpdk B] LAN --veth-- 10.91.2.2 [e2e-dst]
#
# iperf3 from the source to the sink through both (TCP, then UDP at an
# unlimited rate with 1372-byte payloads, i.e. 1400-byte inner packets).
# Reported, not targeted: on a 2-core machine the four lcores, iperf3 and the
# kernel's veth / af_packet work share two CPUs, so the figure measures the
# scheduler and af_packet far more than wg-dpdk's data path. Prints
#
#	e2e proto=tcp mbps=M
#	e2e proto=udp size=1372 mbps=M sent=N lost=L pps=P   (mbps, pps: delivered)
#
# Usage: bench_e2e.sh [-t SECONDS]   (default 5; needs root, iperf3, wg, ethtool)
# Environment: BUILD_DIR (default build-bench) holds app/wg-dpdk.
set -euo pipefail

secs=5
while getopts t:h o; do
	case $o in
	t) secs=$OPTARG ;;
	*)
		sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//'
		exit 2
		;;
	esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build-bench}
case $BUILD_DIR in
/*) BUILD=$BUILD_DIR ;;
*) BUILD=$ROOT/$BUILD_DIR ;;
esac
WG_DPDK=$BUILD/app/wg-dpdk

[ "$(id -u)" -eq 0 ] || exit 77
for c in iperf3 wg ip ethtool; do
	command -v "$c" >/dev/null || exit 77
done
[ -x "$WG_DPDK" ] || { echo "bench_e2e: no $WG_DPDK" >&2; exit 1; }

TAG=e2e$$
NS_SRC=$TAG-src
NS_A=$TAG-a
NS_B=$TAG-b
NS_DST=$TAG-dst
TMP=$(mktemp -d /tmp/bench-e2e.XXXXXX)
PID_A=
PID_B=
PID_SRV=

stop() {
	local pid=$1 _
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	set +e
	stop "$PID_SRV"
	stop "$PID_A"
	stop "$PID_B"
	for ns in "$NS_SRC" "$NS_A" "$NS_B" "$NS_DST"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP" "/var/run/dpdk/$TAG-a" "/var/run/dpdk/$TAG-b"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

for ns in "$NS_SRC" "$NS_A" "$NS_B" "$NS_DST"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
# veth names: at most 15 characters.
ip -n "$NS_A" link add la$$ type veth peer name ls$$ netns "$NS_SRC"
ip -n "$NS_B" link add lb$$ type veth peer name ld$$ netns "$NS_DST"
for pair in "$NS_A la$$" "$NS_B lb$$"; do
	set -- $pair
	in_ns "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
	ip -n "$1" link set "$2" up
done
in_ns "$NS_SRC" ethtool -K ls$$ tx off >/dev/null
in_ns "$NS_DST" ethtool -K ld$$ tx off >/dev/null
ip -n "$NS_SRC" addr add 10.91.1.2/24 dev ls$$
ip -n "$NS_SRC" link set ls$$ up
ip -n "$NS_SRC" route add 10.91.2.0/24 via 10.91.1.1
ip -n "$NS_DST" addr add 10.91.2.2/24 dev ld$$
ip -n "$NS_DST" link set ld$$ up
ip -n "$NS_DST" route add 10.91.1.0/24 via 10.91.2.1

KA=$(wg genkey)
KB=$(wg genkey)
PA=$(wg pubkey <<<"$KA")
PB=$(wg pubkey <<<"$KB")
MAC_A=02:00:00:91:00:01
MAC_B=02:00:00:91:00:02
SOCK=$TMP/memif.sock

# conf NAME PRIVATE WAN_IP OTHER_WAN_IP OTHER_MAC LAN_NET PEER_PUB PEER_LAN
conf() {
	cat <<EOF
version: 1
interface:
  name: $TAG-$1
  private-key: $2
  listen-port: 51820
  mtu: 1420
ports:
  wan:
    device: net_memif0
    address: [$3/24]
  lan:
    device: net_af_packet0
    address: [$6.1/24]
  neighbors:
    - { ip: $4, mac: "$5" }
peers:
  - name: other
    public-key: $7
    endpoint: $4:51820
    allowed-ips: [$8.0/24]
EOF
}
conf a "$KA" 192.0.2.1 192.0.2.2 "$MAC_B" 10.91.1 "$PB" 10.91.2 >"$TMP/a.yaml"
conf b "$KB" 192.0.2.2 192.0.2.1 "$MAC_A" 10.91.2 "$PA" 10.91.1 >"$TMP/b.yaml"

# Two lcores each (control + worker) on the two CPUs: four threads for two cores.
eal() {
	echo "--lcores=0@0,1@1 --no-huge -m 512 --no-pci --file-prefix=$TAG-$1" \
		"--log-level=*:warning --vdev=net_memif0,role=$2,socket=$SOCK,socket-abstract=no,mac=$3,id=0" \
		"--vdev=net_af_packet0,iface=$4 --"
}
# shellcheck disable=SC2046 # word splitting of the EAL options is wanted
WG_DPDK_IDLE=1 ip netns exec "$NS_A" "$WG_DPDK" $(eal a server "$MAC_A" la$$) \
	--conf "$TMP/a.yaml" >"$TMP/a.log" 2>&1 &
PID_A=$!
sleep 1
# shellcheck disable=SC2046
WG_DPDK_IDLE=1 ip netns exec "$NS_B" "$WG_DPDK" $(eal b client "$MAC_B" lb$$) \
	--conf "$TMP/b.yaml" >"$TMP/b.log" 2>&1 &
PID_B=$!

fail() {
	echo "bench_e2e: $*" >&2
	for f in a b; do
		echo "--- wg-dpdk $f log:" >&2
		tail -n 20 "$TMP/$f.log" >&2
	done
	exit 1
}

ok=0
for _ in $(seq 30); do
	kill -0 "$PID_A" 2>/dev/null || fail "wg-dpdk A exited"
	kill -0 "$PID_B" 2>/dev/null || fail "wg-dpdk B exited"
	if in_ns "$NS_SRC" ping -n -c 1 -W 1 10.91.2.2 >/dev/null 2>&1; then
		ok=1
		break
	fi
done
[ "$ok" -eq 1 ] || fail "no ping through the two instances"

in_ns "$NS_DST" iperf3 -s -D -I "$TMP/iperf3.pid" >/dev/null 2>&1
PID_SRV=$(cat "$TMP/iperf3.pid" 2>/dev/null || true)
sleep 0.5
in_ns "$NS_SRC" timeout $((secs + 20)) iperf3 -c 10.91.2.2 -t "$secs" -J >"$TMP/tcp.json" ||
	fail "iperf3 TCP"
in_ns "$NS_SRC" timeout $((secs + 20)) iperf3 -c 10.91.2.2 -u -b 0 -l 1372 -t "$secs" -J \
	>"$TMP/udp.json" 2>"$TMP/udp.err" || fail "iperf3 UDP"
python3 - "$TMP/tcp.json" "$TMP/udp.json" "$secs" <<'EOF'
import json, sys
tcp = json.load(open(sys.argv[1]))["end"]["sum_received"]
udp = json.load(open(sys.argv[2]))["end"]["sum"]
secs = float(sys.argv[3])
print("e2e proto=tcp mbps=%.1f" % (tcp["bits_per_second"] / 1e6))
got = udp["packets"] - udp["lost_packets"]
print("e2e proto=udp size=1372 mbps=%.1f sent=%d lost=%d pps=%.0f" % (
	got * 1372 * 8 / secs / 1e6, udp["packets"], udp["lost_packets"], got / secs))
EOF
echo "e2e: 2 CPUs for 4 lcores, iperf3 and the kernel: this measures the scheduler, not the" \
	"data path (see scripts/bench.sh pipeline for that)"
