#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End to end: wg-dpdk (net_af_packet over veth) between three wireguard-go
# peers on its WAN side and a LAN host, each in its own namespace:
#
#   [p1] e1 --+
#   [p2] e2 --+-- br (bridge, [sw]) -- sd ==veth== wd [wg-dpdk] ld ==veth== lh [lan]
#   [p3] e3 --+
#
#   p1 10.192.1.0/24 fd01:1::/64  endpoint configured in wg-dpdk, none in p1:
#                                 wg-dpdk initiates (LAN traffic staged first)
#   p2 10.192.2.0/24 fd01:2::/64  no endpoint in wg-dpdk: p2 initiates (responder)
#   p3 10.192.3.0/24 fd01:3::/64  p3 initiates over IPv6 outer
#
# Checks: handshakes both ways, ping both ways (IPv4 and IPv6 inner), iperf3
# TCP both directions over IPv4 outer (LAN -> p2) and IPv6 outer (p3), iperf3
# UDP both ways over IPv6 outer (decrypted / encrypted move by at least the
# datagrams delivered), the first LAN packet to p1 (staged before any session)
# arrives, no peer can use another peer's prefix as source (every ordered
# pair, IPv4 and IPv6: allowedips_src_mismatch exactly +3 each) and LAN
# traffic to a peer's prefix reaches that peer's tunnel only, byte counters
# exact (wireguard-go's `wg show` against wg-dpdk's /wg/peer), /wg/peers and
# /wg/stats counters, then SIGTERM and exit status 0 (no mbuf leaked).
# Phase 2 restarts wg-dpdk with two workers, WG_DPDK_CLOCK_SPEEDUP=20 and a
# persistent keepalive to p1: it connects without traffic, rekeys on its own
# (120 protocol seconds = 6 s), and still carries traffic with exact
# counters; with WG_DPDK_UNDER_LOAD_THRESHOLD=1 a burst of replayed
# initiations is answered with cookie replies; SIGTERM, exit status 0 again.
#   tests/integration/test_tunnel.sh [path/to/wg-dpdk]     (root)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}

it_init tunnel 280
it_require wireguard-go wg iperf3 ip ping ss ethtool timeout dpdk-telemetry.py
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"
[ -x "$WG_DPDK" ] || it_skip "no binary at $WG_DPDK"

NS_DP=$(it_name tdp)
NS_SW=$(it_name tsw)
NS_LAN=$(it_name tlan)
PREFIX=wgt-$IT_SFX
it_defer rm -rf "/var/run/dpdk/$PREFIX"

# ---- topology ----
it_netns_add "$NS_DP"
it_netns_add "$NS_SW"
it_netns_add "$NS_LAN"
WD=$(it_name wd)
LD=$(it_name ld)
SD=$(it_name sd)
LH=$(it_name lh)
BR=$(it_name br)
it_run ip -n "$NS_SW" link add "$BR" type bridge mcast_snooping 0 || it_fail "bridge"
it_run ip -n "$NS_SW" link set "$BR" up
# The DPDK ends: no kernel IPv6 chatter on them.
it_veth "$NS_DP" "$WD" "$NS_SW" "$SD" no-ipv6-a tx-off-b || it_fail "veth wan"
it_veth "$NS_DP" "$LD" "$NS_LAN" "$LH" no-ipv6-a tx-off-b || it_fail "veth lan"
it_run ip -n "$NS_SW" link set "$SD" master "$BR"
it_ns "$NS_LAN" sysctl -qw "net.ipv6.conf.$LH.accept_dad=0"
it_addr "$NS_LAN" "$LH" 10.0.0.2/24
it_addr "$NS_LAN" "$LH" fd00::2/64
it_run ip -n "$NS_LAN" route add 10.192.0.0/16 via 10.0.0.1
it_run ip -n "$NS_LAN" route add fd01::/16 via fd00::1

