#!/bin/bash
# mkl2docker.sh [--kernel-release REL] [--kernel FILE] [--cache DIR]
# [--zstd-long] OUT:
# build the Docker variant of the L2 initramfs (docs/l2-docker.md), a
# zstd-compressed newc cpio archive: busybox-static and its applet links;
# Debian's dockerd, containerd, containerd-shim-runc-v2 and runc with
# exactly the shared libraries they load and the dynamic loader; the kernel
# modules the daemon and the network need (overlay, virtio PCI, virtio_net
# and their dependencies, uncompressed); tests/l2/docker/init as /init and
# tests/l2/docker/containerd.toml. Everything comes from Debian packages
# fetched with `apt-get download` into the cache (default: OUT's
# directory/debs) and unpacked with dpkg-deb -x; no host file is copied.
# REL (default: the release linux-image-cloud-amd64 depends on) must be
# the release of the kernel L2 boots (build/linux/version); with --kernel
# FILE (build/linux/vmlinuz), the package's kernel must be FILE byte for
# byte. --zstd-long: a 128 MiB zstd window (36 MB instead of 42, but L2
# then needs about 64 MB more memory to unpack it). The same inputs give
# the same bytes.
set -euo pipefail

prog=mkl2docker.sh
die() { echo "$prog: $*" >&2; exit 1; }
usage="usage: tools/mkl2docker.sh [--kernel-release REL] [--kernel FILE] [--cache DIR] [--zstd-long] OUT"

release= kernel= cache= out= long=
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		sed -n '2,19s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--kernel-release) release=${2:?--kernel-release needs a value}; shift 2 ;;
	--kernel) kernel=${2:?--kernel needs a file}; shift 2
		[ -f "$kernel" ] || die "--kernel: no such file: $kernel" ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	--zstd-long) long=--long=27; shift ;;
	-*) die "unknown option: $1 ($usage)" ;;
	*) [ -z "$out" ] || die "one OUT only ($usage)"
	   out=$1; shift ;;
	esac
done
[ -n "$out" ] || die "$usage"

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/tests/l2/docker
for f in "$src/init" "$src/containerd.toml" "$top/tests/l2/outb.c"; do
	[ -f "$f" ] || die "missing input: $f"
done
for t in apt-get apt-cache dpkg-deb readelf objcopy strip cpio zstd gcc tar; do
	command -v "$t" >/dev/null || die "no $t on this host (tools/install-deps.sh)"
done

# The daemon's programs, by their path in the packages; where they go in L2.
progs=(usr/sbin/dockerd usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/sbin/runc)
# Packages: the programs, then every package that provides a library they
# load (checked below: a library none of these provides stops the build).
pkgs=(busybox-static docker.io containerd runc
	libc6 libseccomp2 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1
	liblzma5 libzstd1 libdevmapper1.02.1 libselinux1 libpcre2-8-0 libudev1)
# Kernel modules by name; their .modinfo adds what each one needs.
mods=(overlay virtio_pci virtio_net)

version_of() { # PKG: the candidate version apt would download
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}
if [ -z "$(version_of docker.io)" ]; then
	# A fresh machine may not have the package lists yet.
	[ "$(id -u)" -eq 0 ] || die "apt knows no docker.io; run 'apt-get update' as root first"
	apt-get update -qq || die "apt-get update failed"
	[ -n "$(version_of docker.io)" ] || die "apt knows no docker.io package"
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

