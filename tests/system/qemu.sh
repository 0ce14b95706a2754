#!/bin/bash
# qemu.sh BUILD OUT: the qemu tier. QEMU/TCG has no VT-x, so these boots
# check the loader alone: its configuration errors, its refusal without
# VT-x, and its native boot of a guest (an EFI test app, then Linux).
# One result line per check, appended to OUT and echoed:
#   PASS qemu/<name> | FAIL qemu/<name>: <reason> | SKIP qemu/<name>: <why>
set -u

build=${1:?usage: qemu.sh BUILD OUT}
out=${2:?usage: qemu.sh BUILD OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkimage=$root/tools/mkimage.sh
run=$root/tools/run.sh
loader=$build/BOOTX64.efi
guest=$build/guests/hello.efi
vmlinuz=$build/linux/vmlinuz
initrd=$build/linux/initrd.img
work=$build/qemu-tests
FATAL='\[nestvisor-boot\] FATAL'

mkdir -p "$work" "$(dirname "$out")"

result() { # LINE
	echo "$1" | tee -a "$out"
}

# A check needs the loader and the test guest; without them every check
# fails with the same reason rather than vanishing from the summary.
missing=
for f in "$loader" "$guest"; do
	[ -f "$f" ] || missing="$missing $f"
done
command -v qemu-system-x86_64 >/dev/null || missing="$missing qemu-system-x86_64"

# boot NAME TIMEOUT MKIMAGE-ARGS... : builds $work/NAME.img, boots it; sets
# $log (serial log) and $rc (run.sh's exit status); prints why on failure.
boot() {
	local name=$1 timeout=$2
	shift 2
	log=$work/$name.log
	rc=
	if ! "$mkimage" --loader "$loader" --out "$work/$name.img" "$@" >"$work/$name.mkimage" 2>&1; then
		why="mkimage failed: $(tail -n 1 "$work/$name.mkimage")"
		return 1
	fi
	"$run" --emulator qemu --image "$work/$name.img" --timeout "$timeout" \
		--log "$log" --stop-on "$FATAL" >"$work/$name.run" 2>&1
	rc=$?
	tr -d '\r' <"$log" >"$log.txt"
	log=$log.txt
	return 0
}

# has REGEX: does the serial log contain a line matching the ERE?
has() {
	grep -aqE -- "$1" "$log"
}

# expect_stop NAME REGEX MKIMAGE-ARGS...: the loader must stop with a FATAL
# line matching REGEX and never start the guest.
expect_stop() {
	local name=$1 want=$2
	shift 2
	if [ -n "$missing" ]; then
		result "FAIL qemu/$name: missing$missing"
		return
	fi
	if ! boot "$name" 60 "$@"; then
		result "FAIL qemu/$name: $why"
	elif has 'hello: guest started'; then
		result "FAIL qemu/$name: the guest started (log $log)"
	elif [ "$rc" -ne 3 ]; then
		result "FAIL qemu/$name: no FATAL line: $(tail -n 1 "$work/$name.run") (log $log)"
	elif ! has "$FATAL: .*$want"; then
		result "FAIL qemu/$name: FATAL line does not match /$want/: $(grep -am1 -E "$FATAL" "$log")"
	else
		result "PASS qemu/$name"
	fi
}

# config NAME: writes $work/NAME.cfg from stdin, prints its path.
config() {
	cat >"$work/$1.cfg"
	echo "$work/$1.cfg"
}

# (a) No VT-x, on_no_vmx = native: named refusal, then the guest starts with
# the command line and the initrd= option passed through, and ends the run.
name=novmx-native
if [ -n "$missing" ]; then
	result "FAIL qemu/$name: missing$missing"
elif ! boot $name 60 --kernel "$guest" --initrd "$loader" --on-no-vmx native \
	--cmdline "console=ttyS0 nv.check=native-42"; then
	result "FAIL qemu/$name: $why"
elif ! has '\[nestvisor-boot\] VT-x unusable: .*CPUID\.1:ECX\.VMX'; then
	result "FAIL qemu/$name: no 'VT-x unusable: CPUID.1:ECX.VMX' line (log $log)"
elif ! has '\[nestvisor-boot\] booting the guest without the monitor'; then
	result "FAIL qemu/$name: no 'booting the guest without the monitor' line (log $log)"
elif ! has '^hello: guest started, load options: console=ttyS0 nv\.check=native-42 initrd=\\initrd\.img$'; then
	result "FAIL qemu/$name: the guest did not start with the expected load options (log $log)"
elif [ "$rc" -ne 0 ]; then
	result "FAIL qemu/$name: run did not end with status 0: $(tail -n 1 "$work/$name.run")"
else
	result "PASS qemu/$name"
fi

# (b) No VT-x, on_no_vmx = stop.
expect_stop novmx-stop 'VT-x' --kernel "$guest" --on-no-vmx stop

# (c) Bad configurations.
expect_stop cfg-unknown-key 'line 3: unknown key .frobnicate.' --kernel "$guest" \
	--config "$(config cfg-unknown-key <<'EOF'
# a key nestvisor does not know
kernel = \vmlinuz
frobnicate = yes
EOF
)"
expect_stop cfg-missing-equals "line 2: missing '=' in 'serial 0x2f8'" --kernel "$guest" \
	--config "$(config cfg-missing-equals <<'EOF'
