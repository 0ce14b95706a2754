#!/bin/bash
# kvm-l1.sh BUILD OUT: the kvm-l1 tier. Linux loads kvm-intel and runs an
# L2 guest with kvmtest (nestvisor.test=kvm). Two Bochs runs of under a
# minute each, bounded by NV_KVM_L1_TIMEOUT s (default 600):
#   bare:      Linux on bare Bochs (Bochs's own VMX, no monitor): the
#              reference showing that the kernel, KVM and kvmtest work, so
#              that a failure below points at nestvisor. About 50 s;
#              NV_TEST_REFERENCE=0 skips it. Results kvm-l1/bare/<check>.
#   nestvisor: loader + monitor + Linux as L1: nested VMX seen from a real
#              hypervisor. Results kvm-l1/nestvisor/<check>.
# Result lines go to OUT (tests/system/lib.sh); serial logs to
# BUILD/test-logs/kvm-l1/. docs/linux-l1-kvm.md describes the test.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

build=${1:?usage: tests/system/kvm-l1.sh BUILD OUT}
results_init "${2:?usage: tests/system/kvm-l1.sh BUILD OUT}"
logs=$build/test-logs/kvm-l1
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
kernel=$build/linux/vmlinuz
initrd=$build/linux/initrd.img
cmdline="console=ttyS0,115200 nestvisor.test=kvm"
timeout=${NV_KVM_L1_TIMEOUT:-600}

# run_image NAME STOP-REGEX MKIMAGE-ARGS...: build NAME.img, boot it on Bochs;
# sets run_rc (run.sh's status; 2: the image could not be built) and
# run_line (run.sh's last line). The serial log is NAME.log.
run_image() {
	local name=$1 stop=$2
	shift 2
	if ! "$top/tools/mkimage.sh" --loader "$loader" --kernel "$kernel" \
		--initrd "$initrd" --cmdline "$cmdline" --debug-exit yes \
		--out "$logs/$name.img" "$@" >"$logs/$name.mkimage" 2>&1; then
		run_rc=2 run_line="mkimage.sh failed: $(tail -n 1 "$logs/$name.mkimage")"
		return
	fi
	echo "kvm-l1.sh: booting $name on Bochs (up to $timeout s)"
	"$top/tools/run.sh" --emulator bochs --image "$logs/$name.img" \
		--timeout "$timeout" --log "$logs/$name.log" --stop-on "$stop" \
		>"$logs/$name.run" 2>&1
	run_rc=$?
	run_line=$(tail -n 1 "$logs/$name.run")
	echo "$run_line"
	rm -f "$logs/$name.img"
}

# The first line of LOG matching REGEX, without CR, at most 160 characters.
first_line() { # LOG REGEX
	grep -aE -m 1 -- "$2" "$1" | tr -d '\r' | cut -c 1-160
}

# Why kvmtest did not pass: its FAIL line, or the last step the log shows.
why_not() { # LOG
	local why
	why=$(first_line "$1" 'kvmtest: FAIL|\[nestvisor\] FATAL|Kernel panic|insmod .* failed|/dev/kvm absent')
	# A module that did not load: add the kernel's own word on it.
	case $why in
	*insmod*) why="$why $(grep -aE '\] kvm(_intel)?: ' "$1" | tr -d '\r' | tail -n 1 | cut -c 1-100)" ;;
	esac
	[ -n "$why" ] || why=$(grep -aE 'nestvisor-l1: |kvmtest: ' "$1" | tr -d '\r' |
		tail -n 1 | cut -c 1-160 | sed 's/^/last step: /')
	echo "${why:-nothing from /init in the log} ($run_line; log: $1)"
}