# fetch PKG: prints the path of PKG's candidate .deb, downloading it once.
fetch() {
	local ver deb
	ver=$(version_of "$1")
	[ -n "$ver" ] || return 1
	deb=$cache/${1}_${ver//:/%3a}_amd64.deb
	if [ ! -s "$deb" ]; then
		(cd "$cache" && apt-get download -q "$1=$ver" >"$cache/$1.log" 2>&1) || return 1
		[ -s "$deb" ] || return 1
		echo "  FETCH   $(basename "$deb")" >&2
	fi
	echo "$deb"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l2docker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs root=$tmp/root
mkdir -p "$debroot" "$root"

for p in "${pkgs[@]}"; do
	deb=$(fetch "$p") || die "apt-get download $p failed: $(tail -n 1 "$cache/$p.log" 2>/dev/null)"
	dpkg-deb -x "$deb" "$debroot" || die "dpkg-deb -x $deb failed"
done
kdeb=
for p in "linux-image-$release-unsigned" "linux-image-$release"; do
	kdeb=$(fetch "$p") && break
done
[ -n "$kdeb" ] || die "apt-get download linux-image-$release(-unsigned) failed"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$debroot" --wildcards './lib/modules/*' './boot/vmlinuz-*' ||
	die "cannot extract the modules and kernel of $kdeb"
if [ -n "$kernel" ]; then
	cmp -s "$kernel" "$debroot/boot/vmlinuz-$release" ||
		die "$kernel is not the kernel of $(basename "$kdeb"): its modules would not fit"
fi
kmods=$debroot/lib/modules/$release
[ -d "$kmods/kernel" ] || die "$kdeb has no lib/modules/$release"

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/libexec/nestvisor,dev,proc,sys,run,tmp,root}
mkdir -p "$root"/{etc/containerd,lib/x86_64-linux-gnu,lib64,lib/modules,var/lib}
ln -s ../run "$root/var/run"

# --- busybox and its applet links -----------------------------------------
busybox=$debroot/bin/busybox
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
! readelf -l "$busybox" | grep -q 'program interpreter' || die "$busybox is not static"
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# --- the daemon's programs and their libraries ----------------------------
libdir=$root/lib/x86_64-linux-gnu
find_lib() { # SONAME: its file in the unpacked packages
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		[ -e "$debroot/$d/$1" ] && { echo "$debroot/$d/$1"; return 0; }
	done
	return 1
}
# Every library ELF names (DT_NEEDED), recursively, into /lib/x86_64-linux-gnu,
# a default directory of Debian's glibc: no ld.so.cache needed.
add_libs() { # ELF
	local so f
	for so in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$libdir/$so" ] && continue
		f=$(find_lib "$so") || die "no package in the list provides $so (needed by $(basename "$1"))"
		cp -L "$f" "$libdir/$so"
		strip --strip-unneeded "$libdir/$so"
		add_libs "$libdir/$so"
	done
}
for p in "${progs[@]}"; do
	[ -x "$debroot/$p" ] || die "no $p in the packages (${pkgs[*]:1:3})"
	# All in /usr/bin: dockerd finds containerd and runc on PATH.
	cp "$debroot/$p" "$root/usr/bin/"
	strip --strip-unneeded "$root/usr/bin/$(basename "$p")"
	interp=$(readelf -l "$root/usr/bin/$(basename "$p")" |
		sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	case $interp in
	""|/lib64/ld-linux-x86-64.so.2) ;;
	*) die "unexpected interpreter for $p: '$interp'" ;;
	esac
	add_libs "$root/usr/bin/$(basename "$p")"
done
cp -L "$(find_lib ld-linux-x86-64.so.2)" "$libdir/" || die "libc6 has no ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"

# ldd, with the image's own loader: every library must resolve inside the
# image, and each program must start (--version).
ld=$libdir/ld-linux-x86-64.so.2
versions=
for p in "${progs[@]}"; do
	b=$root/usr/bin/$(basename "$p")
	list=$("$ld" --library-path "$libdir" --list "$b" 2>&1) ||
		die "the image's loader cannot load $(basename "$p"): $list"
	if echo "$list" | grep -E '=>' | grep -v -- "=> $libdir/" >&2; then
		die "$(basename "$p") resolves the libraries above outside the image"
	fi
	flag=--version
	# The shim takes Go's flag package options: -v.
	case $b in *shim*) flag=-v ;; esac
	v=$("$ld" --library-path "$libdir" "$b" $flag 2>&1) ||
		die "$(basename "$p") $flag failed with the image's libraries: $v"
	v=$(sed -n '/Version: /{s/^ *Version: */shim /p;q}; /[0-9]\./{p;q}' <<<"$v")
	[ -n "$v" ] || die "$(basename "$p") $flag printed no version"
	versions="$versions; $v"
