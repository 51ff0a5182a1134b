#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Benchmarks. Usage: scripts/bench.sh [SUBCOMMAND [ARGS...]]
#   aead [--all]   batch AEAD cycles per packet (tests/bench/bench_aead.c)
#   wggo [-t S] [-s SIZES] [-b BW]  wireguard-go cycles per packet (tests/bench/bench_wggo.sh; root)
#   lookup         allowed-IPs lookups/s, 1 and 1,048,576 peers (tests/bench/bench_lookup.c)
#   load [N...]    parse + tables of generated configs (default 100000 1048576), time, max RSS
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
SUBCOMMANDS="aead wggo lookup load"

usage() {
	sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//'
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
		"bench_$s"
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
*" $cmd "*) "bench_$cmd" "$@" ;;
*)
	echo "bench.sh: unknown subcommand '$cmd'" >&2
	usage >&2
	exit 2
	;;
esac
