#!/bin/bash
# mkl2initrd.sh [--kernel-release REL] [--cache DIR] OUT: build the L2
# initramfs (docs/l2-image.md), a zstd-compressed newc cpio archive for the
# Linux guest that L1's KVM runs: busybox-static and its applet links,
# Debian's crun with exactly the shared libraries it loads, the kernel
# modules L2 needs (virtio PCI and MMIO, virtio_net, veth, overlay),
# tests/l2/init as /init and the OCI bundle of tests/l2/bundle under
# /bundle. Everything comes from Debian packages fetched with
# `apt-get download` into the cache (default: OUT's directory/debs), never
# from the host's installed files. REL (default: the release that
# linux-image-cloud-amd64 depends on) must be the release of the kernel L2
# boots, e.g. the contents of build/linux/version. The same inputs give
# the same bytes.
set -euo pipefail

prog=mkl2initrd.sh
# die, l2_option, l2_workdir, add_libs, add_modules, pack_cpio...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"

usage="usage: tools/mkl2initrd.sh [--kernel-release REL] [--cache DIR] OUT"
release= cache= out=
while [ $# -gt 0 ]; do
	l2_option "$@"
	shift "$nshift"
done
[ -n "$out" ] || die "$usage"

src=$(cd "$(dirname "$0")/.." && pwd)/tests/l2
for f in init forward outb.c bundle/config.json bundle/rootfs/nv/check \
	bundle/rootfs/nv/httpd bundle/rootfs/www/index.html; do
	[ -f "$src/$f" ] || die "missing input: $src/$f"
done
need_tools apt-get apt-cache dpkg-deb readelf objcopy cpio zstd gcc

# Packages for L2's user space. crun's libraries are checked below: a
# library no package here provides stops the build, naming it.
pkgs=(busybox-static crun libc6 libcap2 libseccomp2 libyajl2 libsystemd0
	libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1)
# Kernel modules, by name; their dependencies (modinfo "depends") are added.
mods=(virtio_pci virtio_mmio virtio_net veth overlay)

# release, cache, tmp, debroot, root.
l2_workdir l2initrd crun

unpack "$debroot" "${pkgs[@]}"
l2_kernel_modules './lib/modules/*'

# --- The L2 root: busybox and its applet links ---------------------------
busybox=$(busybox_in "$debroot")
# The same links in the container's root file system (below).
l2_skeleton "$root" "$busybox"
mkdir -p "$root"/{lib/x86_64-linux-gnu,lib64}

# --- crun and what it loads -----------------------------------------------
crun=$debroot/usr/bin/crun
[ -x "$crun" ] || die "crun has no usr/bin/crun"
cp "$crun" "$root/usr/bin/crun"
interp=$(interp_of "$crun")
[ "$interp" = /lib64/ld-linux-x86-64.so.2 ] || die "unexpected interpreter for crun: '$interp'"
libdir=$root/lib/x86_64-linux-gnu
add_libs "$debroot" "$libdir" "$root/usr/bin/crun"
add_loader "$debroot" "$root"

# The loader itself says what it resolves: everything must come from the
# image (this is `ldd`, run with the image's own loader and libraries).
check_loads "$libdir" "$root/usr/bin/crun" image
crunver=$(run_with "$libdir" "$root/usr/bin/crun" --version 2>&1 | head -n 1) ||
	die "crun --version failed with the image's libraries"
case $crunver in "crun version "*) ;; *) die "crun --version printed '$crunver'" ;; esac

# --- Kernel modules, uncompressed, and the order to load them -------------
add_modules "$kmods" "$root/lib/modules" "${mods[@]}"

# --- /init, its helpers, the OCI bundle -----------------------------------
# /init, outb, /etc/passwd and group, /dev/console.
l2_base "$src" "$root"
install -m 0755 "$src/forward" "$root/usr/libexec/nestvisor/forward"

bundle=$root/bundle
mkdir -p "$bundle/rootfs"
cp "$src/bundle/config.json" "$bundle/config.json"
cp -R "$src/bundle/rootfs/." "$bundle/rootfs/"
mkdir -p "$bundle/rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc}
applets "$busybox" "$bundle/rootfs"
cp "$root/etc/passwd" "$root/etc/group" "$bundle/rootfs/etc/"

# Reproducible: modes from the executable bit only, fixed times, sorted
# names, root ownership; zstd stores no name or time.
normalize_tree "$root" "$root/tmp" "$bundle/rootfs/tmp"
pack_cpio "$root" "$out" -19 -T1
echo "  L2INITRD $out ($(stat -c %s "$out") bytes; $crunver; modules: ${mod_order[*]})"
