#!/bin/bash
# mkl2kvm.sh [--kernel-release REL] [--cache DIR] --kvmtest FILE OUT: build
# the L2 initramfs of the l3 tier (docs/l3.md), a small zstd-compressed newc
# cpio archive for an L2 Linux that runs KVM itself: busybox-static and its
# applet links, kvm_intel and what it depends on (kvm, irqbypass) from
# Debian's cloud kernel, the static kvmtest FILE (build/l1/kvmtest) as
# /usr/bin/kvmtest, tests/l2/outb.c, and tests/l2/init as /init (booted
# with nestvisor.l2=kvm: load KVM, run kvmtest's guest as L3). Packages come
# from `apt-get download` into the cache (default: OUT's directory/debs),
# never from the host's installed files. REL (default: the release that
# linux-image-cloud-amd64 depends on) must be the release of the kernel L2
# boots, e.g. the contents of build/linux/version. The same inputs give the
# same bytes.
set -euo pipefail

prog=mkl2kvm.sh
# die, l2_option, l2_workdir, unpack, add_modules, pack_cpio...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"

usage="usage: tools/mkl2kvm.sh [--kernel-release REL] [--cache DIR] --kvmtest FILE OUT"
release= cache= out= kvmtest=
while [ $# -gt 0 ]; do
	case $1 in
	--kvmtest) kvmtest=${2:?--kvmtest needs a file}; shift 2 ;;
	*) l2_option "$@"; shift "$nshift" ;;
	esac
done
[ -n "$out" ] && [ -n "$kvmtest" ] || die "$usage"

src=$(cd "$(dirname "$0")/.." && pwd)/tests/l2
for f in "$src/init" "$src/outb.c" "$kvmtest"; do
	[ -f "$f" ] || die "missing input: $f"
done
# L2 has no libraries: kvmtest must be static.
! readelf -l "$kvmtest" | grep -q 'program interpreter' || die "$kvmtest is not static"
need_tools apt-get apt-cache dpkg-deb readelf objcopy cpio zstd gcc

# release, cache, tmp, debroot, root.
l2_workdir l2kvm busybox-static

unpack "$debroot" busybox-static
# Only KVM's directories of the module tree (irqbypass is virt/lib).
l2_kernel_modules "./lib/modules/$release/kernel/arch/x86/kvm/*" \
	"./lib/modules/$release/kernel/virt/*"

l2_skeleton "$root" "$(busybox_in "$debroot")"
# kvm_intel after kvm after irqbypass (their .modinfo "depends").
add_modules "$kmods" "$root/lib/modules" kvm_intel
install -m 0755 "$kvmtest" "$root/usr/bin/kvmtest"
# /init, outb, /etc/passwd and group, /dev/console.
l2_base "$src" "$root"

normalize_tree "$root" "$root/tmp"
pack_cpio "$root" "$out" -19 -T1
echo "  L2KVM   $out ($(stat -c %s "$out") bytes; modules: ${mod_order[*]})"
