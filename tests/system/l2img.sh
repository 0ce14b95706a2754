#!/bin/bash
# l2img.sh BUILD OUT: the l2img tier. The L2 image (BUILD/l2/initrd-crun.img,
# docs/l2-image.md) with Debian's cloud kernel (BUILD/linux/vmlinuz) on
# QEMU's software emulator: no VT-x needed, about 10-20 s per boot.
#   q35:     virtio-net-pci, nestvisor.l2=crun,httpd; the page is fetched
#            from the host through QEMU's forwarded port
#   microvm: the same over virtio-mmio (found through ACPI)
#   timeout: crun,httpd with a 1 s wait and no request: L2 must report the
#            failed step and end with status 1 (QEMU exit status 3), so a
#            status channel stuck at 0 cannot pass
# Each boot is bounded by NV_L2IMG_TIMEOUT s (default 240). Results:
# l2img/<boot>/<check> lines in OUT (tests/system/lib.sh); serial logs in
# BUILD/test-logs/l2img/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/l2checks.sh"

build=${1:?usage: tests/system/l2img.sh BUILD OUT}
results_init "${2:?usage: tests/system/l2img.sh BUILD OUT}"
logs=$build/test-logs/l2img
mkdir -p "$logs"
kernel=$build/linux/vmlinuz
initrd=$build/l2/initrd-crun.img
timeout=${NV_L2IMG_TIMEOUT:-240}
# What the container serves (tests/l2/bundle/rootfs/www/index.html).
page='<html><body><p>nestvisor-l2: hello from a crun container</p></body></html>'

# fetch PORT OUTFILE: the page through the forwarded port, retried while L2
# is not serving yet (QEMU's user network accepts, then resets).
fetch() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if curl -sS -m 20 -o "$2" -w '%{http_code}\n' "http://127.0.0.1:$1/" >"$2.code" 2>"$2.err"; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# boot NAME MACHINE NETDEV-DEVICE APPEND [fetch]: boots L2, writes
# NAME.log (console, CRs removed); sets rc (QEMU's status: (v << 1) | 1 for
# L2's status v, 124 on timeout). With "fetch", fetches the page from the
# host once L2 says it serves, into NAME.http (HTTP code in NAME.http.code).
boot() {
	local name=$1 machine=$2 nic=$3 append=$4 want_fetch=${5:-} port fwd= qpid i
	local raw=$logs/$name.serial
	log=$logs/$name.log
	rm -f "$raw" "$log" "$logs/$name.http" "$logs/$name.http.code"
	if [ -n "$want_fetch" ]; then
		port=$(free_port)
		fwd=",hostfwd=tcp:127.0.0.1:$port-10.0.2.15:80"
	fi
	timeout "$timeout" qemu-system-x86_64 -M "$machine" -m 256 -nodefaults \
		-display none -monitor none -serial "file:$raw" -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" \
		-netdev "user,id=n0$fwd" -device "$nic,netdev=n0" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		</dev/null >"$logs/$name.qemu" 2>&1 &
	qpid=$!
	if [ -n "$want_fetch" ]; then
		for ((i = 0; i < timeout * 2; i++)); do
			grep -aq 'nestvisor-l2: httpd: serving http' "$raw" 2>/dev/null && break
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.5
		done
		if grep -aq 'nestvisor-l2: httpd: serving http' "$raw" 2>/dev/null; then
			fetch "$port" "$logs/$name.http"
		fi
	fi
	wait "$qpid"
	rc=$?
	tr -d '\r' <"$raw" >"$log" 2>/dev/null
}

# line NAME TEXT: one result, PASS if the console has the line TEXT exactly.
line() { # NAME TEXT: LOG has the line TEXT
	expect_line "$log" "$2" "$1"
}

# The checks every crun,httpd boot shares. BUS: what eth0's device path
# must contain (PCI or the ACPI virtio-mmio device).
check_boot() { # BOOT BUS
	local b=l2img/$1 bus=$2
	if [ ! -s "$log" ] || ! grep -aq 'nestvisor-l2: /init reached (stage 2, root tmpfs)' "$log"; then
		fail "$b/boot" "L2 did not reach its /init on a tmpfs root (QEMU status $rc; log $log, $logs/$1.qemu)"
		return
	fi
	pass "$b/boot"
	check_l2_console "$b" "$log"
	expect_log "$log" "^nestvisor-l2: ok eth0 .*$bus" "$b/eth0-bus"
	if [ ! -f "$logs/$1.http.code" ]; then
		fail "$b/http" "no fetch: L2 never said it serves (log $log)"
	elif [ "$(cat "$logs/$1.http.code")" != 200 ] || [ "$(cat "$logs/$1.http")" != "$page" ]; then
		fail "$b/http" "HTTP $(cat "$logs/$1.http.code") '$(head -c 200 "$logs/$1.http" 2>/dev/null)' $(cat "$logs/$1.http.err" 2>/dev/null)"
	else
		pass "$b/http"
	fi
	expect_log "$log" '^nestvisor-l2: ok httpd: request served \(served: HTTP/1\.[01] 200 OK\)$' "$b/served"
	if [ "$rc" -eq 1 ] && grep -aqx 'nestvisor-l2: status 0' "$log"; then
		pass "$b/status"
	else
		fail "$b/status" "QEMU exit status $rc (want 1: L2 status 0); $(grep -a '^nestvisor-l2: status' "$log")"
	fi
}

missing=
for f in "$kernel" "$initrd"; do [ -f "$f" ] || missing="$missing $f"; done
for t in qemu-system-x86_64 curl timeout; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
if [ -n "$missing" ]; then
	for b in q35 microvm timeout; do fail "l2img/$b/boot" "missing:$missing"; done
	results_status
	exit
fi
echo "l2img: $(stat -c %s "$initrd") bytes in $initrd"

base="console=ttyS0 quiet nestvisor.l2exit=0xf4"
# L2 gives up waiting for the request well before QEMU is stopped, so a
# failed fetch still ends with L2's own report and status.
l2wait=$((timeout / 2))
boot q35 q35 virtio-net-pci "$base reboot=k nestvisor.l2=crun,httpd nestvisor.l2wait=$l2wait" fetch
check_boot q35 'pci0000:00/'

# microvm has no PIT speaker gate to calibrate the TSC against under TCG
# (under KVM, kvmclock): give the kernel a TSC frequency.
boot microvm microvm virtio-net-device \
	"$base reboot=t tsc_early_khz=2000000 nestvisor.l2=crun,httpd nestvisor.l2wait=$l2wait" fetch
check_boot microvm 'LNRO0005:'

boot timeout q35 virtio-net-pci "$base reboot=k nestvisor.l2=crun,httpd nestvisor.l2wait=1"
if [ ! -s "$log" ] || ! grep -aq 'nestvisor-l2: /init reached' "$log"; then
	fail l2img/timeout/boot "L2 did not reach its /init (QEMU status $rc; log $log)"
else
	pass l2img/timeout/boot
	line l2img/timeout/reported "nestvisor-l2: FAIL httpd: no request served within 1 s"
	if [ "$rc" -eq 3 ] && grep -aqx 'nestvisor-l2: status 1' "$log"; then
		pass l2img/timeout/status
	else
		fail l2img/timeout/status "QEMU exit status $rc (want 3: L2 status 1); $(grep -a '^nestvisor-l2: status' "$log")"
	fi
fi
results_status
