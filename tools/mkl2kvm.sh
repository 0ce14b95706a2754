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
# die, unpack, add_modules, pack_cpio...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"

usage="usage: tools/mkl2kvm.sh [--kernel-release REL] [--cache DIR] --kvmtest FILE OUT"
release= cache= out= kvmtest=
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		sed -n '2,13s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--kernel-release) release=${2:?--kernel-release needs a value}; shift 2 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--kvmtest) kvmtest=${2:?--kvmtest needs a file}; shift 2 ;;
	-*) die "unknown option: $1" ;;
	*) [ -z "$out" ] || die "one OUT only ($usage)"
	   out=$1; shift ;;
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

apt_knows busybox-static
if [ -z "$release" ]; then
	release=$(cloud_release) || die "cannot tell the cloud kernel's release (give --kernel-release)"
fi
use_cache "${cache:-$(dirname "$out")/debs}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l2kvm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs root=$tmp/root
mkdir -p "$debroot" "$root"

unpack "$debroot" busybox-static
kdeb=$(kernel_deb "$release")
# Only KVM's directories of the module tree (irqbypass is virt/lib).
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$debroot" --wildcards \
	"./lib/modules/$release/kernel/arch/x86/kvm/*" "./lib/modules/$release/kernel/virt/*" ||
	die "cannot extract KVM's modules from $kdeb"
kmods=$debroot/lib/modules/$release
[ -d "$kmods/kernel" ] || die "$kdeb has no lib/modules/$release"

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/libexec/nestvisor,dev,proc,sys,run,tmp,etc,root,newroot}
mkdir -p "$root/lib/modules"
applets "$(busybox_in "$debroot")" "$root"
# kvm_intel after kvm after irqbypass (their .modinfo "depends").
add_modules "$kmods" "$root/lib/modules" kvm_intel
install -m 0755 "$kvmtest" "$root/usr/bin/kvmtest"
install -m 0755 "$src/init" "$root/init"
build_outb "$src/outb.c" "$root/usr/libexec/nestvisor/outb"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
# The kernel opens /dev/console for /init before /init can mount devtmpfs;
# without root, /init mounts devtmpfs first.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

normalize_tree "$root" "$root/tmp"
pack_cpio "$root" "$out" -19 -T1
echo "  L2KVM   $out ($(stat -c %s "$out") bytes; modules: ${mod_order[*]})"
