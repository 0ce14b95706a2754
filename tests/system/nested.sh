#!/bin/bash
# nested.sh BUILD OUT: the nested tier. The L1-hypervisor test guests on
# Bochs, twice: on bare Bochs (the guest is \EFI\BOOT\BOOTX64.EFI and uses
# Bochs's own VMX: the oracle) and as nestvisor's guest (its VMX
# instructions emulated by the monitor). Results:
#   nested/bare/<check>, nested/nestvisor/<check>   vmxtest's verdicts
#   nested/same-as-hardware    both runs gave the same checks, same outcomes
#   nested/nestvisor/run-ended the monitor ended the run with status 0
#   nested/fuzz-bare/<check>   vmxfuzz's instruction fuzz on bare Bochs
#   nested/fuzz/<check>        vmxfuzz under nestvisor (FAIL reasons carry
#                              the seed; the survival line has it in its name)
# Result lines go to OUT (tests/system/lib.sh); logs to BUILD/test-logs/nested/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

build=${1:?usage: tests/system/nested.sh BUILD OUT}
results_init "${2:?usage: tests/system/nested.sh BUILD OUT}"
logs=$build/test-logs/nested
mkdir -p "$logs"

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
vmxtest=$build/guests/vmxtest.efi
vmxfuzz=$build/guests/vmxfuzz.efi
seed= # vmxfuzz's seed of the run being relayed

# boot NAME TIMEOUT MKIMAGE-ARGS...: build NAME.img, run it on Bochs; sets
# run_rc and run_line; the serial log is NAME.log.
boot() {
	local name=$1 timeout=$2
	shift 2
	if ! "$top/tools/mkimage.sh" --out "$logs/$name.img" "$@" \
		>"$logs/$name.mkimage" 2>&1; then
		run_rc=2 run_line="mkimage.sh failed: $(tail -n 1 "$logs/$name.mkimage")"
		return 1
	fi
	echo "nested.sh: booting $name on Bochs (up to $timeout s)"
	"$top/tools/run.sh" --emulator bochs --image "$logs/$name.img" \
		--timeout "$timeout" --log "$logs/$name.log" >"$logs/$name.run" 2>&1
	run_rc=$?
	run_line=$(tail -n 1 "$logs/$name.run")
	echo "$run_line"
	rm -f "$logs/$name.img"
}

# The guest's own lines "<prog>: PASS|FAIL|SKIP ...", each once (a line may
# reach the log twice, through the firmware console and the UART).
guest_lines() { # PROG LOG
	grep -aoE "$1: (PASS|FAIL|SKIP) .*" "$2" | tr -d '\r' | awk '!seen[$0]++'
}

# Where bare Bochs departs from the SDM (docs/testing-nested.md, "Bochs
# departures"): check name, then the FAIL text Bochs produces. On bare Bochs
# that exact failure is recorded as the SDM's outcome (PASS) for the oracle
# comparison and reported as nested/bare-departs/<check>; any other result
# there fails, so a Bochs that changes is noticed.
bochs_departs() { # CHECK -> the expected FAIL text, or nothing
	case $1 in
	shadow-vmlaunch-vmresume-vmfailinvalid)
		echo 'VMLAUNCH with a shadow VMCS current: expected VMfailInvalid, got VMfailValid(7); VMRESUME with a shadow VMCS current: expected VMfailInvalid, got VMfailValid(5)' ;;
	ead-paging-structure-access-is-write) # EPT A/D: bit 1 without bit 0
		echo 'exit qualification bits 8:0 0xaa, expected 0xab' ;;
	pml-entry-4k-aligned) # PML: the guest-physical address logged with bits 11:0
		echo 'log entry 7: bits 11:0 set' ;;
	pml-paging-structure-dirty-logged) # the same, for the PDE's address
		echo 'log entry 511: bits 11:0 set' ;;
	esac
}

