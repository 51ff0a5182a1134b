#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The stock wg(8) tool against the cross-platform UAPI, served by
# uapi_daemon (engine + tables + wg_uapi_poll, no ports) on
# /var/run/wireguard/IFNAME.sock:
#   wg show / show dump / showconf, wg set (private key file, listen port,
#   fwmark, peer with endpoint, allowed IPs, keepalive, psk file, a prefix
#   moving between peers, allowed-IPs replacement, remove), wg setconf,
#   addconf and syncconf, a malformed request that changes nothing, a second
#   daemon refused (exit 3) and a stale socket taken over; requests over the
#   peer table's capacity refused whole (ENOSPC, nothing changed);
#   then, with the AddressSanitizer build, a loop of `wg show dump` while
#   `wg setconf` swaps 10,000 peers between two files: every dump must be
#   exactly one of the two configurations.
#
#	test_uapi_wg.sh UAPI_DAEMON UAPI_DAEMON_ASAN
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DAEMON=$1
DAEMON_ASAN=$2
STRESS_S=${UAPI_STRESS_S:-20}
STRESS_PEERS=${UAPI_STRESS_PEERS:-10000}

it_init uapi_wg 110
it_require wg timeout "$IT_PY"

IFN=$(it_name wgu)
SOCK=/var/run/wireguard/$IFN.sock
[ ! -e "$SOCK" ] || it_fail "$SOCK exists already"
it_defer rm -f "$SOCK"

# start_daemon TAG EXE: spawn, wait for "ready"; DPID is its pid.
start_daemon() {
	local tag=$1 exe=$2
	it_spawn "$tag" - "$exe" "$IFN" 51820
	DPID=$IT_LAST_PID
	it_wait_for "grep -q '^ready ' '$IT_DIR/$tag.log' || ! kill -0 $DPID" 30 ||
		it_fail "$tag did not start"
	grep -q '^ready ' "$IT_DIR/$tag.log" || it_fail "$tag exited: $(cat "$IT_DIR/$tag.log")"
}

dump() {
	wg show "$IFN" dump
}

# peer_field PUB N: field N of peer PUB's dump line (1 public key, 2 psk, 3 endpoint,
# 4 allowed ips, 5 handshake, 6 rx, 7 tx, 8 keepalive); fails when the peer is absent.
peer_field() {
	dump | awk -F'\t' -v p="$1" -v n="$2" 'NR > 1 && $1 == p { print $n; f = 1 } END { exit !f }'
}

expect() {
	local what=$1 got=$2 want=$3
	[ "$got" = "$want" ] || it_fail "$what: got '$got', want '$want'"
}

peers_sorted() {
	dump | awk -F'\t' 'NR > 1 { print $1 }' | sort | tr '\n' ' '
}

sorted() {
	printf '%s\n' "$@" | sort | tr '\n' ' '
}

KD=$(umask 077 && mktemp -d "$IT_DIR/keys.XXXXXX")
it_keypair PRIV PUB
printf '%s\n' "$PRIV" >"$KD/priv"
(umask 077 && wg genpsk >"$KD/psk")
PSK=$(cat "$KD/psk")
for i in 1 2 3 4 5 6; do
	it_keypair UNUSED "P$i"
done

start_daemon daemon "$DAEMON"

# --- an empty device ---
wg show interfaces | tr ' ' '\n' | grep -qx "$IFN" || it_fail "wg show interfaces lacks $IFN"
wg show "$IFN" | grep -q "listening port: 51820" || it_fail "wg show: no listening port"
expect "empty dump" "$(dump)" "$(printf '(none)\t(none)\t51820\toff')"

# --- wg set: identity, a peer with everything ---
it_run wg set "$IFN" private-key "$KD/priv" fwmark 0x42 \
	peer "$P1" endpoint 192.0.2.1:51820 allowed-ips 10.10.0.0/24,fd10::/64 \
	persistent-keepalive 25 preshared-key "$KD/psk" || it_fail "wg set peer P1"
