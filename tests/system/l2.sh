#!/bin/bash
# l2.sh BUILD OUT: the l2 tier (issue 6, docs/l2-chains.md). Linux as L1
# loads kvm-intel and runs the container L2 (tests/l2/) three times in one
# boot (nestvisor.test=l2-chains): with Debian's QEMU, then with the
# project's nvlaunch, each L2 runs a crun container, serves a page from a
# second one that L1 fetches over the network, and powers off with its
# status; then nvlaunch's L2 runs the check container and reboots. Two Bochs runs, side by side:
#   bare:      the same image on bare Bochs (Bochs's own VMX, no monitor):
#              the oracle. NV_TEST_REFERENCE=0 skips it.
#   nestvisor: the loader, the monitor and the same L1.
# Every container line is checked (tests/system/l2checks.sh), and the
# nestvisor run's container lines must equal the oracle's. Bounded by
# NV_L2_TIMEOUT s (default 1500) each; NV_L2_CHECK_ONLY=1 checks the logs
# of the last run again without booting. Results l2/<run>/<vmm>/<check>;
# serial logs in BUILD/test-logs/l2/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
. "$here/l2checks.sh"

build=${1:?usage: tests/system/l2.sh BUILD OUT}
results_init "${2:?usage: tests/system/l2.sh BUILD OUT}"
logs=$build/test-logs/l2
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
kernel=$build/linux/vmlinuz
initrd=$build/linux/initrd-l2.img
cmdline="console=ttyS0,115200 quiet nestvisor.test=l2-chains"
timeout=${NV_L2_TIMEOUT:-1500}
mem=${NV_L2_BOCHS_MEM:-1024}

# The L1 lines of LOG (the monitor's lines cut out, pieces of L1's lines
# that they split rejoined), then the part of them between l2chain's start
# of VMM and its end: LOG.l1, LOG.VMM, and LOG.reboot for the third L2.
split_log() { # LOG
	local vmm
	l1_lines "$1" >"$1.l1"
	for vmm in qemu nvlaunch; do
		sed -n "/nestvisor-l1: starting L2 with $vmm (.*ending: poweroff)/,/nestvisor-l1: L2 chain with $vmm: /p" \
			"$1.l1" >"$1.$vmm"
	done
	sed -n "/nestvisor-l1: starting L2 with nvlaunch (.*ending: reboot)/,/nestvisor-l1: L2 chain with nvlaunch (reboot): /p" \
		"$1.l1" >"$1.reboot"
}

# The checks on one chain: L2's console (tests/system/l2checks.sh), then
# what L1 saw: the page it fetched, L2's status, the verdict.
check_chain() { # RUN VMM LOG
	local t=l2/$1/$2 log=$3.$2
	if [ ! -s "$log" ]; then
		fail "$t/chain" "l2chain never started L2 with $2 ($(tail -n 1 "$logs/$1.run"); log: $3)"
		return
	fi
	check_l2_console "$t" "$log"
	expect_log "$log" 'nestvisor-l1: http reply: HTTP/1\.[01] 200' "$t/http-status"
	expect_log "$log" 'nestvisor-l1: http reply: <html><body><p>nestvisor-l2: hello from a crun container</p></body></html>' "$t/http-page"
	expect_log "$log" "nestvisor-l1: $2 exited with status 1 " "$t/l2-exit-status-0"
	expect_log "$log" "nestvisor-l1: L2 chain with $2: PASS" "$t/chain"
}

# The container's own lines of a chain, for the oracle comparison; httpd's
# log names the client's port, which is the kernel's choice.
container_lines() { # LOG
	grep -aE '^container: ' "$1" 2>/dev/null | sed -E 's/\]:[0-9]+: /]:PORT: /'
}

# L2's clock choices (tests/l2/init): clocksource, TSC calibration and
# stability, from L2's kernel log.
clock_lines() { # LOG
	grep -aE '^nestvisor-l2: clock: ' "$1" 2>/dev/null
}

