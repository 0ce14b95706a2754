#!/bin/bash
# trace-tool.sh OUT: the trace-tool tier. tools/trace-svg.py on a trace
# recorded from `make trace` (tests/trace/vmxbench.log, cut to the trace
# dump; tests/trace/README.md), without Bochs. Checks:
#   trace-tool/runs        exit status 0, the SVG written
#   trace-tool/well-formed the SVG parses as XML (python3's xml.etree), root <svg>
#   trace-tool/lanes       lanes L0, L1 and L2, each with at least one segment
#   trace-tool/path        the drawn exit goes L2 -> L0 -> L1 -> L0 -> L2
#   trace-tool/reasons     the summary has a bar for every reason in the log
#   trace-tool/no-trace    a log without trace lines: exit status 1 and a message
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

results_init "${1:?usage: tests/system/trace-tool.sh OUT}"
log=$top/tests/trace/vmxbench.log
tool=$top/tools/trace-svg.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-trace-tool.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if python3 "$tool" "$log" -o "$tmp/trace.svg" >"$tmp/stdout" 2>"$tmp/stderr" && [ -s "$tmp/trace.svg" ]; then
	pass trace-tool/runs
else
	fail trace-tool/runs "no SVG; stderr: $(head -n 3 "$tmp/stderr" | tr '\n' ' ')"
fi

# Each check prints "ok" or a reason, from the parsed SVG.
svg_check() { # NAME PYTHON-BODY (svg: the root element; ns: the SVG namespace)
	local why
	why=$(python3 - "$tmp/trace.svg" "$log" 2>&1 <<EOF2
import re, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
try:
    svg = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print("does not parse: %s" % e); sys.exit()
log = open(sys.argv[2], "rb").read().decode("ascii", "replace")
$2
EOF2
)
	if [ "$why" = ok ]; then pass "$1"; else fail "$1" "$why"; fi
}

svg_check trace-tool/well-formed '
print("ok" if svg.tag == ns + "svg" else "root is %s, not svg" % svg.tag)'

svg_check trace-tool/lanes '
bad = []
for lvl in ("L0", "L1", "L2"):
    if svg.find(".//%sg[@id=\"lane-%s\"]" % (ns, lvl)) is None:
        bad.append("no lane %s" % lvl)
    elif not svg.findall(".//%sg[@data-level=\"%s\"]/%srect" % (ns, lvl, ns)):
        bad.append("no segment in lane %s" % lvl)
print("; ".join(bad) or "ok")'

svg_check trace-tool/path '
levels = [g.get("data-level") for g in svg.iter(ns + "g") if g.get("class") == "segment"]
ok = re.fullmatch(r"L2 L0( L1 L0)+ L2", " ".join(levels))
print("ok" if ok else "segments %s, expected L2 L0 (L1 L0)... L2" % levels)'

svg_check trace-tool/reasons '
names = set(re.findall(r"\[nestvisor\] trace: \d+ L\d \d+ (\S+) ", log))
bars = {g.get("data-reason") for g in svg.iter(ns + "g") if g.get("class") == "reason"}
group = svg.find(".//%sg[@id=\"reasons\"]" % ns)
if group is None: print("no reasons group")
elif bars != names: print("bars %s, log reasons %s" % (sorted(bars), sorted(names)))
else: print("ok")'

printf 'no trace here\n' >"$tmp/empty.log"
python3 "$tool" "$tmp/empty.log" -o "$tmp/empty.svg" >/dev/null 2>"$tmp/empty.err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'no trace records' "$tmp/empty.err" && [ ! -e "$tmp/empty.svg" ]; then
	pass trace-tool/no-trace
else
	fail trace-tool/no-trace "exit status $rc, stderr: $(head -n 1 "$tmp/empty.err")"
fi
results_status