expect "interface line" "$(dump | head -1)" "$(printf '%s\t%s\t51820\t0x42' "$PRIV" "$PUB")"
expect "P1 psk" "$(peer_field "$P1" 2)" "$PSK"
expect "P1 endpoint" "$(peer_field "$P1" 3)" "192.0.2.1:51820"
expect "P1 allowed ips" "$(peer_field "$P1" 4)" "10.10.0.0/24,fd10::/64"
expect "P1 keepalive" "$(peer_field "$P1" 8)" "25"
wg show "$IFN" | grep -q "peer: $P1" || it_fail "wg show lacks P1"

# --- a prefix moves to a new peer; IPv6 endpoint ---
it_run wg set "$IFN" peer "$P2" endpoint '[2001:db8::2]:51822' allowed-ips 10.10.0.0/24 ||
	it_fail "wg set peer P2"
expect "P2 endpoint" "$(peer_field "$P2" 3)" "[2001:db8::2]:51822"
expect "P2 allowed ips" "$(peer_field "$P2" 4)" "10.10.0.0/24"
expect "P1 after the move" "$(peer_field "$P1" 4)" "fd10::/64"
expect "P2 psk" "$(peer_field "$P2" 2)" "(none)"

# --- allowed-IPs replacement, psk removal, keepalive off, endpoint change ---
it_run wg set "$IFN" peer "$P1" allowed-ips 10.20.0.0/16,fd10::/64 preshared-key /dev/null \
	persistent-keepalive off endpoint 192.0.2.11:1 || it_fail "wg set P1 changes"
expect "P1 replaced allowed ips" "$(peer_field "$P1" 4)" "fd10::/64,10.20.0.0/16"
expect "P1 psk removed" "$(peer_field "$P1" 2)" "(none)"
expect "P1 keepalive off" "$(peer_field "$P1" 8)" "off"
expect "P1 new endpoint" "$(peer_field "$P1" 3)" "192.0.2.11:1"
it_run wg set "$IFN" peer "$P1" allowed-ips "" || it_fail "wg set P1 no allowed ips"
expect "P1 no allowed ips" "$(peer_field "$P1" 4)" "(none)"

# --- remove, listen port (the daemon's hook applies it), fwmark off ---
it_run wg set "$IFN" listen-port 51999 fwmark off peer "$P2" remove || it_fail "wg set remove"
peer_field "$P2" 1 >/dev/null 2>&1 && it_fail "P2 still present"
expect "after remove" "$(dump | head -1)" "$(printf '%s\t%s\t51999\toff' "$PRIV" "$PUB")"
grep -q "^listen port 51999" "$IT_DIR/daemon.log" || it_fail "listen-port hook not called"

# --- setconf, addconf, syncconf, showconf ---
cat >"$KD/c1.conf" <<EOF
[Interface]
PrivateKey = $PRIV
ListenPort = 51999

[Peer]
PublicKey = $P3
AllowedIPs = 10.30.0.0/16
Endpoint = 198.51.100.3:3

[Peer]
PublicKey = $P4
AllowedIPs = 10.40.0.0/16, fd40::/64
PresharedKey = $PSK
PersistentKeepalive = 10
EOF
it_run wg setconf "$IFN" "$KD/c1.conf" || it_fail "wg setconf"
expect "setconf peers" "$(peers_sorted)" "$(sorted "$P3" "$P4")"
expect "setconf P4 ips" "$(peer_field "$P4" 4)" "10.40.0.0/16,fd40::/64"
expect "setconf P4 psk" "$(peer_field "$P4" 2)" "$PSK"
expect "setconf P3 endpoint" "$(peer_field "$P3" 3)" "198.51.100.3:3"

printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.50.0.0/16\n' "$P5" >"$KD/c2.conf"
it_run wg addconf "$IFN" "$KD/c2.conf" || it_fail "wg addconf"
expect "addconf peers" "$(peers_sorted)" "$(sorted "$P3" "$P4" "$P5")"

cat >"$KD/c3.conf" <<EOF
[Interface]
PrivateKey = $PRIV
ListenPort = 51999

[Peer]
PublicKey = $P3
AllowedIPs = 10.31.0.0/16, 10.30.0.0/16
Endpoint = 198.51.100.3:3

