#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Bind PCI NICs to vfio-pci for wg-dpdk (and give them back to the kernel) with
# dpdk-devbind.py from the Debian package "dpdk". Without arguments it only
# shows the state. See --help.
set -euo pipefail

PROG=${0##*/}
ACTION=status
DRIVER=vfio-pci
DRY_RUN=0
FORCE=0
NOIOMMU=0
DEVICES=()

usage() {
	cat <<EOF
usage: $PROG [--status]
       $PROG --bind [--driver DRV] [--noiommu] [--force] [--dry-run] PCI...
       $PROG --unbind [--driver KDRV] [--dry-run] PCI...

Hand network devices to DPDK (wg-dpdk's ports.wan.device / ports.lan.device
and the -a options of dpdk.eal-args name the same PCI addresses), and back.

  --status        network devices and the driver each one uses (default)
  --bind          bind PCI... to --driver (default vfio-pci); loads the module
  --unbind        unbind PCI... from DPDK; with --driver KDRV (e.g. ixgbe, i40e,
                  ice, mlx5_core) bind them back to that kernel driver
  --driver DRV    driver to bind to (vfio-pci, uio_pci_generic, or a kernel driver)
  --noiommu       allow vfio-pci without an IOMMU (unsafe: DMA is not isolated;
                  for VMs without a vIOMMU only)
  --force         bind a device even if the kernel uses it (an interface that is
                  up or routed): you may cut off your own SSH session
  --dry-run       print the commands, change nothing
  -h, --help      this text

PCI addresses look like 0000:3b:00.0 (the short form 3b:00.0 is accepted).
Mellanox/NVIDIA mlx5 NICs stay on their kernel driver (bifurcated): do not bind them.

Examples:
  $PROG                                          # what is there, who drives it
  $PROG --bind 0000:3b:00.0 0000:3b:00.1 --dry-run
  $PROG --bind 0000:3b:00.0 0000:3b:00.1
  $PROG --unbind --driver ixgbe 0000:3b:00.0 0000:3b:00.1
EOF
}

die() {
	echo "$PROG: $*" >&2
	exit 1
}

run() {
	if [ "$DRY_RUN" -eq 1 ]; then
		echo "would run: $*"
	else
		"$@"
	fi
}

find_devbind() {
	local c
	for c in "${DPDK_DEVBIND:-}" "$(command -v dpdk-devbind.py || true)" \
			/usr/bin/dpdk-devbind.py /usr/sbin/dpdk-devbind.py \
			/usr/share/dpdk/usertools/dpdk-devbind.py; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			echo "$c"
			return 0
		fi
	done
	die "dpdk-devbind.py not found: apt-get install dpdk (or set DPDK_DEVBIND=PATH)"
}

normalise() {
	local a=$1
	[[ "$a" =~ ^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] && a="0000:$a"
	[[ "$a" =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] \
		|| die "'$1' is not a PCI address (DDDD:BB:DD.F)"
	[ "$DRY_RUN" -eq 1 ] || [ -e "/sys/bus/pci/devices/$a" ] \
		|| die "$a: no such PCI device (see $PROG --status)"
	echo "${a,,}"
}

current_driver() {
	local link="/sys/bus/pci/devices/$1/driver"
	if [ -L "$link" ]; then
		basename "$(readlink "$link")"
	else
		echo none
	fi
}

iommu_present() {
	[ -d /sys/kernel/iommu_groups ] && [ -n "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]
}

prepare_vfio() {
	if [ "$NOIOMMU" -eq 0 ] && ! iommu_present; then
		local msg="no IOMMU groups: enable VT-d/AMD-Vi (kernel: intel_iommu=on iommu=pt) or use --noiommu"
		[ "$DRY_RUN" -eq 1 ] || die "$msg"
		echo "$PROG: warning: $msg" >&2
	fi
	if [ ! -d /sys/module/vfio_pci ]; then
		run modprobe vfio-pci
	fi
	if [ "$NOIOMMU" -eq 1 ]; then
		local p=/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
		if [ "$DRY_RUN" -eq 1 ]; then
			echo "would write 1 > $p"
		else
			echo 1 >"$p"
		fi
	fi
}

show_status() {
	local devbind
	devbind=$(find_devbind)
	command -v lspci >/dev/null || die "dpdk-devbind.py needs lspci: apt-get install pciutils"
	"$devbind" --status-dev net
	if iommu_present; then
		echo "IOMMU: on ($(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 | wc -l) groups)"
	else
		echo "IOMMU: off (vfio-pci needs it, or --noiommu)"
	fi
}

bind_devices() {
	local devbind a args=()
	devbind=$(find_devbind)
	[ "$DRY_RUN" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root (or use --dry-run)"
	[ "$DRIVER" != vfio-pci ] || prepare_vfio
	[ "$FORCE" -eq 0 ] || args+=(--force)
	for a in "${DEVICES[@]}"; do
		echo "$a: $(current_driver "$a") -> $DRIVER"
	done
	run "$devbind" "${args[@]}" --bind="$DRIVER" "${DEVICES[@]}"
}

unbind_devices() {
	local devbind
	devbind=$(find_devbind)
	[ "$DRY_RUN" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root (or use --dry-run)"
	if [ "$DRIVER" = vfio-pci ]; then
		run "$devbind" --unbind "${DEVICES[@]}"
	else
		run "$devbind" --bind="$DRIVER" "${DEVICES[@]}"
	fi
}

while [ $# -gt 0 ]; do
	case "$1" in
	--status) ACTION=status ;;
	--bind) ACTION=bind ;;
	--unbind) ACTION=unbind ;;
	--driver)
		[ $# -ge 2 ] || die "--driver needs a driver name"
		DRIVER=$2
		shift
		;;
	--noiommu) NOIOMMU=1 ;;
	--force) FORCE=1 ;;
	--dry-run) DRY_RUN=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	-*)
		usage >&2
		exit 2
		;;
	*) DEVICES+=("$1") ;;
	esac
	shift
done

case "$ACTION" in
status)
	[ ${#DEVICES[@]} -eq 0 ] || die "--status takes no device (did you mean --bind?)"
	show_status
	;;
bind | unbind)
	[ ${#DEVICES[@]} -gt 0 ] || die "--$ACTION needs at least one PCI address"
	for i in "${!DEVICES[@]}"; do
		DEVICES[i]=$(normalise "${DEVICES[i]}")
	done
	if [ "$ACTION" = bind ]; then bind_devices; else unbind_devices; fi
	[ "$DRY_RUN" -eq 1 ] || show_status
	;;
esac
