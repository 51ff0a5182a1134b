# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034 # globals are for the tests that source this
#
# Integration-test library: network namespaces, veth pairs, wireguard-go peers,
# ping / iperf3 helpers and a cleanup registry. Source it from a bash test:
#
#	. "$(dirname "$0")/lib.sh"
#	it_init my_test 100          # name, self-imposed deadline in seconds
#	NS_A=$(it_name a) ...
#
# The library is `set -euo pipefail` friendly and quiet: every command it runs
# logs to $IT_DIR/main.log, background processes log to $IT_DIR/NAME.log, and
# all of these are printed (tail) only when the test exits non-zero (or always
# with IT_VERBOSE=1). IT_KEEP=1 keeps $IT_DIR after the run.
#
# Rules it enforces for CI: it runs as root or skips (exit 77); every
# namespace, process and file it creates is registered and removed at exit in
# reverse order (trap on EXIT, TERM, INT, HUP); the whole test is bounded by a
# watchdog that sends TERM to the test after the deadline; names carry a
# per-run suffix ($IT_SFX) so two runs never collide.
#
# Functions ("->" is what goes to stdout; status 0 is success):
#	it_init NAME [DEADLINE_S]       start a test: IT_NAME, IT_SFX, IT_DIR, IT_LOG,
#	                                traps, watchdog (deadline default 110 s; $IT_DEADLINE overrides)
#	it_require CMD...               skip (77) unless every CMD is in PATH
#	it_name BASE                    -> BASE$IT_SFX (fails if longer than 15 chars)
#	it_log MSG...                   append a line to $IT_LOG
#	it_run CMD...                   run CMD with its output in $IT_LOG, keep its status
#	it_defer CMD...                 register CMD to run at exit (reverse order)
#	it_fail MSG                     log MSG, print logs, exit 1
#	it_skip MSG                     exit 77 (meson: skipped)
#	it_pass [MSG]                   print "PASS NAME MSG", exit 0
#	it_wait_for CMD TIMEOUT_S       eval CMD every 0.1 s until it succeeds; 1 on timeout
#	it_spawn TAG NS CMD...          start CMD in background in netns NS ("-" = current
#	                                namespace), output to $IT_DIR/TAG.log, registered
#	                                for kill at exit; sets IT_LAST_PID (do not call in $(...))
#	it_kill PID [TIMEOUT_S]         TERM, wait up to TIMEOUT_S (default 3), then KILL and reap
#	it_wait_exit PID TIMEOUT_S      wait for a child of this shell to exit; returns its exit
#	                                status (124 if still running), also in IT_STATUS
#	it_netns_add NS                 create netns NS with lo up (registered)
#	it_ns NS CMD...                 run CMD inside NS (plain ip netns exec; output not logged)
#	it_veth NS_A IF_A NS_B IF_B [OPT...]
#	                                veth pair between two namespaces, both ends up; OPT:
#	                                tx-off-a / tx-off-b (ethtool -K tx off on that end,
#	                                needed on a kernel end that sends to net_af_packet),
#	                                no-ipv6-a / no-ipv6-b, mtu=N
#	it_tx_off NS IF                 ethtool -K IF tx off
#	it_ipv6_off NS IF               sysctl net.ipv6.conf.IF.disable_ipv6=1
#	it_addr NS IF ADDR/LEN          add an address (IPv6 with nodad)
#	it_route NS PREFIX DEV          add a route
#	it_mac NS IF                    -> the MAC address of IF
#	it_keypair PRIV_VAR PUB_VAR     wg genkey / wg pubkey into the two variables
#	it_wggo_start NS IFNAME         start wireguard-go (foreground, our child) in NS and
#	                                wait for /var/run/wireguard/IFNAME.sock; sets IT_LAST_PID
#	                                and IT_WGGO_PID[IFNAME]; LOG_LEVEL from $IT_WGGO_LOG_LEVEL
#	                                (default verbose)
#	it_wggo_conf NS IFNAME PRIVKEY PORT
#	                                wg set private key and listen port, link up
#	it_wggo_peer NS IFNAME PUBKEY ENDPOINT ALLOWED [KEEPALIVE]
#	                                wg set peer (ENDPOINT "-" = none, ALLOWED comma list)
#	it_wg_counters NS IFNAME PEER   -> "RX TX" bytes of peer PEER (public key) from wg show dump
#	it_wg_handshake NS IFNAME PEER  -> latest-handshake time of PEER (0 = none)
#	it_wg_field NS IFNAME PEER N    -> field N of PEER's line in wg show IFNAME dump (NS "-":
#	                                here; 1 key, 2 psk, 3 endpoint, 4 allowed IPs, 5 handshake,
#	                                6 rx, 7 tx, 8 keepalive); fails when PEER is absent
#	it_ping NS ADDR [COUNT]         ping from NS (0.2 s interval, bounded), 0 if all answered
#	it_ping_fails NS ADDR           0 if two pings from NS (1 s timeout each) all go unanswered
#	it_iperf_tcp NS_SERVER ADDR NS_CLIENT SECONDS [BW [IPERF3_ARGS...]]
#	it_iperf_udp NS_SERVER ADDR NS_CLIENT SECONDS [BW [LEN [IPERF3_ARGS...]]]
#	                                iperf3 server in NS_SERVER, client in NS_CLIENT to ADDR
#	                                -> received bits per second; the client's JSON is kept in
#	                                $IT_DIR/iperf_last.json (BW: iperf3 -b, 0 = unlimited)
#	it_json FILE PATH               -> a field of a JSON file, PATH like end.sum_received.packets
#	it_snmp NS PROTO FIELD          -> a counter of /proc/net/snmp in NS (e.g. Udp InDatagrams)
#	it_if_stat NS IF STAT           -> /sys/class/net/IF/statistics/STAT (e.g. rx_packets)
#	it_proc_cpu_ticks PID           -> utime + stime of PID (all threads) in clock ticks
#	it_telemetry PREFIX CMD         -> the JSON answer of dpdk-telemetry.py -f PREFIX to CMD
#	                                ({"CMD": ...}, one line; "{}" when none came)
#	it_tel_field FILE PATH          -> a field of an it_telemetry answer saved in FILE, under
#	                                the command's key (PATH like rx_bytes or endpoint.1)
#	it_wgdpdk_start TAG NS PREFIX WG_DPDK CONF [ENV=VALUE...]
#	                                start WG_DPDK --conf CONF in NS (WG_DPDK_IDLE=1 and the
#	                                ENV given), output $IT_DIR/TAG.log, wait for telemetry
#	                                (/wg/ports) on file prefix PREFIX; sets IT_LAST_PID
#	it_hugepages_free_mb            -> free hugepage memory in MiB (default page size)
#
# wgpkt.py beside this file crafts and sends hostile WireGuard packets: run
# "$IT_PY" "$IT_WGPKT" -h.
#
# Variables: IT_NAME IT_SFX IT_DIR IT_LOG IT_LAST_PID IT_STATUS IT_PY (python3
# to use) IT_WGGO_PID (associative array). IT_IPERF_PORT (default 5201).

