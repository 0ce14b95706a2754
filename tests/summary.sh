#!/bin/bash
# summary.sh RESULTSDIR: count the PASS/FAIL/SKIP lines of every *.txt in
# RESULTSDIR, list the failures and end with "N passed, N failed, N skipped".
# Exit status: 0 only if nothing failed and at least one test passed or failed.
set -uo pipefail

dir=${1:?usage: tests/summary.sh RESULTSDIR}
files=()
[ -d "$dir" ] && files=("$dir"/*.txt)
[ -e "${files[0]:-}" ] || files=()

count() { # PREFIX
	[ ${#files[@]} -gt 0 ] || { echo 0; return; }
	cat "${files[@]}" | grep -c "^$1 "
}
passed=$(count PASS)
failed=$(count FAIL)
skipped=$(count SKIP)

echo "================ test summary ================"
for f in "${files[@]}"; do
	printf '%-12s %s passed, %s failed, %s skipped\n' "$(basename "$f" .txt)" \
		"$(grep -c '^PASS ' "$f")" "$(grep -c '^FAIL ' "$f")" "$(grep -c '^SKIP ' "$f")"
done
if [ "$skipped" -gt 0 ]; then
	echo "skipped:"
	cat "${files[@]}" | grep '^SKIP ' | sed 's/^/  /'
fi
if [ "$failed" -gt 0 ]; then
	echo "failures:"
	cat "${files[@]}" | grep '^FAIL ' | sed 's/^/  /'
fi
status=0
if [ $((passed + failed)) -eq 0 ]; then
	echo "no test ran"
	status=1
fi
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