declare -A NS_P E_P WG_P PRIV PUB
for i in 1 2 3; do
	NS_P[$i]=$(it_name tp$i)
	E_P[$i]=$(it_name e$i)
	WG_P[$i]=$(it_name wgp$i)
	it_netns_add "${NS_P[$i]}"
	s=$(it_name s$i)
	# wireguard-go's UDP leaves with a finished checksum (tx off on its end).
	it_veth "${NS_P[$i]}" "${E_P[$i]}" "$NS_SW" "$s" tx-off-a || it_fail "veth p$i"
	it_run ip -n "$NS_SW" link set "$s" master "$BR"
	it_ns "${NS_P[$i]}" sysctl -qw "net.ipv6.conf.${E_P[$i]}.accept_dad=0"
	it_addr "${NS_P[$i]}" "${E_P[$i]}" "198.51.100.1$i/24"
	it_addr "${NS_P[$i]}" "${E_P[$i]}" "2001:db8:1::1$i/64"
	it_keypair "PRIV[$i]" "PUB[$i]"
done
it_keypair DP_PRIV DP_PUB

# ---- wg-dpdk ----
# write_conf FILE LCORES QPAIRS P1_KEEPALIVE
write_conf() {
	cat >"$1" <<YAML
version: 1
interface:
  private-key: $DP_PRIV
  listen-port: 51820
  mtu: 1420
dpdk:
  eal-args: [--lcores, "$2", --no-huge, -m, "512", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning,
             "--vdev=net_af_packet0,iface=$WD,qpairs=$3",
             "--vdev=net_af_packet1,iface=$LD,qpairs=$3"]
ports:
  wan:
    device: net_af_packet0
    address: [198.51.100.1/24, "2001:db8:1::1/64"]
  lan:
    device: net_af_packet1
    address: [10.0.0.1/24, "fd00::1/64"]
peers:
  - name: p1
    public-key: ${PUB[1]}
    endpoint: 198.51.100.11:51820
    allowed-ips: [10.192.1.0/24, "fd01:1::/64"]
    persistent-keepalive: $4
  - name: p2
    public-key: ${PUB[2]}
    allowed-ips: [10.192.2.0/24, "fd01:2::/64"]
  - name: p3
    public-key: ${PUB[3]}
    allowed-ips: [10.192.3.0/24, "fd01:3::/64"]
YAML
}

# telemetry CMD -> the JSON answer; tel_field PATH -> a field of $IT_DIR/tel.json (lib.sh).
telemetry() { it_telemetry "$PREFIX" "$1"; }
tel_field() { it_tel_field "$IT_DIR/tel.json" "$1"; }

# start_dpdk TAG CONF [ENV...]: sets DP_PID
start_dpdk() {
	local tag=$1 conf=$2
	shift 2
	it_spawn "$tag" "$NS_DP" env WG_DPDK_IDLE=1 WG_DPDK_UAPI_DIR="$IT_DIR" "$@" \
		"$WG_DPDK" --conf "$conf"
	DP_PID=$IT_LAST_PID
	it_wait_for "[ -S /var/run/dpdk/$PREFIX/dpdk_telemetry.v2 ] || ! kill -0 $DP_PID" 30 ||
		it_fail "wg-dpdk ($tag) did not start"
	kill -0 "$DP_PID" 2>/dev/null || it_fail "wg-dpdk ($tag) exited at start"
	it_wait_for "telemetry /wg/ports | grep -q wan_mac" 10 || it_fail "no telemetry ($tag)"
}

# Phase 1: one worker, real protocol clock, no persistent keepalive.
write_conf "$IT_DIR/wg.yaml" "0@0,1@1" 1 0
start_dpdk wgdpdk "$IT_DIR/wg.yaml"

# The AEAD engine the worker runs: the one WG_DPDK_AEAD forces, else the
# default (multi-buffer where the CPU has AVX-512 IFMA).
it_wait_for "grep -q 'AEAD ' '$IT_DIR/wgdpdk.log'" 10 || it_fail "no AEAD line in wg-dpdk's log"
engine=$(grep -m1 -o 'AEAD .*' "$IT_DIR/wgdpdk.log")
it_log "worker engine: $engine"
case ${WG_DPDK_AEAD:-auto} in
ipsecmb)
	case $engine in "AEAD ipsec-mb "*) ;; *) it_fail "WG_DPDK_AEAD=ipsecmb, worker: $engine" ;; esac ;;