[Peer]
PublicKey = $P6
AllowedIPs = 10.60.0.0/16, 10.40.0.0/16
EOF
it_run wg syncconf "$IFN" "$KD/c3.conf" || it_fail "wg syncconf"
expect "syncconf peers" "$(peers_sorted)" "$(sorted "$P3" "$P6")"
expect "syncconf P3 ips" "$(peer_field "$P3" 4)" "10.30.0.0/16,10.31.0.0/16"
expect "syncconf P6 ips" "$(peer_field "$P6" 4)" "10.60.0.0/16,10.40.0.0/16"

# showconf round trip: feeding it back changes nothing.
wg showconf "$IFN" >"$KD/shown.conf" || it_fail "wg showconf"
grep -q "^PrivateKey = $PRIV\$" "$KD/shown.conf" || it_fail "showconf lacks the private key"
before=$(dump)
it_run wg setconf "$IFN" "$KD/shown.conf" || it_fail "wg setconf of showconf"
expect "showconf round trip" "$(dump)" "$before"

# --- a malformed request over the socket changes nothing ---
before=$(dump)
reply=$("$IT_PY" - "$SOCK" "$P1" <<'EOF'
import base64, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
key = base64.b64decode(sys.argv[2]).hex()
s.sendall(("set=1\nreplace_peers=true\npublic_key=%s\nallowed_ip=10.99.0.0/16\n"
           "endpoint=nowhere\n\n" % key).encode())
print(s.recv(100).decode().strip())
EOF
)
expect "malformed request reply" "$reply" "errno=22"
expect "dump after the malformed request" "$(dump)" "$before"

# --- a second daemon is refused; a stale socket is taken over ---
rc=0
it_run timeout 30 "$DAEMON" "$IFN" 51820 && it_fail "second daemon started" || rc=$?
expect "second daemon exit status" "$rc" 3
grep -q "another process serves" "$IT_LOG" || it_fail "no clear refusal message"
kill -KILL "$DPID"
it_wait_exit "$DPID" 5 || true
[ -S "$SOCK" ] || it_fail "no stale socket after KILL"

# --- capacity: a request that does not fit the peer table changes nothing ---
# A daemon with room for 8 peers (the stale socket is taken over, and left
# stale again for the next daemon).
it_spawn small - "$DAEMON" "$IFN" 51820 "" 8
DPID=$IT_LAST_PID
it_wait_for "grep -q '^ready ' '$IT_DIR/small.log' || ! kill -0 $DPID" 30 || it_fail "small daemon"
for i in 1 2 3 4; do
	it_keypair UNUSED "Q$i"
done
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$PRIV"
	for i in 1 2 3 4 5; do
		k="P$i"
		printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.8.%s.0/24\n' "${!k}" "$i"
	done
} >"$KD/five.conf"
it_run wg setconf "$IFN" "$KD/five.conf" || it_fail "setconf of 5 peers into room for 8"
before=$(dump)
for i in 1 2 3 4; do
	k="Q$i"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.9.%s.0/24\n\n' "${!k}" "$i"
done >"$KD/four.conf"
it_run wg addconf "$IFN" "$KD/four.conf" && it_fail "addconf of 4 more peers into room for 3"
expect "dump after the refused addconf" "$(dump)" "$before"
reply=$("$IT_PY" - "$SOCK" "$Q1" "$Q2" "$Q3" "$Q4" "$P1" <<'EOF'
import base64, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
hx = [base64.b64decode(k).hex() for k in sys.argv[2:]]
# P1 removed first: its id is not free before a grace period, so 4 new ones still do not fit.
req = "set=1\npublic_key=%s\nremove=true\n" % hx[4]
for i, k in enumerate(hx[:4]):
    req += "public_key=%s\nallowed_ip=10.9.%d.0/24\n" % (k, i)
s.sendall((req + "\n").encode())
print(s.recv(100).decode().strip())
EOF
)
expect "reply to a set over capacity" "$reply" "errno=28"
expect "dump after the refused set" "$(dump)" "$before"
it_run wg set "$IFN" peer "$Q1" allowed-ips 10.9.1.0/24 peer "$Q2" peer "$Q3" ||
	it_fail "wg set of 3 peers into room for 3"
