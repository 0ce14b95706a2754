#!/bin/bash
# mkinitrd.sh [OPTION]... OUT INIT PROG...: build nestvisor's L1 initramfs,
# a gzip'd newc cpio archive with busybox-static and its applet links, INIT
# as /init and each PROG in /bin (a PROG named *.ko, a kernel module, goes
# to /lib/modules instead). The same inputs give the same bytes. Options:
#   --tree DIR        copy the tree DIR into the root (e.g. QEMU's files)
#   --file SRC:DEST   copy file SRC to DEST (an absolute path) in the root
#   --zstd            compress with zstd -19 instead of gzip (large images)
set -euo pipefail

prog=mkinitrd.sh
die() { echo "$prog: $*" >&2; exit 1; }

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	sed -n '2,9s/^# \{0,1\}//p' "$0"
	exit 0
fi
trees=() files=() compress=(gzip -n -9)
while [ $# -gt 0 ]; do
	case $1 in
	--tree) [ -d "${2:-}" ] || die "--tree: no such directory: ${2:-}"
		trees+=("$2"); shift 2 ;;
	--file) [ -f "${2%%:*}" ] || die "--file: no such file: ${2%%:*}"
		case ${2#*:} in /*) ;; *) die "--file $2: DEST must be an absolute path" ;; esac
		files+=("$2"); shift 2 ;;
	--zstd) compress=(zstd -q -19 -T0 -c); shift ;;
	--) shift; break ;;
	-*) die "unknown option: $1" ;;
	*) break ;;
	esac
done
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
for t in "${trees[@]}"; do cp -a "$t/." "$root/"; done
for f in "${files[@]}"; do
	mkdir -p "$root$(dirname "${f#*:}")"
	cp "${f%%:*}" "$root${f#*:}"
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
	"${compress[@]}" >"$out.tmp"
mv "$out.tmp" "$out"
echo "  INITRD  $out ($(stat -c %s "$out") bytes)"