*)
	if grep -qw avx512ifma /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo &&
		grep -qw avx512vl /proc/cpuinfo; then
		case $engine in *mb-avx512ifma*) ;; *) it_fail "AVX-512 IFMA CPU, worker: $engine" ;; esac
	fi ;;
esac

# ---- wireguard-go peers ----
for i in 1 2 3; do
	ns=${NS_P[$i]}
	wg=${WG_P[$i]}
	it_wggo_start "$ns" "$wg" || it_fail "wireguard-go p$i did not start"
	it_wggo_conf "$ns" "$wg" "${PRIV[$i]}" 51820 || it_fail "wg set p$i"
	case $i in
	1) ep=- ;;				# wg-dpdk initiates
	2) ep=198.51.100.1:51820 ;;
	3) ep="[2001:db8:1::1]:51820" ;;	# IPv6 outer
	esac
	it_wggo_peer "$ns" "$wg" "$DP_PUB" "$ep" 10.0.0.0/24,fd00::/64 || it_fail "wg peer p$i"
	it_addr "$ns" "$wg" "10.192.$i.2/24"
	it_addr "$ns" "$wg" "fd01:$i::2/64"
	it_route "$ns" 10.0.0.0/24 "$wg"
	it_route "$ns" fd00::/64 "$wg"
done

# ---- wg-dpdk as the initiator: the first LAN packet to p1 is staged ----
# One echo request, no retry: the reply proves the staged packet went out
# once the handshake wg-dpdk started completed.
it_run timeout 15 ip netns exec "$NS_LAN" ping -n -c 1 -W 8 10.192.1.2 ||
	it_fail "first packet to p1 (staged, wg-dpdk initiates) not answered"
hs=$(it_wg_handshake "${NS_P[1]}" "${WG_P[1]}" "$DP_PUB") || it_fail "p1: no peer entry"
[ "$hs" -gt 0 ] || it_fail "p1: no handshake recorded"
it_ping "$NS_LAN" 10.192.1.2 3 || it_fail "ping LAN -> p1 (IPv4)"
it_ping "$NS_LAN" fd01:1::2 3 || it_fail "ping LAN -> p1 (IPv6)"
it_ping "${NS_P[1]}" 10.0.0.2 3 || it_fail "ping p1 -> LAN (IPv4)"

# ---- wg-dpdk as the responder: p2 (IPv4 outer) and p3 (IPv6 outer) ----
# p2's initiation is recorded for the under-load check of phase 2.
cap=$IT_DIR/init.hex
it_spawn capture "${NS_P[2]}" "$IT_PY" "$IT_WGPKT" capture --iface "${E_P[2]}" --port 51820 \
	--type 1 --direction out --count 1 --timeout 20 --out "$cap" --ready "$IT_DIR/cap.ready"
cap_pid=$IT_LAST_PID
it_wait_for "[ -e '$IT_DIR/cap.ready' ]" 5 || it_fail "wgpkt.py capture did not start"
for i in 2 3; do
	it_ping "${NS_P[$i]}" 10.0.0.2 3 || it_fail "ping p$i -> LAN (IPv4, p$i initiates)"
	hs=$(it_wg_handshake "${NS_P[$i]}" "${WG_P[$i]}" "$DP_PUB") || it_fail "p$i: no peer"
	[ "$hs" -gt 0 ] || it_fail "p$i: no handshake recorded"
	it_ping "${NS_P[$i]}" fd00::2 3 || it_fail "ping p$i -> LAN (IPv6)"
	it_ping "$NS_LAN" "10.192.$i.2" 3 || it_fail "ping LAN -> p$i (IPv4)"
	it_ping "$NS_LAN" "fd01:$i::2" 3 || it_fail "ping LAN -> p$i (IPv6)"
done

it_wait_exit "$cap_pid" 10 || it_fail "wgpkt.py capture of p2's initiation: status $IT_STATUS"

it_telemetry_stat() {
	telemetry /wg/stats >"$IT_DIR/tel.json" && tel_field "$1"
}