PATH=$PATH:/usr/sbin:/sbin

IT_NAME=
IT_SFX=
IT_DIR=
IT_LOG=/dev/null
IT_LAST_PID=
IT_STATUS=0
IT_CLEANUP=()
IT_CLEANING=0
IT_WATCHDOG=
declare -A IT_WGGO_PID=()
# The system python3 has the Debian modules (scapy, cryptography); a python3
# earlier in PATH (pyenv, venv) may not.
if [ -z "${IT_PY:-}" ]; then
	if [ -x /usr/bin/python3 ]; then IT_PY=/usr/bin/python3; else IT_PY=python3; fi
fi
IT_IPERF_PORT=${IT_IPERF_PORT:-5201}
IT_WGPKT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/wgpkt.py

it_log() {
	printf '%s %s\n' "$(date +%T.%N | cut -c1-12)" "$*" >>"$IT_LOG"
}

it_run() {
	local rc=0
	it_log "+ $*"
	"$@" >>"$IT_LOG" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || it_log "  (exit $rc)"
	return "$rc"
}

it_defer() {
	IT_CLEANUP+=("$(printf '%q ' "$@")")
}

it__dump_logs() {
	local f
	[ -n "$IT_DIR" ] && [ -d "$IT_DIR" ] || return 0
	for f in "$IT_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "===== $(basename "$f") (last 150 lines) =====" >&2
		tail -n 150 "$f" >&2
	done
}

