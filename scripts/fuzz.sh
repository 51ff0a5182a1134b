#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build a libFuzzer harness with clang (-fsanitize=fuzzer,address,undefined) and run it.
#   scripts/fuzz.sh config [SECONDS]       (default 60 seconds)
# Needs clang and its runtime (Debian 12: clang, libclang-rt-14-dev). Work files go
# to build-fuzz/ (FUZZ_DIR): the growing corpus in corpus-TARGET/, crashers in
# artifacts-TARGET/. Reproduce one with build-fuzz/fuzz_TARGET FILE; once fixed, copy
# it into tests/fuzz/corpus/TARGET/ so that the meson 'fuzz' suite keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-}
secs=${2:-60}
out=${FUZZ_DIR:-build-fuzz}
cc=${CC:-clang}

case $target in
config)
	srcs=(tests/fuzz/fuzz_config.c app/control/config.c app/control/config_peers.c
		app/control/config_ports.c app/control/config_set.c
		app/control/config_value.c app/control/config_yaml.c
		app/crypto/ct.c app/crypto/x25519.c)
	pkgs=(yaml-0.1 libsodium)
	;;
*)
	echo "usage: scripts/fuzz.sh config [SECONDS]" >&2
	exit 2
	;;
esac
if ! command -v "$cc" >/dev/null; then
	echo "fuzz.sh: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
# shellcheck disable=SC2046
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -D_GNU_SOURCE -DWG_DPDK_VERSION='"fuzz"' -Iapp \
	$(pkg-config --cflags "${pkgs[@]}") "${srcs[@]}" $(pkg-config --libs "${pkgs[@]}") \
	-o "$out/fuzz_$target"

dict=()
[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")
exec "$out/fuzz_$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=8192 -print_final_stats=1 "${dict[@]}" \
	-artifact_prefix="$out/artifacts-$target/" "$out/corpus-$target" "tests/fuzz/corpus/$target"
