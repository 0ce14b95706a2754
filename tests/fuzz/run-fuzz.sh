#!/bin/bash
# run-fuzz.sh [--runs N] [--corpus keep|fresh] [--seed S] FUZZDIR OUT TARGET...
# Runs each libFuzzer harness FUZZDIR/TARGET (built by tests/fuzz/fuzz.mk)
# for N inputs, one target after the other (one job: the machine is
# shared), and writes one line per target to OUT: PASS fuzz/<target>, or
# FAIL fuzz/<target>: <the violated property or sanitizer report> (crash
# input: <file>). docs/fuzzing.md.
#
#  --runs N          inputs per target (default 20000)
#  --corpus keep     grow FUZZDIR/corpus/<target> across runs (make fuzz)
#  --corpus fresh    start from the seeds alone in FUZZDIR/test-corpus/ (the
#                    make test tier; with --seed it runs much the same inputs
#                    every time)
#  --seed S          libFuzzer's random seed (default: its own, time based)
#
# The seeds are written by each harness (NV_FUZZ_SEEDS=DIR) into
# FUZZDIR/seeds/<target>; crash inputs go to FUZZDIR/artifacts/<target>/;
# each run's libFuzzer output to FUZZDIR/logs/<target>.log. Timings and
# inputs per second are printed and kept in OUT.log. Reproduce a crash
# with: FUZZDIR/<target> FUZZDIR/artifacts/<target>/crash-...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../system/lib.sh"

runs=20000 corpus=keep seed=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--corpus) corpus=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--help|-h) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run-fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 3 ] || { echo "usage: tests/fuzz/run-fuzz.sh [options] FUZZDIR OUT TARGET..." >&2; exit 2; }
case $corpus in keep|fresh) ;; *) echo "run-fuzz.sh: --corpus keep|fresh" >&2; exit 2 ;; esac
dir=$1 out=$2
shift 2
results_init "$out"
stats=$out.log
: >"$stats"
mkdir -p "$dir/logs"
# A hang guard, far above the expected time (about 10,000 inputs/s at worst).
limit=$((300 + runs / 200))
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The fields fuzz_entry_checks assumes the checks never read must not
# appear in them: a check added later that reads one makes the list stale.
unread_stale() {
	local f hit
	for f in $(sed -n 's/^ENTRY_UNREAD(\([A-Z0-9_]*\))$/\1/p' "$here/entry_unread.h"); do
		hit=$(grep -lw -- "$f" "$here"/../../arch/x86_64/nested/entry_checks*.[ch] 2>/dev/null | head -1)
		if [ -n "$hit" ]; then
			echo "$f is read in ${hit#"$here/../../"}: drop it from tests/fuzz/entry_unread.h"
			return 0
		fi
	done
	return 1
}

total_start=$(date +%s.%N)
for t in "$@"; do
	name=fuzz/$t bin=$dir/$t log=$dir/logs/$t.log
	if [ ! -x "$bin" ]; then
		fail "$name" "missing input: $bin (the harness did not build)"
		continue
	fi
	if [ "$t" = entry_checks ] && why=$(unread_stale); then
		fail "$name" "$why"
		continue
	fi
	seeds=$dir/seeds/$t
	rm -rf "$seeds" && mkdir -p "$seeds"
	if ! NV_FUZZ_SEEDS=$seeds "$bin" >"$log" 2>&1; then
		fail "$name" "writing the seeds failed: $(grep -m1 -E 'nv-fuzz|ERROR|error' "$log" | cut -c1-200)"
		continue
	fi
	# Inputs that once showed a deviation (tests/fuzz/known/<target>-*)
	# run as seeds: a regression fails the tier on its first input.
	for k in "$here"/known/"$t"-*; do
		[ -f "$k" ] && cp "$k" "$seeds/"
	done
	if [ "$corpus" = fresh ]; then
		work=$dir/test-corpus/$t
		rm -rf "$work"
	else
		work=$dir/corpus/$t
	fi
	mkdir -p "$work" "$dir/artifacts/$t"
	args=(-runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
	      -artifact_prefix="$dir/artifacts/$t/")
	[ -z "$seed" ] || args+=(-seed="$seed")
	start=$(date +%s.%N)
	timeout "$limit" "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
	ncorp=$(find "$work" -type f | wc -l)
	line=$(printf '%-14s %9s inputs in %7.1f s (%s/s), corpus %s' "$t" "${execs:-?}" "$secs" "$rate" "$ncorp")
	echo "$line" >>"$stats"
	echo "  $line"
	if [ "$rc" -eq 0 ]; then
		pass "$name"
		continue
	fi
	if [ "$rc" -eq 124 ]; then
		why="timed out after $limit s"
	else
		why=$(grep -m1 -a 'nv-fuzz: property violated:' "$log" | sed 's/^nv-fuzz: //')
		[ -n "$why" ] || why=$(grep -m1 -a -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:' "$log")
		[ -n "$why" ] || why="exited with status $rc"
	fi
	crash=$(grep -a -o 'Test unit written to .*' "$log" | tail -1 | sed 's/^Test unit written to //')
	fail "$name" "$(echo "$why" | cut -c1-300)${crash:+ (crash input: $crash; log $log)}"
done
total=$(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
printf 'total %.1f s for %d targets, %s inputs each\n' "$total" "$#" "$runs" | tee -a "$stats"
results_status