it__exit() {
	local rc=$? i
	trap - EXIT TERM INT HUP
	set +e
	[ "$IT_CLEANING" -eq 0 ] || exit "$rc"
	IT_CLEANING=1
	it_log "exit status $rc, cleaning up"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || [ "${IT_VERBOSE:-0}" = 1 ]; then
		it__dump_logs
	fi
	for ((i = ${#IT_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${IT_CLEANUP[$i]}" >>"$IT_LOG" 2>&1
	done
	if [ -n "$IT_DIR" ] && [ "${IT_KEEP:-0}" != 1 ]; then
		rm -rf -- "$IT_DIR"
	elif [ -n "$IT_DIR" ]; then
		echo "logs kept in $IT_DIR" >&2
	fi
	exit "$rc"
}

it__signal() {
	it_log "caught signal, exit $1"
	echo "$IT_NAME: interrupted (signal or deadline)" >&2
	exit "$1"
}

it_init() {
	local deadline=${IT_DEADLINE:-${2:-110}}

	IT_NAME=$1
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP $IT_NAME: needs root" >&2
		exit 77
	fi
	IT_SFX=$(printf '%x%02x' "$$" $((RANDOM % 256)))
	IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wgit-$IT_NAME.XXXXXX")
	IT_LOG=$IT_DIR/main.log
	: >"$IT_LOG"
	trap it__exit EXIT
	trap 'it__signal 143' TERM
	trap 'it__signal 130' INT
	trap 'it__signal 129' HUP
	it_log "test $IT_NAME suffix $IT_SFX dir $IT_DIR deadline ${deadline}s"
	# Watchdog: TERM the test after the deadline (the trap above then cleans up).
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$deadline" &
		sp=$!
		wait "$sp" && kill -TERM "$$"
	) </dev/null >/dev/null 2>&1 &
	IT_WATCHDOG=$!
	it_defer it_kill "$IT_WATCHDOG" 1
}

it_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || it_skip "missing command $c"
	done
}

it_name() {
	local n="$1$IT_SFX"
	if [ ${#n} -gt 15 ]; then
		echo "it_name: '$n' is longer than 15 characters" >&2
		return 1
	fi
	printf '%s\n' "$n"
}

it_fail() {
	it_log "FAIL: $*"
	echo "FAIL $IT_NAME: $*" >&2
	exit 1
}

it_skip() {
	it_log "SKIP: $*"
	echo "SKIP $IT_NAME: $*" >&2
	exit 77
}

it_pass() {
	it_log "PASS $*"
	echo "PASS $IT_NAME${1:+: $*}"
	exit 0
}

it_wait_for() {
	local cmd=$1 timeout=$2 end
	end=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		if eval "$cmd" >>"$IT_LOG" 2>&1; then
			return 0
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			it_log "it_wait_for: timed out after ${timeout}s: $cmd"
			return 1
		fi
		sleep 0.1
	done
}

it_kill() {
	local pid=$1 timeout=${2:-3} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		it_log "it_kill: $pid ignored TERM, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

it_wait_exit() {
	local pid=$1 timeout=$2 i
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		IT_STATUS=124
		return 124
	fi
	IT_STATUS=0
	wait "$pid" || IT_STATUS=$?
	return "$IT_STATUS"
}

it_spawn() {
	local tag=$1 ns=$2
	shift 2
	it_log "spawn [$tag] in ${ns}: $*"
	if [ "$ns" = - ]; then
		"$@" </dev/null >>"$IT_DIR/$tag.log" 2>&1 &
	else
		ip netns exec "$ns" "$@" </dev/null >>"$IT_DIR/$tag.log" 2>&1 &
	fi
	IT_LAST_PID=$!
	it_defer it_kill "$IT_LAST_PID" 3
	it_log "  pid $IT_LAST_PID"
}

it__netns_del() {
	local ns=$1 p
	# Anything still running in our namespace was started by this test.
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del "$ns" 2>/dev/null || true
}

it_netns_add() {
	local ns=$1
	it_run ip netns add "$ns" || return 1
	it_defer it__netns_del "$ns"
	it_run ip -n "$ns" link set lo up
}

it_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

it_tx_off() {
	it_run ip netns exec "$1" ethtool -K "$2" tx off
}

it_ipv6_off() {
	it_run ip netns exec "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=1"
}

it_veth() {
	local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4 o
	shift 4
	it_run ip link add "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b" || return 1
	it_defer it_run ip -n "$ns_a" link del "$if_a"
	for o in "$@"; do
		case $o in
		tx-off-a) it_tx_off "$ns_a" "$if_a" || return 1 ;;
		tx-off-b) it_tx_off "$ns_b" "$if_b" || return 1 ;;
		no-ipv6-a) it_ipv6_off "$ns_a" "$if_a" || return 1 ;;
		no-ipv6-b) it_ipv6_off "$ns_b" "$if_b" || return 1 ;;
		mtu=*)
			it_run ip -n "$ns_a" link set "$if_a" mtu "${o#mtu=}" || return 1
			it_run ip -n "$ns_b" link set "$if_b" mtu "${o#mtu=}" || return 1
			;;
		*)
			it_log "it_veth: unknown option $o"
			return 1
			;;
		esac
	done
	it_run ip -n "$ns_a" link set "$if_a" up && it_run ip -n "$ns_b" link set "$if_b" up
}

