#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The acceptance test of operations: the real wg-dpdk on net_tap ports
# managed with the stock wg tool over /var/run/wireguard/IFNAME.sock, four
# wireguard-go peers, every step checked against the data path (ping) and
# wg-dpdk's telemetry:
#
#   [p1..p4] eN ==veth== sN --+-- br --- wt (net_tap0) [wg-dpdk] (net_tap1) lt 10.0.0.2
#                             [dp: bridge, the LAN host's address, wg-dpdk]
#
#   p1..p3 in the YAML, p4 not; peer i: 198.51.100.1i, tunnel 10.192.i.2/24.
#
#  1. wg show / show dump (identity, port, peers); traffic to p1-p3; /wg/device
#  2. wg set: add p4 (psk, keepalive, endpoint): it handshakes and passes at once
#  3. wg set remove p3: no traffic either way, its packets dropped as unknown index
#  4. wg set allowed-ips: a prefix added then taken away again (routed, then not)
#  5. wg set preshared-key on p1: p1's fresh session needs it
#  6. wg set persistent-keepalive on p2: keepalives counted, then off
#  7. wg set endpoint: p1 moves to another port; unreachable until wg-dpdk is told
#  8. wg syncconf (p3 back, p4 out; p1/p2 sessions kept), addconf (p4 back),
#     showconf and setconf of its output (configuration unchanged, traffic flows)
#  9. private key changed: no traffic until every peer knows the new public key
# 10. telemetry: /wg/device, /wg/peers pages, /wg/peer against wg show, /wg/lcore_stats
# 11. SIGHUP with ping -i 0.05 running: untouched p1 loses nothing, p1/p2 keep their
#     handshake, p2's new prefix routed, p3 gone, p4 added; exactly one log line
# 12. SIGHUP with an invalid file: one log line, nothing changed, traffic flows
# 13. SIGTERM: exit status 0 (every mbuf back), socket removed
#   tests/integration/test_wg_live.sh [path/to/wg-dpdk]     (root)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}

it_init wg_live 150
it_require wireguard-go wg ip ping timeout dpdk-telemetry.py
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"
[ -x "$WG_DPDK" ] || it_skip "no binary at $WG_DPDK"
T0=$(date +%s%N)

NS_DP=$(it_name ldp)
IFN=$(it_name wl)
WT=$(it_name wt)
LT=$(it_name lt)
BR=$(it_name br)
PREFIX=wgl-$IT_SFX
SOCK=/var/run/wireguard/$IFN.sock
[ ! -e "$SOCK" ] || it_fail "$SOCK exists already"
it_defer rm -f "$SOCK"
KD=$(umask 077 && mktemp -d "$IT_DIR/keys.XXXXXX")
CONF=$IT_DIR/wg.yaml

it_netns_add "$NS_DP"
it_run ip -n "$NS_DP" link add "$BR" type bridge mcast_snooping 0 || it_fail "bridge"
it_ipv6_off "$NS_DP" "$BR"
it_run ip -n "$NS_DP" link set "$BR" up

declare -A NS_P WG_P PRIV PUB
for i in 1 2 3 4; do
	NS_P[$i]=$(it_name lp$i)
	WG_P[$i]=$(it_name lg$i)
	it_netns_add "${NS_P[$i]}"
	e=$(it_name e$i)
	s=$(it_name s$i)
	it_veth "${NS_P[$i]}" "$e" "$NS_DP" "$s" tx-off-a no-ipv6-a no-ipv6-b || it_fail "veth p$i"
	it_run ip -n "$NS_DP" link set "$s" master "$BR"
	it_addr "${NS_P[$i]}" "$e" "198.51.100.1$i/24"
	it_keypair "PRIV[$i]" "PUB[$i]"
done
it_keypair DP_PRIV DP_PUB
(umask 077 && wg genpsk >"$KD/psk4" && wg genpsk >"$KD/psk1")
PSK4=$(cat "$KD/psk4")
PSK1=$(cat "$KD/psk1")