# ---- iperf3 TCP both directions (bounded: no loss, so counters stay exact) ----
bps=$(it_iperf_tcp "${NS_P[2]}" 10.192.2.2 "$NS_LAN" 2 100M -w 64K) ||
	it_fail "iperf3 TCP LAN -> p2"
b1=$(it_json "$IT_DIR/iperf_last.json" end.sum_received.bytes)
it_log "iperf3 LAN -> p2: $bps bit/s, $b1 bytes"
bps=$(it_iperf_tcp "$NS_LAN" 10.0.0.2 "${NS_P[3]}" 2 100M -w 64K) ||
	it_fail "iperf3 TCP p3 -> LAN"
b2=$(it_json "$IT_DIR/iperf_last.json" end.sum_received.bytes)
it_log "iperf3 p3 -> LAN: $bps bit/s, $b2 bytes"
# IPv6 outer the other way, IPv6 inner.
bps=$(it_iperf_tcp "${NS_P[3]}" fd01:3::2 "$NS_LAN" 2 100M -w 64K) ||
	it_fail "iperf3 TCP LAN -> p3 (IPv6 outer and inner)"
b3=$(it_json "$IT_DIR/iperf_last.json" end.sum_received.bytes)
it_log "iperf3 LAN -> p3: $bps bit/s, $b3 bytes"
[ "$b1" -gt 1000000 ] && [ "$b2" -gt 1000000 ] && [ "$b3" -gt 1000000 ] ||
	it_fail "iperf3 carried too little: $b1, $b2 and $b3 bytes"

# ---- iperf3 UDP both ways over IPv6 outer (p3), at a rate the veths carry losslessly ----
# Every datagram the receiving iperf3 counted went through wg-dpdk's AEAD:
# decrypted (p3 -> LAN) and encrypted (LAN -> p3) move by at least as many.
# udp_bulk NAME NS_SERVER ADDR NS_CLIENT COUNTER: sets UDP_BYTES
udp_bulk() {
	local name=$1 c0 c1 bps n lost
	c0=$(it_telemetry_stat "$5") || it_fail "/wg/stats"
	bps=$(it_iperf_udp "$2" "$3" "$4" 2 20M 1200) || it_fail "iperf3 UDP $name"
	n=$(it_json "$IT_DIR/iperf_last.json" end.sum.packets)
	lost=$(it_json "$IT_DIR/iperf_last.json" end.sum.lost_packets)
	UDP_BYTES=$(it_json "$IT_DIR/iperf_last.json" end.sum_received.bytes)
	c1=$(it_telemetry_stat "$5") || it_fail "/wg/stats"
	it_log "iperf3 UDP $name: $bps bit/s, $((n - lost)) of $n datagrams, $5 +$((c1 - c0))"
	[ $((n - lost)) -gt 1000 ] && [ "$UDP_BYTES" -gt 0 ] ||
		it_fail "iperf3 UDP $name: $((n - lost)) of $n datagrams delivered"
	[ $((c1 - c0)) -ge $((n - lost)) ] ||
		it_fail "iperf3 UDP $name: $5 moved by $((c1 - c0)), $((n - lost)) datagrams delivered"
}
udp_bulk "p3 -> LAN" "$NS_LAN" 10.0.0.2 "${NS_P[3]}" decrypted
u1=$UDP_BYTES
udp_bulk "LAN -> p3" "${NS_P[3]}" fd01:3::2 "$NS_LAN" encrypted
u2=$UDP_BYTES