done

# --- kernel modules, uncompressed, in the order to load them ---------------
# Debian's package ships no modules.dep (its postinst runs depmod, which
# this machine may lack): each module's own .modinfo "depends=" field,
# which modpost wrote from the symbols it imports, gives the same edges.
modinfo_field() { # FILE FIELD
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n "s/^$2=//p" | head -n 1
}
order=()
add_mod() { # NAME: its dependencies first, then itself
	local name=${1//-/_} m f ko dep
	for m in "${order[@]}"; do [ "$m" = "$name" ] && return 0; done
	f=$(find "$kmods/kernel" \( -name "$name.ko" -o -name "$name.ko.*" \
		-o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.*" \) | LC_ALL=C sort | head -n 1)
	[ -n "$f" ] || die "the kernel package has no module $name"
	ko=$root/lib/modules/$name.ko
	case $f in
	*.xz) xz -dc "$f" >"$ko" ;;
	*.zst) zstd -qdc "$f" >"$ko" ;;
	*.gz) gzip -dc "$f" >"$ko" ;;
	*) cp "$f" "$ko" ;;
	esac
	case $(modinfo_field "$ko" vermagic) in
	"$release "*) ;;
	*) die "$name.ko is not built for $release" ;;
	esac
	for dep in $(modinfo_field "$ko" depends | tr ',' ' '); do
		add_mod "$dep"
	done
	order+=("$name")
}
for m in "${mods[@]}"; do add_mod "$m"; done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load.order"
echo "$release" >"$root/lib/modules/release"

# --- /init, outb, configuration --------------------------------------------
install -m 0755 "$src/init" "$root/init"
cp "$src/containerd.toml" "$root/etc/containerd/config.toml"
gcc -static -nostdlib -fno-pie -no-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror -s \
	-o "$root/usr/libexec/nestvisor/outb" "$top/tests/l2/outb.c" || die "cannot build outb"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
# dockerd gives its socket to the group docker; it reads os-release for
# `docker info`.
printf 'root:x:0:\ndocker:x:999:\n' >"$root/etc/group"
printf 'PRETTY_NAME="nestvisor L2 (Docker)"\nID=nestvisor-l2\nVERSION_ID=1\n' >"$root/etc/os-release"
printf '127.0.0.1\tlocalhost\n10.0.2.15\tnv-l2\n' >"$root/etc/hosts"
# QEMU user networking's DNS; the daemon copies this file into containers.
printf 'nameserver 10.0.2.3\n' >"$root/etc/resolv.conf"
printf 'nv-l2\n' >"$root/etc/hostname"
# The kernel opens /dev/console for /init before /init mounts devtmpfs.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

# Reproducible: modes from the executable bit only, fixed times, sorted
# names, root ownership; zstd stores no name or time, and its output
# depends on the worker count, fixed here. --zstd-long: the Go programs
# share much code (Go's runtime, containerd's packages in dockerd,
# containerd and the shim), farther apart than -19's 8 MiB window; a
# 128 MiB window makes the image 14% smaller (36 MB, not 42). Linux 6.1's
# initramfs unpacker takes it (measured), but it fills that window while it
# unpacks: under QEMU/TCG L2 then boots with 448 MB and not with 384 MB
# (plain -19 boots with 384 MB), and under nested VT-x every page of it is
# a first touch L1's KVM must map. Hence not the default.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /u+x -exec chmod 0755 {} +
find "$root" -type f ! -perm /u+x -exec chmod 0644 {} +
chmod 1777 "$root/tmp"
find "$root" -exec touch -h -d @0 {} +
unpacked=$(du -sb "$root" | cut -f1)
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner root:root --reproducible --quiet) |
	zstd -q -19 $long -T2 >"$out.tmp"
mv "$out.tmp" "$out"
echo "  L2DOCKER $out ($(stat -c %s "$out") bytes, $unpacked unpacked; modules: ${order[*]}${versions})"
