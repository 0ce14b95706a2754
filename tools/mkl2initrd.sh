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
die() { echo "$prog: $*" >&2; exit 1; }

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
for t in apt-get apt-cache dpkg-deb readelf objcopy cpio zstd gcc; do
	command -v "$t" >/dev/null || die "no $t on this host (tools/install-deps.sh)"
done

# Packages for L2's user space. crun's libraries are checked below: a
# library no package here provides stops the build, naming it.
pkgs=(busybox-static crun libc6 libcap2 libseccomp2 libyajl2 libsystemd0
	libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1)
# Kernel modules, by name; their dependencies (modinfo "depends") are added.
mods=(virtio_pci virtio_mmio virtio_net veth overlay)

version_of() { # PKG: the candidate version apt would download
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}
if [ -z "$(version_of crun)" ]; then
	# Fresh machine: the package lists may not be there yet.
	[ "$(id -u)" -eq 0 ] || die "apt knows no crun; run 'apt-get update' as root first"
	apt-get update -qq || die "apt-get update failed"
	[ -n "$(version_of crun)" ] || die "apt knows no crun package"
fi
if [ -z "$release" ]; then
	release=$(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		grep -oE 'linux-image-[0-9][^ ]*-cloud-amd64' | head -n 1)
	release=${release#linux-image-}
	[ -n "$release" ] || die "cannot tell the cloud kernel's release (give --kernel-release)"
fi

cache=${cache:-$(dirname "$out")/debs}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# fetch PKG: the path of PKG's candidate .deb in the cache, downloaded once.
fetch() {
	local pkg=$1 ver deb
	ver=$(version_of "$pkg")
	[ -n "$ver" ] || return 1
	deb=$cache/${pkg}_${ver//:/%3a}_amd64.deb
	if [ ! -s "$deb" ]; then
		(cd "$cache" && apt-get download -q "$pkg=$ver" >"$cache/$pkg.log" 2>&1) || return 1
		[ -s "$deb" ] || return 1
		echo "  FETCH   $(basename "$deb")" >&2
	fi
	echo "$deb"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l2initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs root=$tmp/root
mkdir -p "$debroot" "$root"

for p in "${pkgs[@]}"; do
	deb=$(fetch "$p") || die "apt-get download $p failed${cache:+: $(tail -n 1 "$cache/$p.log" 2>/dev/null)}"
	dpkg-deb -x "$deb" "$debroot" || die "dpkg-deb -x $deb failed"
done
kdeb=
for p in "linux-image-$release-unsigned" "linux-image-$release"; do
	kdeb=$(fetch "$p") && break
done
[ -n "$kdeb" ] || die "apt-get download linux-image-$release(-unsigned) failed"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$debroot" --wildcards './lib/modules/*' ||
	die "cannot extract the modules of $kdeb"
kmods=$debroot/lib/modules/$release
[ -d "$kmods/kernel" ] || die "$kdeb has no lib/modules/$release"

# --- The L2 root: busybox and its applet links ---------------------------
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/libexec/nestvisor,dev,proc,sys,run,tmp,etc,root,newroot}
mkdir -p "$root"/{lib/x86_64-linux-gnu,lib64,lib/modules}
busybox=$debroot/bin/busybox
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
! readelf -l "$busybox" | grep -q 'program interpreter' || die "$busybox is not static"

# applets DIR: busybox in DIR/bin and a link for each applet (the same
# links in the container's root file system).
applets() {
	local dir=$1 applet
	cp "$busybox" "$dir/bin/busybox"
	"$busybox" --list-full | while read -r applet; do
		[ -e "$dir/$applet" ] || [ -L "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done
}
applets "$root"

# --- crun and what it loads -----------------------------------------------
crun=$debroot/usr/bin/crun
[ -x "$crun" ] || die "crun has no usr/bin/crun"
cp "$crun" "$root/usr/bin/crun"
interp=$(readelf -l "$crun" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ "$interp" = /lib64/ld-linux-x86-64.so.2 ] || die "unexpected interpreter for crun: '$interp'"
libdir=$root/lib/x86_64-linux-gnu

find_lib() { # SONAME: its file in the extracted packages
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		[ -e "$debroot/$d/$1" ] && { echo "$debroot/$d/$1"; return 0; }
	done
	return 1
}
# Copy every library ELF needs, recursively, into /lib/x86_64-linux-gnu
# (one of glibc's default directories on Debian, so no ld.so.cache is needed).
add_libs() { # ELF
	local so f
	for so in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$libdir/$so" ] && continue
		f=$(find_lib "$so") || die "no package in the list provides $so (needed by $(basename "$1"))"
		cp -L "$f" "$libdir/$so"
		add_libs "$libdir/$so"
	done
}
add_libs "$root/usr/bin/crun"
[ -e "$libdir/ld-linux-x86-64.so.2" ] || cp -L "$(find_lib ld-linux-x86-64.so.2)" "$libdir/"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"

# The loader itself says what it resolves: everything must come from the
# image (this is `ldd`, run with the image's own loader and libraries).
ldlist=$("$libdir/ld-linux-x86-64.so.2" --library-path "$libdir" --list "$root/usr/bin/crun" 2>&1) ||
	die "the image's loader cannot load crun: $ldlist"
if echo "$ldlist" | grep -E '=>' | grep -v -- "=> $libdir/" >&2; then
	die "crun resolves the libraries above outside the image"
fi
crunver=$("$libdir/ld-linux-x86-64.so.2" --library-path "$libdir" "$root/usr/bin/crun" --version 2>&1 | head -n 1) ||
	die "crun --version failed with the image's libraries"
case $crunver in "crun version "*) ;; *) die "crun --version printed '$crunver'" ;; esac

# --- Kernel modules, uncompressed, and the order to load them -------------
modinfo_field() { # FILE FIELD
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n "s/^$2=//p" | head -n 1
}
order=()
add_mod() { # NAME: its dependencies first, then itself
	local name=$1 f dep m
	for m in "${order[@]}"; do [ "$m" = "$name" ] && return 0; done
	f=$(find "$kmods/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \) | head -n 1)
	[ -n "$f" ] || die "the kernel package has no module $name"
	case $f in
	*.xz) xz -dc "$f" >"$root/lib/modules/$name.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/lib/modules/$name.ko" ;;
	*) cp "$f" "$root/lib/modules/$name.ko" ;;
	esac
	case $(modinfo_field "$root/lib/modules/$name.ko" vermagic) in
	"$release "*) ;;
	*) die "$name.ko is not built for $release" ;;
	esac
	for dep in $(modinfo_field "$root/lib/modules/$name.ko" depends | tr ',' ' '); do
		add_mod "$dep"
	done
	order+=("$name")
}
for m in "${mods[@]}"; do add_mod "$m"; done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load.order"
echo "$release" >"$root/lib/modules/release"

