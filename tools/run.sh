#!/bin/bash
# run.sh: boot a nestvisor image under Bochs or QEMU with a time limit, the
# serial log saved to a file. Options and exit codes: `tools/run.sh --help`.
set -uo pipefail

prog=run.sh
OVMF=/usr/share/ovmf/OVMF.fd

usage() {
	cat <<'EOF'
Usage: tools/run.sh --emulator bochs|qemu --image IMG --timeout SEC --log FILE
                    [--echo] [--mem MB] [--stop-on REGEX] [--cpu MODEL] [--kvm]

Boots IMG (from tools/mkimage.sh) with OVMF and writes the guest's serial
port (COM1) to FILE. The emulator's own messages go to FILE.emu.

  --emulator bochs|qemu  bochs: the VT-x machine (cpu corei7_skylake_x);
                         qemu: QEMU q35, TCG unless --kvm
  --image IMG            raw disk image to boot
  --timeout SEC          end the run after SEC seconds of wall time
  --log FILE             serial log (overwritten)
  --echo                 also copy the serial log to stdout while running
  --mem MB               guest memory (default 1024)
  --stop-on REGEX        end the emulator as soon as a log line matches the
                         extended regular expression REGEX
  --cpu MODEL            Bochs cpu model (default corei7_skylake_x) or QEMU
                         -cpu value (default: QEMU's own; host,+vmx with --kvm)
  --kvm                  QEMU only: -enable-kvm (nested VT-x on an Intel host)
  --help                 this text

Environment: NV_BOCHS_TIME0 sets Bochs's clock time0 (default local: the
host's time; a number of seconds since 1970 makes the guest's wall clock,
and with it the emulated run, the same from boot to boot: make bench).

A run ends when the monitor prints "[nestvisor] run ended: status N" and
stops the emulator (Bochs: port 0x8900; QEMU: isa-debug-exit at port 0xf4,
where a guest write of V makes QEMU exit with code 2*V+1).

Exit status:
  0  the run ended with status 0
  1  the run ended with a non-zero status, or the emulator stopped on its own
     without a run-ended status
  2  bad arguments
  3  stopped because a log line matched --stop-on
  4  timeout without an end
The last line of output is "run.sh: <emulator> ended: <why> (<seconds> s)".
EOF
}

bad() {
	echo "$prog: $*" >&2
	exit 2
}

emulator= image= timeout= log= echo=0 mem=1024 stop_on= cpu= kvm=0
while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--help|-h) usage; exit 0 ;;
	--echo) echo=1; shift; continue ;;
	--kvm) kvm=1; shift; continue ;;
	--emulator|--image|--timeout|--log|--mem|--stop-on|--cpu)
		[ $# -ge 2 ] || bad "$opt needs a value"
		val=$2; shift 2 ;;
	*) bad "unknown option: $opt (see --help)" ;;
	esac
	case $opt in
	--emulator) emulator=$val ;;
	--image) image=$val ;;
	--timeout) timeout=$val ;;
	--log) log=$val ;;
	--mem) mem=$val ;;
	--stop-on) stop_on=$val ;;
	--cpu) cpu=$val ;;
	esac
done

case $emulator in
bochs|qemu) ;;
"") bad "missing --emulator bochs|qemu" ;;
*) bad "unknown emulator: $emulator (bochs|qemu)" ;;
esac
[ -n "$image" ] || bad "missing --image IMG"
[ -f "$image" ] || bad "no such image: $image"
[ -n "$log" ] || bad "missing --log FILE"
[[ $timeout =~ ^[0-9]+$ ]] && [ "$timeout" -gt 0 ] || bad "--timeout: need seconds > 0, got '$timeout'"
[[ $mem =~ ^[0-9]+$ ]] && [ "$mem" -ge 64 ] || bad "--mem: need MiB >= 64, got '$mem'"
[ $kvm -eq 0 ] || [ "$emulator" = qemu ] || bad "--kvm is for --emulator qemu only"
if [ -n "$stop_on" ]; then
	echo | grep -qE -- "$stop_on" 2>/dev/null
	[ $? -le 1 ] || bad "--stop-on: bad regular expression '$stop_on'"
fi
[ -f "$OVMF" ] || bad "missing $OVMF (Debian package ovmf; run tools/install-deps.sh)"

image=$(realpath "$image")
mkdir -p "$(dirname "$log")" || bad "cannot create the directory of $log"
log=$(realpath "$log")
emu_log=$log.emu
: >"$log" && : >"$emu_log" || bad "cannot write $log"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-run.XXXXXX")
pid=

