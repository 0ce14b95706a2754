#!/bin/bash
# l2docker.sh BUILD OUT: the l2docker-bochs tier (make test; issue 6,
# docs/l2-docker.md). Linux as L1 loads kvm-intel and QEMU boots the Docker
# L2 (dockerd, containerd, runc); the docker client in L1 imports a busybox
# image over QEMU's forwarded port, runs containers, lists and removes them,
# and lets L2 power off (nestvisor.test=l2-docker, tests/l1/dockerchain).
# Two Bochs runs side by side, each bounded by NV_L2DOCKER_TIMEOUT s
# (default 3000):
#   bare:      the same image on bare Bochs (Bochs's own VMX): the oracle.
#              NV_TEST_REFERENCE=0 skips it.
#   nestvisor: the loader, the monitor and the same L1.
# The containers' lines must be the same in both runs (but for the
# container's random hostname). Results l2docker-bochs/<run>/<check>; serial
# logs in BUILD/test-logs/l2docker/; NV_L2_CHECK_ONLY=1 checks the logs of
# the last run again without booting.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
. "$here/l2checks.sh"

build=${1:?usage: tests/system/l2docker.sh BUILD OUT}
results_init "${2:?usage: tests/system/l2docker.sh BUILD OUT}"
logs=$build/test-logs/l2docker
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
kernel=$build/linux/vmlinuz
initrd=$build/linux/initrd-docker.img
cmdline="console=ttyS0,115200 quiet nestvisor.test=l2-docker"
timeout=${NV_L2DOCKER_TIMEOUT:-3000}
mem=${NV_L2DOCKER_BOCHS_MEM:-2048}

# What the containers printed, as the client showed it; the hostname is
# the container's random ID.
container_lines() { # LOG
	grep -aE '^nestvisor-l1: docker: container: ' "$1" 2>/dev/null |
		sed -E 's/hostname [0-9a-f]{12}$/hostname ID/'
}

runs=(nestvisor)
[ "${NV_TEST_REFERENCE:-1}" = 0 ] || runs+=(bare)
if ! need_inputs l2docker-bochs/inputs "$loader" "$monitor" "$kernel" "$initrd"; then
	results_status
	exit
fi
boot_side_by_side l2docker.sh

for run in "${runs[@]}"; do
	log=$logs/$run.log t=l2docker-bochs/$run
	echo "l2docker.sh: $run: $(tail -n 1 "$logs/$run.run")"
	if [ ! -f "$log" ]; then
		fail "$t/boot" "$(tail -n 1 "$logs/$run.run")"
		continue
	fi
	# L1's lines without the monitor's (see tests/system/l2.sh).
	l1_lines "$log" >"$log.l1"
	expect_log "$log.l1" '^nestvisor-l2: /init reached' "$t/l2-init"
	check_docker_console "$t" "$log.l1"
	expect_log "$log.l1" '^nestvisor-l1: Docker chain: PASS$' "$t/chain"
done
[ "${NV_TEST_REFERENCE:-1}" = 0 ] &&
	skip l2docker-bochs/oracle "reference run on bare Bochs skipped (NV_TEST_REFERENCE=0)"

log=$logs/nestvisor.log
if [ -f "$log" ]; then
	if [ "${NV_TEST_REFERENCE:-1}" != 0 ] && [ -f "$logs/bare.log.l1" ]; then
		container_lines "$logs/bare.log.l1" >"$logs/bare.container"
		container_lines "$log.l1" >"$logs/nestvisor.container"
		expect_same l2docker-bochs/oracle "$logs/bare.container" "$logs/nestvisor.container"
	fi
	expect_log "$log" '\[nestvisor\] exit statistics: [0-9]+ exits from L2, [1-9][0-9]* reflected to L1' \
		l2docker-bochs/nestvisor/stats-l2-reflected
	run_rc=$(cat "$logs/nestvisor.rc" 2>/dev/null || echo 1)
	run_line=$(tail -n 1 "$logs/nestvisor.run")
	check_end l2docker-bochs/nestvisor/run-ended "$log"
fi
results_status
