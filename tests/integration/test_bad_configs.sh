#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every bad configuration of tests/unit/control/test_config.c through the real binary:
# `wg-dpdk --conf c.yaml --check` must exit 1, print nothing on stdout and exactly the
# case's stderr (its warnings, then one line FILE:LINE:COLUMN: KEY-PATH: message).
# Then an unreadable main file (missing, a directory). No root, no EAL.
#   tests/integration/test_bad_configs.sh BUILD/app/wg-dpdk BUILD/.../test_config
set -uo pipefail

BIN=$(realpath "$1")
DUMP=$(realpath "$2")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failed=0
n=0

# run NAME WANT_STDERR_FILE ARGS...: status 1, empty stdout, stderr exactly as in the file.
run() {
	local name=$1 want=$2 rc
	shift 2
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	n=$((n + 1))
	if [ "$rc" != 1 ] || [ -s "$TMP/out" ] || ! cmp -s "$want" "$TMP/err"; then
		echo "FAIL: $name: status $rc (want 1)"
		echo "  stdout: $(head -c 300 "$TMP/out")"
		echo "  stderr: $(head -c 300 "$TMP/err")"
		echo "  want:   $(head -c 300 "$want")"
		failed=1
	fi
}

"$DUMP" --dump "$TMP/d" >"$TMP/dump.out" || { echo "FAIL: $DUMP --dump"; exit 1; }
cd "$TMP/d"
total=$(ls cases/*.yaml | wc -l)
[ "$total" -ge 40 ] || { echo "FAIL: only $total cases"; failed=1; }
for yaml in cases/*.yaml; do
	cp "$yaml" c.yaml
	run "$yaml" "${yaml%.yaml}.err" --conf c.yaml --check
done

# The main file itself unreadable.
printf 'missing.yaml:1:1: (root): cannot read: No such file or directory\n' >"$TMP/want"
run missing "$TMP/want" --conf missing.yaml --check
printf 'keys:1:1: (root): cannot read: Is a directory\n' >"$TMP/want"
run directory "$TMP/want" --conf keys --check
printf 'keys/dir.key:1:1: (root): cannot read: Is a directory\n' >"$TMP/want"
run "directory, with --" "$TMP/want" -l 0 -- --conf keys/dir.key

[ $failed = 0 ] && echo "test_bad_configs: $n runs of the binary, all passed ($total table cases)"
exit $failed
