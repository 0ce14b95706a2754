#!/bin/sh
# Checks that the monitor ELF is what the loader can load: a PIE (ET_DYN)
# whose only dynamic relocations are R_X86_64_RELATIVE.
set -eu
elf=$1
if ! readelf -h "$elf" | grep -q 'DYN'; then
	echo "check-monitor-elf: $elf is not a position-independent executable" >&2
	exit 1
fi
bad=$(readelf -rW "$elf" | awk '/^[0-9a-f]+ / && $3 != "R_X86_64_RELATIVE" {print $3}' | sort -u)
if [ -n "$bad" ]; then
	echo "check-monitor-elf: $elf has relocations the loader does not apply: $bad" >&2
	exit 1
fi