# yaml_peer I [EXTRA_PREFIX]: peer I's entry of the YAML.
yaml_peer() {
	printf '  - name: p%s\n    public-key: %s\n    endpoint: 198.51.100.1%s:51820\n' \
		"$1" "${PUB[$1]}" "$1"
	printf '    allowed-ips: [10.192.%s.0/24%s]\n' "$1" "${2:+, $2}"
	[ "$1" != 4 ] || printf '    preshared-key: %s\n' "$PSK4"
}

# write_conf PEERS...: the YAML (atomically: a reload never reads half a file).
write_conf() {
	local p
	{
		cat <<YAML
version: 1
interface:
  name: $IFN
  private-key: $DP_PRIV
  listen-port: 51820
dpdk:
  eal-args: [--lcores, "0@0,1@1", --no-huge, -m, "512", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning, --log-level=pmd.net.tap:error,
             "--vdev=net_tap0,iface=$WT", "--vdev=net_tap1,iface=$LT"]
ports:
  wan:
    device: net_tap0
    address: [198.51.100.1/24]
  lan:
    device: net_tap1
    address: [10.0.0.1/24]
peers:
YAML
		for p in "$@"; do
			# shellcheck disable=SC2086 # "I PREFIX" splits on purpose
			yaml_peer $p
		done
	} >"$CONF.tmp"
	mv "$CONF.tmp" "$CONF"
}

tel() {
	it_telemetry "$PREFIX" "$1" >"$IT_DIR/tel.json" && [ "$(cat "$IT_DIR/tel.json")" != "{}" ]
}
tf() {
	it_tel_field "$IT_DIR/tel.json" "$1"
}
dump() {
	wg show "$IFN" dump
}
dp_field() {
	it_wg_field - "$IFN" "$1" "$2"
}
peers_sorted() {
	dump | awk -F'\t' 'NR > 1 { print $1 }' | sort | tr '\n' ' '
}
sorted() {
	printf '%s\n' "$@" | sort | tr '\n' ' '
}
expect() {
	[ "$2" = "$3" ] || it_fail "$1: got '$2', want '$3'"
}
# The configuration part of a dump: no handshake times, no counters.
dump_config() {
	dump | awk -F'\t' 'NR == 1 { print; next } { print $1, $2, $3, $4, $8 }' | sort
}
# go_peer I DP_PUBLIC_KEY: wireguard-go peer I's one peer, wg-dpdk (a fresh entry);
# p4 has a preshared key from the start, p1 from step 5 (P1_PSK=1).
P1_PSK=0
go_peer() {
	local args=(peer "$2" endpoint 198.51.100.1:51820 allowed-ips 10.0.0.0/24)
	[ "$1" != 4 ] || args+=(preshared-key "$KD/psk4")
	[ "$1" != 1 ] || [ "$P1_PSK" = 0 ] || args+=(preshared-key "$KD/psk1")
	it_run ip netns exec "${NS_P[$1]}" wg set "${WG_P[$1]}" "${args[@]}"
}
lan_ping() {
	it_ping "$NS_DP" "10.192.$1.2" 2
}
lan_ping_fails() {
	it_ping_fails "$NS_DP" "10.192.$1.2"
}
log_lines() {
	wc -l <"$IT_DIR/wgdpdk.log"
}

