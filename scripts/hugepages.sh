#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Reserve hugepages for wg-dpdk on real NICs, mount hugetlbfs, show the state.
# Without arguments it only shows the state. See --help.
set -euo pipefail

PROG=${0##*/}
SIZE=2M
PAGES=
NODE=
MOUNT=
DRY_RUN=0
STATUS_ONLY=1
UMOUNT=0

usage() {
	cat <<EOF
usage: $PROG [--status]
       $PROG --pages N [--size 2M|1G] [--node NUMA] [--mount DIR] [--dry-run]
       $PROG --release [--size 2M|1G] [--node NUMA] [--umount] [--dry-run]

Reserve hugepages for DPDK (wg-dpdk without --no-huge), mount a hugetlbfs for
them, and show what is reserved, free and mounted.

  --status        show hugepages per size and NUMA node and hugetlbfs mounts (default)
  --pages N       reserve N pages of --size (in total, or on --node); 0 releases them
  --release       same as --pages 0
  --size S        2M (default) or 1G; 1G pages reserved at run time may fall short
                  (fragmented memory): prefer the kernel command line
                  "default_hugepagesz=1G hugepagesz=1G hugepages=N"
  --node NUMA     reserve on this NUMA node only (the NICs' node: cat
                  /sys/bus/pci/devices/PCI/numa_node)
  --mount DIR     hugetlbfs mount point (default /dev/hugepages for 2M,
                  /dev/hugepages1G for 1G); mounted only when not mounted yet
  --umount        with --release: unmount DIR as well
  --dry-run       print what would be done, change nothing
  -h, --help      this text

Examples:
  $PROG --pages 1024                 # 2 GiB of 2 MiB pages, spread over the nodes
  $PROG --pages 4 --size 1G --node 0
  $PROG --status

Then give EAL the memory, e.g. dpdk.eal-args: [-l, "0-4", --socket-mem, "2048", -a, ...]
(no --no-huge). Persistent alternative: vm.nr_hugepages in /etc/sysctl.d/.
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

# Write a value to a sysfs file (printed in dry-run mode).
write_sys() {
	if [ "$DRY_RUN" -eq 1 ]; then
		echo "would write $1 > $2"
	else
		echo "$1" >"$2"
	fi
}

size_kb() {
	case "$1" in
	2M | 2m | 2048k | 2048kB) echo 2048 ;;
	1G | 1g | 1024M | 1048576kB) echo 1048576 ;;
	*) die "unsupported page size '$1' (2M or 1G)" ;;
	esac
}

pages_file() {
	local kb=$1 node=$2
	if [ -n "$node" ]; then
		echo "/sys/devices/system/node/node$node/hugepages/hugepages-${kb}kB/nr_hugepages"
	else
		echo "/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages"
	fi
}

show_status() {
	local d kb n f free total
	echo "hugepages (per size):"
	for d in /sys/kernel/mm/hugepages/hugepages-*; do
		[ -d "$d" ] || continue
		kb=${d##*-}
		printf "  %-10s total %6s  free %6s  resv %6s  surplus %s\n" "$kb" \
			"$(cat "$d/nr_hugepages")" "$(cat "$d/free_hugepages")" \
			"$(cat "$d/resv_hugepages")" "$(cat "$d/surplus_hugepages")"
	done
	if [ -d /sys/devices/system/node ]; then
		echo "per NUMA node:"
		for n in /sys/devices/system/node/node[0-9]*; do
			[ -d "$n/hugepages" ] || continue
			for d in "$n"/hugepages/hugepages-*; do
				f=${d##*-}
				total=$(cat "$d/nr_hugepages")
				free=$(cat "$d/free_hugepages")
				printf "  %-6s %-10s total %6s  free %6s\n" "${n##*/}" "$f" "$total" "$free"
			done
		done
	fi
	echo "hugetlbfs mounts:"
	if ! grep -E '^[^ ]+ [^ ]+ hugetlbfs ' /proc/mounts | awk '{print "  " $2 " (" $4 ")"}' \
			| grep .; then
		echo "  none (mount one with --pages N, or: mount -t hugetlbfs nodev /dev/hugepages)"
	fi
	grep -E '^(HugePages_|Hugepagesize|Hugetlb)' /proc/meminfo | sed 's/^/  /'
}

is_mounted() {
	awk -v d="$1" '$2 == d && $3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts
}

reserve() {
	local kb file got
	kb=$(size_kb "$SIZE")
	file=$(pages_file "$kb" "$NODE")
	[ -e "$file" ] || die "$file not found: no ${SIZE} pages on this kernel/CPU${NODE:+ or no node $NODE}"
	[ "$DRY_RUN" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "must run as root (or use --dry-run)"
	write_sys "$PAGES" "$file"
	if [ "$DRY_RUN" -eq 0 ]; then
		got=$(cat "$file")
		if [ "$got" -lt "$PAGES" ]; then
			echo "$PROG: asked for $PAGES pages of $SIZE, got $got (memory fragmented?)" >&2
			show_status
			exit 1
		fi
	fi
	if [ -z "$MOUNT" ]; then
		if [ "$kb" -eq 2048 ]; then MOUNT=/dev/hugepages; else MOUNT=/dev/hugepages1G; fi
	fi
	if [ "$PAGES" -gt 0 ] && ! is_mounted "$MOUNT"; then
		run mkdir -p "$MOUNT"
		run mount -t hugetlbfs -o "pagesize=$SIZE" nodev "$MOUNT"
	elif [ "$PAGES" -eq 0 ] && [ "$UMOUNT" -eq 1 ] && is_mounted "$MOUNT"; then
		run umount "$MOUNT"
	fi
}

while [ $# -gt 0 ]; do
	case "$1" in
	--status) STATUS_ONLY=1 ;;
	--pages)
		[ $# -ge 2 ] || die "--pages needs a number"
		PAGES=$2
		STATUS_ONLY=0
		shift
		;;
	--release)
		PAGES=0
		STATUS_ONLY=0
		;;
	--size)
		[ $# -ge 2 ] || die "--size needs 2M or 1G"
		SIZE=$2
		shift
		;;
	--node)
		[ $# -ge 2 ] || die "--node needs a NUMA node number"
		NODE=$2
		shift
		;;
	--mount)
		[ $# -ge 2 ] || die "--mount needs a directory"
		MOUNT=$2
		shift
		;;
	--umount) UMOUNT=1 ;;
	--dry-run) DRY_RUN=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done

if [ "$STATUS_ONLY" -eq 0 ]; then
	[[ "$PAGES" =~ ^[0-9]+$ ]] || die "--pages: '$PAGES' is not a number"
	[ -z "$NODE" ] || [[ "$NODE" =~ ^[0-9]+$ ]] || die "--node: '$NODE' is not a number"
	size_kb "$SIZE" >/dev/null
	reserve
fi
show_status
