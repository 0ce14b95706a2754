#!/bin/bash
# record.sh LOGDIR: copy the logs of a `make bench` run (LOGDIR, normally
# build/bench) into tests/bench/recorded/, cut to the lines tools/bench.sh's
# report reads, note the commit and date in recorded/RUN, and rewrite
# tests/bench/expected.txt from them (tests/bench/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
src=${1:?usage: tests/bench/record.sh LOGDIR}
dst=$here/recorded
mkdir -p "$dst"
rm -f "$dst"/*.log
for n in bare nestvisor bare-2 nestvisor-2 linux l2-bare l2-nestvisor \
	kvm-single kvm-l0 kvm-nestvisor kvm-single-2 kvm-l0-2 kvm-nestvisor-2; do
	[ -f "$src/$n.log" ] || continue
	tr -d '\r' <"$src/$n.log" |
		grep -aE 'vmxbench: |^\[nestvisor\] (exit statistics|run ended| +[0-9]+ [A-Z_]+ +[0-9]+$)|^nestvisor-l1: time: |^nestvisor-l1: kvm counts at |kvmbench: |nvlaunch: kvm stats mark |\[nestvisor\] stats mark ' \
		>"$dst/$n.log" || true
done
echo "recorded from $src at commit $(git -C "$top" rev-parse --short HEAD), $(date -u +%Y-%m-%d)" >"$dst/RUN"
"$top/tools/bench.sh" --report "$dst" "$here/expected.txt" >/dev/null
echo "record.sh: $(ls "$dst" | wc -l) files in $dst; expected.txt rewritten"
