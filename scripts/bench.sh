#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Benchmarks. Usage: scripts/bench.sh [SUBCOMMAND [ARGS...]]
#   aead [--all]   batch AEAD cycles per packet (tests/bench/bench_aead.c)
#   wggo [-t S] [-s SIZES] [-b BW]  wireguard-go cycles per packet (tests/bench/bench_wggo.sh; root)
#   lookup         allowed-IPs lookups/s, 1 and 1,048,576 peers (tests/bench/bench_lookup.c)
#   load [N...]    parse + tables of generated configs (default 100000 1048576), time, max RSS
#   pipeline [ARGS]  worker code vs raw AEAD, cycles/packet: sizes, 1 / 100k / 1M peers
#                    (tests/bench/bench_pipeline.c; hugepages reserved when root)
#   vs-wggo [-t S]   wg-dpdk pipeline vs wireguard-go cycles per packet, 1420 and 64 B inner,
#                    wireguard-go at unlimited and at a fixed rate (root)
#   handshake [ARGS] responder handshakes/s vs 4 x X25519; worker under a handshake flood
#   e2e [-t S]       two wg-dpdk back to back over net_memif, iperf3 through them (root)
#   (none)         every subcommand in turn
# Environment: BUILD_DIR (default build-bench) is configured if missing and built.
# To add a benchmark: write a bench_NAME function and add NAME to SUBCOMMANDS.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build-bench}
case $BUILD_DIR in
/*) BUILD=$BUILD_DIR ;;
*) BUILD=$ROOT/$BUILD_DIR ;;
esac
SUBCOMMANDS="aead wggo lookup load pipeline vs-wggo handshake e2e"

usage() {
	sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'
}

build() {
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" "$@" >/dev/null
}

bench_aead() {
	build tests/bench/bench_aead
	"$BUILD/tests/bench/bench_aead" "$@"
}

bench_lookup() {
	build tests/bench/bench_lookup
	"$BUILD/tests/bench/bench_lookup" "$@"
}

bench_load() {
	build tests/bench/bench_load
	[ $# -gt 0 ] || set -- 100000 1048576
	for n in "$@"; do
		"$BUILD/tests/bench/bench_load" "$n"
	done
}

# bench_pipeline gives its hugepages back itself; this is the net if it is killed hard.
run_pipeline() {
	old_hp=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo)
	rc=0
	"$BUILD/tests/bench/bench_pipeline" "$@" || rc=$?
	if [ -n "$old_hp" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" != "$old_hp" ]; then
		for d in /tmp/bench-huge.*; do
			[ -d "$d" ] && { umount -l "$d" 2>/dev/null; rmdir "$d" 2>/dev/null; }
		done
		echo "$old_hp" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	fi
	return "$rc"
}

bench_pipeline() {
	build tests/bench/bench_pipeline
	run_pipeline --pipeline --scale "$@"
}

bench_handshake() {
	build tests/bench/bench_pipeline
	run_pipeline --flood --handshake "$@"
}

# wireguard-go's cycles per packet per side (bench_wggo.sh) over wg-dpdk's (bench_pipeline,
# 1 peer) at the same inner sizes: UDP payload 1392 / 36 = inner 1420 / 64 bytes.
bench_vs_wggo() {
	secs=10
	while getopts t: o; do
		case $o in
		t) secs=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	build tests/bench/bench_pipeline
	tmp=$(mktemp -d)
	run_pipeline --pipeline --peers 1 --sizes 64,1420 >"$tmp/dpdk"
	grep '^bench ' "$tmp/dpdk"
	hz=$(sed -n 's/.*tsc_hz=\([0-9]*\).*/\1/p' "$tmp/dpdk" | head -n 1)
	rc=0
	BENCH_HZ=$hz bash "$ROOT/tests/bench/bench_wggo.sh" -t "$secs" -s "1392 36" -b 0 \
		>"$tmp/unlimited" || rc=$?
	if [ "$rc" -eq 0 ]; then
		BENCH_HZ=$hz bash "$ROOT/tests/bench/bench_wggo.sh" -t "$secs" -s 1392 -b 100M \
			>"$tmp/fixed" || rc=$?
	fi
	if [ "$rc" -eq 0 ]; then
		BENCH_HZ=$hz bash "$ROOT/tests/bench/bench_wggo.sh" -t "$secs" -s 36 -b 3M \
			>>"$tmp/fixed" || rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 77 ] && echo "vs-wggo: skipped (needs root, wireguard-go, iperf3)" >&2
		rm -rf "$tmp"
		[ "$rc" -eq 77 ] && return 0
		return "$rc"
	fi
	cat "$tmp/unlimited" "$tmp/fixed"
	for rate in unlimited fixed; do
		awk -v rate="$rate" '
		function kv(line, key,    n, i, f, a) {
			n = split(line, f, " ")
			for (i = 1; i <= n; i++) {
				split(f[i], a, "=")
				if (a[1] == key)
					return a[2]
			}
			return ""
		}
		FILENAME ~ /dpdk$/ && /^bench / {
			d[kv($0, "dir") "," kv($0, "size")] = kv($0, "cycles")
		}
		FILENAME !~ /dpdk$/ && /^wggo / {
			s = kv($0, "size") + 28
			e = kv($0, "enc_cycles_per_pkt"); c = kv($0, "dec_cycles_per_pkt")
			de = d["encrypt," s]; dd = d["decrypt," s]
			if (de == "" || dd == "" || e == 0 || c == 0)
				next
			printf "vs-wggo size=%d wgdpdk_cycles=%d wggo_cycles=%d ratio=%.1f dir=both " \
				"rate=%s wggo_mbps=%s\n", s, de + dd, e + c, (e + c) / (de + dd), rate,
				kv($0, "mbps")
			printf "vs-wggo size=%d wgdpdk_cycles=%d wggo_cycles=%d ratio=%.1f " \
				"dir=encrypt rate=%s\n", s, de, e, e / de, rate
			printf "vs-wggo size=%d wgdpdk_cycles=%d wggo_cycles=%d ratio=%.1f " \
				"dir=decrypt rate=%s\n", s, dd, c, c / dd, rate
		}' "$tmp/dpdk" "$tmp/$rate"
	done
	rm -rf "$tmp"
}

bench_e2e() {
	build app/wg-dpdk
	rc=0
	bash "$ROOT/tests/bench/bench_e2e.sh" "$@" || rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "e2e: skipped (needs root, iperf3, net_memif)" >&2
		return 0
	fi
	return "$rc"
}

bench_wggo() {
	rc=0
	bash "$ROOT/tests/bench/bench_wggo.sh" "$@" || rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "wggo: skipped (needs root, wireguard-go, iperf3, /dev/net/tun)" >&2
		return 0
	fi
	return "$rc"
}

if [ $# -eq 0 ]; then
	for s in $SUBCOMMANDS; do
		"bench_$(echo "$s" | tr - _)"
	done
	exit 0
fi

cmd=$1
shift
case $cmd in
-h | --help | help)
	usage
	exit 0
	;;
esac
case " $SUBCOMMANDS " in
*" $cmd "*) "bench_$(echo "$cmd" | tr - _)" "$@" ;;
*)
	echo "bench.sh: unknown subcommand '$cmd'" >&2
	usage >&2
	exit 2
	;;
esac