kernel = \vmlinuz
serial 0x2f8
EOF
)"
expect_stop cfg-missing-equals-in-value "line 3: missing '=' after 'cmdline'" \
	--kernel "$guest" --config "$(config cfg-missing-equals-in-value <<'EOF'
kernel = \vmlinuz

cmdline console=ttyS0
EOF
)"
expect_stop cfg-bad-serial "line 2: bad value '0x3g8' for 'serial'" --kernel "$guest" \
	--config "$(config cfg-bad-serial <<'EOF'
kernel = \vmlinuz
serial = 0x3g8
EOF
)"
expect_stop cfg-missing-kernel "missing required key 'kernel'" --kernel "$guest" \
	--config "$(config cfg-missing-kernel <<'EOF'
cmdline = console=ttyS0
on_no_vmx = native
EOF
)"
expect_stop cfg-duplicate-key "line 3: duplicate key 'cmdline' \(first set on line 2\)" \
	--kernel "$guest" --config "$(config cfg-duplicate-key <<'EOF'
kernel = \vmlinuz
cmdline = a
cmdline = b
EOF
)"
expect_stop kernel-file-missing "kernel file '\\\\nosuch\.efi' not found" --kernel "$guest" \
	--config "$(config kernel-file-missing <<'EOF'
kernel = \nosuch.efi
EOF
)"
expect_stop initrd-file-missing "initrd file '\\\\nosuch\.img' not found" --kernel "$guest" \
	--config "$(config initrd-file-missing <<'EOF'
kernel = \vmlinuz
initrd = \nosuch.img
EOF
)"
expect_stop config-file-missing 'cannot read the configuration file \\nestvisor\.cfg' \
	--kernel "$guest" --no-config

# (d) Linux booted natively through the loader's Linux path (EFI stub,
# initrd= option). No monitor, so nvcheck must find no nestvisor signature
# and the run ends with a non-zero status.
name=linux-native
if [ ! -f "$vmlinuz" ] || [ ! -f "$initrd" ]; then
	result "SKIP qemu/$name: no $vmlinuz or $initrd (make $vmlinuz $initrd)"
elif [ -n "$missing" ]; then
	result "FAIL qemu/$name: missing$missing"
elif ! boot $name 240 --kernel "$vmlinuz" --initrd "$initrd" --on-no-vmx native \
	--cmdline "console=ttyS0,115200 nestvisor.test=cpuid"; then
	result "FAIL qemu/$name: $why"
elif ! has 'nestvisor-l1: /init reached'; then
	result "FAIL qemu/$name: Linux did not reach /init: $(tail -n 1 "$work/$name.run") (log $log)"
elif ! has 'nvcheck: no nestvisor signature'; then
	result "FAIL qemu/$name: nvcheck did not report the missing signature (log $log)"
elif has 'nvcheck: hypervisor signature NestVisorVMM'; then
	result "FAIL qemu/$name: NestVisorVMM signature on a native run (log $log)"
elif [ "$rc" -eq 0 ]; then
	result "FAIL qemu/$name: the run ended with status 0 although nestvisor was absent"
else
	result "PASS qemu/$name"
fi
