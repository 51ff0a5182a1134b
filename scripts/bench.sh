#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Benchmarks. Usage: scripts/bench.sh [SUBCOMMAND [ARGS...]]
#   aead [--all]   batch AEAD cycles per packet (tests/bench/bench_aead.c)
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
SUBCOMMANDS="aead"

usage() {
	sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//'
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
