#!/bin/bash
# run-unit.sh BIN OUT: run the cmocka unit-test binary BIN and turn its output
# into result lines in OUT (one per test): PASS unit/<test>, FAIL unit/<test>:
# <first error line>, SKIP unit/<test>. A crash fails the test that was
# running; a binary that ends badly with no failed test adds FAIL unit/run.
# The raw output is kept in OUT.log.
set -uo pipefail
here=$(dirname "$0")
. "$here/system/lib.sh"

bin=${1:?usage: tests/run-unit.sh BIN OUT}
out=${2:?usage: tests/run-unit.sh BIN OUT}
results_init "$out"
raw=$out.log

if [ ! -x "$bin" ]; then
	fail unit/run "missing input: $bin (the unit tests did not build)"
	exit 1
fi

# Line-buffered stdout keeps cmocka's stdout and stderr in order; undefined
# behaviour stops the test instead of scrolling past.
export CMOCKA_MESSAGE_OUTPUT=STDOUT
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(timeout 300 stdbuf -oL -eL "$bin" >"$raw" 2>&1; exit $?) 2>/dev/null
rc=$?

declare -A seen
current= reason= nfail=0 ntests=0
name= # set by new_name: unit/<test>, made unique with #2, #3...
new_name() {
	local i=2
	name=unit/$1
	while [ -n "${seen[$name]:-}" ]; do name=unit/$1#$i; i=$((i + 1)); done
	seen[$name]=1
}
while IFS= read -r line; do
	case $line in
	"[ RUN      ] "*)
		current=${line#"[ RUN      ] "} reason= ;;
	"[       OK ] "*)
		[ -n "$current" ] && new_name "$current" && pass "$name"
		ntests=$((ntests + 1)) current= ;;
	"[  FAILED  ] "*)
		[ -n "$current" ] || continue # the summary list at the end
		new_name "$current"
		fail "$name" "${reason:-failed}"
		nfail=$((nfail + 1)) ntests=$((ntests + 1)) current= ;;
	"[  SKIPPED ] "*)
		[ -n "$current" ] || continue
		new_name "$current"
		skip "$name" "${reason:-skipped by the test}"
		ntests=$((ntests + 1)) current= ;;
	"[  ERROR   ] --- "*|"[   LINE   ] --- "*)
		[ -n "$current" ] && reason="${reason:+$reason; }${line#*--- }" ;;
	*"ERROR: AddressSanitizer"*|*"runtime error:"*)
		[ -n "$current" ] && reason="${reason:+$reason; }$line" ;;
	esac
done <"$raw"

if [ "$rc" -gt 128 ] || [ "$rc" -eq 124 ]; then
	why="crashed (signal $((rc - 128)))"
	[ "$rc" -ne 124 ] || why="timed out after 300 s"
else
	why="exited with status $rc"
fi
if [ -n "$current" ]; then
	new_name "$current"
	fail "$name" "$why while running this test${reason:+: $reason}"
	nfail=$((nfail + 1))
elif [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
	fail unit/run "$bin $why with no failed test (see $raw)"
elif [ "$ntests" -eq 0 ]; then
	fail unit/run "$bin ran no test (see $raw)"
fi
[ "$rc" -eq 0 ]