# ---- each peer only its own prefixes: every ordered pair ----
# p$i sends from an address of p$j's prefix (10.192.$j.9$i, fd01:$j::9$i):
# wireguard-go encrypts it (10.0.0.2 and fd00::2 are in its allowed IPs),
# wg-dpdk refuses each after decryption: allowedips_src_mismatch moves by
# exactly 3 per pair (2 IPv4 + 1 IPv6 echo requests), nothing reaches the LAN.
mism=$(it_telemetry_stat drop_allowedips_src_mismatch) || it_fail "/wg/stats"
mism_start=$mism
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" -ne "$j" ] || continue
		ns=${NS_P[$i]}
		it_addr "$ns" "${WG_P[$i]}" "10.192.$j.9$i/32"
		it_addr "$ns" "${WG_P[$i]}" "fd01:$j::9$i/128"
		timeout 5 ip netns exec "$ns" ping -n -q -c 2 -i 0.2 -W 0.5 -I "10.192.$j.9$i" \
			10.0.0.2 >>"$IT_LOG" 2>&1 &
		p4=$!
		timeout 5 ip netns exec "$ns" ping -n -q -c 1 -W 0.5 -I "fd01:$j::9$i" fd00::2 \
			>>"$IT_LOG" 2>&1 &
		p6=$!
		r4=0 r6=0
		wait "$p4" || r4=$?
		wait "$p6" || r6=$?
		[ "$r4" -ne 0 ] && [ "$r6" -ne 0 ] ||
			it_fail "p$i reached the LAN with a source of p$j's prefix (ping $r4 / $r6)"
		m0=$mism
		it_wait_for "[ \$(it_telemetry_stat drop_allowedips_src_mismatch) -ge $((m0 + 3)) ]" \
			5 || true
		mism=$(it_telemetry_stat drop_allowedips_src_mismatch) || it_fail "/wg/stats"
		it_log "p$i with p$j's sources: allowedips_src_mismatch $m0 -> $mism"
		[ "$mism" -eq $((m0 + 3)) ] ||
			it_fail "p$i with p$j's sources: allowedips_src_mismatch $m0 -> $mism, expected +3"
	done
done
# LAN traffic to p$j's prefix goes to p$j only, even to the addresses p$i
# now holds in it: p$j's tunnel interface receives the 4 echo requests (it
# does not answer: not its address), the other peers' receive none.
tun_rx() {
	it_if_stat "${NS_P[$1]}" "${WG_P[$1]}" rx_packets
}
for j in 1 2 3; do
	rx0=()
	for k in 1 2 3; do rx0[k]=$(tun_rx "$k"); done
	pids=()
	for i in 1 2 3; do
		[ "$i" -ne "$j" ] || continue
		for a in "10.192.$j.9$i" "fd01:$j::9$i"; do
			timeout 5 ip netns exec "$NS_LAN" ping -n -q -c 1 -W 1 "$a" >>"$IT_LOG" 2>&1 &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do
		if wait "$p"; then
			it_fail "the LAN reached p$j's prefix at another peer's address"
		fi
	done
	for k in 1 2 3; do
		d=$(($(tun_rx "$k") - rx0[k]))
		it_log "LAN -> p$j's prefix (other peers' addresses): p$k's tunnel received $d"
		if [ "$k" -eq "$j" ]; then
			[ "$d" -ge 4 ] || it_fail "LAN -> p$j's prefix: p$j received $d of 4 packets"
		else
			[ "$d" -eq 0 ] || it_fail "LAN -> p$j's prefix: p$k received $d packets"
		fi
	done
done
# The other peers' addresses go (source selection would pick them later).
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" -ne "$j" ] || continue
		for a in "10.192.$j.9$i/32" "fd01:$j::9$i/128"; do
			it_run ip -n "${NS_P[$i]}" addr del "$a" dev "${WG_P[$i]}" ||
				it_fail "remove $a from p$i"
		done
	done
done
for i in 1 2 3; do
	it_ping "$NS_LAN" "10.192.$i.2" 1 && it_ping "${NS_P[$i]}" fd00::2 1 ||
		it_fail "p$i's own prefixes after the spoofing attempts"
done

