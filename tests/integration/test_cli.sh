#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The command line of the real binary: exit statuses, --help, --version, --check,
# the "--" form, and single-line errors. No root, no EAL.
#   tests/integration/test_cli.sh BUILD/app/wg-dpdk SOURCE_ROOT
set -uo pipefail

BIN=$(realpath "$1")
SRC=$(realpath "$2")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failed=0

# expect STATUS STDOUT STDERR -- ARGS...: exact status, stdout and stderr ("*" = any).
expect() {
	local status=$1 out=$2 err=$3 rc
	shift 4
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" != "$status" ] ||
		{ [ "$out" != "*" ] && [ "$(cat "$TMP/out")" != "$out" ]; } ||
		{ [ "$err" != "*" ] && [ "$(cat "$TMP/err")" != "$err" ]; }; then
		echo "FAIL: wg-dpdk $*: status $rc (want $status)"
		echo "  stdout: $(cat "$TMP/out" | head -3)"
		echo "  stderr: $(cat "$TMP/err" | head -3)"
		echo "  want stdout: $out"
		echo "  want stderr: $err"
		failed=1
	fi
}

SUMMARY="wg0: 3 peers, 5 prefixes (4 IPv4, 1 IPv6), wan net_tap0, lan net_tap1"
EX="$SRC/conf/peers.yaml"

expect 0 "wg-dpdk 0.1.0" "" -- --version
expect 0 "*" "" -- --help
grep -q '^usage: wg-dpdk --conf FILE' "$TMP/out" || { echo "FAIL: --help text"; failed=1; }
expect 0 "*" "" -- --check --conf nothing --help

expect 0 "$SUMMARY" "" -- --conf "$EX" --check
expect 0 "$SUMMARY" "" -- --check --conf="$EX" --log-level debug
expect 0 "$SUMMARY" "" -- -l 0-1 --no-huge -- --conf "$EX" --check
expect 0 "$SUMMARY" "" -- -- --conf "$EX" --check

U="(try --help)"
expect 2 "" "wg-dpdk: missing --conf FILE $U" --
expect 2 "" "wg-dpdk: missing --conf FILE $U" -- --check
expect 2 "" "wg-dpdk: unknown option '--bogus' $U" -- --bogus
expect 2 "" "wg-dpdk: unknown option '-l' $U" -- -l 0-1 --conf "$EX" --check
expect 2 "" "wg-dpdk: missing argument for '--conf' $U" -- --check --conf
expect 2 "" "wg-dpdk: invalid log level 'loud' $U" -- --conf "$EX" --log-level loud
expect 2 "" "wg-dpdk: unexpected argument 'extra' $U" -- --conf "$EX" extra
expect 2 "" "wg-dpdk: option given twice: '--conf' $U" -- --conf "$EX" --conf "$EX"
expect 2 "" "wg-dpdk: unknown option '--no-huge' $U" -- -- --no-huge --conf "$EX"

cd "$TMP"
printf 'version: 1\ninterface:\n  private-key: %s\n  listen-port: 70000\n' \
	"$(head -c 32 /dev/urandom | base64)" >bad.yaml
expect 1 "" "bad.yaml:4:16: interface.listen-port: '70000' is not a port number (1..65535)" \
	-- --conf bad.yaml --check
expect 1 "" "missing.yaml:1:1: (root): cannot read: No such file or directory" \
	-- --conf missing.yaml
mkdir dir.yaml
expect 1 "" "dir.yaml:1:1: (root): cannot read: Is a directory" -- --conf dir.yaml --check
printf 'version: 1\ninterface:\n\tname: x\n' >tab.yaml
expect 1 "" "*" -- --conf tab.yaml --check
[ "$(wc -l <"$TMP/err")" = 1 ] && grep -q '^tab.yaml:3:1: interface: syntax error' "$TMP/err" ||
	{ echo "FAIL: tab error: $(cat "$TMP/err")"; failed=1; }

# A warning does not fail --check; it goes to stderr.
sed 's|allowed-ips: \[10.192.125.0/24\]|allowed-ips: [10.192.125.1/24]|' "$EX" >warn.yaml
cp -r "$SRC/conf/keys" .
LINE=$(grep -n '10.192.125.1/24' warn.yaml | cut -d: -f1)
expect 0 "$SUMMARY" "warn.yaml:$LINE:19: warning: peers[1].allowed-ips[0]: '10.192.125.1/24' has host bits set, using 10.192.125.0/24" \
	-- --conf warn.yaml --check

[ $failed = 0 ] && echo "test_cli: all passed"
exit $failed
