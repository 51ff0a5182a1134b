#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install, quietly and only when missing, the Debian 12 packages wg-dpdk needs.
# Sourced by test.sh, demo.sh and bench.sh; usable alone: scripts/deps.sh
set -euo pipefail

WG_DPDK_PACKAGES=(
	# build
	gcc meson ninja-build pkg-config python3
	libdpdk-dev libipsec-mb-dev libyaml-dev libcmocka-dev libsodium-dev libb2-dev
	# DPDK tools (dpdk-telemetry.py, dpdk-dumpcap) and the integration test peers
	dpdk-dev wireguard-go wireguard-tools iproute2 iperf3 ethtool python3-scapy procps
	# integration tests: ping through the tunnels
	iputils-ping
)

wg_dpdk_install_deps() {
	local missing=() p
	for p in "${WG_DPDK_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages (run as root to install): ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	wg_dpdk_install_deps
fi
