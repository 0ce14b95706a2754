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
# die, fetch, add_libs, add_modules, pack_cpio...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"
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
need_tools apt-get apt-cache dpkg-deb readelf objcopy strip cpio zstd gcc tar

# The daemon's programs, by their path in the packages; where they go in L2.
progs=(usr/sbin/dockerd usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/sbin/runc)
# Packages: the programs, then every package that provides a library they
# load (checked below: a library none of these provides stops the build).
pkgs=(busybox-static docker.io containerd runc
	libc6 libseccomp2 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1
	liblzma5 libzstd1 libdevmapper1.02.1 libselinux1 libpcre2-8-0 libudev1)
# Kernel modules by name; their .modinfo adds what each one needs.
mods=(overlay virtio_pci virtio_net)

apt_knows docker.io
if [ -z "$release" ]; then
	release=$(cloud_release) || die "cannot tell the cloud kernel's release (give --kernel-release)"
fi
use_cache "${cache:-$(dirname "$out")/debs}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l2docker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs root=$tmp/root
mkdir -p "$debroot" "$root"

unpack "$debroot" "${pkgs[@]}"
kdeb=$(kernel_deb "$release")
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
applets "$(busybox_in "$debroot")" "$root"

# --- the daemon's programs and their libraries ----------------------------
libdir=$root/lib/x86_64-linux-gnu
for p in "${progs[@]}"; do
	[ -x "$debroot/$p" ] || die "no $p in the packages (${pkgs[*]:1:3})"
	# All in /usr/bin: dockerd finds containerd and runc on PATH.
	cp "$debroot/$p" "$root/usr/bin/"
	strip --strip-unneeded "$root/usr/bin/$(basename "$p")"
	interp=$(interp_of "$root/usr/bin/$(basename "$p")")
	case $interp in
	""|/lib64/ld-linux-x86-64.so.2) ;;
	*) die "unexpected interpreter for $p: '$interp'" ;;
	esac
	add_libs --strip "$debroot" "$libdir" "$root/usr/bin/$(basename "$p")"
done
add_loader "$debroot" "$root"

# ldd, with the image's own loader: every library must resolve inside the
# image, and each program must start (--version).
versions=
for p in "${progs[@]}"; do
	b=$root/usr/bin/$(basename "$p")
	check_loads "$libdir" "$b" image
	flag=--version
	# The shim takes Go's flag package options: -v.
	case $b in *shim*) flag=-v ;; esac
	v=$(run_with "$libdir" "$b" $flag 2>&1) ||
		die "$(basename "$p") $flag failed with the image's libraries: $v"
	v=$(sed -n '/Version: /{s/^ *Version: */shim /p;q}; /[0-9]\./{p;q}' <<<"$v")
	[ -n "$v" ] || die "$(basename "$p") $flag printed no version"
	versions="$versions; $v"
done

# --- kernel modules, uncompressed, in the order to load them ---------------
# (from their .modinfo "depends=": Debian's package ships no modules.dep)
add_modules "$kmods" "$root/lib/modules" "${mods[@]}"

# --- /init, outb, configuration --------------------------------------------
install -m 0755 "$src/init" "$root/init"
cp "$src/containerd.toml" "$root/etc/containerd/config.toml"
build_outb "$top/tests/l2/outb.c" "$root/usr/libexec/nestvisor/outb"
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
normalize_tree "$root" "$root/tmp"
unpacked=$(du -sb "$root" | cut -f1)
pack_cpio "$root" "$out" -19 $long -T2
echo "  L2DOCKER $out ($(stat -c %s "$out") bytes, $unpacked unpacked; modules: ${mod_order[*]}${versions})"
