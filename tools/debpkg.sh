# shellcheck shell=bash
# tools/debpkg.sh: the shell functions shared by the scripts that build
# guest images from Debian packages (tools/mkl2initrd.sh, tools/mkl2kvm.sh,
# tools/mkl2docker.sh, tools/mkl1docker.sh), which source it:
#   . "$(dirname "$0")/debpkg.sh"
# It only defines functions (no top-level side effects) and they work
# under set -euo pipefail. The sourcing script sets prog (the name die
# prints); fetch and unpack read cache (set by use_cache).

# die MSG...: print "$prog: MSG" on stderr and exit 1.
# shellcheck disable=SC2154 # prog: the sourcing script's name
die() { echo "$prog: $*" >&2; exit 1; }

# need_tools CMD...: stop unless every CMD is on PATH.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "no $t on this host (tools/install-deps.sh)"
	done
}

# --- apt: versions, the download cache ------------------------------------

# version_of PKG: the candidate version apt would download (empty if none).
version_of() {
	apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1
}

# apt_knows PKG: stop unless apt has a candidate for PKG. A fresh machine
# may not have the package lists yet: as root, update them first.
apt_knows() {
	[ -z "$(version_of "$1")" ] || return 0
	[ "$(id -u)" -eq 0 ] || die "apt knows no $1; run 'apt-get update' as root first"
	apt-get update -qq || die "apt-get update failed"
	[ -n "$(version_of "$1")" ] || die "apt knows no $1 package"
}

# cloud_release: the kernel release linux-image-cloud-amd64 depends on,
# e.g. 6.1.0-57-cloud-amd64; fails, printing nothing, if apt cannot tell.
cloud_release() {
	local pkg
	pkg=$(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		grep -oE 'linux-image-[0-9][^ ]*-cloud-amd64' | head -n 1) || true
	[ -n "$pkg" ] || return 1
	echo "${pkg#linux-image-}"
}

# use_cache DIR: create DIR, the cache of downloaded .debs, and set cache
# to its absolute path.
use_cache() {
	mkdir -p "$1"
	cache=$(cd "$1" && pwd)
}

# fetch PKG: print the path of PKG's candidate .deb in $cache, downloading
# it once (apt-get's output goes to $cache/PKG.log); fails if it cannot.
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

# unpack DIR PKG...: fetch each PKG and extract it into DIR (dpkg-deb -x).
unpack() {
	local dir=$1 p deb
	shift
	for p in "$@"; do
		deb=$(fetch "$p") || die "apt-get download $p failed: $(tail -n 1 "$cache/$p.log" 2>/dev/null)"
		dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	done
}

# kernel_deb REL: fetch the package of kernel release REL, its -unsigned
# build if there is one (the same kernel, no Secure Boot signature), and
# print its path.
kernel_deb() {
	local p deb=
	for p in "linux-image-$1-unsigned" "linux-image-$1"; do
		deb=$(fetch "$p") && break
	done
	[ -n "$deb" ] || die "apt-get download linux-image-$1(-unsigned) failed"
	echo "$deb"
}

# --- programs and the libraries they load ----------------------------------