runs=(nestvisor)
[ "${NV_TEST_REFERENCE:-1}" = 0 ] || runs+=(bare)
if ! need_inputs l2/inputs "$loader" "$monitor" "$kernel" "$initrd"; then
	results_status
	exit
fi
boot_side_by_side l2.sh

for run in "${runs[@]}"; do
	log=$logs/$run.log
	echo "l2.sh: $run: $(tail -n 1 "$logs/$run.run")"
	if [ ! -f "$log" ]; then
		fail "l2/$run/boot" "$(tail -n 1 "$logs/$run.run")"
		continue
	fi
	split_log "$log"
	for vmm in qemu nvlaunch; do check_chain "$run" "$vmm" "$log"; done
	# The third L2: the i8042 reset ends nvlaunch with its reboot status.
	t=l2/$run/reboot
	expect_log "$log.reboot" '^nestvisor-l2: crun run nv-check: exit status 0$' "$t/crun-run-status"
	expect_log "$log.reboot" '^nestvisor-l2: rebooting$' "$t/l2-rebooting"
	expect_log "$log.reboot" '^nestvisor-l1: nvlaunch exited with status 2 ' "$t/nvlaunch-reboot-status"
	expect_log "$log.reboot" '^nestvisor-l1: L2 chain with nvlaunch \(reboot\): PASS' "$t/chain"
done
[ "${NV_TEST_REFERENCE:-1}" = 0 ] &&
	skip l2/oracle "reference run on bare Bochs skipped (NV_TEST_REFERENCE=0)"

log=$logs/nestvisor.log
if [ -f "$log" ]; then
	expect_log "$log.l1" 'nvcheck: hypervisor signature NestVisorVMM' l2/nestvisor/l1-on-nestvisor
	# The oracle: the container saw the same on bare Bochs as on nestvisor.
	if [ "${NV_TEST_REFERENCE:-1}" != 0 ] && [ -f "$logs/bare.log" ]; then
		for vmm in qemu nvlaunch; do
			container_lines "$logs/bare.log.$vmm" >"$logs/bare.$vmm.container"
			container_lines "$log.$vmm" >"$logs/nestvisor.$vmm.container"
			expect_same "l2/oracle/$vmm" "$logs/bare.$vmm.container" "$logs/nestvisor.$vmm.container"
			# L2's kernel makes the same clock choices as on bare Bochs.
			clock_lines "$logs/bare.log.$vmm" >"$logs/bare.$vmm.clock"
			clock_lines "$log.$vmm" >"$logs/nestvisor.$vmm.clock"
			if [ ! -s "$logs/nestvisor.$vmm.clock" ]; then
				fail "l2/oracle/$vmm-clock" "no 'nestvisor-l2: clock:' lines in $log.$vmm"
			else
				expect_same "l2/oracle/$vmm-clock" "$logs/bare.$vmm.clock" "$logs/nestvisor.$vmm.clock" "L2 clock lines"
			fi
		done
	fi
	# The monitor's statistics by level: L2's exits, how many went to L1,
	# timer interrupts that arrived while L2 ran, L2 memory through EPT02.
	expect_log "$log" '\[nestvisor\] exit statistics: [0-9]+ exits from L1' l2/nestvisor/stats-l1
	expect_log "$log" '\[nestvisor\] exit statistics: [0-9]+ exits from L2, [1-9][0-9]* reflected to L1' \
		l2/nestvisor/stats-l2-reflected
	for r in '1 EXTERNAL_INTERRUPT' '30 IO_INSTRUCTION' '48 EPT_VIOLATION'; do
		if sed -n '/exits from L2/,$p' "$log" | grep -aqE "\[nestvisor\] +$r +[1-9]"; then
			pass "l2/nestvisor/stats-l2-${r#* }"
		else
			fail "l2/nestvisor/stats-l2-${r#* }" "no $r among L2's exits in $log"
		fi
	done
	run_rc=$(cat "$logs/nestvisor.rc" 2>/dev/null || echo 1)
	run_line=$(tail -n 1 "$logs/nestvisor.run")
	check_end l2/nestvisor/run-ended "$log"
fi
results_status