# ---- exact byte counters: wireguard-go's wg show against wg-dpdk's /wg/peer ----
GO_RX=0 GO_TX=0 DP_RX=0 DP_TX=0
counters_agree() {
	local i=$1 go
	go=$(it_wg_counters "${NS_P[$i]}" "${WG_P[$i]}" "$DP_PUB") || return 1
	read -r GO_RX GO_TX <<<"$go"
	telemetry "/wg/peer,${PUB[$i]}" >"$IT_DIR/tel.json" || return 1
	DP_RX=$(tel_field rx_bytes) && DP_TX=$(tel_field tx_bytes) || return 1
	it_log "p$i: wireguard-go rx $GO_RX tx $GO_TX, wg-dpdk rx $DP_RX tx $DP_TX"
	[ "$GO_TX" -eq "$DP_RX" ] && [ "$GO_RX" -eq "$DP_TX" ] && [ "$DP_RX" -gt 0 ]
}
for i in 1 2 3; do
	it_wait_for "counters_agree $i" 15 ||
		it_fail "p$i counters: go tx $GO_TX rx $GO_RX, wg-dpdk rx $DP_RX tx $DP_TX"
done
[ "$DP_RX" -gt $((b2 + u1)) ] && [ "$DP_TX" -gt $((b3 + u2)) ] ||
	it_fail "wg-dpdk and p3: rx $DP_RX, tx $DP_TX bytes, under iperf3's $((b2 + u1)), $((b3 + u2))"

# ---- telemetry: the peer list and the counters ----
telemetry /wg/peers >"$IT_DIR/tel.json" || it_fail "/wg/peers"
[ "$(tel_field total)" -eq 3 ] && [ "$(tel_field count)" -eq 3 ] &&
	[ "$(tel_field next)" -eq -1 ] || it_fail "/wg/peers: $(cat "$IT_DIR/tel.json")"
for i in 1 2 3; do
	grep -qF "${PUB[$i]}" "$IT_DIR/tel.json" || it_fail "/wg/peers lacks p$i"
done
[ "$(tel_field endpoint.1)" = "198.51.100.12:51820" ] ||
	it_fail "/wg/peers: p2 endpoint $(tel_field endpoint.1)"
[ "$(tel_field endpoint.2)" = "[2001:db8:1::13]:51820" ] ||
	it_fail "/wg/peers: p3 endpoint $(tel_field endpoint.2)"
[ "$(tel_field last_handshake.0)" -gt 0 ] || it_fail "/wg/peers: p1 last handshake 0"
telemetry /wg/peers,1 >"$IT_DIR/tel.json" || it_fail "/wg/peers,1"
[ "$(tel_field count)" -eq 2 ] || it_fail "/wg/peers,1: $(cat "$IT_DIR/tel.json")"

telemetry /wg/stats >"$IT_DIR/tel.json" || it_fail "/wg/stats"
it_log "stats: $(cut -c1-4000 "$IT_DIR/tel.json")"
stat_ge() {
	local v
	v=$(tel_field "$1") || it_fail "/wg/stats has no $1"
	[ "$v" -ge "$2" ] || it_fail "/wg/stats $1 = $v, expected >= $2"
}
stat_ge handshakes_rx 3
stat_ge hs_initiation 2		# p2 and p3
stat_ge hs_response 1		# p1 answered wg-dpdk's initiation
stat_ge engine_initiations_sent 1
stat_ge engine_responses_sent 2
stat_ge engine_staged 1
stat_ge engine_staged_sent 1
stat_ge decrypted 1000
stat_ge encrypted 1000
stat_ge drop_allowedips_src_mismatch $((mism_start + 18))
[ "$(tel_field hs_bad_mac1)" -eq 0 ] || it_fail "/wg/stats: handshakes with a bad mac1"

# ---- clean shutdown: exit 0 means every mbuf came back ----
kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "wg-dpdk exit status $IT_STATUS after SIGTERM"
rm -rf "/var/run/dpdk/$PREFIX"

# ---- phase 2: two workers, protocol clock 20 times faster, persistent keepalive ----
# wg-dpdk's protocol clock runs 20x (REKEY_AFTER_TIME 120 s = 6 s real), the
# peers' does not, so only p1 is used: wg-dpdk initiated its session and
# rekeys it itself (p2 and p3 would keep keys that wg-dpdk expires at 9 s).
# Persistent keepalive 25 s (1.25 s real) on p1: wg-dpdk connects at start,
# without traffic. Two workers share each af_packet port (qpairs=2).
SPEEDUP=20
for i in 1 2 3; do
	# Fresh peer entries (counters at zero, no session with the old instance).
	it_run ip netns exec "${NS_P[$i]}" wg set "${WG_P[$i]}" peer "$DP_PUB" remove
