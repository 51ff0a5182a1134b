#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what is missing, build, and show wg-dpdk running.
set -euo pipefail
# scripts/demo.sh                  install what is missing, build in build/, run the demo
# scripts/demo.sh --no-build BIN   run the demo with the wg-dpdk binary BIN (the meson test)
NO_BUILD=
if [ "${1:-}" = --no-build ]; then
	NO_BUILD=1
	WG_DPDK=$(realpath "${2:?usage: scripts/demo.sh [--no-build path/to/wg-dpdk]}")
fi
cd "$(dirname "$0")/.."
if [ -z "$NO_BUILD" ]; then
	. scripts/deps.sh
	wg_dpdk_install_deps
	BUILD=${BUILD:-build}
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
	ninja -C "$BUILD" >/dev/null
	WG_DPDK=$BUILD/app/wg-dpdk
fi
"$WG_DPDK" --version

# ---- the demo: wg-dpdk between a wireguard-go peer and a LAN host ----
# conf/demo.yaml describes the topology; everything below is undone on exit.
# As a meson test (--no-build), what the machine lacks is a skip (77), not a failure.
SKIP=1
[ -n "$NO_BUILD" ] && SKIP=77
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the rest needs root (network namespaces, net_tap)" >&2
	exit "$SKIP"
fi
[ -c /dev/net/tun ] || { echo "demo: no /dev/net/tun for net_tap and wireguard-go" >&2; exit "$SKIP"; }

CONF=conf/demo.yaml
NS_DP=wgdemo-dp
NS_PEER=wgdemo-peer
NS_LAN=wgdemo-lan
WG_IF=wgdemo0
PREFIX=wg-demo
# Example key of the peer in conf/demo.yaml (public in this repository).
PEER_KEY=uL1pO3MZVA+NPWAhmcTYpGmHNB+8GV1/Ev5EWsuYSVs=
DP_PUB=$(wg pubkey <conf/keys/wg0.key)
TMP=$(mktemp -d /tmp/wg-demo.XXXXXX)
DP_PID=
GO_PID=
IPERF_PID=

# TERM, up to 5 s, then KILL: a process of ours (by its PID).
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
	stop "$IPERF_PID"
	stop "$DP_PID"
	stop "$GO_PID"
	for ns in "$NS_PEER" "$NS_LAN" "$NS_DP"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX" "/var/run/wireguard/$WG_IF.sock"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