# The L1 side, common to both runs: KVM loads, /dev/kvm, each L2 exit, the
# verdict. The monitor writes its lines to the UART while L1 is stopped,
# which can be in the middle of an L1 line: the checks read LOG.l1, the log
# with the monitor's lines cut out and the pieces of L1's lines rejoined.
check_l1() { # TIER LOG
	local t=$1 log=$2.l1
	sed -z 's/\[nestvisor\] [^\r\n]*\r\?\n//g' "$2" >"$log"
	expect_log "$log" 'nestvisor-l1: kvm modules loaded' "$t/kvm-modules"
	expect_log "$log" 'nestvisor-l1: /dev/kvm present' "$t/dev-kvm"
	# KVM takes VMCS shadowing: Bochs's own on bare Bochs, nestvisor's
	# emulation of it on the monitor.
	expect_log "$log" 'nestvisor-l1: kvm_intel enable_shadow_vmcs=Y' "$t/kvm-shadow-vmcs"
	expect_log "$log" 'kvmtest: L2 exit IO port 0x10 value 0x42' "$t/l2-io-exit"
	expect_log "$log" 'kvmtest: L2 cpuid vendor [[:print:]]{12}' "$t/l2-cpuid"
	expect_log "$log" 'kvmtest: L2 wrote 256 pages, 256 as expected' "$t/l2-page-writes"
	expect_log "$log" 'kvmtest: L2 exit HLT' "$t/l2-hlt-exit"
	# KVM's dirty log of L2's slot (KVM_MEM_LOG_DIRTY_PAGES; KVM_GET_DIRTY_LOG
	# after each HLT): round 1 names the 256 written pages and none that L2
	# only read or never touched; round 2, after L2 rewrote every fourth
	# page of pages KVM keeps writable with PML, names those 64 only (the
	# EPT dirty flags and PML: Bochs's own, or nestvisor's emulation).
	expect_log "$log" 'kvmtest: L2 dirty log: 256 of 256 written pages dirty, 0 of 16 read pages dirty, 0 of 234 untouched pages dirty' "$t/l2-dirty-log"
	expect_log "$log" 'kvmtest: L2 exit IO port 0x13 value 0x40' "$t/l2-rewrite-exit"
	expect_log "$log" 'kvmtest: L2 rewrote 64 pages, 256 of 256 pages as expected' "$t/l2-page-rewrites"
	expect_log "$log" 'kvmtest: L2 dirty log after the rewrite: 64 of 64 rewritten pages dirty, 0 of 192 pages not rewritten dirty, 0 of 16 read pages dirty, 0 of 234 untouched pages dirty' "$t/l2-dirty-log-rewrite"
	grep -a '^kvmtest: L2 dirty log' "$log" | tr -d '\r' >"$2.dirty-log"
	if grep -aq 'kvmtest: PASS' "$log" && ! grep -aq 'kvmtest: FAIL' "$log"; then
		pass "$t/kvmtest"
	else
		fail "$t/kvmtest" "$(why_not "$log")"
	fi
}

test_bare() {
	local t=kvm-l1/bare log=$logs/bare.log
	if [ "${NV_TEST_REFERENCE:-1}" = 0 ]; then
		skip $t/kvmtest "reference run on bare Bochs skipped (NV_TEST_REFERENCE=0)"
		return
	fi
	need_inputs $t/kvmtest "$loader" "$kernel" "$initrd" || return
	# No --monitor: the loader reports the monitor missing and boots Linux
	# natively (on_no_vmx = native). Nothing listens on the debug-exit port
	# then, so the run stops on /init's last line instead.
	run_image bare 'nestvisor-l1: ending the run with status|Kernel panic' \
		--on-no-vmx native
	if [ "$run_rc" -eq 2 ]; then
		fail $t/kvmtest "$run_line"
		return
	fi
	expect_log "$log" 'booting the guest without the monitor' $t/native-boot
	check_l1 $t "$log"
	# KVM refuses a VMX-preemption timer that could tick faster than
	# 2^32 / 10 s: Bochs's rate 0 at a 3.5-GHz TSC is one (nestvisor
	# offers rate 5 and scales, so KVM takes its timer).
	expect_log "$log" 'nestvisor-l1: kvm_intel preemption_timer=N' $t/kvm-refuses-rate-0-timer
	# Bochs's CPU model looks affected by L1TF (no IA32_ARCH_CAPABILITIES):
	# KVM flushes L1D itself before entering L2, when something may have
	# filled it ("cond").
	expect_log "$log" 'nestvisor-l1: kvm_intel vmentry_l1d_flush=cond' $t/kvm-flushes-l1d
}

# The monitor flushes L1D before every entry to L2 that L1's VMLAUNCH or
# VMRESUME makes (arch/x86_64/l1d.c): as many flushes as those exits, from
# the exit statistics at the end of the run.
check_l1d_flushes() { # TEST LOG
	local flushes entries
	flushes=$(grep -aoE 'exit statistics: [0-9]+ L1D flushes before entering L2' "$2" | awk '{print $3}')
	entries=$(sed -n '/exits from L1/,/exits from L2/p' "$2" | tr -d '\r' |
		awk '$3 == "VMLAUNCH" || $3 == "VMRESUME" { n += $4 } END { print n + 0 }')
	if [ -z "$flushes" ]; then
		fail "$1" "no 'L1D flushes' line in the exit statistics ($2)"
	elif [ "$flushes" -ne "$entries" ] || [ "$entries" -eq 0 ]; then
		fail "$1" "$flushes L1D flushes for $entries VMLAUNCH/VMRESUME exits of L1"
	else
		pass "$1"
	fi
}

