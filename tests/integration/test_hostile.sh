#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Hostile input on wg-dpdk's WAN port (net_af_packet over veth), end to end:
#
#   [p1] e1 --+
#   [p2] e2 --+-- br (bridge, [sw]) -- sd ==veth== wd [wg-dpdk] ld ==veth== lh [lan]
#   [x]  ex --+   hostile sender, 198.51.100.66 (+ 198.51.100.200-207 for the flood)
#
# p1 (wireguard-go, 10.192.1.0/24) has a session and a ping loop to the LAN host
# all along. One of its transport data messages is captured, and the hostile
# namespace sends variants of it from its own address and port (a wrongly
# accepted packet would move p1's endpoint there), plus crafted messages. For
# each case: wg-dpdk still runs, the named counters of /wg/stats moved by
# exactly the number of packets sent and no other drop_* / hs_* counter moved,
# p1's and p2's endpoints and p1's last handshake are unchanged.
# Cases and the reasons they must produce:
#   replayed data (also with IPv4 options, with a wrong UDP checksum: UDP
#     checksums are not verified, the AEAD authenticates)       wg_replay
#   reserved bytes of the type word flipped                     wg_bad_type
#   receiver index flipped                                      wg_unknown_index
#   counter / ciphertext / tag flipped, 1 byte cut, UDP length 8 short
#     (the datagram ends 8 bytes early: a message without its tag)  wg_bad_tag
#   data message < 32 bytes, < 4 bytes, empty; types 1/2/3 one byte
#     too long or short, type 1 of 1400 bytes                   wg_bad_size
#   type 0 / 5 / type 1 with a reserved byte set                 wg_bad_type
#   random types 1 and 2 of the right size (mac1 wrong)  hs_bad_mac1, handshake_consumed
#   random type 3 (unknown receiver index)             hs_unknown, handshake_consumed
#   IHL 4 / IHL 0, IPv4 total length past the frame             ip4_bad_header
#   IPv4 header checksum wrong                                  ip4_bad_csum
#   UDP length past the IP payload, UDP length 7, IPv4 total length 8 short
#                                                               udp_malformed
#   UDP to another port                                         udp_port_closed
#   IPv4 to an address not ours                                 not_for_us
#   UDP length 0                                                udp_malformed
#   IPv4 header cut at 19 bytes                                 ip4_short
#   IPv4 protocol TCP                                           local_unhandled
#   frame longer than the IPv4 total length (padding), UDP length
#     inside a longer IPv4 payload: the lengths govern          wg_replay
#   over the WAN port's MTU (1500, set by wg-dpdk: a 1504-byte IP packet
#     still passes the veth): the message grown (tag moves)     wg_bad_tag
#     UDP length / padding keep the message                     wg_replay
#     IPv4 total length 8 short of the payload                  udp_malformed
#     a 1604-byte IP packet: dropped by the kernel's veth (tx_dropped of
#     the bridge end moves), never seen: only a replay after it counted
#   outer IPv6 from a hostile address (the WAN has 2001:db8:1::1):
#     replay, frame longer than the payload length, UDP length inside
#     a longer payload                                          wg_replay
#     payload length past the frame                             ip6_bad_header
#     payload length 8 short / 0, UDP length past it / 0        udp_malformed
#     header cut at 39 bytes                                    ip6_short
#     next header TCP / none (59)                               local_unhandled
#     UDP length 8 short, message grown over the port MTU       wg_bad_tag
#     UDP to another port                                       udp_port_closed
#     to an address not ours                                    not_for_us
#   outer IPv4 fragments, in order or reversed: net_af_packet's sockets ask
#     the kernel to reassemble (PACKET_FANOUT_FLAG_DEFRAG), wg-dpdk gets the
#     whole datagram (a replay)                                 wg_replay
#   the same without the last fragment: never delivered (nothing counted
#     before a replay sent after it)                            wg_replay of that one
#   outer IPv6 fragments (scapy): not reassembled, each one     ip6_fragment
#   p2 (its own session, AllowedIPs 10.0.0.0/24 on its side) sends from
#     10.192.9.9, outside every allowed IP of wg-dpdk: authenticated (p2's rx
#     counters move, as in the kernel), then refused    allowedips_src_mismatch
#   initiation flood, valid mac1, random bodies, 1024 sources (8 addresses x 128
#     ports), WG_DPDK_UNDER_LOAD_THRESHOLD=8: under load, cookie replies sent
#     (hs_cookie_sent = engine_cookies_sent), captured on the hostile side and
#     decrypted (XChaCha20-Poly1305 with the initiation's mac1 as AAD); the same
#     sources again with a valid mac2 made from their cookies: no cookie reply,
#     the engine goes on to the rate limiter / DH (hs_ratelimited, hs_bad_crypto)
# Then the ping loop lost at most a few packets, the byte counters of
# wireguard-go and wg-dpdk agree exactly for p1 and p2 (no hostile packet
# counted), p1 still pings, and SIGTERM gives exit status 0 (no mbuf leaked).
#   tests/integration/test_hostile.sh [path/to/wg-dpdk]     (root)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}
HOSTILE=$(cd "$(dirname "$0")" && pwd)/hostile.py

