#!/bin/bash
# mkqemu-tree.sh OUTDIR: gather Debian's QEMU (package qemu-system-x86, as
# tools/install-deps.sh installs it on the build machine) into OUTDIR as a
# root-file-system tree that L1's initramfs can carry:
#   OUTDIR/usr/bin/qemu-system-x86_64     the binary, stripped
#   OUTDIR/lib/x86_64-linux-gnu/*.so*     every library ldd lists, stripped
#   OUTDIR/lib64/ld-linux-x86-64.so.2     the dynamic loader
#   OUTDIR/usr/share/qemu/*               the firmware files of the q35 and
#                                         microvm machines (SeaBIOS, qboot,
#                                         the Linux boot option ROMs)
# L1 runs it as a guest hypervisor's user-space VMM:
#   qemu-system-x86_64 -enable-kvm -M q35 -kernel ... -nodefaults ...
set -euo pipefail

prog=mkqemu-tree.sh
die() { echo "$prog: $*" >&2; exit 1; }

case ${1:-} in
--help|-h)
	sed -n '2,12s/^# \{0,1\}//p' "$0"
	exit 0 ;;
"") die "usage: tools/mkqemu-tree.sh OUTDIR" ;;
esac
out=$1
qemu=/usr/bin/qemu-system-x86_64
[ -x "$qemu" ] || die "no $qemu (install qemu-system-x86: make deps)"

# Firmware QEMU loads for -M q35 (SeaBIOS, the kvmvapic and linuxboot
# option ROMs of -kernel) and -M microvm (qboot). No VGA: L1 runs QEMU
# with -nodefaults -nographic.
firmware=(
	/usr/share/seabios/bios-256k.bin
	/usr/share/qemu/kvmvapic.bin
	/usr/share/qemu/linuxboot_dma.bin
	/usr/share/qemu/qboot.rom
)

rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/lib/x86_64-linux-gnu" "$out/lib64" "$out/usr/share/qemu"
install -m 0755 "$qemu" "$out/usr/bin/"
strip --strip-unneeded "$out/usr/bin/qemu-system-x86_64"

# Every shared object the binary needs, by the path ldd resolves; the
# loader goes where the binary's PT_INTERP names it.
ldd "$qemu" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }' |
	while read -r lib; do
		case $lib in
		*/ld-linux-x86-64.so.2) cp -L "$lib" "$out/lib64/" ;;
		*) cp -L "$lib" "$out/lib/x86_64-linux-gnu/"
		   strip --strip-unneeded "$out/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
		esac
	done
[ -e "$out/lib64/ld-linux-x86-64.so.2" ] || die "ldd named no dynamic loader for $qemu"

for f in "${firmware[@]}"; do
	[ -f "$f" ] || die "missing firmware file $f (packages seabios, qemu-system-data)"
	cp -L "$f" "$out/usr/share/qemu/"
done
ln -s qboot.rom "$out/usr/share/qemu/bios-microvm.bin"

echo "  QEMU    $out ($(du -sm "$out" | cut -f1) MB, $(ls "$out/lib/x86_64-linux-gnu" | wc -l) libraries)"