# ---- wg-dpdk: p1..p3 from the YAML ----
write_conf 1 2 3
it_wgdpdk_start wgdpdk "$NS_DP" "$PREFIX" "$WG_DPDK" "$CONF" || it_fail "wg-dpdk did not start"
DP_PID=$IT_LAST_PID
it_ipv6_off "$NS_DP" "$WT"
# net_tap gives the kernel end the port's MAC: as a bridge port it would keep
# frames to wg-dpdk for the bridge itself. Another MAC on the kernel end.
it_run ip -n "$NS_DP" link set "$WT" address 02:00:00:00:01:fe || it_fail "tap MAC"
it_run ip -n "$NS_DP" link set "$WT" master "$BR" || it_fail "tap into the bridge"
it_addr "$NS_DP" "$LT" 10.0.0.2/24
it_run ip -n "$NS_DP" route add 10.192.0.0/16 via 10.0.0.1 || it_fail "route to the tunnel"
it_wait_for "[ -S '$SOCK' ]" 5 || it_fail "no $SOCK"

for i in 1 2 3 4; do
	it_wggo_start "${NS_P[$i]}" "${WG_P[$i]}" || it_fail "wireguard-go p$i"
	it_wggo_conf "${NS_P[$i]}" "${WG_P[$i]}" "${PRIV[$i]}" 51820 || it_fail "wg set p$i"
	go_peer "$i" "$DP_PUB" || it_fail "wg peer p$i"
	it_addr "${NS_P[$i]}" "${WG_P[$i]}" "10.192.$i.2/24"
	it_route "${NS_P[$i]}" 10.0.0.0/24 "${WG_P[$i]}"
done

# ---- 1. wg show, show dump; traffic; /wg/device ----
wg show "$IFN" >"$IT_DIR/show.txt" || it_fail "wg show $IFN"
grep -q "public key: $DP_PUB" "$IT_DIR/show.txt" || it_fail "wg show: no public key"
grep -q "listening port: 51820" "$IT_DIR/show.txt" || it_fail "wg show: no listening port"
expect "wg show peers" "$(grep -c '^peer: ' "$IT_DIR/show.txt")" 3
expect "interface line" "$(dump | head -1)" "$(printf '%s\t%s\t51820\toff' "$DP_PRIV" "$DP_PUB")"
expect "peers" "$(peers_sorted)" "$(sorted "${PUB[1]}" "${PUB[2]}" "${PUB[3]}")"
expect "p2 allowed ips" "$(dp_field "${PUB[2]}" 4)" "10.192.2.0/24"
expect "p1 endpoint" "$(dp_field "${PUB[1]}" 3)" "198.51.100.11:51820"
for i in 1 2 3; do
	lan_ping "$i" || it_fail "1: LAN -> p$i"
done
it_ping "${NS_P[2]}" 10.0.0.2 2 || it_fail "1: p2 -> LAN"
[ "$(dp_field "${PUB[1]}" 5)" -gt 0 ] || it_fail "1: wg show: no handshake with p1"
tel /wg/device || it_fail "/wg/device"
expect "/wg/device interface" "$(tf interface)" "$IFN"
expect "/wg/device public key" "$(tf public_key)" "$DP_PUB"
expect "/wg/device listen port" "$(tf listen_port)" 51820
expect "/wg/device peers" "$(tf peers)" 3
expect "/wg/device workers" "$(tf workers)" 1
[ "$(tf decrypted)" -ge 6 ] && [ "$(tf encrypted)" -ge 6 ] ||
	it_fail "/wg/device totals: $(cat "$IT_DIR/tel.json")"

# ---- 2. wg set: a new peer passes traffic at once ----
it_run wg set "$IFN" peer "${PUB[4]}" endpoint 198.51.100.14:51820 allowed-ips 10.192.4.0/24 \
	preshared-key "$KD/psk4" persistent-keepalive 25 || it_fail "wg set add p4"
expect "p4 psk" "$(dp_field "${PUB[4]}" 2)" "$PSK4"
expect "p4 keepalive" "$(dp_field "${PUB[4]}" 8)" 25
expect "p4 endpoint" "$(dp_field "${PUB[4]}" 3)" "198.51.100.14:51820"
it_ping "${NS_P[4]}" 10.0.0.2 2 || it_fail "2: p4 -> LAN right after wg set"
lan_ping 4 || it_fail "2: LAN -> p4"

