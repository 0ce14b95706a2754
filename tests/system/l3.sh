#!/bin/bash
# l3.sh BUILD OUT: the l3 tier (docs/l3.md): three levels of guests. Linux
# as L1 loads kvm-intel (nested=1 enable_shadow_vmcs=1) and starts an L2
# Linux with nvlaunch (nestvisor.test=l3); L2 (tools/mkl2kvm.sh, tests/l2/init
# in mode nestvisor.l2=kvm) loads kvm-intel itself and runs kvmtest, whose
# guest is L3: port I/O, CPUID, 256 page writes, HLT, 64 rewrites, HLT,
# KVM's dirty log after each HLT. Two Bochs runs, side
# by side:
#   bare:      the same image on bare Bochs (Bochs's own VMX, no monitor):
#              the oracle. NV_TEST_REFERENCE=0 skips it.
#   nestvisor: the loader, the monitor and the same L1.
# Checked on each run: L1's and L2's kvm_intel, every kvmtest line of L3,
# L2's status as L1 saw it; then the nestvisor run's L3 lines and L2's
# kvm_intel parameters must equal the oracle's, and the monitor's exit
# statistics must show L2's VMREAD/VMWRITE executed on L1's shadow VMCS.
# Bounded by NV_L3_TIMEOUT s (default 900) each; NV_L3_CHECK_ONLY=1
# checks the logs of the last run again without booting. Results
# l3/<vmm>/<check> and l3/oracle/<check>; serial logs in BUILD/test-logs/l3/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
. "$here/l2checks.sh"

build=${1:?usage: tests/system/l3.sh BUILD OUT}
results_init "${2:?usage: tests/system/l3.sh BUILD OUT}"
logs=$build/test-logs/l3
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
kernel=$build/linux/vmlinuz
initrd=$build/linux/initrd-l3.img
# L2 needs little memory: its image is 1.6 MB, L3 is 2 MiB.
cmdline="console=ttyS0,115200 quiet nestvisor.test=l3 nestvisor.l2mem=128"
timeout=${NV_L3_TIMEOUT:-900}
mem=${NV_L3_BOCHS_MEM:-512}
# boot_side_by_side (l2checks.sh) reads NV_L2_CHECK_ONLY.
NV_L2_CHECK_ONLY=${NV_L3_CHECK_ONLY:-0}

# LOG.l1: the L1 lines of LOG (monitor lines cut out, pieces rejoined);
# LOG.chain: those of l2chain's run, L2's console included; LOG.l3:
# kvmtest's lines without the one that names a time.
split_log() { # LOG
	l1_lines "$1" >"$1.l1"
	sed -n '/^nestvisor-l1: starting L2 with nvlaunch /,/^nestvisor-l1: L2 chain with nvlaunch: /p' \
		"$1.l1" >"$1.chain"
	grep -a '^kvmtest: ' "$1.chain" | grep -av '^kvmtest: L3 ran its ' >"$1.l3"
}

# expect_or_fail_line LOG REGEX NAME: expect_log, but a missing line's
# reason quotes kvmtest's or L2's FAIL line, if there is one.
expect_or_fail_line() {
	local why
	if grep -aqE -- "$2" "$1" 2>/dev/null; then
		pass "$3"
		return
	fi
	why=$(grep -aE -m 1 '^(kvmtest|nestvisor-l2): FAIL ' "$1" 2>/dev/null)
	[ -n "$why" ] || why="the last line: $(grep -a . "$1" 2>/dev/null | tail -n 1 | cut -c 1-160)"
	fail "$3" "no line matching /$2/ ($why; log: $1)"
}