step() { printf '\n==> %s\n' "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
telemetry() {
	echo "$1" | timeout 10 dpdk-telemetry.py -f "$PREFIX" 2>/dev/null |
		/usr/bin/python3 -c '
import json, sys
text, dec, i, last = sys.stdin.read(), json.JSONDecoder(), 0, None
while (j := text.find("{", i)) >= 0:
	try:
		last, i = dec.raw_decode(text, j)
	except ValueError:
		i = j + 1
print(json.dumps(last) if last else "{}")'
}

# A previous run killed hard may have left its namespaces: they are the demo's own.
for ns in "$NS_PEER" "$NS_LAN" "$NS_DP"; do
	ip netns del "$ns" 2>/dev/null || true
done

step "topology: $NS_PEER (wireguard-go) -- $NS_DP (wg-dpdk) -- $NS_LAN"
for ns in "$NS_DP" "$NS_PEER" "$NS_LAN"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done

step "wg-dpdk --conf $CONF (in $NS_DP): net_tap creates wgdemo-p and wgdemo-l there"
EAL=()
if [ "$(nproc)" -lt 2 ]; then
	# One CPU: both lcores on it (the EAL options before "--" replace dpdk.eal-args).
	# shellcheck disable=SC2054 # the commas belong to the option values
	EAL=(--lcores "0@0,1@0" --no-huge -m 512 --no-pci --file-prefix="$PREFIX"
		--log-level=lib.eal:warning --log-level=pmd.net.tap:error
		--vdev=net_tap0,iface=wgdemo-p --vdev=net_tap1,iface=wgdemo-l --)
fi
"$WG_DPDK" --conf "$CONF" --check
# Idle back-off comes from conf/demo.yaml (dpdk.idle-backoff: true).
ip netns exec "$NS_DP" env -u WG_DPDK_IDLE "$WG_DPDK" "${EAL[@]}" --conf "$CONF" \
	>"$TMP/wg-dpdk.log" 2>&1 &
DP_PID=$!
for _ in $(seq 100); do
	[ -S "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2" ] &&
		ip -n "$NS_DP" link show wgdemo-l >/dev/null 2>&1 && break
	kill -0 "$DP_PID" 2>/dev/null || { cat "$TMP/wg-dpdk.log"; exit 1; }
	sleep 0.2
done
telemetry /wg/ports

step "the tap ends leave wg-dpdk's namespace: wgdemo-p to $NS_PEER, wgdemo-l to $NS_LAN"
ip -n "$NS_DP" link set wgdemo-p netns "$NS_PEER"
ip -n "$NS_DP" link set wgdemo-l netns "$NS_LAN"
in_ns "$NS_PEER" sysctl -qw net.ipv6.conf.wgdemo-p.accept_dad=0
in_ns "$NS_LAN" sysctl -qw net.ipv6.conf.wgdemo-l.accept_dad=0
ip -n "$NS_PEER" addr add 198.51.100.2/24 dev wgdemo-p
ip -n "$NS_PEER" link set wgdemo-p up
ip -n "$NS_LAN" addr add 10.0.0.2/24 dev wgdemo-l
ip -n "$NS_LAN" addr add fd00::2/64 dev wgdemo-l nodad
ip -n "$NS_LAN" link set wgdemo-l up
ip -n "$NS_LAN" route add 10.192.122.0/24 via 10.0.0.1
ip -n "$NS_LAN" route add fd01:122::/64 via fd00::1

step "wireguard-go $WG_IF (in $NS_PEER), peer $DP_PUB at 198.51.100.1:51820"
WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error ip netns exec "$NS_PEER" wireguard-go "$WG_IF" \
	>"$TMP/wireguard-go.log" 2>&1 &
GO_PID=$!
for _ in $(seq 100); do
	[ -S "/var/run/wireguard/$WG_IF.sock" ] && break
	sleep 0.1
done
printf '%s\n' "$PEER_KEY" >"$TMP/peer.key"
in_ns "$NS_PEER" wg set "$WG_IF" listen-port 51820 private-key "$TMP/peer.key" \
	peer "$DP_PUB" endpoint 198.51.100.1:51820 allowed-ips 10.0.0.0/24,fd00::/64
ip -n "$NS_PEER" addr add 10.192.122.2/24 dev "$WG_IF"
ip -n "$NS_PEER" addr add fd01:122::2/64 dev "$WG_IF"
ip -n "$NS_PEER" link set "$WG_IF" up
ip -n "$NS_PEER" route add 10.0.0.0/24 dev "$WG_IF"
ip -n "$NS_PEER" route add fd00::/64 dev "$WG_IF"

step "ping LAN host -> peer through the tunnel (wg-dpdk starts the handshake)"
in_ns "$NS_LAN" ping -n -c 3 -i 0.3 -W 5 10.192.122.2
step "ping peer -> LAN host, IPv4 and IPv6"
in_ns "$NS_PEER" ping -n -c 3 -i 0.3 -W 2 10.0.0.2
in_ns "$NS_PEER" ping -n -c 3 -i 0.3 -W 2 fd00::2

step "iperf3 TCP, 3 s, peer -> LAN host"
in_ns "$NS_LAN" iperf3 -s -1 >"$TMP/iperf3-server.log" 2>&1 &
IPERF_PID=$!
sleep 0.5
in_ns "$NS_PEER" timeout 30 iperf3 -c 10.0.0.2 -t 3 | tail -n 4

step "wg show (wireguard-go side)"
sleep 1
in_ns "$NS_PEER" wg show "$WG_IF"

step "wg show wg-demo (wg-dpdk itself, through its UAPI socket: the stock tool manages it)"
wg show wg-demo

step "wg-dpdk counters: /wg/peers"
telemetry /wg/peers
step "wg-dpdk counters: /wg/stats (non-zero)"
telemetry /wg/stats | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin).get("/wg/stats", {})
for k, v in s.items():
	if isinstance(v, int) and v != 0:
		print(f"  {k:32} {v}")'

step "SIGTERM wg-dpdk"
kill -TERM "$DP_PID"
rc=0
wait "$DP_PID" || rc=$?
DP_PID=
echo "wg-dpdk exit status $rc (0: clean shutdown, every mbuf back in its pool)"
[ "$rc" -eq 0 ]