# ---- 3. wg set remove: no traffic either way ----
tel /wg/lcore_stats,1 || it_fail "/wg/lcore_stats,1"
unknown0=$(tf drop_wg_unknown_index)
it_run wg set "$IFN" peer "${PUB[3]}" remove || it_fail "wg set remove p3"
dp_field "${PUB[3]}" 1 >/dev/null 2>&1 && it_fail "3: p3 still in the dump"
it_ping_fails "${NS_P[3]}" 10.0.0.2 || it_fail "3: removed p3 still reaches the LAN"
lan_ping_fails 3 || it_fail "3: the LAN still reaches removed p3"
tel /wg/lcore_stats,1 || it_fail "/wg/lcore_stats,1"
[ "$(tf drop_wg_unknown_index)" -ge $((unknown0 + 2)) ] ||
	it_fail "3: p3's packets not dropped as unknown index ($unknown0 -> $(tf drop_wg_unknown_index))"

# ---- 4. allowed IPs: a prefix routed, then not ----
it_addr "${NS_P[2]}" "${WG_P[2]}" 10.192.22.2/24
it_run wg set "$IFN" peer "${PUB[2]}" allowed-ips 10.192.2.0/24,10.192.22.0/24 ||
	it_fail "wg set p2 allowed-ips"
expect "p2 allowed ips" "$(dp_field "${PUB[2]}" 4)" "10.192.2.0/24,10.192.22.0/24"
it_ping "$NS_DP" 10.192.22.2 2 || it_fail "4: LAN -> p2's new prefix"
it_run wg set "$IFN" peer "${PUB[2]}" allowed-ips 10.192.2.0/24 || it_fail "wg set p2 back"
expect "p2 allowed ips" "$(dp_field "${PUB[2]}" 4)" "10.192.2.0/24"
it_ping_fails "$NS_DP" 10.192.22.2 || it_fail "4: p2's removed prefix still routed"
lan_ping 2 || it_fail "4: LAN -> p2"

# ---- 5. preshared key: p1's fresh session needs it on both sides ----
it_run wg set "$IFN" peer "${PUB[1]}" preshared-key "$KD/psk1" || it_fail "wg set p1 psk"
expect "p1 psk" "$(dp_field "${PUB[1]}" 2)" "$PSK1"
it_run ip netns exec "${NS_P[1]}" wg set "${WG_P[1]}" peer "$DP_PUB" remove
P1_PSK=1
go_peer 1 "$DP_PUB" || it_fail "p1: peer with the psk"
it_ping "${NS_P[1]}" 10.0.0.2 2 || it_fail "5: p1 -> LAN with the preshared key"
hs1=$(it_wg_handshake "${NS_P[1]}" "${WG_P[1]}" "$DP_PUB")
[ "$hs1" -gt 0 ] || it_fail "5: p1 made no new handshake"

# ---- 6. persistent keepalive ----
tel /wg/stats || it_fail "/wg/stats"
ka0=$(tf engine_keepalives_sent)
it_run wg set "$IFN" peer "${PUB[2]}" persistent-keepalive 1 || it_fail "wg set p2 keepalive"
expect "p2 keepalive" "$(dp_field "${PUB[2]}" 8)" 1
it_wait_for "tel /wg/stats && [ \$(tf engine_keepalives_sent) -ge $((ka0 + 2)) ]" 6 ||
	it_fail "6: no keepalives to p2 ($ka0 -> $(tf engine_keepalives_sent))"
it_run wg set "$IFN" peer "${PUB[2]}" persistent-keepalive off || it_fail "wg set p2 keepalive off"
expect "p2 keepalive off" "$(dp_field "${PUB[2]}" 8)" off

