#!/bin/bash
# kvm.sh BUILD OUT: the qemu-kvm tier. On an Intel host whose KVM offers
# nested VT-x, boot Linux as L1 on the monitor under QEMU/KVM with -cpu
# host,+vmx, then the container chains (nestvisor.test=l2-chains, the l2
# tier's image: docs/l2-chains.md); anywhere else, one SKIP line saying why.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

build=${1:?usage: tests/system/kvm.sh BUILD OUT}
results_init "${2:?usage: tests/system/kvm.sh BUILD OUT}"
t=qemu-kvm/nested

nested=$(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null)
if ! grep -qw vmx /proc/cpuinfo; then
	skip $t "this host has no VT-x (/proc/cpuinfo lacks vmx); QEMU/KVM nested runs need an Intel host with kvm_intel nested=Y"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ] || { [ "$nested" != Y ] && [ "$nested" != 1 ]; }; then
	skip $t "/dev/kvm is unusable or kvm_intel has nested=${nested:-absent}; QEMU/KVM nested runs need an Intel host with kvm_intel nested=Y"
	exit 0
fi

logs=$build/test-logs/kvm
mkdir -p "$logs"
need_inputs $t "$build/BOOTX64.efi" "$build/nestvisor.elf" \
	"$build/linux/vmlinuz" "$build/linux/initrd.img" || exit 1
img=$logs/demo.img log=$logs/demo.log
if ! "$top/tools/mkimage.sh" --loader "$build/BOOTX64.efi" \
	--monitor "$build/nestvisor.elf" --kernel "$build/linux/vmlinuz" \
	--initrd "$build/linux/initrd.img" --debug-exit yes --out "$img" \
	--cmdline "console=ttyS0,115200 nestvisor.test=cpuid" >"$logs/mkimage" 2>&1; then
	fail $t "mkimage.sh failed: $(tail -n 1 "$logs/mkimage")"
	exit 1
fi
"$top/tools/run.sh" --emulator qemu --kvm --image "$img" --timeout 300 \
	--log "$log" >"$logs/run" 2>&1
rc=$?
rm -f "$img"
if [ $rc -eq 0 ] && grep -aq 'nvcheck: hypervisor signature NestVisorVMM' "$log"; then
	pass $t
else
	fail $t "$(tail -n 1 "$logs/run") (log: $log)"
fi

# The container chains: L1's KVM runs the crun L2 with QEMU, then nvlaunch.
t=qemu-kvm/l2-chains
if need_inputs $t "$build/linux/initrd-l2.img"; then
	img=$logs/l2.img log=$logs/l2.log
	if "$top/tools/mkimage.sh" --loader "$build/BOOTX64.efi" \
		--monitor "$build/nestvisor.elf" --kernel "$build/linux/vmlinuz" \
		--initrd "$build/linux/initrd-l2.img" --debug-exit yes --out "$img" \
		--cmdline "console=ttyS0,115200 quiet nestvisor.test=l2-chains" >"$logs/l2.mkimage" 2>&1; then
		"$top/tools/run.sh" --emulator qemu --kvm --image "$img" --timeout 600 \
			--mem 1024 --log "$log" >"$logs/l2.run" 2>&1
		rc=$?
		rm -f "$img"
		for vmm in qemu nvlaunch; do
			if grep -aq "nestvisor-l1: L2 chain with $vmm: PASS" "$log"; then
				pass "$t/$vmm"
			else
				fail "$t/$vmm" "no 'L2 chain with $vmm: PASS' ($(tail -n 1 "$logs/l2.run"); log: $log)"
			fi
		done
		[ $rc -eq 0 ] && pass "$t/run-ended" || fail "$t/run-ended" "$(tail -n 1 "$logs/l2.run")"
	else
		fail $t "mkimage.sh failed: $(tail -n 1 "$logs/l2.mkimage")"
	fi
fi
results_status
