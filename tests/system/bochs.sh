#!/bin/bash
# bochs.sh BUILD OUT: the bochs tier. The monitor on Bochs's VT-x with
#   linux:  Debian's cloud kernel as L1, /init runs nvcheck --expect-nestvisor
#           and ends the run with its status (nestvisor.test=cpuid);
#   hctest: the ring-0 test guest, whose "hctest: PASS|FAIL|SKIP <name>"
#           lines become bochs/hctest/<name> results (with nested = no: it
#           checks the guest sees a CPU without VMX);
#   tfault: a guest that triple-faults: the monitor reports it and ends
#           the run with status 254; booted with trace = on, the run's end
#           also dumps the exit trace, the triple fault its last record.
# Result lines go to OUT (see tests/system/lib.sh); serial logs and images
# to BUILD/test-logs/bochs/. The runs are sequential: Bochs uses one core.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

build=${1:?usage: tests/system/bochs.sh BUILD OUT}
results_init "${2:?usage: tests/system/bochs.sh BUILD OUT}"
logs=$build/test-logs/bochs
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf

# run_image NAME TIMEOUT MKIMAGE-ARGS...: build NAME.img, boot it; sets
# run_rc and run_line (run.sh's last line); the serial log is NAME.log.
run_image() {
	local name=$1 timeout=$2
	shift 2
	if ! "$top/tools/mkimage.sh" --loader "$loader" --monitor "$monitor" \
		--debug-exit yes --out "$logs/$name.img" "$@" >"$logs/$name.mkimage" 2>&1; then
		run_rc=2 run_line="mkimage.sh failed: $(tail -n 1 "$logs/$name.mkimage")"
		return
	fi
	echo "bochs.sh: booting $name on Bochs (up to $timeout s)"
	"$top/tools/run.sh" --emulator bochs --image "$logs/$name.img" \
		--timeout "$timeout" --log "$logs/$name.log" >"$logs/$name.run" 2>&1
	run_rc=$?
	run_line=$(tail -n 1 "$logs/$name.run")
	echo "$run_line"
	rm -f "$logs/$name.img"
}

test_linux() {
	local t=bochs/linux log=$logs/linux.log
	need_inputs $t "$loader" "$monitor" "$build/linux/vmlinuz" \
		"$build/linux/initrd.img" || return
	run_image linux 420 --kernel "$build/linux/vmlinuz" \
		--initrd "$build/linux/initrd.img" \
		--cmdline "console=ttyS0,115200 nestvisor.test=cpuid"
	if [ "$run_rc" -eq 2 ]; then
		fail $t "$run_line"
		return
	fi
	expect_log "$log" '^\[nestvisor\] ' $t/monitor-banner
	expect_log "$log" 'nestvisor-l1: /init reached' $t/init-reached
	expect_log "$log" 'nvcheck: hypervisor signature NestVisorVMM' $t/cpuid-signature
	check_end $t/run-ended "$log"
	expect_log "$log" '\[nestvisor\] exit statistics: [0-9]+' $t/exit-statistics
}

test_hctest() {
	local t=bochs/hctest log=$logs/hctest.log line name n=0
	need_inputs $t "$loader" "$monitor" "$build/guests/hctest.efi" || return
	run_image hctest 240 --kernel "$build/guests/hctest.efi" --nested no
	if [ "$run_rc" -eq 2 ]; then
		fail $t "$run_line"
		return
	fi
	# Relay the guest's own verdicts, one result each (a line that reaches
	# the log twice, through the firmware console and the UART, counts once).
	while IFS= read -r line; do
		line=${line#hctest: }
		case $line in
		PASS\ *) pass "$t/${line#PASS }" ;;
		FAIL\ *) name=${line#FAIL }; fail "$t/${name%%: *}" "${name#*: }" ;;
		SKIP\ *) name=${line#SKIP }; skip "$t/${name%%: *}" "${name#*: }" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done < <(grep -aoE 'hctest: (PASS|FAIL|SKIP) .*' "$log" | tr -d '\r' | awk '!seen[$0]++')
	[ "$n" -gt 0 ] || fail $t/report "no 'hctest: PASS|FAIL' line in $log"
	check_end $t/run-ended "$log"
	if grep -aq '\[nestvisor\] trace begin' "$log"; then
		fail $t/no-trace-when-off "a trace dump in the log of a run with trace = off"
	else
		pass $t/no-trace-when-off
	fi
}

test_tfault() {
	local t=bochs/triple-fault log=$logs/tfault.log
	need_inputs $t "$loader" "$monitor" "$build/guests/tfault.efi" || return
	# With trace = on: a run the monitor ends dumps the exit trace first
	# (docs/trace.md), which this cheap boot checks too.
	run_image tfault 120 --kernel "$build/guests/tfault.efi" --trace on
	expect_log "$log" 'tfault: loading an empty IDT' $t/guest-started
	expect_log "$log" '\[nestvisor\] guest stopped: triple fault' $t/reported
	expect_log "$log" '\[nestvisor\]   rip [0-9a-f]+ rsp' $t/registers-shown
	expect_log "$log" '\[nestvisor\] run ended: status 254' $t/run-ended-254
	expect_log "$log" '\[nestvisor\] trace begin: [1-9][0-9]* records' $t/trace-begin
	expect_log "$log" '\[nestvisor\] trace: [0-9]+ L1 2 TRIPLE_FAULT 0x0 l0 [0-9]+ 0[[:space:]]*$' $t/trace-last-exit
	expect_log "$log" '\[nestvisor\] trace end' $t/trace-end
	if grep -aq 'tfault: FAIL' "$log"; then
		fail $t/stopped "the guest ran on after its triple fault"
	else
		pass $t/stopped
	fi
}

test_linux
test_hctest
test_tfault
results_status