# busybox_in DIR: the path of bin/busybox in the packages unpacked into
# DIR (busybox-static); it must be static.
busybox_in() {
	local busybox=$1/bin/busybox
	[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
	! readelf -l "$busybox" | grep -q 'program interpreter' || die "$busybox is not static"
	echo "$busybox"
}

# applets BUSYBOX ROOT: BUSYBOX as ROOT/bin/busybox and a link to
# /bin/busybox for each of its applets that ROOT does not have yet.
applets() {
	local applet
	cp "$1" "$2/bin/busybox"
	"$1" --list-full | while read -r applet; do
		[ -e "$2/$applet" ] || [ -L "$2/$applet" ] || ln -s /bin/busybox "$2/$applet"
	done
}

# needed ELF: the sonames ELF names (DT_NEEDED), one a line.
needed() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# interp_of ELF: ELF's program interpreter (empty if it is static).
interp_of() {
	readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p'
}

# find_lib DIR SONAME: SONAME's file in the packages unpacked into DIR.
find_lib() {
	local d
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
		[ -e "$1/$d/$2" ] && { echo "$1/$d/$2"; return 0; }
	done
	return 1
}

# add_libs [--strip] DIR LIBDIR ELF: copy every library ELF needs,
# recursively, from the packages unpacked into DIR into LIBDIR, the
# image's /lib/x86_64-linux-gnu (a default directory of Debian's glibc: no
# ld.so.cache needed); --strip: strip --strip-unneeded each one. A library
# no package there provides stops the build, naming it.
add_libs() {
	local so f strip=
	if [ "$1" = --strip ]; then strip=--strip; shift; fi
	for so in $(needed "$3"); do
		[ -e "$2/$so" ] && continue
		f=$(find_lib "$1" "$so") || die "no package in the list provides $so (needed by $(basename "$3"))"
		cp -L "$f" "$2/$so"
		[ -z "$strip" ] || strip --strip-unneeded "$2/$so"
		add_libs $strip "$1" "$2" "$2/$so"
	done
}

# add_loader DIR ROOT: the dynamic loader of the packages unpacked into
# DIR (libc6) as ROOT/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2, and the
# link to it in ROOT/lib64, where programs ask for it.
add_loader() {
	local f
	f=$(find_lib "$1" ld-linux-x86-64.so.2) || die "libc6 has no ld-linux-x86-64.so.2"
	cp -L "$f" "$2/lib/x86_64-linux-gnu/"
	ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$2/lib64/ld-linux-x86-64.so.2"
}

# run_with LIBDIR ARG...: run the loader in LIBDIR with ARG... (a program
# and its arguments, or --list PROGRAM) on LIBDIR's libraries only.
run_with() {
	"$1/ld-linux-x86-64.so.2" --library-path "$1" "${@:2}"
}

# check_loads LIBDIR ELF PLACE: `ldd ELF` with the loader in LIBDIR; stop
# unless every library resolves inside LIBDIR. PLACE (image, tree) names
# what LIBDIR is part of in the messages.
check_loads() {
	local name list
	name=$(basename "$2")
	list=$(run_with "$1" --list "$2" 2>&1) || die "the $3's loader cannot load $name: $list"
	if echo "$list" | grep -E '=>' | grep -v -- "=> $1/" >&2; then
		die "$name resolves the libraries above outside the $3"
	fi
}

# build_outb SRC OUT: tests/l2/outb.c as a static program without libc.
build_outb() {
	gcc -static -nostdlib -fno-pie -no-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -O2 -Wall -Wextra -Werror -s \
		-o "$2" "$1" || die "cannot build outb"
}

# --- kernel modules --------------------------------------------------------

# modinfo_field KO FIELD: FIELD of the module file KO's .modinfo.
modinfo_field() {
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# add_modules KMODS DEST NAME...: the modules NAME... (- and _ alike) of
# the unpacked kernel tree KMODS (lib/modules/REL), each after its
# dependencies, uncompressed as DEST/NAME.ko; DEST/load.order lists them in
# the order to load them (so does the array mod_order), DEST/release holds
# REL. Each must be built for REL (vermagic). Debian's package ships no
# modules.dep (its postinst runs depmod, which this machine may lack): each
# module's own .modinfo "depends=" field, which modpost wrote from the
# symbols it imports, gives the same edges.
add_modules() {
	local kmods=$1 dest=$2 m
	shift 2
	mod_order=()
	for m in "$@"; do add_mod "$kmods" "$dest" "$m"; done
	printf '%s\n' "${mod_order[@]}" >"$dest/load.order"
	basename "$kmods" >"$dest/release"
}

# add_mod KMODS DEST NAME: add_modules for one module and its dependencies
# (appended to mod_order, unless there already).
add_mod() {
	local kmods=$1 dest=$2 name=${3//-/_} rel m f ko dep
	rel=$(basename "$kmods")
	for m in "${mod_order[@]}"; do [ "$m" = "$name" ] && return 0; done
	f=$(find "$kmods/kernel" \( -name "$name.ko" -o -name "$name.ko.*" \
		-o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.*" \) | LC_ALL=C sort | head -n 1)
	[ -n "$f" ] || die "the kernel package has no module $name"
	ko=$dest/$name.ko
	case $f in
	*.xz) xz -dc "$f" >"$ko" ;;
	*.zst) zstd -qdc "$f" >"$ko" ;;
	*.gz) gzip -dc "$f" >"$ko" ;;
	*) cp "$f" "$ko" ;;
	esac
	case $(modinfo_field "$ko" vermagic) in
	"$rel "*) ;;
	*) die "$name.ko is not built for $rel" ;;
	esac
	for dep in $(modinfo_field "$ko" depends | tr ',' ' '); do
		add_mod "$kmods" "$dest" "$dep"
	done
	mod_order+=("$name")
}