expect "peers after filling the table" "$(dump | awk 'NR > 1' | wc -l)" 8
kill -KILL "$DPID"
it_wait_exit "$DPID" 5 || true

# --- stress, under AddressSanitizer ---
start_daemon asan "$DAEMON_ASAN"
for c in A B; do
	"$IT_PY" - "$PRIV" "$KD/$c.conf" "$STRESS_PEERS" "$c" <<'EOF'
import base64, os, sys
priv, out, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), ord(sys.argv[4]) - ord('A')
with open(out, 'w') as f:
    f.write('[Interface]\nPrivateKey = %s\nListenPort = 51820\n' % priv)
    for i in range(n):
        key = base64.b64encode(os.urandom(32)).decode()
        f.write('\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32, fd%02x::%x:%x/128\n'
                % (key, 64 + 64 * tag + (i >> 16), (i >> 8) & 255, i & 255, tag, i >> 16,
                   i & 0xffff))
EOF
done
it_log "stress: $STRESS_PEERS peers per file, ${STRESS_S}s"
"$IT_PY" - "$IFN" "$KD/A.conf" "$KD/B.conf" "$STRESS_S" >>"$IT_LOG" 2>&1 <<'EOF' ||
import ipaddress, subprocess, sys, threading, time

ifn, files, seconds = sys.argv[1], sys.argv[2:4], float(sys.argv[4])

def expected(path):
    peers, key = set(), None
    for line in open(path):
        k, _, v = line.partition(' = ')
        v = v.strip()
        if k == 'PublicKey':
            key = v
        elif k == 'AllowedIPs':
            peers.add((key, ','.join(str(ipaddress.ip_network(x.strip(), strict=False))
                                     for x in v.split(','))))
    return frozenset(peers)

want = [expected(f) for f in files]
assert want[0] != want[1] and len(want[0]) == len(want[1])
stop = threading.Event()
swaps, errors = [0, 0], []

def swapper():
    i = 0
    while not stop.is_set():
        r = subprocess.run(['wg', 'setconf', ifn, files[i]], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append('setconf %s: %s' % (files[i], r.stderr.strip()))
            return
        swaps[i] += 1
        i ^= 1

t = threading.Thread(target=swapper)
t.start()
seen, dumps, deadline = [0, 0], 0, time.monotonic() + seconds
while time.monotonic() < deadline and not errors:
    r = subprocess.run(['wg', 'show', ifn, 'dump'], capture_output=True, text=True)
    if r.returncode != 0:
        errors.append('dump: ' + r.stderr.strip())
        break
    lines = r.stdout.splitlines()
    got = frozenset((l.split('\t')[0], l.split('\t')[3]) for l in lines[1:])
    dumps += 1
    if not got and seen == [0, 0]:
        continue  # before the first setconf landed
    if got == want[0]:
        seen[0] += 1
    elif got == want[1]:
        seen[1] += 1
    else:
        errors.append('dump %d is neither configuration: %d peers, %d of A, %d of B'
                      % (dumps, len(got), len(got & want[0]), len(got & want[1])))
stop.set()
t.join()
print('stress: %d dumps (%d A, %d B), setconf %d A + %d B' % (dumps, seen[0], seen[1], *swaps))
if errors:
    print('\n'.join(errors[:5]))
    sys.exit(1)
if swaps[0] < 2 or swaps[1] < 2 or dumps < 10:
    print('too little happened')
    sys.exit(1)
EOF
	it_fail "stress: $(grep -E '^(stress|dump|setconf|too)' "$IT_LOG" | tail -3)"
stress=$(grep '^stress: [0-9]' "$IT_LOG" | tail -1)
kill -0 "$DPID" || it_fail "the ASan daemon died"
kill -TERM "$DPID"
it_wait_exit "$DPID" 20 || it_fail "ASan daemon exit status $IT_STATUS"
grep -q "AddressSanitizer" "$IT_DIR/asan.log" && it_fail "AddressSanitizer report"
[ ! -e "$SOCK" ] || it_fail "$SOCK left behind after SIGTERM"

it_pass "$stress"