# relay PROG LOG TIER [SUFFIX]: one result per guest verdict; writes
# "name PASS|FAIL" to LOG.outcomes; FAIL if the summary line is missing.
relay() {
	local prog=$1 log=$2 tier=$3 suffix=${4:-} line name known n=0
	: >"$log.outcomes"
	while IFS= read -r line; do
		line=${line#"$prog": }
		name=${line#* }
		name=${name%%: *}
		known=
		[ "$tier" = nested/bare ] && known=$(bochs_departs "$name")
		if [ -n "$known" ]; then
			if [ "$line" = "FAIL $name: $known" ]; then
				pass "nested/bare-departs/$name"
			else
				fail "nested/bare-departs/$name" "bare Bochs no longer departs as recorded: '$line'"
			fi
			echo "$name PASS" >>"$log.outcomes" # the SDM's outcome
			n=$((n + 1))
			continue
		fi
		case $line in
		PASS\ *) name=${line#PASS }
			# vmxfuzz's "survived <count> operations": the seed in the name
			[ "${name#survived }" = "$name" ] || name=survived-seed-${seed:-unknown}
			pass "$tier/$name"
			echo "$name PASS" >>"$log.outcomes" ;;
		FAIL\ *) name=${line#FAIL }; fail "$tier/${name%%: *}" "${name#*: }$suffix"
			echo "${name%%: *} FAIL" >>"$log.outcomes" ;;
		SKIP\ *) name=${line#SKIP }; skip "$tier/${name%%: *}" "${name#*: }" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done < <(guest_lines "$prog" "$log")
	if [ "$n" -eq 0 ]; then
		fail "$tier/report" "no '$prog: PASS|FAIL' line in $log (${run_line:-no run})"
	elif ! grep -aqE "$prog: [0-9]+ passed, [0-9]+ failed" "$log"; then
		fail "$tier/report" "no summary line: $prog stopped after $n checks (last:$(grep -a \
			"$prog: \|FATAL" "$log" | tr -d '\r' | tail -n 1 | cut -c 1-120))"
	fi
}

test_vmxtest() {
	local bare=$logs/vmxtest-bare.log nv=$logs/vmxtest-nestvisor.log diffs
	if need_inputs nested/bare "$vmxtest"; then
		boot vmxtest-bare 300 --loader "$vmxtest" --kernel "$vmxtest" --no-config &&
			relay vmxtest "$bare" nested/bare
	fi
	if need_inputs nested/nestvisor "$vmxtest" "$loader" "$monitor"; then
		if boot vmxtest-nestvisor 400 --loader "$loader" --monitor "$monitor" \
			--kernel "$vmxtest" --debug-exit yes; then
			relay vmxtest "$nv" nested/nestvisor
			check_end nested/nestvisor/run-ended "$nv"
		else
			fail nested/nestvisor "$run_line"
		fi
	fi
	# Hardware is the oracle: same check names, same outcomes.
	if [ ! -s "$bare.outcomes" ] || [ ! -s "$nv.outcomes" ]; then
		fail nested/same-as-hardware "a run reported no checks (bare: $bare, nestvisor: $nv)"
		return
	fi
	diffs=$(diff <(sort "$bare.outcomes") <(sort "$nv.outcomes") |
		sed -n 's/^< \(.*\)/bare: \1/p; s/^> \(.*\)/nestvisor: \1/p' | paste -sd ';' -)
	if [ -z "$diffs" ]; then
		pass nested/same-as-hardware
	else
		fail nested/same-as-hardware "differences: $diffs"
	fi
}

test_vmxfuzz() {
	local bare=$logs/vmxfuzz-bare.log nv=$logs/vmxfuzz-nestvisor.log
	need_inputs nested/fuzz "$vmxfuzz" "$loader" "$monitor" || return
	if boot vmxfuzz-bare 300 --loader "$vmxfuzz" --kernel "$vmxfuzz" --no-config; then
		seed=$(grep -aom1 'vmxfuzz: seed [0-9]*' "$bare" | awk '{print $3}')
		relay vmxfuzz "$bare" nested/fuzz-bare " (seed ${seed:-unknown})"
	fi
	# A new seed each run (replay one with NV_FUZZ_SEED=<n> make test-nested).
	local want=${NV_FUZZ_SEED:-$(( $(date +%s) % 1000000007 + 1 ))}
	echo "nested.sh: vmxfuzz under nestvisor with seed $want"
	if ! boot vmxfuzz-nestvisor 600 --loader "$loader" --monitor "$monitor" \
		--kernel "$vmxfuzz" --debug-exit yes --cmdline "seed=$want"; then
		fail nested/fuzz "$run_line"
		return
	fi
	seed=$(grep -aom1 'vmxfuzz: seed [0-9]*' "$nv" | awk '{print $3}')
	echo "nested.sh: vmxfuzz under nestvisor used seed ${seed:-unknown}"
	relay vmxfuzz "$nv" nested/fuzz " (seed ${seed:-unknown})"
	check_end nested/fuzz/run-ended "$nv"
}

test_vmxtest
test_vmxfuzz
results_status
