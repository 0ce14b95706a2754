#!/bin/sh
# Checks the exit layering in the monitor's objects (docs/monitor.md, "Where
# exit code lives"): guest-state accessors (guest_state.o) -> nested/ -> the
# exit dispatch (exit.o). Nothing in nested/ calls a function exit.o
# defines; the accessors call nothing in exit.o, the exit handlers or nested/.
# Usage: check-layering.sh OBJDIR (the monitor's object tree, build/mon).
set -eu
dir=$1/arch/x86_64

defined() { nm -g --defined-only "$@" | awk 'NF == 3 {print $3}' | sort -u; }
used() { nm -u "$@" | awk 'NF == 2 {print $2}' | sort -u; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
defined "$dir/exit.o" >"$tmp/dispatch"
# The handlers (exit_reason.o is a decoder both layers use, not one).
handlers="exit_cpuid exit_cr exit_misc exit_msr guest_mem"
defined "$dir/exit.o" $(for h in $handlers; do echo "$dir/$h.o"; done) "$dir"/nested/*.o >"$tmp/above"
fail=0
for o in "$dir"/nested/*.o; do
	bad=$(used "$o" | comm -12 - "$tmp/dispatch" | tr '\n' ' ')
	if [ -n "$bad" ]; then
		echo "check-layering: ${o#"$1"/} calls the exit dispatch: $bad" >&2
		fail=1
	fi
done
bad=$(used "$dir/guest_state.o" | comm -12 - "$tmp/above" | tr '\n' ' ')
if [ -n "$bad" ]; then
	echo "check-layering: arch/x86_64/guest_state.o calls a layer above it: $bad" >&2
	fail=1
fi
exit $fail