done
it_wggo_peer "${NS_P[1]}" "${WG_P[1]}" "$DP_PUB" - 10.0.0.0/24,fd00::/64 || it_fail "wg peer p1"
write_conf "$IT_DIR/wg2.yaml" "0@0,1@1,2@1" 2 25
start_dpdk wgdpdk2 "$IT_DIR/wg2.yaml" WG_DPDK_CLOCK_SPEEDUP=$SPEEDUP \
	WG_DPDK_UNDER_LOAD_THRESHOLD=1
it_wait_for "[ \"\$(it_wg_handshake '${NS_P[1]}' '${WG_P[1]}' '$DP_PUB')\" -gt 0 ]" 10 ||
	it_fail "phase 2: no handshake with p1 from the persistent keepalive"
# Two rekeys by wg-dpdk (each after 120 protocol seconds of its own session).
rekeyed() {
	telemetry /wg/stats >"$IT_DIR/tel.json" || return 1
	[ "$(tel_field engine_initiations_sent)" -ge 3 ] && [ "$(tel_field hs_response)" -ge 3 ]
}
it_wait_for rekeyed 40 ||
	it_fail "phase 2: wg-dpdk did not rekey: $(cut -c1-3000 "$IT_DIR/tel.json")"
stat_ge engine_keepalives_sent 3
stat_ge engine_timers_fired 3
[ "$(tel_field hs_bad_mac1)" -eq 0 ] || it_fail "phase 2: handshakes with a bad mac1"
it_ping "$NS_LAN" 10.192.1.2 5 || it_fail "phase 2: ping LAN -> p1 after the rekeys"
it_ping "${NS_P[1]}" fd00::2 5 || it_fail "phase 2: ping p1 -> LAN (IPv6) after the rekeys"
bps=$(it_iperf_tcp "$NS_LAN" 10.0.0.2 "${NS_P[1]}" 2 100M -w 64K) ||
	it_fail "phase 2: iperf3 TCP p1 -> LAN (two workers)"
it_log "phase 2 iperf3 p1 -> LAN: $bps bit/s"
it_wait_for "counters_agree 1" 15 ||
	it_fail "phase 2 p1 counters: wireguard-go tx $GO_TX rx $GO_RX, wg-dpdk rx $DP_RX tx $DP_TX"
telemetry /wg/stats >"$IT_DIR/tel.json" || it_fail "phase 2: /wg/stats"
# p1 -> LAN carried ~25 MB of TCP data (decrypted); the LAN -> p1 direction is
# its ACKs, which GRO on the veth coalesces to ~1,000 or fewer (994 seen), plus
# the pings: a lower bound, the exact figures are checked by counters_agree.
stat_ge decrypted 1000
stat_ge encrypted 200
# Under load (WG_DPDK_UNDER_LOAD_THRESHOLD=1: one handshake message queued
# behind another): a burst of 64 copies of p2's initiation, valid mac1 and no
# mac2, is answered with cookie replies instead of reaching the Noise code.
it_run "$IT_PY" "$IT_WGPKT" send --netns "${NS_P[2]}" --iface "${E_P[2]}" --from-file "$cap" \
	--variant replay --count 64 || it_fail "wgpkt.py send (initiation burst)"
it_wait_for "telemetry /wg/stats >'$IT_DIR/tel.json' && [ \$(tel_field handshakes_rx) -ge 66 ]" \
	10 || it_fail "phase 2: the initiation burst did not reach the control lcore"
it_log "phase 2 stats: $(cut -c1-4000 "$IT_DIR/tel.json")"
stat_ge hs_cookie_sent 8
stat_ge engine_cookies_sent 8
[ "$(tel_field hs_bad_mac1)" -eq 0 ] || it_fail "phase 2: replayed initiations failed mac1"
kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "phase 2: wg-dpdk exit status $IT_STATUS after SIGTERM"
it_pass "3 wireguard-go peers, both roles, IPv4/IPv6, iperf3, exact counters, rekeys at 20x"
