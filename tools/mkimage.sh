#!/bin/bash
# mkimage.sh: build a bootable FAT32 ESP image for nestvisor.
# Layout and options: `tools/mkimage.sh --help` and docs/tools.md.
set -euo pipefail

prog=mkimage.sh

usage() {
	cat <<'EOF'
Usage: tools/mkimage.sh --loader EFI [--monitor ELF] --kernel FILE
                        [--initrd FILE] [--cmdline STR] [--debug-exit yes|no]
                        [--nested yes|no] [--trace on|off]
                        [--on-no-vmx native|stop] [--serial 0x3f8|none]
                        [--config FILE | --no-config] [--extra SRC:DEST]...
                        [--size MB] --out IMG

Builds a FAT32 EFI system partition image (a raw disk image without a
partition table, as OVMF and Bochs boot it) holding:

  \EFI\BOOT\BOOTX64.EFI   the loader (--loader)
  \nestvisor\monitor.elf  the monitor (--monitor; omit for loader-only tests)
  \vmlinuz                the guest (--kernel): a Linux kernel with its EFI
                          stub, or any EFI application
  \initrd.img             the initramfs (--initrd, optional)
  \nestvisor.cfg          the loader's configuration (docs/configuration.md)

Options:
  --loader EFI          loader EFI application (required)
  --monitor ELF         monitor ELF image
  --kernel FILE         guest kernel or EFI application (required)
  --initrd FILE         initramfs for a Linux guest
  --cmdline STR         guest command line (default: console=ttyS0,115200)
  --debug-exit yes|no   let the guest end the run through port 0xf4 (default no)
  --nested yes|no       offer VT-x to the guest (default yes)
  --trace on|off        record VM exits in the monitor's trace ring
                        (docs/trace.md; default off)
  --on-no-vmx native|stop  without usable VT-x: boot the guest natively or
                        stop (default native)
  --serial PORT|none    16550 I/O base for the log, e.g. 0x3f8 or 760
                        (default 0x3f8)
  --config FILE         use FILE verbatim as \nestvisor.cfg
  --no-config           put no \nestvisor.cfg on the image
  --extra SRC:DEST      also copy file SRC to DEST on the image (DEST like
                        \dir\name or /dir/name; directories are created)
  --size MB             image size (default: from the contents, at least 64)
  --out IMG             the image to write (required)
  --help                this text

Exit status: 0 on success; 1 with a one-line reason on bad arguments or a
failed build step.
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

need_file() { # OPTION FILE
	[ -n "$2" ] || die "$1 needs a file"
	[ -f "$2" ] || die "$1: no such file: $2"
}

loader= monitor= kernel= initrd= out= size= config= no_config=0
cmdline="console=ttyS0,115200" debug_exit=no on_no_vmx=native serial=0x3f8 nested=yes trace=off
extras=()

while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	--help|-h) usage; exit 0 ;;
	--no-config) no_config=1; shift; continue ;;
	--loader|--monitor|--kernel|--initrd|--cmdline|--debug-exit|--nested|--trace|--on-no-vmx|\
	--serial|--config|--extra|--out|--size)
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2; shift 2 ;;
	*) die "unknown option: $opt (see --help)" ;;
	esac
	case $opt in
	--loader) loader=$val ;;
	--monitor) monitor=$val ;;
	--kernel) kernel=$val ;;
	--initrd) initrd=$val ;;
	--cmdline) cmdline=$val ;;
	--debug-exit) debug_exit=$val ;;
	--nested) nested=$val ;;
	--trace) trace=$val ;;
	--on-no-vmx) on_no_vmx=$val ;;
	--serial) serial=$val ;;
	--config) config=$val ;;
	--extra) extras+=("$val") ;;
	--out) out=$val ;;
	--size) size=$val ;;
	esac
done

[ -n "$out" ] || die "missing --out IMG"
[ -n "$loader" ] || die "missing --loader EFI"
[ -n "$kernel" ] || die "missing --kernel FILE"
need_file --loader "$loader"
need_file --kernel "$kernel"
[ -z "$monitor" ] || need_file --monitor "$monitor"
[ -z "$initrd" ] || need_file --initrd "$initrd"
[ -z "$config" ] || need_file --config "$config"
[ -z "$config" ] || [ $no_config -eq 0 ] || die "--config and --no-config exclude each other"

