#!/bin/bash
# l2docker-tcg.sh BUILD OUT: the l2docker tier (docs/l2-docker.md). The
# Docker L2 (BUILD/l2/initrd-docker.img with BUILD/linux/vmlinuz) on QEMU's
# software emulator, no VT-x needed, driven from the host by the very
# client side L1 runs: BUILD/l1docker/usr/bin/dockerchain with the
# tree's docker client and busybox tarball, QEMU started by it with
# -accel tcg instead of -enable-kvm.
#   chain:   dockerchain's steps (daemon, import, run --rm, a second
#            container, ps -a, rm, the end signal), L2's own steps, and
#            both exit statuses
#   nosignal: L2 alone with nestvisor.l2wait=3 and no client: L2 must
#            report the missing end signal and end with status 1 (QEMU
#            exit status 3), so a status channel stuck at 0 cannot pass
# Each boot is bounded by NV_L2DOCKER_TIMEOUT s (default 600). Results:
# l2docker/<boot>/<check> lines in OUT (tests/system/lib.sh); logs in
# BUILD/test-logs/l2docker/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/l2checks.sh"

usage="usage: tests/system/l2docker-tcg.sh BUILD OUT"
build=${1:?$usage}
results_init "${2:?$usage}"
logs=$build/test-logs/l2docker
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
kernel=$build/linux/vmlinuz
initrd=$build/l2/initrd-docker.img
tree=$build/l1docker
timeout=${NV_L2DOCKER_TIMEOUT:-600}
image=nestvisor/busybox:test

# plain: the console without CRs and terminal control sequences (SeaBIOS
# resets the terminal).
plain() { sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g' -e 's/\r//g'; }

# line NAME TEXT: PASS if the log has the line TEXT exactly.
line() { # NAME TEXT: LOG has the line TEXT
	expect_line "$log" "$2" "$1"
}

missing=
for f in "$kernel" "$initrd" "$tree/usr/bin/docker" "$tree/usr/bin/dockerchain" \
	"$tree/usr/share/nestvisor/busybox-rootfs.tar"; do
	[ -f "$f" ] || missing="$missing $f"
done
for t in qemu-system-x86_64 timeout; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
if [ -n "$missing" ]; then
	for b in chain nosignal; do fail "l2docker/$b/boot" "missing:$missing"; done
	results_status
	exit
fi
echo "l2docker: $(stat -c %s "$initrd") bytes in $initrd"

# ------------------------------------------------------------ chain
b=l2docker/chain
log=$logs/chain.log
start=$(date +%s)
# The client runs with the host's glibc (the tree's libc.so.6 is for L1).
NV_ACCEL="-accel tcg" NV_L2_KERNEL=$kernel NV_L2_INITRD=$initrd \
	NV_ROOTFS=$tree/usr/share/nestvisor/busybox-rootfs.tar \
	NV_DOCKER=$tree/usr/bin/docker NV_DOCKER_PORT=$(free_port) NV_TMP=$logs \
	L2_MEM=${L2_MEM:-512} \
	timeout "$timeout" "$tree/usr/bin/dockerchain" </dev/null 2>&1 | plain >"$log"
rc=${PIPESTATUS[0]}
echo "l2docker: chain took $(( $(date +%s) - start )) s (dockerchain status $rc)"
if ! grep -aq '^nestvisor-l2: /init reached' "$log"; then
	fail "$b/boot" "L2 did not reach its /init (dockerchain status $rc; log $log)"
else
	pass "$b/boot"
	grep -a -m 1 '^nestvisor-l2: docker daemon ready at' "$log"
	check_docker_console "$b" "$log"
	if [ "$rc" -eq 0 ] && grep -aqx 'nestvisor-l1: Docker chain: PASS' "$log"; then
		pass "$b/client-status"
	else
		fail "$b/client-status" "dockerchain status $rc; $(grep -a 'Docker chain:' "$log")"
	fi
fi

# ------------------------------------------------------------ nosignal
b=l2docker/nosignal
log=$logs/nosignal.log
timeout "$timeout" qemu-system-x86_64 -accel tcg -M q35 -m "${L2_MEM:-512}" -smp 1 \
	-nodefaults -display none -monitor none -serial "file:$log.raw" -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet reboot=k panic=-1 nestvisor.l2exit=0xf4 nestvisor.l2wait=3" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
	-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$logs/nosignal.qemu" 2>&1
rc=$?
plain <"$log.raw" >"$log" 2>/dev/null
if ! grep -aq '^nestvisor-l2: docker daemon ready' "$log"; then
	fail "$b/boot" "the daemon never became ready (QEMU status $rc; log $log)"
else
	pass "$b/boot"
	line "$b/reported" "nestvisor-l2: FAIL end signal: no container nestvisor-poweroff exited within 3 s"
	if [ "$rc" -eq 3 ] && grep -aq '^nestvisor-l2: status 1 at ' "$log"; then
		pass "$b/status"
	else
		fail "$b/status" "QEMU exit status $rc (want 3: L2 status 1); $(grep -a '^nestvisor-l2: status' "$log")"
	fi
fi
results_status