it_init hostile 100
it_require wireguard-go wg ip ping ethtool timeout
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"
[ -x "$WG_DPDK" ] || it_skip "no binary at $WG_DPDK"

NS_DP=$(it_name hdp)
NS_SW=$(it_name hsw)
NS_LAN=$(it_name hlan)
NS_X=$(it_name hx)
PREFIX=wgh-$IT_SFX
it_defer rm -rf "/var/run/dpdk/$PREFIX"
X_IP=198.51.100.66
X_PORT=40000
FLOOD_SRCS=198.51.100.200,198.51.100.201,198.51.100.202,198.51.100.203
FLOOD_SRCS=$FLOOD_SRCS,198.51.100.204,198.51.100.205,198.51.100.206,198.51.100.207
FLOOD_N=1024
LOSS_MAX=5

# ---- topology ----
it_netns_add "$NS_DP"
it_netns_add "$NS_SW"
it_netns_add "$NS_LAN"
it_netns_add "$NS_X"
WD=$(it_name hwd)
LD=$(it_name hld)
SD=$(it_name hsd)
LH=$(it_name hlh)
BR=$(it_name hbr)
EX=$(it_name hex)
it_run ip -n "$NS_SW" link add "$BR" type bridge mcast_snooping 0 || it_fail "bridge"
it_run ip -n "$NS_SW" link set "$BR" up
# A plain switch: with br_netfilter loaded (bridge-nf-call-iptables is 1 in a
# new namespace here) the bridge validates IPv4 headers itself and drops bad
# IHL / checksum / total length before wg-dpdk could see them.
for k in iptables ip6tables arptables; do
	f=/proc/sys/net/bridge/bridge-nf-call-$k
	[ ! -e "$f" ] || it_run ip netns exec "$NS_SW" sysctl -qw "net.bridge.bridge-nf-call-$k=0"
done
it_veth "$NS_DP" "$WD" "$NS_SW" "$SD" no-ipv6-a tx-off-b || it_fail "veth wan"
it_veth "$NS_DP" "$LD" "$NS_LAN" "$LH" no-ipv6-a tx-off-b || it_fail "veth lan"
it_run ip -n "$NS_SW" link set "$SD" master "$BR"
it_addr "$NS_LAN" "$LH" 10.0.0.2/24
it_run ip -n "$NS_LAN" route add 10.192.0.0/16 via 10.0.0.1

declare -A NS_P E_P WG_P PRIV PUB
for i in 1 2; do
	NS_P[$i]=$(it_name hp$i)
	E_P[$i]=$(it_name he$i)
	WG_P[$i]=$(it_name hwg$i)
	it_netns_add "${NS_P[$i]}"
	s=$(it_name hs$i)
	it_veth "${NS_P[$i]}" "${E_P[$i]}" "$NS_SW" "$s" tx-off-a no-ipv6-a || it_fail "veth p$i"
	it_run ip -n "$NS_SW" link set "$s" master "$BR"
	it_addr "${NS_P[$i]}" "${E_P[$i]}" "198.51.100.1$i/24"
	it_keypair "PRIV[$i]" "PUB[$i]"