case $debug_exit in yes|no) ;; *) die "--debug-exit: bad value '$debug_exit' (yes|no)" ;; esac
case $nested in yes|no) ;; *) die "--nested: bad value '$nested' (yes|no)" ;; esac
case $trace in on|off) ;; *) die "--trace: bad value '$trace' (on|off)" ;; esac
case $on_no_vmx in native|stop) ;; *) die "--on-no-vmx: bad value '$on_no_vmx' (native|stop)" ;; esac
if [ "$serial" != none ]; then
	[[ $serial =~ ^(0x[0-9a-fA-F]{1,4}|[1-9][0-9]{0,4})$ ]] &&
		[ $((serial)) -ge 1 ] && [ $((serial)) -le 65535 ] ||
		die "--serial: bad value '$serial' (an I/O port like 0x3f8, or none)"
fi
[[ $cmdline != *$'\n'* ]] || die "--cmdline: must be one line"
[ ${#cmdline} -lt 1024 ] || die "--cmdline: longer than 1023 characters"
if [ -n "$size" ]; then
	[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge 33 ] ||
		die "--size: bad value '$size' (MiB, at least 33 for FAT32)"
fi

# Each extra: SRC must exist, DEST becomes a path with '/' separators.
extra_src=() extra_dst=()
for e in "${extras[@]}"; do
	[[ $e == *:* ]] || die "--extra: bad value '$e' (SRC:DEST)"
	src=${e%%:*} dst=${e#*:}
	need_file --extra "$src"
	dst=${dst//\\//}
	[[ $dst == /* ]] || dst=/$dst
	[[ $dst != */ ]] || die "--extra: DEST '$dst' names a directory, not a file"
	extra_src+=("$src") extra_dst+=("$dst")
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cfg=$tmp/nestvisor.cfg
if [ -n "$config" ]; then
	cp "$config" "$cfg"
elif [ $no_config -eq 0 ]; then
	{
		echo "# nestvisor configuration"
		echo "kernel = \\vmlinuz"
		[ -z "$initrd" ] || echo "initrd = \\initrd.img"
		echo "cmdline = $cmdline"
		echo "serial = $serial"
		echo "on_no_vmx = $on_no_vmx"
		echo "debug_exit = $debug_exit"
		echo "nested = $nested"
		[ "$trace" = off ] || echo "trace = $trace"
	} >"$cfg"
fi

# Size: the contents plus room for FAT32 metadata, rounded to MiB, >= 64 MiB.
bytes=0
for f in "$loader" "$monitor" "$kernel" "$initrd" "${extra_src[@]}"; do
	[ -z "$f" ] || bytes=$((bytes + $(stat -c %s "$f")))
done
need_mb=$(((bytes * 11 / 10 + (1 << 20) - 1) / (1 << 20) + 16))
if [ -z "$size" ]; then
	size=$((need_mb > 64 ? need_mb : 64))
elif [ "$size" -lt "$need_mb" ]; then
	die "--size $size: too small, the contents need about $need_mb MiB"
fi

img=$tmp/image
truncate -s "${size}M" "$img"
# Fixed volume id, label and timestamps (mkfs.vfat and mtools take the
# time from SOURCE_DATE_EPOCH) so that equal inputs give the same image:
# the firmware and the loader read the directory entries, and a benchmark
# that boots an image twice must see the same bytes (docs/benchmarks.md).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1764633600}
mkfs.vfat -F 32 -n NESTVISOR -i 4e564d4d "$img" >/dev/null ||
	die "mkfs.vfat failed"

export MTOOLS_SKIP_CHECK=1
# mkfs.vfat stamps the label's directory entry with the time of day:
# mlabel writes it again with SOURCE_DATE_EPOCH's.
mlabel -i "$img" ::NESTVISOR || die "mlabel failed"
mdir() { # make /a/b/c on the image, each level once
	local path="" part
	local IFS=/
	for part in $1; do
		[ -n "$part" ] || continue
		path=$path/$part
		mmd -D s -i "$img" "::$path" 2>/dev/null || true
	done
}
put() { # SRC DEST
	mdir "$(dirname "$2")"
	mcopy -o -i "$img" "$1" "::$2" || die "mcopy $1 to $2 failed"
}

put "$loader" /EFI/BOOT/BOOTX64.EFI
[ -z "$monitor" ] || put "$monitor" /nestvisor/monitor.elf
put "$kernel" /vmlinuz
[ -z "$initrd" ] || put "$initrd" /initrd.img
[ ! -f "$cfg" ] || put "$cfg" /nestvisor.cfg
for i in "${!extra_src[@]}"; do
	put "${extra_src[$i]}" "${extra_dst[$i]}"
done

mkdir -p "$(dirname "$out")"
mv "$img" "$out"
echo "  IMAGE   $out (${size} MiB)"
