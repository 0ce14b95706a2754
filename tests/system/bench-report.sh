#!/bin/bash
# bench-report.sh OUT: the report step of `make bench` (tools/bench.sh
# --report) on the recorded logs of a real run (tests/bench/recorded/,
# cut to the lines the report reads; tests/bench/README.md), with every
# awk this machine has: Debian's default (mawk), busybox's, gawk if
# installed. A report that only one awk accepts broke `make bench` on a
# fresh Debian once; this tier makes sure it cannot again. Checks, per awk:
#   bench-report/<awk>/runs        exit status 0, no message on stderr
#   bench-report/<awk>/table       the table equals tests/bench/expected.txt
#                                  (the date in the header line aside)
# and once:
#   bench-report/ratios            every measurement row of the table has
#                                  both columns and a ratio computed from them
#   bench-report/kvm-ratios        the same for the Linux/KVM table: three
#                                  columns, the ratios against single level
#                                  and KVM as L0 computed from them, and a
#                                  row of L0 exits per operation for each
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

results_init "${1:?usage: tests/system/bench-report.sh OUT}"
logs=$top/tests/bench/recorded
expected=$top/tests/bench/expected.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-bench-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The header's date changes from day to day; nothing else may.
undated() { sed '1s/, [0-9-]*$//' "$1"; }

awks=()
command -v mawk >/dev/null && awks+=(mawk)
command -v busybox >/dev/null && busybox awk 'BEGIN {}' 2>/dev/null && awks+=(busybox)
command -v gawk >/dev/null && awks+=(gawk)
[ ${#awks[@]} -gt 0 ] || fail bench-report/awk "neither mawk, busybox nor gawk is installed"

for a in "${awks[@]}"; do
	# PATH starts with a directory whose awk is this one.
	mkdir -p "$tmp/$a/bin"
	if [ "$a" = busybox ]; then
		printf '#!/bin/sh\nexec busybox awk "$@"\n' >"$tmp/$a/bin/awk"
		chmod +x "$tmp/$a/bin/awk"
	else
		ln -s "$(command -v "$a")" "$tmp/$a/bin/awk"
	fi
	PATH=$tmp/$a/bin:$PATH "$top/tools/bench.sh" --report "$logs" "$tmp/$a/table.txt" \
		>"$tmp/$a/stdout" 2>"$tmp/$a/stderr"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/$a/stderr" ]; then
		pass "bench-report/$a/runs"
	else
		fail "bench-report/$a/runs" "exit status $rc; stderr: $(head -n 3 "$tmp/$a/stderr" | tr '\n' ' ')"
	fi
	if diff <(undated "$expected") <(undated "$tmp/$a/table.txt") >"$tmp/$a/diff"; then
		pass "bench-report/$a/table"
	else
		fail "bench-report/$a/table" "differs from tests/bench/expected.txt: $(head -n 6 "$tmp/$a/diff" | tr '\n' ' ')"
	fi
done

# The measurement rows (between the column header and the next blank line):
# name, bare "med (min)", nestvisor "med (min)", ratio = nestvisor / bare.
first=${awks[0]:-}
if [ -n "$first" ] && [ -s "$tmp/$first/table.txt" ]; then
	bad=$(sed -n '/^measurement /,/^$/p' "$tmp/$first/table.txt" | sed '1d;/^$/d' |
		while read -r name b _ n _ r; do
			want=$(echo "$b $n" | LC_ALL=C awk '{ if ($1 > 0) printf "%.1fx", $2 / $1 }' 2>/dev/null)
			[ -n "$want" ] && [ "$r" = "$want" ] || echo "$name: bare '$b' nestvisor '$n' ratio '$r'"
		done)
	rows=$(sed -n '/^measurement /,/^$/p' "$tmp/$first/table.txt" | sed '1d;/^$/d' | wc -l)
	if [ "$rows" -gt 0 ] && [ -z "$bad" ]; then
		pass bench-report/ratios
	else
		fail bench-report/ratios "${bad:-no measurement rows} (table: $tmp/$first/table.txt)"
	fi
else
	fail bench-report/ratios "no table was written"
fi
# The Linux/KVM rows: name, single "med (min)", KVM as L0 "med (min)",
# nestvisor "med (min)", nestvisor / single, nestvisor / KVM as L0.
if [ -n "$first" ] && [ -s "$tmp/$first/table.txt" ]; then
	t=$tmp/$first/table.txt
	bad=$(sed -n '/^L2 op /,/^$/p' "$t" | sed '1d;/^$/d' |
		while read -r name s _ k _ n _ rs rk; do
			want=$(echo "$s $k $n" | LC_ALL=C awk '{ if ($1 > 0 && $2 > 0) printf "%.2fx %.2fx", $3 / $1, $3 / $2 }' 2>/dev/null)
			[ -n "$want" ] && [ "$rs $rk" = "$want" ] || echo "$name: '$s' '$k' '$n' ratios '$rs $rk'"
		done)
	rows=$(sed -n '/^L2 op /,/^$/p' "$t" | sed '1d;/^$/d' | wc -l)
	exits=$(sed -n '/^L2 operation  /,/^$/p' "$t" | awk 'NF == 4 && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9.]+$/' | wc -l)
	if [ "$rows" -ge 4 ] && [ -z "$bad" ] && [ "$exits" -eq "$rows" ]; then
		pass bench-report/kvm-ratios
	else
		fail bench-report/kvm-ratios "${bad:-$rows rows, $exits rows of exits} (table: $t)"
	fi
fi
results_status