done
s=$(it_name hsx)
it_veth "$NS_X" "$EX" "$NS_SW" "$s" tx-off-a no-ipv6-a || it_fail "veth hostile"
it_run ip -n "$NS_SW" link set "$s" master "$BR"
it_addr "$NS_X" "$EX" "$X_IP/24"
for a in ${FLOOD_SRCS//,/ }; do
	it_addr "$NS_X" "$EX" "$a/24"
done
X_MAC=$(it_mac "$NS_X" "$EX")
# The hostile path carries frames over wg-dpdk's port MTU (only wd, set by
# wg-dpdk, bounds what reaches it).
for l in "$NS_X $EX" "$NS_SW $(it_name hsx)" "$NS_SW $SD"; do
	it_run ip -n "${l% *}" link set "${l#* }" mtu 2000 || it_fail "mtu 2000 on ${l#* }"
done
it_keypair DP_PRIV DP_PUB

# ---- wg-dpdk: one worker, under load from 8 queued handshake messages ----
cat >"$IT_DIR/wg.yaml" <<YAML
version: 1
interface:
  private-key: $DP_PRIV
  listen-port: 51820
  mtu: 1420
dpdk:
  eal-args: [--lcores, "0@0,1@1", --no-huge, -m, "512", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning,
             "--vdev=net_af_packet0,iface=$WD,qpairs=1,framecnt=4096",
             "--vdev=net_af_packet1,iface=$LD,qpairs=1"]
ports:
  wan:
    device: net_af_packet0
    address: [198.51.100.1/24, "2001:db8:1::1/64"]
  lan:
    device: net_af_packet1
    address: [10.0.0.1/24]
peers:
  - name: p1
    public-key: ${PUB[1]}
    allowed-ips: [10.192.1.0/24]
  - name: p2
    public-key: ${PUB[2]}
    allowed-ips: [10.192.2.0/24]
YAML

it_spawn wgdpdk "$NS_DP" env WG_DPDK_IDLE=1 WG_DPDK_UAPI_DIR="$IT_DIR" \
	WG_DPDK_UNDER_LOAD_THRESHOLD=8 "$WG_DPDK" --conf "$IT_DIR/wg.yaml"
DP_PID=$IT_LAST_PID
tel() {
	"$IT_PY" "$HOSTILE" tel "$PREFIX" "$@"
}
it_wait_for "[ -S /var/run/dpdk/$PREFIX/dpdk_telemetry.v2 ] || ! kill -0 $DP_PID" 30 ||
	it_fail "wg-dpdk did not start"
kill -0 "$DP_PID" 2>/dev/null || it_fail "wg-dpdk exited at start"
it_wait_for "tel /wg/ports | grep -q wan_mac" 10 || it_fail "no telemetry"

# ---- the peers initiate ----
for i in 1 2; do
	ns=${NS_P[$i]}
	wg=${WG_P[$i]}
	it_wggo_start "$ns" "$wg" || it_fail "wireguard-go p$i did not start"
	it_wggo_conf "$ns" "$wg" "${PRIV[$i]}" 51820 || it_fail "wg set p$i"
	it_wggo_peer "$ns" "$wg" "$DP_PUB" 198.51.100.1:51820 10.0.0.0/24 || it_fail "wg peer p$i"
	it_addr "$ns" "$wg" "10.192.$i.2/24"
	it_route "$ns" 10.0.0.0/24 "$wg"
	it_ping "$ns" 10.0.0.2 3 || it_fail "ping p$i -> LAN"
done

# ---- p1's traffic all along, and one of its data messages ----
cap=$IT_DIR/data.hex
it_spawn capture "${NS_P[1]}" "$IT_PY" "$IT_WGPKT" capture --iface "${E_P[1]}" --port 51820 \
	--type 4 --direction out --count 8 --timeout 20 --out "$IT_DIR/cap.hex" \
	--ready "$IT_DIR/cap.ready"
cap_pid=$IT_LAST_PID
it_wait_for "[ -e '$IT_DIR/cap.ready' ]" 5 || it_fail "wgpkt.py capture did not start"
it_spawn pingloop "${NS_P[1]}" ping -n -i 0.1 -W 2 10.0.0.2
PING_PID=$IT_LAST_PID
it_wait_exit "$cap_pid" 25 || it_fail "capture of p1's data messages: status $IT_STATUS"
it_run "$IT_PY" "$HOSTILE" pick "$IT_DIR/cap.hex" "$cap" || it_fail "no data message captured"
frame=$(cat "$cap")
DP_MAC=$(sed 's/../&:/g; s/:$//' <<<"${frame:0:12}")
# UDP payload length: IPv4 total length - 20 - 8 (wgpkt.py captures IPv4 without options).
MSG_LEN=$((16#${frame:32:4} - 28))
it_log "captured data message of $MSG_LEN bytes, wg-dpdk WAN MAC $DP_MAC"

snap() {
	"$IT_PY" "$HOSTILE" snap "$PREFIX" "$1" "${PUB[1]}" "${PUB[2]}"
}
field() {
	"$IT_PY" "$HOSTILE" field "$1" "$2"
}
snap "$IT_DIR/s0.json" || it_fail "telemetry snapshot"
EP1=$(field "$IT_DIR/s0.json" "peer.${PUB[1]}.endpoint")
EP2=$(field "$IT_DIR/s0.json" "peer.${PUB[2]}.endpoint")
HS1=$(field "$IT_DIR/s0.json" "peer.${PUB[1]}.last_handshake")
[ "$EP1" = 198.51.100.11:51820 ] && [ "$EP2" = 198.51.100.12:51820 ] ||
	it_fail "endpoints $EP1 $EP2"
[ "$HS1" -gt 0 ] || it_fail "p1: no handshake in /wg/peer"

# Frames on the bridge that wg-dpdk's port sees but are not for it (flooded
# before the bridge learns a MAC) and the ICMP errors the hostile kernel
# returns for cookie replies to its closed ports: not caused by the case.
NOISE=drop_eth_not_for_us,drop_l3_multicast,drop_arp_not_for_us,drop_icmp_unhandled
REPORT=$IT_DIR/report.txt
: >"$REPORT"

SAME="${PUB[1]}.endpoint,${PUB[1]}.last_handshake,${PUB[2]}.endpoint"
cp "$IT_DIR/s0.json" "$IT_DIR/after.json"

# before: the last snapshot is the reference of the next case (between cases
# only the ping loop runs, which moves no drop_* / hs_* counter).
before() {
	cp "$IT_DIR/after.json" "$IT_DIR/before.json"
}

# expect NAME WANT [NOISE]: after a case, wait until the counters of WANT
# ("drop_x=N,hs_y>=M") moved, check that no other drop_* / hs_* counter moved,
# that p1's and p2's endpoints and p1's last handshake did not change, and
# per peer (/wg/peer "drops"): the counters of $VICTIM (when set: the peer
# whose keypair the case's packets carry) moved like the wanted drop_*, and no
# other per-peer drop counter of p1 or p2 moved.
VICTIM=
expect() {
	local name=$1 want=$2 noise=$NOISE${3:+,$3} rc=3 end out=$IT_DIR/check.txt
	end=$(($(date +%s) + 15))
	while [ "$rc" -eq 3 ] && [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$DP_PID" 2>/dev/null || it_fail "$name: wg-dpdk is gone"
		rc=0
		"$IT_PY" "$HOSTILE" check "$PREFIX" "$IT_DIR/before.json" "$IT_DIR/after.json" \
			"${PUB[1]}" "${PUB[2]}" --want "$want" --noise "$noise" \
			--base "$IT_DIR/s0.json" --same "$SAME" ${VICTIM:+--peer "$VICTIM"} \
			>"$out" 2>&1 || rc=$?
		[ "$rc" -ne 3 ] || sleep 0.1
	done
	it_log "$name: $(tr '\n' ' ' <"$out")"
	[ "$rc" -eq 0 ] || it_fail "$name: expected $want, got: $(tr '\n' ' ' <"$out")"
	printf '%-28s %s\n' "$name" "$(head -n 1 "$out")" >>"$REPORT"
}

# hostile NAME WANT WGPKT_SEND_ARGS...: frames from the hostile namespace, its
# own MAC, address and port.
hostile() {
	local name=$1 want=$2
	shift 2
	before
	it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
		--src "$X_IP" --sport "$X_PORT" --dst-mac "$DP_MAC" --dst 198.51.100.1 "$@" ||
		it_fail "$name: wgpkt.py send $*"
	expect "$name" "$want"
}
# A raw UDP payload of TYPE (LE32) and LEN bytes in total, random after the type.
raw() {
	"$IT_PY" -c 'import os, struct, sys
t, n = int(sys.argv[1], 0), int(sys.argv[2])
print((struct.pack("<I", t) + os.urandom(max(0, n - 4)))[:n].hex())' "$1" "$2"
}
D=(--from-file "$cap")

# ---- transport data: replays and tampering ----
# p1's captured message: a replay or a bad tag is p1's drop as well.
VICTIM=${PUB[1]}
hostile replay drop_wg_replay=5 "${D[@]}" --variant replay --count 5
hostile replay_ip_options drop_wg_replay=1 "${D[@]}" --variant ip-options
hostile replay_bad_udp_csum drop_wg_replay=1 "${D[@]}" --variant bad-udp-csum
for bit in 8 15 16 31; do
	hostile "reserved_bit_$bit" drop_wg_bad_type=1 "${D[@]}" --variant flip-hdr --bit $bit
done
for bit in 32 63; do
	hostile "index_bit_$bit" drop_wg_unknown_index=1 "${D[@]}" --variant flip-hdr --bit $bit
done
for bit in 64 127; do
	hostile "counter_bit_$bit" drop_wg_bad_tag=1 "${D[@]}" --variant flip-hdr --bit $bit
done
hostile ciphertext_bit_0 drop_wg_bad_tag=1 "${D[@]}" --variant flip-ct --bit 0
hostile ciphertext_bit_last drop_wg_bad_tag=1 "${D[@]}" --variant flip-ct \
	--bit $(((MSG_LEN - 32) * 8 - 1))
hostile tag_bit_0 drop_wg_bad_tag=1 "${D[@]}" --variant flip-tag --bit 0
hostile tag_bit_127 drop_wg_bad_tag=1 "${D[@]}" --variant flip-tag --bit 127
hostile cut_1_byte drop_wg_bad_tag=1 "${D[@]}" --variant truncate --cut 1
hostile udp_len_8_short drop_wg_bad_tag=1 "${D[@]}" --variant udp-len-short --delta 8

# ---- sizes and types ----
hostile data_31_bytes drop_wg_bad_size=1 "${D[@]}" --variant truncate --cut $((MSG_LEN - 31))
hostile data_3_bytes drop_wg_bad_size=1 "${D[@]}" --variant truncate --cut $((MSG_LEN - 3))
hostile empty_udp drop_wg_bad_size=1 --raw-msg ""
for tl in 1:149 1:147 1:1400 2:93 2:91 3:65 3:63; do
	hostile "type_${tl%:*}_len_${tl#*:}" drop_wg_bad_size=1 --raw-msg "$(raw "${tl%:*}" "${tl#*:}")"
done
hostile type_0 drop_wg_bad_type=1 --raw-msg "$(raw 0 148)"
hostile type_5 drop_wg_bad_type=1 --raw-msg "$(raw 5 148)"
hostile type_1_reserved drop_wg_bad_type=1 --raw-msg "$(raw 0x00010001 148)"
hostile random_initiations hs_bad_mac1=3,drop_handshake_consumed=3 \
	--raw-msg "$(raw 1 148)" --count 3
hostile random_response hs_bad_mac1=1,drop_handshake_consumed=1 --raw-msg "$(raw 2 92)"
hostile random_cookie hs_unknown=1,drop_handshake_consumed=1 --raw-msg "$(raw 3 64)"

# ---- outer IPv4 / UDP ----
hostile ihl_4 drop_ip4_bad_header=1 "${D[@]}" --variant bad-ihl --ihl 4
hostile ihl_0 drop_ip4_bad_header=1 "${D[@]}" --variant bad-ihl --ihl 0
hostile ip_len_long drop_ip4_bad_header=1 "${D[@]}" --variant ip-len-long --delta 8
hostile ip_csum drop_ip4_bad_csum=1 "${D[@]}" --variant bad-ip-csum
hostile udp_len_long drop_udp_malformed=1 "${D[@]}" --variant udp-len-long --delta 8
hostile udp_len_7 drop_udp_malformed=1 --raw-msg 04000000 --variant udp-len-short --delta 5
hostile ip_len_short drop_udp_malformed=1 "${D[@]}" --variant ip-len-short --delta 8
hostile udp_other_port drop_udp_port_closed=1 "${D[@]}" --dport 51821
hostile udp_len_0 drop_udp_malformed=1 --raw-msg 04000000 --variant udp-len-short --delta 12
hostile ip4_header_cut drop_ip4_short=1 "${D[@]}" --frame-len $((14 + 19))
# Not WireGuard: no peer is known, so no per-peer counter moves.
VICTIM=
hostile ip4_proto_tcp drop_local_unhandled=1 "${D[@]}" --proto 6
VICTIM=${PUB[1]}
# The frame longer than the IPv4 total length: the rest is Ethernet padding.
hostile frame_trailing_bytes drop_wg_replay=1 "${D[@]}" --pad-frame 100
# The UDP length inside a longer IPv4 payload governs: the message is the replay.
hostile udp_inside_longer_ip drop_wg_replay=1 "${D[@]}" --trailer 100

# ---- frames over the WAN port's MTU ----
# wg-dpdk sets its port's MTU to interface.mtu + 80 (IPv6 + UDP + WireGuard
# overhead): 1500 on wd. The kernel's veth delivers frames of up to MTU + 18
# bytes (Ethernet and VLAN header) to net_af_packet, so an IP packet of 1504
# bytes reaches wg-dpdk and is judged by its length fields alone; a longer one
# never does (a replay sent after it is the only thing counted).
[ "$(ip -n "$NS_DP" -o link show "$WD" | grep -o 'mtu [0-9]*')" = "mtu 1500" ] ||
	it_fail "wg-dpdk's WAN port MTU: $(ip -n "$NS_DP" -o link show "$WD")"
OVER=$((1504 - 28 - MSG_LEN))
hostile over_mtu_data drop_wg_bad_tag=1 "${D[@]}" --append "$OVER"
hostile over_mtu_udp_short drop_wg_replay=1 "${D[@]}" --trailer "$OVER"
hostile over_mtu_padding drop_wg_replay=1 "${D[@]}" --pad-frame "$OVER"
hostile over_mtu_ip_len_short drop_udp_malformed=1 "${D[@]}" --append "$OVER" \
	--variant ip-len-short --delta 8
before
sd_drop0=$(it_if_stat "$NS_SW" "$SD" tx_dropped)
it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
	--src "$X_IP" --sport "$X_PORT" --dst-mac "$DP_MAC" --dst 198.51.100.1 "${D[@]}" \
	--append $((OVER + 100)) &&
	it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
		--src "$X_IP" --sport "$X_PORT" --dst-mac "$DP_MAC" --dst 198.51.100.1 "${D[@]}" ||
	it_fail "wgpkt.py send"
expect over_mtu_never_delivered drop_wg_replay=1
sd_drop1=$(it_if_stat "$NS_SW" "$SD" tx_dropped)
it_log "veth $SD tx_dropped $sd_drop0 -> $sd_drop1"
[ "$sd_drop1" -gt "$sd_drop0" ] || it_fail "over_mtu_never_delivered: the kernel did not drop it"

# ---- outer IPv6: p1's data message replayed from a hostile IPv6 address ----
# A replay proves the path reaches the decryption (and that p1's endpoint does
# not roam to IPv6); each malformed copy must stop at its own reason.
X_IP6=2001:db8:1::66
hostile6() {
	local name=$1 want=$2
	shift 2
	before
	it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
		--src "$X_IP6" --sport "$X_PORT" --dst-mac "$DP_MAC" --dst 2001:db8:1::1 "$@" ||
		it_fail "$name: wgpkt.py send $*"
	expect "$name" "$want"
}
hostile6 ip6_replay drop_wg_replay=1 "${D[@]}"
hostile6 ip6_payload_len_long drop_ip6_bad_header=1 "${D[@]}" --variant ip-len-long --delta 8
hostile6 ip6_payload_len_short drop_udp_malformed=1 "${D[@]}" --variant ip-len-short --delta 8
hostile6 ip6_payload_len_0 drop_udp_malformed=1 "${D[@]}" --variant ip-len-short \
	--delta $((8 + MSG_LEN))
hostile6 ip6_header_cut drop_ip6_short=1 "${D[@]}" --frame-len $((14 + 39))
hostile6 ip6_header_only drop_udp_malformed=1 "${D[@]}" --frame-len $((14 + 40)) \
	--variant ip-len-short --delta $((8 + MSG_LEN))
# Not WireGuard: no peer is known, so no per-peer counter moves.
VICTIM=
hostile6 ip6_next_header_tcp drop_local_unhandled=1 "${D[@]}" --proto 6
hostile6 ip6_next_header_none drop_local_unhandled=1 "${D[@]}" --proto 59
VICTIM=${PUB[1]}
hostile6 ip6_udp_len_long drop_udp_malformed=1 "${D[@]}" --variant udp-len-long --delta 8
hostile6 ip6_udp_len_short drop_wg_bad_tag=1 "${D[@]}" --variant udp-len-short --delta 8
hostile6 ip6_udp_len_0 drop_udp_malformed=1 "${D[@]}" --variant udp-len-short \
	--delta $((8 + MSG_LEN))
hostile6 ip6_trailing_bytes drop_wg_replay=1 "${D[@]}" --pad-frame 100
hostile6 ip6_udp_inside_longer drop_wg_replay=1 "${D[@]}" --trailer 100
hostile6 ip6_over_mtu_data drop_wg_bad_tag=1 "${D[@]}" --append $((1504 - 48 - MSG_LEN))
hostile6 ip6_udp_other_port drop_udp_port_closed=1 "${D[@]}" --dport 51821
hostile6 ip6_not_ours drop_not_for_us=1 "${D[@]}" --dst 2001:db8:1::77
before
it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
	--src "$X_IP" --dst-mac "$DP_MAC" --dst 198.51.100.77 "${D[@]}" || it_fail "wgpkt.py send"
expect ip_not_ours drop_not_for_us=1

# ---- outer fragments ----
# DPDK's net_af_packet joins its sockets to a PACKET_FANOUT group with
# PACKET_FANOUT_FLAG_DEFRAG (0x9000 << 16 in librte_net_af_packet: hash, defrag,
# rollover), so the kernel reassembles IPv4 fragments (ip_check_defrag) before
# the PMD sees them: a complete set arrives as one datagram (here a replay), an
# incomplete one never arrives (a replay sent after it is the only thing
# counted). ip4_fragment is unreachable on this PMD (it is on real NICs).
# IPv6 fragments are not reassembled there: each one is ip6_fragment.
hostile fragments drop_wg_replay=1 "${D[@]}" --variant frag --frag-size 24
hostile fragments_reversed drop_wg_replay=1 "${D[@]}" --variant frag --frag-size 24 \
	--frag-order reverse
before
it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
	--src "$X_IP" --sport "$X_PORT" "${D[@]}" --variant frag --frag-size 24 --frag-drop-last &&
	it_run "$IT_PY" "$IT_WGPKT" send --netns "$NS_X" --iface "$EX" --src-mac "$X_MAC" \
		--src "$X_IP" --sport "$X_PORT" "${D[@]}" || it_fail "wgpkt.py send"
expect fragments_no_last drop_wg_replay=1
before
nf6=$("$IT_PY" "$HOSTILE" frag6 --netns "$NS_X" --iface "$EX" --from-file "$cap" \
	--src 2001:db8:1::66 --dst 2001:db8:1::1 --sport "$X_PORT" --size 96) ||
	it_fail "hostile.py frag6"
[ "$nf6" -ge 2 ] || it_fail "frag6 sent $nf6 fragments"
expect ipv6_fragments "drop_ip6_fragment=$nf6"

# ---- an authenticated packet from outside the peer's allowed IPs ----
VICTIM=${PUB[2]}
before
it_addr "${NS_P[2]}" "${WG_P[2]}" 10.192.9.9/32
if timeout 10 ip netns exec "${NS_P[2]}" ping -n -q -c 3 -i 0.2 -W 1 -I 10.192.9.9 10.0.0.2 \
		>>"$IT_LOG" 2>&1; then
	it_fail "p2 reached the LAN from 10.192.9.9"
fi
expect p2_source_outside drop_allowedips_src_mismatch=3
VICTIM=
it_ping "${NS_P[2]}" 10.0.0.2 2 || it_fail "p2's session after the refused packets"

# ---- initiation flood with a valid mac1: cookie replies ----
# Each flood message ends as exactly one hs_* result (cookie_sent under load,
# bad_crypto when the engine was not under load and ran the DH, ratelimited
# under load with a valid mac2), then drop_handshake_consumed, or is dropped on
# a full ring (handshake_ring_full). The WAN port's kernel ring holds 4096
# frames (framecnt), more than a flood, so none is lost before wg-dpdk.
FLOOD_ENDS=hs_cookie_sent,hs_bad_crypto,hs_ratelimited,hs_unknown,hs_replay,hs_flood,hs_failed
FLOOD_ENDS=$FLOOD_ENDS,drop_handshake_ring_full
flood_total() {
	"$IT_PY" "$HOSTILE" sum "$1" "$FLOOD_ENDS"
}
# flood_done N: N more handshake messages ended since before.json.
flood_done() {
	"$IT_PY" "$HOSTILE" snap "$PREFIX" "$IT_DIR/after.json" &&
		[ $(($(flood_total "$IT_DIR/after.json") - $(flood_total "$IT_DIR/before.json"))) \
			-ge "$1" ]
}
delta() {
	"$IT_PY" "$HOSTILE" delta "$IT_DIR/before.json" "$IT_DIR/after.json" |
		awk -v k="$1" '$1 == k { d = $2 } END { print d + 0 }'
}
# flood_check NAME N WANT: every one of the N messages accounted for, exactly.
flood_check() {
	local name=$1 n=$2 want=$3
	it_wait_for "flood_done $n" 15 || it_fail "$name: $(($(flood_total "$IT_DIR/after.json") - \
$(flood_total "$IT_DIR/before.json"))) of $n initiations accounted for"
	expect "$name" "$want" "$FLOOD_ENDS,drop_handshake_consumed,drop_icmp_unhandled"
	[ $(($(flood_total "$IT_DIR/after.json") - $(flood_total "$IT_DIR/before.json"))) -eq "$n" ] &&
		[ $(($(delta drop_handshake_consumed) + $(delta drop_handshake_ring_full))) -eq "$n" ] ||
		it_fail "$name: more results than initiations: $(tail -n 1 "$REPORT")"
}
before
it_run "$IT_PY" "$HOSTILE" flood --netns "$NS_X" --iface "$EX" --dst-mac "$DP_MAC" \
	--dst 198.51.100.1 --pub "$DP_PUB" --srcs "$FLOOD_SRCS" --count "$FLOOD_N" \
	--out "$IT_DIR/flood.json" || it_fail "hostile.py flood"
flood_check initiation_flood "$FLOOD_N" "hs_cookie_sent>=1"
n_cookie=$(delta hs_cookie_sent)
n_sent=$(delta engine_cookies_sent)
n_valid=$(it_json "$IT_DIR/flood.json" valid)
n_bad=$(($(it_json "$IT_DIR/flood.json" invalid) + $(it_json "$IT_DIR/flood.json" not_cookie)))
it_log "flood: $n_cookie cookie replies sent, $n_valid captured and decrypted, $n_bad bad"
echo "    cookie replies: $n_sent sent (engine_cookies_sent), $n_valid captured, decrypted" \
	>>"$REPORT"
[ "$n_cookie" -eq "$n_sent" ] || it_fail "flood: hs_cookie_sent $n_cookie, engine sent $n_sent"
[ "$n_bad" -eq 0 ] || it_fail "flood: $n_bad cookie replies did not decrypt"
[ "$n_valid" -ge 1 ] && [ "$n_valid" -le "$n_sent" ] ||
	it_fail "flood: $n_valid valid cookie replies captured, $n_sent sent"

# The sources that got a cookie send again with a valid mac2: no cookie reply
# (under load or not), the engine goes past the cookie check. Repeated until
# one round was under load (hs_ratelimited moved: only reached under load
# with a valid mac2).
for round in 1 2 3; do
	before
	it_run "$IT_PY" "$HOSTILE" mac2 --netns "$NS_X" --iface "$EX" --dst-mac "$DP_MAC" \
		--dst 198.51.100.1 --pub "$DP_PUB" --srcs "$FLOOD_SRCS" --count "$FLOOD_N" \
		--seed $((round + 1)) --cookies "$IT_DIR/flood.json" --out "$IT_DIR/mac2.json" ||
		it_fail "hostile.py mac2"
	flood_check "initiations_with_mac2_$round" "$(it_json "$IT_DIR/mac2.json" sent)" \
		"hs_cookie_sent=0"
	[ "$(it_json "$IT_DIR/mac2.json" replies)" -eq 0 ] ||
		it_fail "mac2 round $round: cookie replies to initiations with a valid mac2"
	[ "$(delta hs_ratelimited)" -eq 0 ] || break
done
[ "$(delta hs_ratelimited)" -gt 0 ] || it_fail "mac2: no round under load"

# ---- the established session: traffic all along, exact counters ----
kill -INT "$PING_PID"
it_wait_exit "$PING_PID" 10 || true
read -r tx rx < <(awk '/packets transmitted/ { print $1, $4 }' "$IT_DIR/pingloop.log")
[ -n "${tx:-}" ] || it_fail "no ping summary"
it_log "ping loop: $tx sent, $rx received"
[ "$tx" -ge 50 ] && [ $((tx - rx)) -le "$LOSS_MAX" ] ||
	it_fail "p1's ping loop: $rx of $tx answered"
GO_RX=0 GO_TX=0 DP_RX=0 DP_TX=0
counters_agree() {
	local i=$1 go
	go=$(it_wg_counters "${NS_P[$i]}" "${WG_P[$i]}" "$DP_PUB") || return 1
	read -r GO_RX GO_TX <<<"$go"
	snap "$IT_DIR/after.json" || return 1
	DP_RX=$(field "$IT_DIR/after.json" "peer.${PUB[$i]}.rx_bytes")
	DP_TX=$(field "$IT_DIR/after.json" "peer.${PUB[$i]}.tx_bytes")
	it_log "p$i: wireguard-go rx $GO_RX tx $GO_TX, wg-dpdk rx $DP_RX tx $DP_TX"
	[ "$GO_TX" -eq "$DP_RX" ] && [ "$GO_RX" -eq "$DP_TX" ] && [ "$DP_RX" -gt 0 ]
}
for i in 1 2; do
	it_wait_for "counters_agree $i" 15 ||
		it_fail "p$i counters: wireguard-go tx $GO_TX rx $GO_RX, wg-dpdk rx $DP_RX tx $DP_TX"
done
it_ping "${NS_P[1]}" 10.0.0.2 3 || it_fail "p1's session after the hostile input"
# Over the whole run: every replay and bad tag was p1's message, every foreign source p2's.
peer_total() {
	local d l
	d=$(($(field "$IT_DIR/after.json" "peer.$1.drops.$2") -
		$(field "$IT_DIR/s0.json" "peer.$1.drops.$2")))
	l=$(($(field "$IT_DIR/after.json" "stats.drop_$2") -
		$(field "$IT_DIR/s0.json" "stats.drop_$2")))
	it_log "per peer $2: $d, per lcore: $l"
	[ "$d" -eq "$l" ] && [ "$l" -gt 0 ] || it_fail "peer drops $2: $d, /wg/stats: $l"
}
peer_total "${PUB[1]}" wg_replay
peer_total "${PUB[1]}" wg_bad_tag
peer_total "${PUB[2]}" allowedips_src_mismatch
[ "$(field "$IT_DIR/after.json" "peer.${PUB[1]}.last_handshake")" = "$HS1" ] ||
	it_fail "p1's last handshake changed"

kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "wg-dpdk exit status $IT_STATUS after SIGTERM"
echo "drop reasons per case (ping loop: $rx of $tx answered):"
cat "$REPORT"
it_pass "$(wc -l <"$REPORT") hostile cases, ping loop $rx/$tx, exact counters, exit 0"
