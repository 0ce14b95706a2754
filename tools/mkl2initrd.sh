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
# die, fetch, add_libs, add_modules, pack_cpio...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"

release= cache= out=
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		sed -n '2,13s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--kernel-release) release=${2:?--kernel-release needs a value}; shift 2 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	-*) die "unknown option: $1" ;;
	*) [ -z "$out" ] || die "one OUT only (usage: tools/mkl2initrd.sh [--kernel-release REL] [--cache DIR] OUT)"
	   out=$1; shift ;;
	esac
done
[ -n "$out" ] || die "usage: tools/mkl2initrd.sh [--kernel-release REL] [--cache DIR] OUT"

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

apt_knows crun
if [ -z "$release" ]; then
	release=$(cloud_release) || die "cannot tell the cloud kernel's release (give --kernel-release)"
fi
use_cache "${cache:-$(dirname "$out")/debs}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l2initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs root=$tmp/root
mkdir -p "$debroot" "$root"

unpack "$debroot" "${pkgs[@]}"
kdeb=$(kernel_deb "$release")
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$debroot" --wildcards './lib/modules/*' ||
	die "cannot extract the modules of $kdeb"
kmods=$debroot/lib/modules/$release
[ -d "$kmods/kernel" ] || die "$kdeb has no lib/modules/$release"

# --- The L2 root: busybox and its applet links ---------------------------
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/libexec/nestvisor,dev,proc,sys,run,tmp,etc,root,newroot}
mkdir -p "$root"/{lib/x86_64-linux-gnu,lib64,lib/modules}
busybox=$(busybox_in "$debroot")
# The same links in the container's root file system (below).
applets "$busybox" "$root"

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
install -m 0755 "$src/init" "$root/init"
install -m 0755 "$src/forward" "$root/usr/libexec/nestvisor/forward"
build_outb "$src/outb.c" "$root/usr/libexec/nestvisor/outb"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

bundle=$root/bundle
mkdir -p "$bundle/rootfs"
cp "$src/bundle/config.json" "$bundle/config.json"
cp -R "$src/bundle/rootfs/." "$bundle/rootfs/"
mkdir -p "$bundle/rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc}
applets "$busybox" "$bundle/rootfs"
cp "$root/etc/passwd" "$root/etc/group" "$bundle/rootfs/etc/"

# The kernel opens /dev/console for /init before /init can mount devtmpfs;
# without root, /init mounts devtmpfs first.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

# Reproducible: modes from the executable bit only, fixed times, sorted
# names, root ownership; zstd stores no name or time.
normalize_tree "$root" "$root/tmp" "$bundle/rootfs/tmp"
pack_cpio "$root" "$out" -19 -T1
echo "  L2INITRD $out ($(stat -c %s "$out") bytes; $crunver; modules: ${mod_order[*]})"
