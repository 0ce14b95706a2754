#!/bin/bash
# get-kernel.sh OUTDIR: fetch Debian's cloud kernel (the version that
# linux-image-cloud-amd64 depends on) as nestvisor's L1 guest kernel:
#   OUTDIR/vmlinuz            the kernel (EFI stub)
#   OUTDIR/modules/*.ko       kvm.ko, kvm-intel.ko, irqbypass.ko, tun.ko
#                             (uncompressed)
#   OUTDIR/version            the kernel release, e.g. 6.1.0-56-cloud-amd64
# Does nothing if OUTDIR already holds all of them.
set -euo pipefail

prog=get-kernel.sh
die() { echo "$prog: $*" >&2; exit 1; }

case ${1:-} in
--help|-h)
	sed -n '2,8s/^# \{0,1\}//p' "$0"
	exit 0 ;;
"") die "usage: tools/get-kernel.sh OUTDIR" ;;
esac
out=$1
mods=(kvm.ko kvm-intel.ko irqbypass.ko tun.ko)

done_already() {
	[ -s "$out/version" ] && [ -s "$out/vmlinuz" ] || return 1
	local m
	for m in "${mods[@]}"; do [ -s "$out/modules/$m" ] || return 1; done
}
if done_already; then
	# Newer than this script from now on, so make stops asking.
	touch "$out/vmlinuz" "$out"/modules/*.ko
	echo "  KERNEL  $out/vmlinuz ($(cat "$out/version"), already there)"
	exit 0
fi

meta=linux-image-cloud-amd64
depends() {
	apt-cache show --no-all-versions "$meta" 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		grep -oE 'linux-image-[0-9][^ ]*-cloud-amd64' | head -n 1
}
pkg=$(depends || true)
if [ -z "$pkg" ]; then
	# Fresh machine: the package lists may not be there yet.
	[ "$(id -u)" -eq 0 ] || die "apt knows no $meta; run 'apt-get update' as root first"
	apt-get update -qq || die "apt-get update failed"
	pkg=$(depends || true)
	[ -n "$pkg" ] || die "cannot find the kernel package that $meta depends on"
fi
release=${pkg#linux-image-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Prefer the unsigned build (same kernel, no Secure Boot signature).
got=
for p in "$pkg-unsigned" "$pkg"; do
	if (cd "$tmp" && apt-get download -q "$p" >"$tmp/download.log" 2>&1); then
		got=$p
		break
	fi
done
[ -n "$got" ] || die "apt-get download of $pkg(-unsigned) failed: $(tail -n 1 "$tmp/download.log")"
echo "  KERNEL  downloaded $got"

deb=$(ls "$tmp"/*.deb)
dpkg -x "$deb" "$tmp/root" || die "dpkg -x $deb failed"
vmlinuz=$tmp/root/boot/vmlinuz-$release
[ -f "$vmlinuz" ] || die "$deb has no boot/vmlinuz-$release"

mkdir -p "$out/modules"
cp "$vmlinuz" "$out/vmlinuz"
for m in "${mods[@]}"; do
	f=$(find "$tmp/root/lib/modules/$release" -name "$m" -o -name "$m.xz" \
		-o -name "$m.zst" | head -n 1)
	[ -n "$f" ] || die "$deb has no $m"
	case $f in
	*.xz) xz -dc "$f" >"$out/modules/$m" ;;
	*.zst) zstd -qdc "$f" >"$out/modules/$m" ;;
	*) cp "$f" "$out/modules/$m" ;;
	esac
done
echo "$release" >"$out/version"
echo "  KERNEL  $out/vmlinuz ($release)"