it_addr() {
	local ns=$1 dev=$2 addr=$3
	case $addr in
	*:*) it_run ip -n "$ns" addr add "$addr" dev "$dev" nodad ;;
	*) it_run ip -n "$ns" addr add "$addr" dev "$dev" ;;
	esac
}

it_route() {
	it_run ip -n "$1" route add "$2" dev "$3"
}

it_mac() {
	ip netns exec "$1" cat "/sys/class/net/$2/address"
}

it_keypair() {
	local priv
	priv=$(wg genkey) || return 1
	printf -v "$1" '%s' "$priv"
	printf -v "$2" '%s' "$(printf '%s\n' "$priv" | wg pubkey)"
}

it_wggo_start() {
	local ns=$1 ifname=$2 sock=/var/run/wireguard/$2.sock pid
	if [ -e "$sock" ]; then
		it_log "it_wggo_start: $sock already exists"
		return 1
	fi
	# Cleanup runs in reverse: the process is killed first, then a socket left
	# behind by a KILL is removed.
	it_defer rm -f "$sock"
	it_spawn "wggo-$ifname" "$ns" env WG_PROCESS_FOREGROUND=1 \
		LOG_LEVEL="${IT_WGGO_LOG_LEVEL:-verbose}" wireguard-go "$ifname"
	pid=$IT_LAST_PID
	IT_WGGO_PID[$ifname]=$pid
	if ! it_wait_for "[ -S '$sock' ] || ! kill -0 $pid" 10 || ! [ -S "$sock" ]; then
		it_log "it_wggo_start: wireguard-go $ifname did not create $sock"
		return 1
	fi
	it_wait_for "ip -n '$ns' link show '$ifname'" 5
}

it_wggo_conf() {
	local ns=$1 ifname=$2 key=$3 port=$4 kf
	kf=$(umask 077 && mktemp "$IT_DIR/key.XXXXXX")
	printf '%s\n' "$key" >"$kf"
	it_run ip netns exec "$ns" wg set "$ifname" listen-port "$port" private-key "$kf" || return 1
	rm -f "$kf"
	it_run ip -n "$ns" link set "$ifname" up
}

it_wggo_peer() {
	local ns=$1 ifname=$2 pub=$3 ep=$4 allowed=$5 ka=${6:-}
	local args=(peer "$pub" allowed-ips "$allowed")
	[ "$ep" = - ] || args+=(endpoint "$ep")
	[ -z "$ka" ] || args+=(persistent-keepalive "$ka")
	it_run ip netns exec "$ns" wg set "$ifname" "${args[@]}"
}

it_wg_counters() {
	ip netns exec "$1" wg show "$2" dump |
		awk -v p="$3" 'NR > 1 && $1 == p { print $6, $7; f = 1 } END { exit !f }'
}

it_wg_handshake() {
	ip netns exec "$1" wg show "$2" dump |
		awk -v p="$3" 'NR > 1 && $1 == p { print $5; f = 1 } END { exit !f }'
}

it_wg_field() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then wg show "$1" dump; else ip netns exec "$ns" wg show "$1" dump; fi |
		awk -F'\t' -v p="$2" -v n="$3" 'NR > 1 && $1 == p { print $n; f = 1 } END { exit !f }'
}

it_ping_fails() {
	local rc=0
	it_log "+ (must fail) ping $2 from $1"
	timeout 8 ip netns exec "$1" ping -n -q -c 2 -i 0.2 -W 1 "$2" >>"$IT_LOG" 2>&1 || rc=$?
	[ "$rc" -ne 0 ]
}

it_ping() {
	local ns=$1 addr=$2 count=${3:-3}
	it_run timeout $((count + 10)) ip netns exec "$ns" ping -n -q -c "$count" -i 0.2 -W 2 "$addr"
}

it_json() {
	"$IT_PY" - "$1" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)
EOF
}