# --- the L2 initramfs scripts (mkl2initrd.sh, mkl2kvm.sh) -------------------

# l2_option ARG...: the first option or operand of ARG..., one of those
# the L2 image scripts share: --help/-h (print the script's lines 2-13,
# its header, and exit), --kernel-release REL, --cache DIR, OUT. Sets
# release, cache or out, and nshift, the number of words it took; any
# other option stops the script, and so does a second OUT (naming $usage).
# shellcheck disable=SC2034 # nshift: read by the sourcing script
l2_option() {
	case $1 in
	--help|-h)
		sed -n '2,13s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--kernel-release) release=${2:?--kernel-release needs a value}; nshift=2 ;;
	--cache) cache=${2:?--cache needs a directory}; nshift=2 ;;
	-*) die "unknown option: $1" ;;
	*) [ -z "$out" ] || die "one OUT only ($usage)"
	   out=$1; nshift=1 ;;
	esac
}

# l2_workdir NAME PKG: the start of an L2 image build, once the options
# are read: stop unless apt knows PKG; release, if empty, from
# cloud_release; the download cache (use_cache) $cache or OUT's
# directory/debs; a temporary directory nv-NAME.XXXXXX, tmp, removed on
# exit, and in it debroot, where packages are unpacked, and root, the
# image's tree.
l2_workdir() {
	apt_knows "$2"
	if [ -z "$release" ]; then
		release=$(cloud_release) || die "cannot tell the cloud kernel's release (give --kernel-release)"
	fi
	use_cache "${cache:-$(dirname "$out")/debs}"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nv-$1.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	debroot=$tmp/debs root=$tmp/root
	mkdir -p "$debroot" "$root"
}

# l2_kernel_modules PATTERN...: the members of the kernel package of
# $release (kernel_deb) that match the tar wildcards PATTERN..., extracted
# into $debroot; sets kmods to their lib/modules/$release.
l2_kernel_modules() {
	local kdeb
	kdeb=$(kernel_deb "$release")
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$debroot" --wildcards "$@" ||
		die "cannot extract the modules of $kdeb"
	kmods=$debroot/lib/modules/$release
	[ -d "$kmods/kernel" ] || die "$kdeb has no lib/modules/$release"
}

# l2_skeleton ROOT BUSYBOX: the directories of an L2 initramfs in ROOT
# (lib/modules for add_modules) and BUSYBOX with its applet links.
l2_skeleton() {
	mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,usr/libexec/nestvisor,dev,proc,sys,run,tmp,etc,root,newroot}
	mkdir -p "$1/lib/modules"
	applets "$2" "$1"
}

# l2_base SRC ROOT: what every L2 initramfs has from tests/l2 (SRC) and
# besides its programs: SRC/init as ROOT/init, SRC/outb.c built as
# usr/libexec/nestvisor/outb, root in etc/passwd and etc/group, and, built
# as root, dev/console.
l2_base() {
	install -m 0755 "$1/init" "$2/init"
	build_outb "$1/outb.c" "$2/usr/libexec/nestvisor/outb"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$2/etc/passwd"
	printf 'root:x:0:\n' >"$2/etc/group"
	# The kernel opens /dev/console for /init before /init can mount
	# devtmpfs; without root, /init mounts devtmpfs first.
	if [ "$(id -u)" -eq 0 ]; then
		mknod -m 0600 "$2/dev/console" c 5 1
	fi
}

# --- reproducible archives -------------------------------------------------

# normalize_tree ROOT [STICKY...]: reproducible metadata for the tree ROOT:
# modes from the executable bit only (directories and executables 0755,
# other files 0644), 1777 for each directory STICKY, every time @0.
normalize_tree() {
	local root=$1
	shift
	find "$root" -type d -exec chmod 0755 {} +
	find "$root" -type f -perm /u+x -exec chmod 0755 {} +
	find "$root" -type f ! -perm /u+x -exec chmod 0644 {} +
	[ $# -eq 0 ] || chmod 1777 "$@"
	find "$root" -exec touch -h -d @0 {} +
}

# pack_cpio ROOT OUT ZSTD-OPTION...: ROOT as a newc cpio archive, names
# sorted, owned by root, compressed by zstd -q ZSTD-OPTION... (zstd stores
# no name or time; give -T, its output depends on the worker count) into
# OUT, through OUT.tmp.
pack_cpio() {
	local root=$1 out=$2
	shift 2
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner root:root --reproducible --quiet) |
		zstd -q "$@" >"$out.tmp"
	mv "$out.tmp" "$out"
}