# ---- 7. endpoint: p1 listens on another port; wg-dpdk is told ----
it_run ip netns exec "${NS_P[1]}" wg set "${WG_P[1]}" listen-port 51821 || it_fail "p1 port"
lan_ping_fails 1 || it_fail "7: LAN -> p1 on a port p1 left"
it_run wg set "$IFN" peer "${PUB[1]}" endpoint 198.51.100.11:51821 || it_fail "wg set endpoint"
expect "p1 endpoint" "$(dp_field "${PUB[1]}" 3)" "198.51.100.11:51821"
lan_ping 1 || it_fail "7: LAN -> p1 at its new endpoint"

# ---- 8. syncconf, addconf, showconf, setconf ----
# conf_peer I ALLOWED [PORT]: a wg(8) [Peer] section for peer I.
conf_peer() {
	printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\nEndpoint = 198.51.100.1%s:%s\n' \
		"${PUB[$1]}" "$2" "$1" "${3:-51820}"
	case $1 in
	1) printf 'PresharedKey = %s\n' "$PSK1" ;;
	4) printf 'PresharedKey = %s\n' "$PSK4" ;;
	esac
}
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$DP_PRIV"
	conf_peer 1 10.192.1.0/24 51821
	conf_peer 2 10.192.2.0/24
	conf_peer 3 10.192.3.0/24
} >"$KD/sync.conf"
hs1=$(dp_field "${PUB[1]}" 5)
hs2=$(dp_field "${PUB[2]}" 5)
it_run wg syncconf "$IFN" "$KD/sync.conf" || it_fail "wg syncconf"
expect "syncconf peers" "$(peers_sorted)" "$(sorted "${PUB[1]}" "${PUB[2]}" "${PUB[3]}")"
expect "syncconf: p1 handshake" "$(dp_field "${PUB[1]}" 5)" "$hs1"
expect "syncconf: p2 handshake" "$(dp_field "${PUB[2]}" 5)" "$hs2"
lan_ping 3 || it_fail "8: LAN -> p3 after syncconf"
lan_ping_fails 4 || it_fail "8: LAN -> p4 after syncconf dropped it"
lan_ping 1 || it_fail "8: LAN -> p1 after syncconf"
conf_peer 4 10.192.4.0/24 >"$KD/add.conf"
it_run wg addconf "$IFN" "$KD/add.conf" || it_fail "wg addconf"
expect "addconf peers" "$(peers_sorted)" \
	"$(sorted "${PUB[1]}" "${PUB[2]}" "${PUB[3]}" "${PUB[4]}")"
lan_ping 4 || it_fail "8: LAN -> p4 after addconf"
wg showconf "$IFN" >"$KD/shown.conf" || it_fail "wg showconf"
grep -q "^PrivateKey = $DP_PRIV\$" "$KD/shown.conf" || it_fail "showconf: no private key"
expect "showconf peers" "$(grep -c '^\[Peer\]' "$KD/shown.conf")" 4
grep -q "^PresharedKey = $PSK4\$" "$KD/shown.conf" || it_fail "showconf: no psk of p4"
before=$(dump_config)
it_run wg setconf "$IFN" "$KD/shown.conf" || it_fail "wg setconf"
expect "setconf of showconf" "$(dump_config)" "$before"
for i in 1 2 3 4; do
	lan_ping "$i" || it_fail "8: LAN -> p$i after setconf"
done

# ---- 9. a new private key: peers must learn the new public key ----
it_keypair DP2_PRIV DP2_PUB
printf '%s\n' "$DP2_PRIV" >"$KD/priv2"
it_run wg set "$IFN" private-key "$KD/priv2" || it_fail "wg set private-key"
expect "new identity" "$(dump | head -1)" "$(printf '%s\t%s\t51820\toff' "$DP2_PRIV" "$DP2_PUB")"
tel /wg/device && expect "/wg/device new public key" "$(tf public_key)" "$DP2_PUB"
lan_ping_fails 2 || it_fail "9: LAN -> p2 with p2 still on the old public key"
for i in 1 2 3 4; do
	it_run ip netns exec "${NS_P[$i]}" wg set "${WG_P[$i]}" peer "$DP_PUB" remove
	go_peer "$i" "$DP2_PUB" || it_fail "p$i: the new public key"
