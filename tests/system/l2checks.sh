# l2checks.sh: the checks on the container L2's console that the l2img tier
# (L2 on QEMU/TCG) and the l2 tier (L2 under L1's KVM, on Bochs) share.
# Source it after lib.sh.

# check_l2_console T LOG: results T/<name> for every line of
# tests/l2/expect-crun ("NAME<TAB>extended regex"), for the container's
# namespaces (each differs from L2's own), for crun's lifecycle of the
# httpd container, and for the absence of a failed step. LOG has no CRs.
check_l2_console() { # T LOG
	local t=$1 log=$2 name re ns mine theirs ok=1 why= l
	while IFS=$'\t' read -r name re; do
		case $name in ''|'#'*) continue ;; esac
		expect_log "$log" "$re" "$t/$name"
	done <"$(dirname "${BASH_SOURCE[0]}")/../l2/expect-crun"
	for ns in pid mnt uts ipc net cgroup; do
		mine=$(sed -n "s/^nestvisor-l2: ns \($ns:\[[0-9]*\]\)$/\1/p" "$log" | head -n 1)
		theirs=$(sed -n "s/^container: ns \($ns:\[[0-9]*\]\)$/\1/p" "$log" | head -n 1)
		if [ -z "$mine" ] || [ -z "$theirs" ] || [ "$mine" = "$theirs" ]; then
			ok=0 why="$why $ns (L2 '$mine', container '$theirs')"
		fi
	done
	[ $ok = 1 ] && pass "$t/namespaces" || fail "$t/namespaces" "not the container's own:$why"
	ok=1 why=
	for l in 'crun state nv-httpd: status created, pid [0-9]+' \
		'crun state nv-httpd: status running, pid [0-9]+' \
		'crun list: nv-httpd +[0-9]+ +running +/bundle ' \
		'crun state nv-httpd: status stopped, pid 0' 'ok crun delete'; do
		grep -aqE "^nestvisor-l2: $l" "$log" || { ok=0 why="$why /$l/"; }
	done
	[ $ok = 1 ] && pass "$t/crun-lifecycle" || fail "$t/crun-lifecycle" "missing:$why"
	expect_no_log "$log" '^nestvisor-l2: FAIL ' "$t/no-failed-step"
}
