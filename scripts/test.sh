#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what is missing, build, and run every test. Exit status non-zero on any failure.
#   scripts/test.sh [meson test arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
wg_dpdk_install_deps

BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD"
exec meson test -C "$BUILD" --print-errorlogs "$@"
