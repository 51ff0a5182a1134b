#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what is missing, build, and show wg-dpdk running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
wg_dpdk_install_deps

BUILD=${BUILD:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
"$BUILD/app/wg-dpdk" --version
