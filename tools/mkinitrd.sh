#!/bin/bash
# mkinitrd.sh OUT INIT PROG...: build nestvisor's L1 initramfs, a gzip'd
# newc cpio archive with busybox-static and its applet links, INIT as /init
# and each PROG in /bin (a PROG named *.ko, a kernel module, goes to
# /lib/modules instead). The same inputs give the same bytes.
set -euo pipefail

prog=mkinitrd.sh
die() { echo "$prog: $*" >&2; exit 1; }

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	sed -n '2,5s/^# \{0,1\}//p' "$0"
	exit 0
fi
[ $# -ge 2 ] || die "usage: tools/mkinitrd.sh OUT INIT [PROG...]"
out=$1 init=$2
shift 2
busybox=/bin/busybox
[ -f "$init" ] || die "no such init script: $init"
for p in "$@"; do [ -f "$p" ] || die "no such program: $p"; done
# Debian's busybox-static installs /bin/busybox; the dynamic one would not
# run in the initramfs.
[ -x "$busybox" ] || die "no $busybox (install busybox-static)"
! readelf -l "$busybox" | grep -q 'program interpreter' ||
	die "$busybox is not statically linked (install busybox-static)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root,lib/modules}

cp "$busybox" "$root/bin/busybox"
# Applet links, made here so /init can use any applet from its first line.
"$busybox" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
install -m 0755 "$init" "$root/init"
for p in "$@"; do
	case $p in
	*.ko) install -m 0644 "$p" "$root/lib/modules/$(basename "$p")" ;;
	*) install -m 0755 "$p" "$root/bin/$(basename "$p")" ;;
	esac
done
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
# The kernel opens /dev/console for /init before /init can mount devtmpfs.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$root/dev/console" c 5 1
fi

# Reproducible: fixed times, sorted names, root ownership, no gzip name/time.
find "$root" -exec touch -h -d @0 {} +
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner root:root --reproducible --quiet) |
	gzip -n -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "  INITRD  $out ($(stat -c %s "$out") bytes)"