check_run() { # RUN
	local t=l3/$1 log=$logs/$1.log chain v port
	chain=$log.chain
	# L1: kvm-intel with nested VMX and VMCS shadowing.
	expect_log "$log.l1" '^nestvisor-l1: insmod kvm-intel\.ko nested=1 enable_shadow_vmcs=1$' "$t/l1-kvm-args"
	expect_log "$log.l1" '^nestvisor-l1: kvm_intel nested=Y$' "$t/l1-kvm-nested"
	expect_log "$log.l1" '^nestvisor-l1: kvm_intel enable_shadow_vmcs=Y$' "$t/l1-kvm-shadow-vmcs"
	if [ ! -s "$chain" ]; then
		fail "$t/chain" "L1 never started L2 with nvlaunch ($(tail -n 1 "$logs/$1.run"); log: $log)"
		return
	fi
	# L2: VMX in its CPU, its own KVM on it.
	expect_log "$chain" '^nestvisor-l2: /init reached \(stage 2, root tmpfs\), mode kvm$' "$t/l2-init"
	expect_log "$chain" '^nestvisor-l2: /proc/cpuinfo flags: vmx present$' "$t/l2-vmx-flag"
	expect_or_fail_line "$chain" '^nestvisor-l2: modules loaded: 3 of 3 \(irqbypass kvm kvm_intel\)$' "$t/l2-kvm-modules"
	expect_log "$chain" '^nestvisor-l2: kvm_intel nested=Y$' "$t/l2-kvm-nested"
	# What L1's KVM offers L2 (KVM emulates VMCS shadowing for its guest);
	# the oracle comparison below says whether it is what bare Bochs gets.
	expect_log "$chain" '^nestvisor-l2: kvm_intel enable_shadow_vmcs=[YN]$' "$t/l2-kvm-shadow-vmcs"
	expect_or_fail_line "$chain" '^nestvisor-l2: ok /dev/kvm present$' "$t/l2-dev-kvm"
	# L3, kvmtest's guest, every line.
	expect_or_fail_line "$chain" '^kvmtest: L3 exit IO port 0x10 value 0x42$' "$t/l3-io-port"
	expect_or_fail_line "$chain" '^kvmtest: L3 cpuid vendor GenuineIntel max leaf 0x[0-9a-f]+$' "$t/l3-cpuid-vendor"
	# L3 sent its CPUID.0 EAX to port 0x11: the maximum leaf it printed.
	v=$(sed -n 's/^kvmtest: L3 cpuid vendor .* max leaf \(0x[0-9a-f]*\)$/\1/p' "$chain" | head -n 1)
	port=$(sed -n 's/^kvmtest: L3 exit IO port 0x11 value \(0x[0-9a-f]*\)$/\1/p' "$chain" | head -n 1)
	if [ -n "$v" ] && [ "$v" = "$port" ]; then
		pass "$t/l3-cpuid-port"
	else
		fail "$t/l3-cpuid-port" "port 0x11 got '${port}', L3's CPUID.0 EAX '${v}' (log: $chain)"
	fi
	expect_or_fail_line "$chain" '^kvmtest: L3 exit IO port 0x12 value 0x100$' "$t/l3-page-count"
	expect_or_fail_line "$chain" '^kvmtest: L3 wrote 256 pages, 256 as expected$' "$t/l3-page-writes"
	expect_or_fail_line "$chain" '^kvmtest: L3 exit HLT$' "$t/l3-hlt"
	# L2's KVM's dirty log of L3's slot, after each of L3's two rounds of
	# writes (the oracle below compares the page-table/code/data lines).
	expect_or_fail_line "$chain" '^kvmtest: L3 dirty log: 256 of 256 written pages dirty, 0 of 16 read pages dirty, 0 of 234 untouched pages dirty$' "$t/l3-dirty-log"
	expect_or_fail_line "$chain" '^kvmtest: L3 exit IO port 0x13 value 0x40$' "$t/l3-rewrite-count"
	expect_or_fail_line "$chain" '^kvmtest: L3 rewrote 64 pages, 256 of 256 pages as expected$' "$t/l3-page-rewrites"
	expect_or_fail_line "$chain" '^kvmtest: L3 dirty log after the rewrite: 64 of 64 rewritten pages dirty, 0 of 192 pages not rewritten dirty, 0 of 16 read pages dirty, 0 of 234 untouched pages dirty$' "$t/l3-dirty-log-rewrite"
	expect_or_fail_line "$chain" '^kvmtest: PASS$' "$t/kvmtest"
	# L2's status, and how it reached L1: nvlaunch's exit status (v << 1) | 1.
	expect_no_log "$chain" '^(nestvisor-l2|kvmtest): FAIL ' "$t/no-failed-step"
	expect_log "$chain" '^nestvisor-l2: status 0$' "$t/l2-status"
	expect_log "$chain" '^nestvisor-l1: nvlaunch exited with status 1 ' "$t/l2-exit-status-0"
	expect_log "$chain" '^nestvisor-l1: L2 chain with nvlaunch: PASS$' "$t/chain"
}

