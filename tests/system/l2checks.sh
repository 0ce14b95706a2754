# l2checks.sh: what the tiers running L2 on QEMU/TCG (l2img, l2docker) and
# under L1's KVM on Bochs (l2, l2docker-bochs) share: the checks on L2's
# console, booting an L1 image on Bochs, the L1 lines of a serial log, a
# free host port. Source it after lib.sh.

# A host port nothing listens on, for QEMU's forwarding.
free_port() {
	local p i
	for i in 1 2 3 4 5 6 7 8; do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	echo 18080
}

# boot_l1 NAME STOP-REGEX MKIMAGE-ARGS...: build $logs/NAME.img from the
# caller's $loader, $kernel, $initrd and $cmdline, and boot it on Bochs
# with $mem MiB for up to $timeout s; writes NAME.log, NAME.run and NAME.rc
# (run.sh's status; 2: no image). Runs side by side with another.
boot_l1() {
	local name=$1 stop=$2
	shift 2
	if ! "$top/tools/mkimage.sh" --loader "$loader" --kernel "$kernel" \
		--initrd "$initrd" --cmdline "$cmdline" --debug-exit yes \
		--out "$logs/$name.img" "$@" >"$logs/$name.mkimage" 2>&1; then
		echo "mkimage.sh failed: $(tail -n 1 "$logs/$name.mkimage")" >"$logs/$name.run"
		echo 2 >"$logs/$name.rc"
		return
	fi
	"$top/tools/run.sh" --emulator bochs --image "$logs/$name.img" --mem "$mem" \
		--timeout "$timeout" --log "$logs/$name.log" --stop-on "$stop" \
		>"$logs/$name.run" 2>&1
	echo $? >"$logs/$name.rc"
	rm -f "$logs/$name.img"
}

# boot_side_by_side NAME: unless NV_L2_CHECK_ONLY=1, boot the caller's
# image on nestvisor and (unless NV_TEST_REFERENCE=0) on bare Bochs at once.
# The monitor ends its run through the debug-exit port (or a FATAL); on
# bare Bochs nothing listens there, so that run stops on /init's last line.
boot_side_by_side() { # SCRIPT-NAME
	if [ "${NV_L2_CHECK_ONLY:-0}" = 1 ]; then
		echo "$1: checking the logs in $logs again (NV_L2_CHECK_ONLY=1)"
		return
	fi
	echo "$1: booting nestvisor$([ "${NV_TEST_REFERENCE:-1}" = 0 ] || echo ' and bare Bochs') side by side (up to $timeout s each)"
	boot_l1 nestvisor 'Kernel panic - not syncing|\[nestvisor-boot\] FATAL' \
		--monitor "$monitor" --on-no-vmx stop --nested yes &
	[ "${NV_TEST_REFERENCE:-1}" = 0 ] ||
		boot_l1 bare 'nestvisor-l1: ending the run with status|Kernel panic' --on-no-vmx native &
	wait
}

# expect_same NAME BARE NESTVISOR [WHAT]: the oracle comparison of two
# files of lines taken from the bare-Bochs and the nestvisor run; WHAT
# names the lines in the reasons (default: container lines).
expect_same() {
	local what=${4:-container lines}
	if [ ! -s "$2" ]; then
		fail "$1" "no $what on bare Bochs ($2)"
	elif cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "$what differ from bare Bochs: $(diff "$2" "$3" | grep -m 1 '^[<>]')"
	fi
}

# l1_lines LOG: L1's lines of a serial log. The monitor writes its lines to
# the UART while L1 is stopped, which can be in the middle of one of L1's:
# they are cut out and the pieces rejoined; CRs go too.
l1_lines() {
	sed -z 's/\[nestvisor\] [^\r\n]*\r\?\n//g' "$1" | tr -d '\r'
}

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

# check_docker_console T LOG: results T/<name> for the Docker chain's lines
# (tests/l1/dockerchain and tests/l2/docker/init), up to L2's status. LOG
# has no CRs. The container's hostname is its random ID: any 12 hex digits.
check_docker_console() { # T LOG
	local b=$1 log=$2 image=nestvisor/busybox:test
	expect_log "$log" '^nestvisor-l2: modules loaded: ([0-9]+) of \1 ' "$b/modules"
	expect_log "$log" '^nestvisor-l2: ok eth0 10\.0\.2\.15/24 gateway 10\.0\.2\.2 \(driver virtio_net\)' "$b/eth0"
	expect_log "$log" '^nestvisor-l2: ok containerd listening' "$b/containerd"
	expect_log "$log" '^nestvisor-l2: docker daemon ready at .*storage driver overlay2, cgroup 2$' "$b/dockerd"
	expect_log "$log" '^nestvisor-l1: daemon answered after [0-9]+ tries' "$b/client-connects"
	expect_log "$log" '^nestvisor-l1: docker: sha256:[0-9a-f]{64}$' "$b/import"
	expect_line "$log" "nestvisor-l1: docker: container: pid 1" "$b/run-pid"
	expect_line "$log" "nestvisor-l1: docker: container: net lo " "$b/run-net"
	expect_line "$log" "nestvisor-l1: docker: container: sum 42" "$b/run-sum"
	expect_log "$log" '^nestvisor-l1: docker: container: hostname [0-9a-f]{12}$' "$b/run-hostname"
	expect_line "$log" "nestvisor-l1: docker: container: second, exiting with 3" "$b/second"
	expect_log "$log" "^nestvisor-l1: docker: nv-second $image Exited \\(3\\)" "$b/ps-a"
	expect_line "$log" "nestvisor-l1: docker: nv-second" "$b/rm"
	expect_log "$log" '^nestvisor-l2: end signal: container nestvisor-poweroff exited with code 0 at ' "$b/end-signal"
	expect_line "$log" "nestvisor-l2: ok dockerd stopped (exit status 0)" "$b/dockerd-stopped"
	expect_line "$log" "nestvisor-l2: ok containerd stopped (exit status 0)" "$b/containerd-stopped"
	expect_no_log "$log" '^nestvisor-l[12]: FAIL ' "$b/no-failed-step"
	expect_log "$log" '^nestvisor-l2: status 0 at ' "$b/l2-status"
	expect_line "$log" "nestvisor-l1: ok L2 status 0" "$b/qemu-status"
}