# All processes below PID (script -> sh -> bochs run in their own session,
# so a process-group kill would miss them).
descendants() {
	local p c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# Running = exists and not a zombie waiting to be reaped.
running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop the emulator and everything it started, the deepest process first so
# that each parent reaps its child (no zombies left to init); report any
# survivor.
stop_emulator() {
	[ -n "$pid" ] || return 0
	local procs p i rev=
	procs="$pid $(descendants "$pid")"
	for p in $procs; do rev="$p $rev"; done
	for p in $rev; do
		running "$p" || continue
		kill -TERM "$p" 2>/dev/null
		for i in $(seq 20); do running "$p" || break; sleep 0.1; done
	done
	for p in $rev; do running "$p" && kill -KILL "$p" 2>/dev/null; done
	wait "$pid" 2>/dev/null
	sleep 0.2
	for p in $procs; do
		running "$p" && echo "$prog: warning: process $p survived SIGKILL" >&2
	done
	pid=
}

cleanup() {
	stop_emulator
	rm -f "$image.lock"
	rm -rf "$tmp"
}
trap cleanup EXIT
start=$SECONDS
trap 'echo "$prog: $emulator ended: interrupted ($((SECONDS - start)) s)"; exit 130' INT TERM

if [ "$emulator" = bochs ]; then
	cat >"$tmp/bochsrc" <<EOF
romimage: file=$OVMF, address=0xffe00000
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=${cpu:-corei7_skylake_x}, count=1, ips=200000000, reset_on_triple_fault=0
megs: $mem
clock: sync=none, time0=${NV_BOCHS_TIME0:-local}
ata0-master: type=disk, path="$image", mode=flat
boot: disk
com1: enabled=1, mode=file, dev=$log
display_library: term
log: $emu_log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOF
	echo c >"$tmp/rc"
	# Bochs's term display needs a tty: script gives it one. The safety
	# timeout only matters if this script itself is killed.
	cmd="bochs -q -unlock -f $tmp/bochsrc -rc $tmp/rc"
	setsid timeout -k 5 $((timeout + 60)) script -qec "$cmd" /dev/null \
		</dev/null >/dev/null 2>"$tmp/stderr" &
	pid=$!
else
	args=(-machine q35 -m "$mem" -bios "$OVMF"
		-drive "format=raw,file=$image" -serial "file:$log"
		-display none -monitor none -nic none
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot)
	if [ $kvm -eq 1 ]; then
		args+=(-enable-kvm -cpu "${cpu:-host,+vmx}")
	else
		args+=(-accel tcg)
		[ -z "$cpu" ] || args+=(-cpu "$cpu")
	fi
	setsid timeout -k 5 $((timeout + 60)) qemu-system-x86_64 "${args[@]}" \
		</dev/null >"$emu_log" 2>&1 &
	pid=$!
fi

start=$SECONDS # the emulator's start
echoed=0
why= rc=
emu_rc=
show_new_log() {
	[ $echo -eq 1 ] || return 0
	local size
	size=$(stat -c %s "$log")
	[ "$size" -gt "$echoed" ] || return 0
	tail -c +$((echoed + 1)) "$log" | head -c $((size - echoed)) | tr -d '\r'
	echoed=$size
}

while :; do
	show_new_log
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		emu_rc=$?
		pid=
		break
	fi
	if [ -n "$stop_on" ] && grep -qE -- "$stop_on" "$log"; then
		why="stopped on /$stop_on/"
		rc=3
		break
	fi
	if [ $((SECONDS - start)) -ge "$timeout" ]; then
		why="timeout after $timeout s without an end"
		rc=4
		break
	fi
	sleep 0.5
done
stop_emulator
show_new_log
[ -s "$tmp/stderr" ] && cat "$tmp/stderr" >>"$emu_log"

# The monitor's own verdict wins; then QEMU's isa-debug-exit code.
if [ -z "$rc" ]; then
	end=$(grep -aoE '\[nestvisor\] run ended: status -?[0-9]+' "$log" | tail -n 1)
	if [ -n "$end" ]; then
		status=${end##* }
		why="run ended: status $status"
		[ "$status" = 0 ] && rc=0 || rc=1
	elif [ "$emulator" = qemu ] && [ $((emu_rc % 2)) -eq 1 ] && [ "$emu_rc" -lt 124 ]; then
		status=$(((emu_rc - 1) / 2))
		why="debug-exit status $status"
		[ "$status" = 0 ] && rc=0 || rc=1
	elif [ "$emu_rc" -eq 124 ] || [ "$emu_rc" -eq 137 ]; then
		why="safety timeout killed the emulator"
		rc=4
	else
		why="emulator exited (code $emu_rc) without a run-ended status"
		rc=1
		grep -aE 'PANIC|triple fault' "$emu_log" | head -n 3 | sed "s/^/$prog: /" >&2
	fi
fi

# The last serial line may lack its newline (the emulator quit first).
if [ $echo -eq 1 ] && [ -s "$log" ] && [ "$(tail -c 1 "$log" | od -An -c | tr -d ' ')" != '\n' ]; then
	echo
fi
echo "$prog: $emulator ended: $why ($((SECONDS - start)) s)"
exit $rc
