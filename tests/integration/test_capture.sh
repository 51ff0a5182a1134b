#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Packet capture with dpdk-dumpcap on both ports of a running wg-dpdk
# (rte_pdump). dumpcap is a secondary process: it needs the primary's
# hugepage memory, so the test runs only when at least 256 MiB of hugepages
# are free (meson's skip status 77 otherwise; it never reserves any).
#
#   [ns] wt (net_tap0, 198.51.100.2) == wg-dpdk == lt (net_tap1, 10.0.0.2)
#
# Pings to each of wg-dpdk's addresses (answered by wg-dpdk itself) while
# dumpcap captures on that port: its pcapng file must hold exactly the echo
# requests and the replies. Then SIGTERM,
# exit status 0 (no mbuf leaked by the capture).
#   tests/integration/test_capture.sh [path/to/wg-dpdk]     (root, hugepages)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WG_DPDK=${1:-${WG_DPDK:-build/app/wg-dpdk}}
COUNT=5

it_init capture 60
it_require dpdk-dumpcap dpdk-telemetry.py ip ping timeout
[ -c /dev/net/tun ] || it_skip "no /dev/net/tun"
[ -x "$WG_DPDK" ] || it_skip "no binary at $WG_DPDK"
free_mb=$(it_hugepages_free_mb)
[ "$free_mb" -ge 256 ] || it_skip "needs 256 MiB of free hugepages, $free_mb MiB free"
grep -qw hugetlbfs /proc/mounts || it_skip "no hugetlbfs mounted"

NS=$(it_name cap)
WT=$(it_name wt)
LT=$(it_name lt)
PREFIX=wgc-$IT_SFX
it_netns_add "$NS"
it_keypair DP_PRIV DP_PUB
it_keypair P_PRIV P_PUB

cat >"$IT_DIR/wg.yaml" <<YAML
version: 1
interface:
  name: $(it_name wc)
  private-key: $DP_PRIV
  listen-port: 51820
dpdk:
  eal-args: [--lcores, "0@0,1@1", --no-pci, --file-prefix=$PREFIX,
             --log-level=lib.eal:warning,
             "--vdev=net_tap0,iface=$WT", "--vdev=net_tap1,iface=$LT"]
ports:
  wan:
    device: net_tap0
    address: [198.51.100.1/24]
  lan:
    device: net_tap1
    address: [10.0.0.1/24]
peers:
  - public-key: $P_PUB
    allowed-ips: [10.192.1.0/24]
YAML
it_wgdpdk_start wgdpdk "$NS" "$PREFIX" "$WG_DPDK" "$IT_DIR/wg.yaml" \
	WG_DPDK_UAPI_DIR="$IT_DIR" || it_fail "wg-dpdk did not start"
DP_PID=$IT_LAST_PID
grep -q 'rte_pdump' "$IT_DIR/wgdpdk.log" && it_fail "rte_pdump_init failed with hugepages"
for dev in "$WT" "$LT"; do
	it_ipv6_off "$NS" "$dev"
done
it_addr "$NS" "$WT" 198.51.100.2/24
it_addr "$NS" "$LT" 10.0.0.2/24
it_ping "$NS" 198.51.100.1 1 || it_fail "wg-dpdk's WAN address does not answer"
it_ping "$NS" 10.0.0.1 1 || it_fail "wg-dpdk's LAN address does not answer"

# capture DEVICE ADDR: dumpcap on DEVICE while ADDR is pinged -> "REQUESTS REPLIES"
# captured (IPv4 ICMP types 8 and 0). DPDK 22.11's dumpcap takes one
# interface per run: the ports are captured one after the other.
capture() {
	local dev=$1 addr=$2 pcap=$IT_DIR/$1.pcapng pid
	# In wg-dpdk's namespace: the secondary's net_tap driver asks the kernel
	# about the tap interfaces by name. -p: wg-dpdk set them promiscuous.
	it_spawn "dumpcap-$dev" "$NS" dpdk-dumpcap --file-prefix="$PREFIX" -p -i "$dev" \
		-w "$pcap"
	pid=$IT_LAST_PID
	# "Packets captured:" comes once the RX/TX callbacks are installed.
	it_wait_for "grep -q 'Packets captured' '$IT_DIR/dumpcap-$dev.log' || ! kill -0 $pid" 20 &&
		kill -0 "$pid" 2>/dev/null || { it_log "dpdk-dumpcap -i $dev did not start"; return 1; }
	it_ping "$NS" "$addr" "$COUNT" || { it_log "ping $addr during the capture"; return 1; }
	kill -INT "$pid"
	it_wait_exit "$pid" 10 || { it_log "dpdk-dumpcap exit status $IT_STATUS"; return 1; }
	grep -q "Capturing on '$dev'" "$IT_DIR/dumpcap-$dev.log" || return 1
	"$IT_PY" - "$pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
off, n = 0, {8: 0, 0: 0}
while off + 12 <= len(data):
    btype, blen = struct.unpack_from('<II', data, off)
    if blen < 12:
        break
    if btype == 6:  # enhanced packet block: interface, timestamp, lengths, data
        caplen = struct.unpack_from('<I', data, off + 20)[0]
        pkt = data[off + 28:off + 28 + caplen]
        if len(pkt) >= 42 and pkt[12:14] == b'\x08\x00' and pkt[23] == 1:
            t = pkt[14 + (pkt[14] & 15) * 4]
            if t in n:
                n[t] += 1
    off += blen
print(n[8], n[0])
PY
}

for port in "net_tap0 198.51.100.1" "net_tap1 10.0.0.1"; do
	read -r dev addr <<<"$port"
	got=$(capture "$dev" "$addr") || it_fail "capture on $dev"
	it_log "$dev: captured echo requests and replies: $got"
	[ "$got" = "$COUNT $COUNT" ] || it_fail "$dev: captured '$got', expected $COUNT of each"
	counts="${counts:+$counts, }$dev $got"
done

kill -TERM "$DP_PID"
it_wait_exit "$DP_PID" 20 || it_fail "wg-dpdk exit status $IT_STATUS after SIGTERM"
it_pass "dpdk-dumpcap on both ports: $counts"
