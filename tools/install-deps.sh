#!/bin/bash
# install-deps.sh: install the Debian packages nestvisor's build and tests
# use, only those that are missing. Needs root (or sudo) only if something
# is missing.
set -euo pipefail

case ${1:-} in
--help|-h)
	echo "Usage: tools/install-deps.sh"
	echo "Installs the missing Debian packages the build and the tests need"
	echo "(apt-get update first, only when something is missing)."
	exit 0 ;;
"") ;;
*) echo "install-deps.sh: unknown argument: $1" >&2; exit 2 ;;
esac

pkgs=(
	gcc make binutils libc6-dev        # host tools, static L1 programs
	gnu-efi nasm                       # loader, monitor, test guests
	qemu-system-x86 ovmf               # QEMU tier, UEFI firmware
	bochs bochsbios vgabios bochs-term # the VT-x machine
	mtools dosfstools                  # FAT32 images
	cpio busybox-static gzip           # L1 initramfs
	libcmocka-dev                      # unit tests
	clang libclang-rt-14-dev           # fuzz tier: libFuzzer, ASan, UBSan runtimes
	xz-utils zstd                      # kernel modules may be compressed
	bsdutils coreutils procps          # script, timeout, ps
	curl                               # l2img tier: the L2 container's page
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

echo "install-deps.sh: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo)
	else
		echo "install-deps.sh: not root: rerun as root (or with sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
else
	sudo=()
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