done
# wg-dpdk initiates to p1, p3, p4; p2 initiates (wg-dpdk's refused initiation
# to p2 is retried only after REKEY_TIMEOUT).
for i in 1 3 4; do
	lan_ping "$i" || it_fail "9: LAN -> p$i with the new key"
done
it_ping "${NS_P[2]}" 10.0.0.2 2 || it_fail "9: p2 -> LAN with the new key"
for i in 1 2 3 4; do
	[ "$(it_wg_handshake "${NS_P[$i]}" "${WG_P[$i]}" "$DP2_PUB")" -gt 0 ] ||
		it_fail "9: p$i has no handshake with the new key"
	it_ping "${NS_P[$i]}" 10.0.0.2 1 || it_fail "9: p$i -> LAN with the new key"
done

# ---- 10. telemetry against wg show ----
tel /wg/device || it_fail "/wg/device"
expect "/wg/device peers" "$(tf peers)" 4
[ "$(tf uptime_s)" -ge 1 ] || it_fail "/wg/device uptime $(tf uptime_s)"
[ "$(tf handshakes_completed)" -ge 10 ] || it_fail "/wg/device: $(cat "$IT_DIR/tel.json")"
tel /wg/peers || it_fail "/wg/peers"
expect "/wg/peers total" "$(tf total)" 4
expect "/wg/peers count" "$(tf count)" 4
expect "/wg/peers next" "$(tf next)" -1
for i in 1 2 3 4; do
	grep -qF "${PUB[$i]}" "$IT_DIR/tel.json" || it_fail "/wg/peers lacks p$i"
done
second=$(tf public_key.1)
tel "/wg/peer,$second" || it_fail "/wg/peer,$second"
id2=$(tf id)
tel "/wg/peers,$id2" || it_fail "/wg/peers,$id2"
expect "/wg/peers,$id2 count" "$(tf count)" 3
expect "/wg/peers,$id2 first" "$(tf public_key.0)" "$second"
# wg show and /wg/peer count the same bytes (read again if a keepalive came in between).
same_bytes() {
	tel "/wg/peer,${PUB[4]}" || return 1
	it_log "p4: /wg/peer rx $(tf rx_bytes) tx $(tf tx_bytes), wg show" \
		"$(dp_field "${PUB[4]}" 6) $(dp_field "${PUB[4]}" 7)"
	[ "$(tf rx_bytes)" = "$(dp_field "${PUB[4]}" 6)" ] &&
		[ "$(tf tx_bytes)" = "$(dp_field "${PUB[4]}" 7)" ] && [ "$(tf rx_bytes)" -gt 0 ]
}
it_wait_for same_bytes 3 || it_fail "p4 bytes: /wg/peer and wg show disagree"
expect "p4 endpoint" "$(tf endpoint)" "198.51.100.14:51820"
expect "p4 psk" "$(tf preshared_key)" 1
tel /wg/lcore_stats,1 || it_fail "/wg/lcore_stats,1"
[ "$(tf decrypted)" -ge 20 ] || it_fail "/wg/lcore_stats,1 decrypted $(tf decrypted)"
tel /wg/stats || it_fail "/wg/stats"
[ "$(tf hs_bad_mac1)" -eq 0 ] || it_fail "/wg/stats: handshakes with a bad mac1"

