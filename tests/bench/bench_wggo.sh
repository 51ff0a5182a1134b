#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# CPU cost of wireguard-go per packet: the baseline wg-dpdk is compared with.
#
# A wireguard-go pair over a veth pair between two namespaces; for each UDP
# payload size an iperf3 UDP run through the tunnel (A encrypts, B decrypts).
# The CPU time (user + system, all threads, from /proc/PID/stat) of each
# wireguard-go process over the run is converted to cycles with the TSC
# frequency. One line per size on stdout:
#
#	wggo size=S pkts=N cpu_s=X cycles_per_pkt=Y enc_pkts=E enc_cycles_per_pkt=EC
#	     dec_pkts=D dec_cycles_per_pkt=DC sent=T lost=L mbps=M hz=H bw=B
#
# size      iperf3 UDP payload (-l); the inner IPv4 packet is size + 28 bytes
# pkts      packets iperf3 delivered end to end (sent - lost)
# cpu_s     CPU seconds of both wireguard-go processes together
# cycles_per_pkt      cpu_s * hz / pkts: one delivered packet's trip through
#                     both (includes work spent on packets lost on the way)
# enc_pkts  packets A read from its tun and encrypted (tun tx_packets)
# enc_cycles_per_pkt  A's cycles / enc_pkts: the sending side's cost
# dec_pkts  packets B decrypted and wrote to its tun (tun rx_packets)
# dec_cycles_per_pkt  B's cycles / dec_pkts: the receiving side's cost
#
# The per-side figures are the ones to compare with one wg-dpdk direction.
# At an unlimited rate (the default) the receiving wireguard-go is the
# bottleneck and its UDP socket drops much of what A sent, so cycles_per_pkt
# is far above enc + dec there; with -b below saturation they converge. The
# CPU time includes the kernel work done in those processes' system calls
# (tun, UDP, veth and the softirq work run on their behalf), not iperf3's.
# iperf3 and both wireguard-go processes share the machine's cores, so this
# measures cost, not a rate; other load on the machine adds noise.
#
# Usage: bench_wggo.sh [-t SECONDS] [-s "SIZES"] [-b BW]
#	-t  seconds per run (default 10)
#	-s  UDP payload sizes (default "1372 64")
#	-b  iperf3 -b per run (default 0 = unlimited)
# Environment: BENCH_HZ overrides the cycle frequency (Hz).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"

secs=10
sizes="1372 64"
bw=0
while getopts t:s:b:h o; do
	case $o in
	t) secs=$OPTARG ;;
	s) sizes=$OPTARG ;;
	b) bw=$OPTARG ;;
	h)
		sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
done

nsizes=$(wc -w <<<"$sizes")
it_init bench_wggo $((60 + nsizes * (secs + 30)))
it_require wireguard-go wg iperf3 ip ping ss
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"

# Cycle frequency: the TSC (constant_tsc) as the kernel reports it.
hz=${BENCH_HZ:-}
if [ -z "$hz" ]; then
	mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	[ -n "$mhz" ] || it_fail "no cpu MHz in /proc/cpuinfo; set BENCH_HZ"
	hz=$(awk -v m="$mhz" 'BEGIN { printf "%.0f", m * 1e6 }')
fi
tck=$(getconf CLK_TCK)

NS_A=$(it_name wbpa)
NS_B=$(it_name wbpb)
WG_A=$(it_name wba)
WG_B=$(it_name wbb)
it_netns_add "$NS_A"
it_netns_add "$NS_B"
it_veth "$NS_A" "$(it_name va)" "$NS_B" "$(it_name vb)"
it_addr "$NS_A" "$(it_name va)" 10.79.0.1/24
it_addr "$NS_B" "$(it_name vb)" 10.79.0.2/24
it_keypair PRIV_A PUB_A
it_keypair PRIV_B PUB_B
IT_WGGO_LOG_LEVEL=error
it_wggo_start "$NS_A" "$WG_A" || it_fail "wireguard-go $WG_A did not start"
PID_A=$IT_LAST_PID
it_wggo_start "$NS_B" "$WG_B" || it_fail "wireguard-go $WG_B did not start"
PID_B=$IT_LAST_PID
it_wggo_conf "$NS_A" "$WG_A" "$PRIV_A" 51820 || it_fail "wg set $WG_A"
it_wggo_conf "$NS_B" "$WG_B" "$PRIV_B" 51821 || it_fail "wg set $WG_B"
it_wggo_peer "$NS_A" "$WG_A" "$PUB_B" 10.79.0.2:51821 10.80.0.2/32
it_wggo_peer "$NS_B" "$WG_B" "$PUB_A" 10.79.0.1:51820 10.80.0.1/32
it_addr "$NS_A" "$WG_A" 10.80.0.1/24
it_addr "$NS_B" "$WG_B" 10.80.0.2/24
# Handshake before measuring.
it_ping "$NS_A" 10.80.0.2 2 || it_fail "no traffic through the tunnel"

ticks() {
	# -> "A_TICKS B_TICKS A_TUN_TX_PKTS B_TUN_RX_PKTS"
	echo "$(it_proc_cpu_ticks "$PID_A") $(it_proc_cpu_ticks "$PID_B")" \
		"$(it_if_stat "$NS_A" "$WG_A" tx_packets) $(it_if_stat "$NS_B" "$WG_B" rx_packets)"
}

for size in $sizes; do
	before=$(ticks)
	bps=$(it_iperf_udp "$NS_B" 10.80.0.2 "$NS_A" "$secs" "$bw" "$size") ||
		it_fail "iperf3 UDP size $size"
	after=$(ticks)
	j=$IT_DIR/iperf_last.json
	sent=$(it_json "$j" end.sum_received.packets)
	lost=$(it_json "$j" end.sum_received.lost_packets)
	[ $((sent - lost)) -gt 0 ] || it_fail "no packet delivered at size $size"
	it_log "size $size before: $before after: $after"
	awk -v s="$size" -v before="$before" -v after="$after" -v tck="$tck" -v hz="$hz" \
		-v sent="$sent" -v lost="$lost" -v bps="$bps" -v bw="$bw" 'BEGIN {
		split(before, b); split(after, a)
		ca = (a[1] - b[1]) / tck; cb = (a[2] - b[2]) / tck
		enc = a[3] - b[3]; dec = a[4] - b[4]; p = sent - lost
		printf "wggo size=%d pkts=%d cpu_s=%.2f cycles_per_pkt=%.0f", s, p, ca + cb,
			(ca + cb) * hz / p
		printf " enc_pkts=%d enc_cycles_per_pkt=%.0f dec_pkts=%d dec_cycles_per_pkt=%.0f",
			enc, enc ? ca * hz / enc : 0, dec, dec ? cb * hz / dec : 0
		printf " sent=%d lost=%d mbps=%.1f hz=%.0f bw=%s\n", sent, lost, bps / 1e6, hz, bw
	}'
done