# --- /init, its helpers, the OCI bundle -----------------------------------
install -m 0755 "$src/init" "$root/init"
install -m 0755 "$src/forward" "$root/usr/libexec/nestvisor/forward"
gcc -static -nostdlib -fno-pie -no-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror -s \
	-o "$root/usr/libexec/nestvisor/outb" "$src/outb.c" || die "cannot build outb"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

bundle=$root/bundle
mkdir -p "$bundle/rootfs"
cp "$src/bundle/config.json" "$bundle/config.json"
cp -R "$src/bundle/rootfs/." "$bundle/rootfs/"
mkdir -p "$bundle/rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc}
applets "$bundle/rootfs"
cp "$root/etc/passwd" "$root/etc/group" "$bundle/rootfs/etc/"

# The kernel opens /dev/console for /init before /init can mount devtmpfs;
# without root, /init mounts devtmpfs first.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

# Reproducible: modes from the executable bit only, fixed times, sorted
# names, root ownership; zstd stores no name or time.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /u+x -exec chmod 0755 {} +
find "$root" -type f ! -perm /u+x -exec chmod 0644 {} +
chmod 1777 "$root/tmp" "$bundle/rootfs/tmp"
find "$root" -exec touch -h -d @0 {} +
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner root:root --reproducible --quiet) |
	zstd -q -19 -T1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "  L2INITRD $out ($(stat -c %s "$out") bytes; $crunver; modules: ${order[*]})"