# ---- 11. SIGHUP with traffic: p1 untouched, p2 changed, p3 removed, p4 added ----
it_run wg set "$IFN" peer "${PUB[4]}" remove || it_fail "wg set remove p4"
write_conf 1 "2 10.192.22.0/24" 4
hs1=$(dp_field "${PUB[1]}" 5)
hs2=$(dp_field "${PUB[2]}" 5)
it_spawn ping1 "$NS_DP" ping -n -q -c 80 -i 0.05 -W 1 10.192.1.2
ping1=$IT_LAST_PID
it_spawn ping2 "$NS_DP" ping -n -q -c 80 -i 0.05 -W 1 10.192.2.2
ping2=$IT_LAST_PID
sleep 1.5
lines0=$(log_lines)
kill -HUP "$DP_PID"
it_wait_for "grep -q 'reloaded:' '$IT_DIR/wgdpdk.log'" 5 || it_fail "11: no reload line"
it_wait_exit "$ping1" 10 || it_fail "11: p1 lost packets across the reload: $(cat "$IT_DIR/ping1.log")"
grep -q ' 80 received, 0% packet loss' "$IT_DIR/ping1.log" ||
	it_fail "11: p1: $(grep received "$IT_DIR/ping1.log")"
it_wait_exit "$ping2" 10 || it_fail "11: p2 lost packets across the reload"
expect "11: log lines of the reload" "$(($(log_lines) - lines0))" 1
line=$(tail -n 1 "$IT_DIR/wgdpdk.log")
it_log "reload: $line"
case $line in
*"wg.yaml: reloaded: 1 peers added, 1 removed, 1 updated, 1 unchanged;"*) ;;
*) it_fail "11: reload line: $line" ;;
esac
expect "11: peers" "$(peers_sorted)" "$(sorted "${PUB[1]}" "${PUB[2]}" "${PUB[4]}")"
expect "11: p1 handshake" "$(dp_field "${PUB[1]}" 5)" "$hs1"
expect "11: p2 handshake" "$(dp_field "${PUB[2]}" 5)" "$hs2"
expect "11: p1 psk (set live, not in the file)" "$(dp_field "${PUB[1]}" 2)" "$PSK1"
expect "11: p2 allowed ips" "$(dp_field "${PUB[2]}" 4)" "10.192.2.0/24,10.192.22.0/24"
it_ping "$NS_DP" 10.192.22.2 2 || it_fail "11: LAN -> p2's prefix from the reload"
lan_ping 4 || it_fail "11: LAN -> p4 added by the reload"
lan_ping_fails 3 || it_fail "11: LAN -> p3 removed by the reload"
tel /wg/device || it_fail "/wg/device"
expect "11: reloads" "$(tf reloads)" 1
expect "11: peers" "$(tf peers)" 3

# ---- 12. SIGHUP with an invalid file: one line, nothing changed ----
before=$(dump_config)
sed 's#10.192.22.0/24#10.192.22.0/33#' "$CONF" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
lines0=$(log_lines)
kill -HUP "$DP_PID"
it_wait_for "[ \$(log_lines) -gt $lines0 ]" 5 || it_fail "12: the invalid file was not reported"
sleep 0.5
expect "12: log lines of the refused reload" "$(($(log_lines) - lines0))" 1
line=$(tail -n 1 "$IT_DIR/wgdpdk.log")
it_log "refused: $line"
case $line in
*wg.yaml:[0-9]*:[0-9]*:*allowed-ips*) ;;
*) it_fail "12: error line: $line" ;;
esac
expect "12: configuration after the refused reload" "$(dump_config)" "$before"
tel /wg/device || it_fail "/wg/device"
expect "12: reloads" "$(tf reloads)" 1
expect "12: reloads refused" "$(tf reloads_refused)" 1
lan_ping 1 || it_fail "12: LAN -> p1 after the refused reload"
it_ping "$NS_DP" 10.192.22.2 2 || it_fail "12: LAN -> p2's prefix after the refused reload"

# ---- 13. clean shutdown ----
kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "wg-dpdk exit status $IT_STATUS after SIGTERM"
[ ! -e "$SOCK" ] || it_fail "$SOCK left behind"
it_pass "wg show/set/setconf/addconf/syncconf/showconf, key change, reloads," \
	"$((($(date +%s%N) - T0) / 1000000)) ms"
