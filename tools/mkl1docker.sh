#!/bin/bash
# mkl1docker.sh [--cache DIR] OUTDIR: gather L1's half of the Docker chain
# (docs/l2-docker.md) into OUTDIR, a root-file-system tree for L1's
# initramfs (tools/mkinitrd.sh --tree OUTDIR):
#   usr/bin/docker                      Debian's docker client (docker.io),
#                                       stripped
#   lib/x86_64-linux-gnu/libc.so.6      what it loads (libc6), and the
#   lib64/ld-linux-x86-64.so.2          dynamic loader
#   usr/bin/dockerchain                 tests/l1/dockerchain
#   usr/share/nestvisor/busybox-rootfs.tar
#                                       the container image's root file
#                                       system for `docker import`:
#                                       busybox-static, its applet links,
#                                       /etc/passwd and /etc/group
# The packages come from `apt-get download` into the cache (default:
# OUTDIR's directory/debs). OUTDIR is emptied first. The same inputs give
# the same bytes.
set -euo pipefail

prog=mkl1docker.sh
# die, fetch, unpack, find_lib, check_loads...: tools/debpkg.sh.
# shellcheck source=tools/debpkg.sh
. "$(dirname "$0")/debpkg.sh"
usage="usage: tools/mkl1docker.sh [--cache DIR] OUTDIR"

cache= out=
while [ $# -gt 0 ]; do
	case $1 in
	--help|-h)
		sed -n '2,17s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--cache) cache=${2:?--cache needs a directory}; shift 2 ;;
	-*) die "unknown option: $1 ($usage)" ;;
	*) [ -z "$out" ] || die "one OUTDIR only ($usage)"
	   out=$1; shift ;;
	esac
done
[ -n "$out" ] || die "$usage"
case $out in /|.|..) die "refusing OUTDIR '$out'" ;; esac

top=$(cd "$(dirname "$0")/.." && pwd)
chain=$top/tests/l1/dockerchain
[ -f "$chain" ] || die "missing input: $chain"
need_tools apt-get apt-cache dpkg-deb readelf strip tar

pkgs=(docker.io libc6 busybox-static)
apt_knows docker.io
use_cache "${cache:-$(dirname "$out")/debs}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l1docker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs
mkdir -p "$debroot"
unpack "$debroot" "${pkgs[@]}"

rm -rf "$out"
mkdir -p "$out"/{usr/bin,usr/share/nestvisor,lib/x86_64-linux-gnu,lib64}
libdir=$out/lib/x86_64-linux-gnu

# --- the client and what it loads -----------------------------------------
[ -x "$debroot/usr/bin/docker" ] || die "docker.io has no usr/bin/docker"
cp "$debroot/usr/bin/docker" "$out/usr/bin/docker"
strip --strip-unneeded "$out/usr/bin/docker"
for so in $(needed "$out/usr/bin/docker"); do
	f=$(find_lib "$debroot" "$so") || die "docker needs $so, which libc6 does not provide"
	cp -L "$f" "$libdir/$so"
	# Only libc's own libraries are expected; anything else needs a package.
	needed "$libdir/$so" | while read -r dep; do
		[ -e "$libdir/$dep" ] || [ "$dep" = ld-linux-x86-64.so.2 ] ||
			cp -L "$(find_lib "$debroot" "$dep")" "$libdir/$dep"
	done
done
add_loader "$debroot" "$out"
check_loads "$libdir" "$out/usr/bin/docker" tree
ver=$(run_with "$libdir" "$out/usr/bin/docker" --version 2>&1) ||
	die "docker --version failed with the tree's libraries: $ver"
case $ver in "Docker version "*) ;; *) die "docker --version printed '$ver'" ;; esac
install -m 0755 "$chain" "$out/usr/bin/dockerchain"

# --- the image's root file system ------------------------------------------
rootfs=$tmp/rootfs
busybox=$(busybox_in "$debroot")
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root}
applets "$busybox" "$rootfs"
[ -L "$rootfs/bin/sh" ] || die "busybox offers no sh applet"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
find "$rootfs" -type d -exec chmod 0755 {} +
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	--format=gnu -cf "$out/usr/share/nestvisor/busybox-rootfs.tar" .
listing=$(tar -tf "$out/usr/share/nestvisor/busybox-rootfs.tar")
grep -qx './bin/sh' <<<"$listing" || die "the rootfs tarball has no ./bin/sh"

find "$out" -exec touch -h -d @0 {} +
echo "  L1DOCKER $out ($(du -sm "$out" | cut -f1) MB; $ver; rootfs $(stat -c %s "$out/usr/share/nestvisor/busybox-rootfs.tar") bytes)"
