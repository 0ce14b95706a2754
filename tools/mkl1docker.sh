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
die() { echo "$prog: $*" >&2; exit 1; }
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
for t in apt-get apt-cache dpkg-deb readelf strip tar; do
	command -v "$t" >/dev/null || die "no $t on this host (tools/install-deps.sh)"
done

pkgs=(docker.io libc6 busybox-static)
version_of() { # PKG: the candidate version apt would download
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}
if [ -z "$(version_of docker.io)" ]; then
	[ "$(id -u)" -eq 0 ] || die "apt knows no docker.io; run 'apt-get update' as root first"
	apt-get update -qq || die "apt-get update failed"
	[ -n "$(version_of docker.io)" ] || die "apt knows no docker.io package"
fi
cache=${cache:-$(dirname "$out")/debs}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
fetch() { # PKG: prints the path of PKG's candidate .deb, downloading it once
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-l1docker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debroot=$tmp/debs
mkdir -p "$debroot"
for p in "${pkgs[@]}"; do
	deb=$(fetch "$p") || die "apt-get download $p failed: $(tail -n 1 "$cache/$p.log" 2>/dev/null)"
	dpkg-deb -x "$deb" "$debroot" || die "dpkg-deb -x $deb failed"
done

rm -rf "$out"
mkdir -p "$out"/{usr/bin,usr/share/nestvisor,lib/x86_64-linux-gnu,lib64}
libdir=$out/lib/x86_64-linux-gnu

# --- the client and what it loads -----------------------------------------
[ -x "$debroot/usr/bin/docker" ] || die "docker.io has no usr/bin/docker"
cp "$debroot/usr/bin/docker" "$out/usr/bin/docker"
strip --strip-unneeded "$out/usr/bin/docker"
find_lib() { # SONAME
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64; do
		[ -e "$debroot/$d/$1" ] && { echo "$debroot/$d/$1"; return 0; }
	done
	return 1
}
for so in $(readelf -d "$out/usr/bin/docker" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	f=$(find_lib "$so") || die "docker needs $so, which libc6 does not provide"
	cp -L "$f" "$libdir/$so"
	# Only libc's own libraries are expected; anything else needs a package.
	readelf -d "$libdir/$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r dep; do
		[ -e "$libdir/$dep" ] || [ "$dep" = ld-linux-x86-64.so.2 ] ||
			cp -L "$(find_lib "$dep")" "$libdir/$dep"
	done
done
cp -L "$(find_lib ld-linux-x86-64.so.2)" "$libdir/" || die "libc6 has no ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$out/lib64/ld-linux-x86-64.so.2"
ld=$libdir/ld-linux-x86-64.so.2
list=$("$ld" --library-path "$libdir" --list "$out/usr/bin/docker" 2>&1) ||
	die "the tree's loader cannot load docker: $list"
if echo "$list" | grep -E '=>' | grep -v -- "=> $libdir/" >&2; then
	die "docker resolves the libraries above outside the tree"
fi
ver=$("$ld" --library-path "$libdir" "$out/usr/bin/docker" --version 2>&1) ||
	die "docker --version failed with the tree's libraries: $ver"
case $ver in "Docker version "*) ;; *) die "docker --version printed '$ver'" ;; esac
install -m 0755 "$chain" "$out/usr/bin/dockerchain"

# --- the image's root file system ------------------------------------------
rootfs=$tmp/rootfs
busybox=$debroot/bin/busybox
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
! readelf -l "$busybox" | grep -q 'program interpreter' || die "$busybox is not static"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root}
cp "$busybox" "$rootfs/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
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