runs=(nestvisor)
[ "${NV_TEST_REFERENCE:-1}" = 0 ] || runs+=(bare)
if ! need_inputs l3/inputs "$loader" "$monitor" "$kernel" "$initrd"; then
	results_status
	exit
fi
start=$(date +%s)
boot_side_by_side l3.sh
[ "$NV_L2_CHECK_ONLY" = 1 ] || echo "l3.sh: both runs took $(($(date +%s) - start)) s"

for run in "${runs[@]}"; do
	log=$logs/$run.log
	echo "l3.sh: $run: $(tail -n 1 "$logs/$run.run")"
	if [ ! -f "$log" ]; then
		fail "l3/$run/boot" "$(tail -n 1 "$logs/$run.run")"
		continue
	fi
	split_log "$log"
	check_run "$run"
	grep -a '^nestvisor-l1: time: ' "$log.chain" | sed "s/^/l3.sh: $run: /"
done

if [ "${NV_TEST_REFERENCE:-1}" = 0 ]; then
	skip l3/oracle "reference run on bare Bochs skipped (NV_TEST_REFERENCE=0)"
elif [ -f "$logs/bare.log" ] && [ -f "$logs/nestvisor.log" ]; then
	# The oracle: L3 did and saw the same on bare Bochs as on nestvisor,
	# and L2's KVM took the same VMX from L1's KVM.
	expect_same l3/oracle/l3-lines "$logs/bare.log.l3" "$logs/nestvisor.log.l3" "kvmtest lines"
	for run in bare nestvisor; do
		grep -a '^nestvisor-l2: kvm_intel ' "$logs/$run.log.chain" >"$logs/$run.l2-kvm-params"
	done
	expect_same l3/oracle/l2-kvm-params "$logs/bare.l2-kvm-params" "$logs/nestvisor.l2-kvm-params" \
		"L2's kvm_intel parameters"
fi

# bare: nothing listens on the debug-exit port; the run stopped on /init's
# last line, which must carry status 0.
log=$logs/bare.log
[ ! -f "$log" ] || expect_log "$log.l1" '^nestvisor-l1: ending the run with status 0$' l3/bare/run-ended

log=$logs/nestvisor.log
if [ -f "$log" ]; then
	expect_log "$log.l1" 'nvcheck: hypervisor signature NestVisorVMM' l3/nestvisor/l1-on-nestvisor
	# The monitor's statistics: L2's exits (L2 runs KVM: its VMX
	# instructions exit), reflected to L1, and L2's VMREAD/VMWRITE that L1's
	# VMCS shadowing let through, which L0 executed on the shadow VMCS12.
	expect_log "$log" '\[nestvisor\] exit statistics: [0-9]+ exits from L2, [1-9][0-9]* reflected to L1' \
		l3/nestvisor/stats-l2-reflected
	expect_log "$log" "\\[nestvisor\\] exit statistics: [1-9][0-9]* L2 VMREAD/VMWRITE executed on L1's shadow VMCS" \
		l3/nestvisor/stats-l2-shadow-vmcs
	run_rc=$(cat "$logs/nestvisor.rc" 2>/dev/null || echo 1)
	run_line=$(tail -n 1 "$logs/nestvisor.run")
	check_end l3/nestvisor/run-ended "$log"
	sed -n '/exit statistics: [0-9]* exits from L2/,$p' "$log" | tr -d '\r' | sed 's/^/l3.sh: nestvisor: /'
fi
results_status