test_nestvisor() {
	local t=kvm-l1/nestvisor log=$logs/nestvisor.log fatal
	need_inputs $t/kvmtest "$loader" "$monitor" "$kernel" "$initrd" || return
	# The monitor ends the run (debug-exit port, or a FATAL); stop early on a
	# kernel panic instead of waiting for the timeout.
	run_image nestvisor 'Kernel panic - not syncing|\[nestvisor-boot\] FATAL' --monitor "$monitor" \
		--on-no-vmx stop --nested yes
	if [ "$run_rc" -eq 2 ]; then
		fail $t/kvmtest "$run_line"
		return
	fi
	expect_log "$log" 'nvcheck: hypervisor signature NestVisorVMM' $t/l1-on-nestvisor
	check_l1 $t "$log"
	# Nested EPT: KVM in L1 takes the EPT nestvisor offers, and L2's pages
	# reach it through EPT02 (EPT violations the monitor handles itself).
	expect_log "$log" 'nestvisor-l1: kvm_intel ept=Y' $t/l1-kvm-uses-ept
	expect_log "$log" 'nestvisor-l1: kvm_intel unrestricted_guest=Y' $t/l1-kvm-unrestricted-guest
	expect_log "$log" 'nestvisor-l1: kvm_intel vpid=Y' $t/l1-kvm-uses-vpid
	expect_log "$log" 'nestvisor-l1: kvm_intel preemption_timer=Y' $t/l1-kvm-preemption-timer
	# EPT accessed/dirty flags and PML, where the CPU has them (Bochs does):
	# KVM takes both (it uses PML for dirty logging).
	expect_log "$log" 'nestvisor-l1: kvm_intel eptad=Y' $t/l1-kvm-ept-ad
	expect_log "$log" 'nestvisor-l1: kvm_intel pml=Y' $t/l1-kvm-pml
	# IA32_ARCH_CAPABILITIES.SKIP_L1DFL_VMENTRY: L1's KVM leaves its own
	# L1D flush to the monitor, which flushes before each entry to L2.
	expect_log "$log" 'nestvisor-l1: kvm_intel vmentry_l1d_flush=not' $t/l1-kvm-leaves-l1d-flush-to-l0 # ("not required"; the monitor's log may cut the line)
	check_l1d_flushes $t/l1d-flush-every-l2-entry "$log"
	# KVM's dirty log, every line (the pages of L2's page tables, code and
	# data included), as on bare Bochs.
	if [ "${NV_TEST_REFERENCE:-1}" = 0 ]; then
		skip $t/l2-dirty-log-as-bare "reference run on bare Bochs skipped (NV_TEST_REFERENCE=0)"
	elif [ ! -s "$logs/bare.log.dirty-log" ]; then
		fail $t/l2-dirty-log-as-bare "no dirty-log lines from bare Bochs ($logs/bare.log)"
	elif cmp -s "$logs/bare.log.dirty-log" "$log.dirty-log"; then
		pass $t/l2-dirty-log-as-bare
	else
		fail $t/l2-dirty-log-as-bare "differs from bare Bochs: $(diff "$logs/bare.log.dirty-log" \
			"$log.dirty-log" | grep -m 1 '^[<>]')"
	fi
	# The L2 part of the exit statistics (after "exits from L2") counts them.
	if sed -n '/exits from L2/,$p' "$log" | grep -aqE '\[nestvisor\] +48 EPT_VIOLATION +[1-9]'; then
		pass $t/ept02-filled
	else
		fail $t/ept02-filled "no EPT violations among L2's exits in $log"
	fi
	fatal=$(first_line "$log" '\[nestvisor\] FATAL')
	if [ -n "$fatal" ]; then
		fail $t/run-ended "$fatal"
	elif [ "$run_rc" -eq 0 ] && grep -aq '\[nestvisor\] run ended: status 0' "$log"; then
		pass $t/run-ended
	else
		fail $t/run-ended "$run_line (log: $log)"
	fi
}

test_bare
test_nestvisor
results_status
