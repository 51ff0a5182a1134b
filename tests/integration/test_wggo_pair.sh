#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# wireguard-go <-> wireguard-go over a veth pair between two namespaces:
# handshake, IPv4 and IPv6 pings both ways, a short iperf3 TCP transfer, and
# an exact cross-check of the byte counters of `wg show dump` (what one side
# sent is what the other received). Validates lib.sh and the environment that
# the wg-dpdk integration tests build on.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

it_init wggo_pair 100
it_require wireguard-go wg iperf3 ip ping ss ethtool timeout
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"

NS_A=$(it_name wgpa)
NS_B=$(it_name wgpb)
VETH_A=$(it_name va)
VETH_B=$(it_name vb)
WG_A=$(it_name wga)
WG_B=$(it_name wgb)

it_netns_add "$NS_A"
it_netns_add "$NS_B"
it_veth "$NS_A" "$VETH_A" "$NS_B" "$VETH_B"
it_addr "$NS_A" "$VETH_A" 10.77.0.1/24
it_addr "$NS_B" "$VETH_B" 10.77.0.2/24

it_keypair PRIV_A PUB_A
it_keypair PRIV_B PUB_B

it_wggo_start "$NS_A" "$WG_A" || it_fail "wireguard-go $WG_A did not start"
it_wggo_start "$NS_B" "$WG_B" || it_fail "wireguard-go $WG_B did not start"
it_wggo_conf "$NS_A" "$WG_A" "$PRIV_A" 51820 || it_fail "wg set $WG_A"
it_wggo_conf "$NS_B" "$WG_B" "$PRIV_B" 51821 || it_fail "wg set $WG_B"
it_wggo_peer "$NS_A" "$WG_A" "$PUB_B" 10.77.0.2:51821 10.78.0.2/32,fd00:78::2/128
it_wggo_peer "$NS_B" "$WG_B" "$PUB_A" 10.77.0.1:51820 10.78.0.1/32,fd00:78::1/128
it_addr "$NS_A" "$WG_A" 10.78.0.1/24
it_addr "$NS_A" "$WG_A" fd00:78::1/64
it_addr "$NS_B" "$WG_B" 10.78.0.2/24
it_addr "$NS_B" "$WG_B" fd00:78::2/64

it_ping "$NS_A" 10.78.0.2 3 || it_fail "IPv4 ping A -> B through the tunnel"
it_ping "$NS_B" 10.78.0.1 3 || it_fail "IPv4 ping B -> A through the tunnel"
it_ping "$NS_A" fd00:78::2 3 || it_fail "IPv6 ping A -> B through the tunnel"
it_ping "$NS_B" fd00:78::1 3 || it_fail "IPv6 ping B -> A through the tunnel"

hs=$(it_wg_handshake "$NS_A" "$WG_A" "$PUB_B") || it_fail "peer B missing on $WG_A"
[ "$hs" -gt 0 ] || it_fail "no handshake recorded on $WG_A"

# Bounded rate and window: the point is correctness, and no packet may be lost
# on the way, so that the counters below match exactly. (Unbounded TCP bursts
# overflow wireguard-go's UDP receive buffer: UdpRcvbufErrors, and the counters
# then differ by the dropped packets.)
bps=$(it_iperf_tcp "$NS_B" 10.78.0.2 "$NS_A" 2 200M -w 64K) || it_fail "iperf3 TCP through the tunnel"
tcp_bytes=$(it_json "$IT_DIR/iperf_last.json" end.sum_received.bytes)
it_log "iperf3 TCP: $bps bit/s, $tcp_bytes bytes"
[ "$tcp_bytes" -gt 1000000 ] || it_fail "iperf3 TCP carried only $tcp_bytes bytes"

# Every byte one side sent must have been received by the other. Read until
# both directions agree (packets in flight and a late keepalive settle in ms).
A_RX=0 A_TX=0 B_RX=0 B_TX=0
counters_agree() {
	local a b
	a=$(it_wg_counters "$NS_A" "$WG_A" "$PUB_B") || return 1
	b=$(it_wg_counters "$NS_B" "$WG_B" "$PUB_A") || return 1
	it_log "A rx/tx: $a  B rx/tx: $b"
	read -r A_RX A_TX <<<"$a"
	read -r B_RX B_TX <<<"$b"
	[ "$A_TX" -eq "$B_RX" ] && [ "$B_TX" -eq "$A_RX" ]
}
if ! it_wait_for counters_agree 10; then
	it_log "UDP drop counters in $NS_B:"
	ip netns exec "$NS_B" nstat -az UdpRcvbufErrors UdpInErrors >>"$IT_LOG" 2>&1 || true
	it_fail "byte counters disagree: A tx $A_TX vs B rx $B_RX, B tx $B_TX vs A rx $A_RX"
fi
[ "$A_TX" -gt "$tcp_bytes" ] || it_fail "A sent $A_TX bytes, fewer than iperf3's $tcp_bytes"

# Replay and tampering, with wgpkt.py: capture one data message A -> B, send it
# again three times and once with a flipped tag. They must reach B's UDP socket
# (so the test is not vacuous) and be dropped by wireguard-go: B's rx counter
# does not move.
cap=$IT_DIR/cap.hex
it_spawn capture "$NS_B" "$IT_PY" "$IT_WGPKT" capture --iface "$VETH_B" --port 51821 \
	--type 4 --direction in --count 1 --timeout 10 --out "$cap" --ready "$IT_DIR/cap.ready"
cap_pid=$IT_LAST_PID
it_wait_for "[ -e '$IT_DIR/cap.ready' ]" 5 || it_fail "wgpkt.py capture did not start"
it_ping "$NS_A" 10.78.0.2 1 || it_fail "ping A -> B before the replay"
it_wait_exit "$cap_pid" 10 || it_fail "wgpkt.py capture: status $IT_STATUS"
it_wait_for counters_agree 10 || it_fail "counters disagree before the replay"
rx_before=$B_RX
udp_before=$(it_snmp "$NS_B" Udp InDatagrams)
it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_A" --iface "$VETH_A" --from-file "$cap" \
	--variant replay --count 3 || it_fail "wgpkt.py send replay"
it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_A" --iface "$VETH_A" --from-file "$cap" \
	--variant flip-tag || it_fail "wgpkt.py send flip-tag"
it_wait_for "[ \$(it_snmp '$NS_B' Udp InDatagrams) -ge $((udp_before + 4)) ]" 5 ||
	it_fail "the crafted frames did not reach B's UDP socket"
sleep 0.3
it_wait_for counters_agree 10 || it_fail "counters disagree after the replay"
[ "$B_RX" -eq "$rx_before" ] ||
	it_fail "wireguard-go accepted a replayed or tampered message: rx $rx_before -> $B_RX"
it_ping "$NS_A" 10.78.0.2 1 || it_fail "ping A -> B after the replay"

it_pass "ping v4/v6 both ways, TCP $((bps / 1000000)) Mbit/s, counters A->B $A_TX B->A $B_TX bytes"