# it__iperf KIND NS_SERVER ADDR NS_CLIENT SECONDS [IPERF3 CLIENT ARGS...]
it__iperf() {
	local kind=$1 ns_s=$2 addr=$3 ns_c=$4 secs=$5 port=$IT_IPERF_PORT
	local out=$IT_DIR/iperf_last.json srv rc=0
	shift 5
	ip netns exec "$ns_s" timeout $((secs + 30)) iperf3 -s -1 -p "$port" \
		</dev/null >>"$IT_DIR/iperf-server.log" 2>&1 &
	srv=$!
	if ! it_wait_for "ip netns exec '$ns_s' ss -Hltn 'sport = :$port' | grep -q ." 5; then
		it_kill "$srv" 1
		return 1
	fi
	it_log "+ iperf3 $kind -c $addr -t $secs $* (client in $ns_c, server in $ns_s)"
	timeout $((secs + 20)) ip netns exec "$ns_c" iperf3 -c "$addr" -p "$port" -t "$secs" \
		--connect-timeout 3000 -J "$@" </dev/null >"$out" 2>>"$IT_LOG" || rc=$?
	it_wait_exit "$srv" 5 || it_kill "$srv" 1
	cp "$out" "$IT_DIR/iperf-$kind-$(date +%s%N).json"
	if [ "$rc" -ne 0 ]; then
		it_log "iperf3 client exit $rc"
		cat "$out" >>"$IT_LOG"
		return "$rc"
	fi
	printf '%.0f\n' "$(it_json "$out" end.sum_received.bits_per_second)"
}

it_iperf_tcp() {
	local a=("$1" "$2" "$3" "$4")
	[ -z "${5:-}" ] || a+=(-b "$5")
	shift $(($# < 5 ? $# : 5))
	it__iperf tcp "${a[@]}" "$@"
}

it_iperf_udp() {
	local a=("$1" "$2" "$3" "$4" -u -b "${5:-100M}")
	[ -z "${6:-}" ] || a+=(-l "$6")
	shift $(($# < 6 ? $# : 6))
	it__iperf udp "${a[@]}" "$@"
}

it_snmp() {
	ip netns exec "$1" awk -v p="$2:" -v f="$3" '$1 == p {
		if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		if (f in col) { print $col[f]; found = 1 }
	} END { exit !found }' /proc/net/snmp
}

it_if_stat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

it_proc_cpu_ticks() {
	# Field 2 (comm) may contain spaces: cut at the last ')'.
	local s
	s=$(cat "/proc/$1/stat") || return 1
	s=${s##*) }
	# After "comm": state=1 ... utime=12 stime=13 (fields 14 and 15 of the full line).
	awk '{ print $12 + $13 }' <<<"$s"
}

it_telemetry() {
	echo "$2" | timeout 10 dpdk-telemetry.py -f "$1" 2>/dev/null |
		"$IT_PY" -c '
import json, sys
text = sys.stdin.read()
# The connection banner, then one JSON object per command: keep the last.
objs, dec, i = [], json.JSONDecoder(), 0
while True:
	j = text.find("{", i)
	if j < 0:
		break
	try:
		obj, end = dec.raw_decode(text, j)
	except ValueError:
		i = j + 1
		continue
	objs.append(obj)
	i = end
print(json.dumps(objs[-1]) if objs else "{}")'
}

it_tel_field() {
	"$IT_PY" - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
v = v[next(iter(v))]
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)
PY
}

it_wgdpdk_start() {
	local tag=$1 ns=$2 prefix=$3 exe=$4 conf=$5 pid
	shift 5
	it_defer rm -rf "/var/run/dpdk/$prefix"
	it_spawn "$tag" "$ns" env WG_DPDK_IDLE=1 "$@" "$exe" --conf "$conf"
	pid=$IT_LAST_PID
	it_wait_for "[ -S /var/run/dpdk/$prefix/dpdk_telemetry.v2 ] || ! kill -0 $pid" 30 &&
		kill -0 "$pid" 2>/dev/null || { it_log "wg-dpdk ($tag) did not start"; return 1; }
	it_wait_for "it_telemetry '$prefix' /wg/ports | grep -q wan_mac" 10 || return 1
	IT_LAST_PID=$pid
}

it_hugepages_free_mb() {
	awk '$1 == "HugePages_Free:" { n = $2 } $1 == "Hugepagesize:" { kb = $2 }
		END { print int(n * kb / 1024) }' /proc/meminfo
}
