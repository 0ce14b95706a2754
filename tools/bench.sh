#!/bin/bash
# bench.sh BUILD: nestvisor's benchmarks (docs/benchmarks.md). Runs the
# vmxbench guest on Bochs twice over: on bare Bochs (the guest is
# BOOTX64.EFI and uses Bochs's own VMX) and as L1 on nestvisor, each run
# done twice to show the numbers are deterministic; then, if the Linux
# inputs exist, the kvm-l1 image (Linux as L1 runs KVM and an L2) for its
# exit statistics. Prints a table and writes it to BUILD/bench.txt; logs
# in BUILD/bench/.
# Then the container L2 (docs/l2-chains.md): L1 runs it with QEMU, on bare
# Bochs and on nestvisor, for L2's boot time on L1's clock.
# Then Linux/KVM as L1's hypervisor in three columns, each run twice: the
# same timed L2 (kvmtest --bench, tests/l1/kvmtest_bench.c) under KVM on
# bare Bochs (single level), under an L1 KVM whose L0 is KVM (the l3 image,
# nestvisor.test=l3-bench), and under L1's KVM on nestvisor.
#   NV_BENCH_LINUX=0   skip the Linux run (about 40 s)
#   NV_BENCH_KVM=0     skip the three KVM columns (about 15 min)
#   NV_BENCH_L2=0      skip the container-L2 runs (about 5 min)
#   NV_BENCH_REPEAT=0  run each vmxbench image once
#   NV_BENCH_LABEL=..  the table's header names this instead of the commit
#                      (for a BUILD whose monitor comes from another tree)
# bench.sh --report LOGDIR TABLE: no run; the table from the logs of an
# earlier run in LOGDIR (bare.log, nestvisor.log, and where present their
# -2 repeats, linux.log, l2-bare.log, l2-nestvisor.log) into TABLE. make
# test runs it on the recorded logs of tests/bench/ (tests/system/bench-report.sh).
# The report is POSIX awk: Debian's default awk is mawk.
# Exit status 0 if every vmxbench run finished without a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

usage="usage: tools/bench.sh BUILD | tools/bench.sh --report LOGDIR TABLE"
# Every boot starts from the same wall-clock time (tools/run.sh): with the
# host's time, Linux's runs differ by a few instructions per thousand from
# boot to boot; with a fixed one they repeat exactly.
export NV_BOCHS_TIME0=${NV_BOCHS_TIME0:-1764633600}
report_only=0
if [ "${1:-}" = --report ]; then
	report_only=1
	out=${2:?$usage} table=${3:?$usage}
	build=
else
	build=${1:?$usage}
	out=$build/bench
	table=$build/bench.txt
	mkdir -p "$out"
fi

loader=$build/BOOTX64.efi
monitor=$build/nestvisor.elf
bench=$build/guests/vmxbench.efi
kernel=$build/linux/vmlinuz
initrd=$build/linux/initrd.img
initrd_l2=$build/linux/initrd-l2.img
initrd_l3=$build/linux/initrd-l3.img

[ $report_only = 1 ] || for f in "$loader" "$monitor" "$bench"; do
	[ -f "$f" ] || { echo "bench.sh: missing $f (make bench builds it)" >&2; exit 2; }
done

# boot NAME TIMEOUT STOP MKIMAGE-ARGS...: NAME.img on Bochs, log NAME.log.
boot() {
	local name=$1 timeout=$2 stop=$3
	shift 3
	if ! "$top/tools/mkimage.sh" --out "$out/$name.img" "$@" >"$out/$name.mkimage" 2>&1; then
		echo "bench.sh: mkimage.sh failed for $name: $(tail -n 1 "$out/$name.mkimage")"
		return 1
	fi
	"$top/tools/run.sh" --emulator bochs --image "$out/$name.img" --timeout "$timeout" \
		--log "$out/$name.log" ${stop:+--stop-on "$stop"} >"$out/$name.run" 2>&1
	# Bare Bochs ends when the guest writes "Shutdown" to port 0x8900:
	# run.sh sees no run-ended status there, which is expected.
	echo "bench.sh: $name: $(tail -n 1 "$out/$name.run")$(lines "$out/$name.log" |
		grep -m 1 '^vmxbench: done' | sed 's/^vmxbench: /; vmxbench /')"
	rm -f "$out/$name.img"
}

boot_bare() { # NAME
	boot "$1" 300 '' --loader "$bench" --kernel "$bench" --no-config
}
boot_nestvisor() { # NAME
	boot "$1" 600 '' --loader "$loader" --monitor "$monitor" --kernel "$bench" \
		--debug-exit yes
}
boot_linux() {
	boot linux 600 'Kernel panic - not syncing|\[nestvisor-boot\] FATAL' \
		--loader "$loader" --monitor "$monitor" --kernel "$kernel" --initrd "$initrd" \
		--cmdline "console=ttyS0,115200 nestvisor.test=kvm" --debug-exit yes \
		--on-no-vmx stop --nested yes
}

# The container L2 through QEMU in L1, with (nestvisor) or without (bare)
# the monitor; bare Bochs has nothing on the debug-exit port, so that run
# stops on /init's last line.
boot_l2() { # bare|nestvisor
	local stop='Kernel panic - not syncing|\[nestvisor-boot\] FATAL' args=()
	[ "$1" = bare ] && stop='nestvisor-l1: ending the run with status|Kernel panic'
	[ "$1" = nestvisor ] && args=(--monitor "$monitor" --on-no-vmx stop --nested yes)
	[ "$1" = bare ] && args=(--on-no-vmx native)
	boot "l2-$1" 1500 "$stop" --loader "$loader" --kernel "$kernel" --initrd "$initrd_l2" \
		--cmdline "console=ttyS0,115200 quiet nestvisor.test=l2-qemu" --debug-exit yes "${args[@]}"
}

# kvmtest --bench's L2 under L1's KVM (docs/benchmarks.md, "three
# columns"). Every Linux in these chains runs without address-space
# randomization (nokaslr norandmaps; the l3 image's inner L1 gets them
# from its init): Bochs's RDRAND differs from run to run, and so would
# the kernel's and the processes' layout and with it a few instructions. single (bare Bochs: KVM is the only hypervisor), nestvisor (L1
# on the monitor), kvm-l0 (the l3 image on bare Bochs: its L1's KVM is L0
# for an L1 Linux whose KVM runs the timed L2).
boot_kvm() { # single|nestvisor|kvm-l0 NAME
	local stop='nestvisor-l1: ending the run with status|Kernel panic'
	local ird=$initrd test=kvm-bench args=(--on-no-vmx native)
	case $1 in
	nestvisor)
		stop='Kernel panic - not syncing|\[nestvisor-boot\] FATAL'
		args=(--monitor "$monitor" --on-no-vmx stop --nested yes) ;;
	kvm-l0) ird=$initrd_l3 test="l3-bench nestvisor.l2mem=128" ;;
	esac
	boot "$2" 1800 "$stop" --loader "$loader" --kernel "$kernel" --initrd "$ird" \
		--cmdline "console=ttyS0,115200 quiet nokaslr norandmaps nestvisor.test=$test" \
		--debug-exit yes "${args[@]}"
}

# The guest's lines, each once (the firmware console may repeat them).
lines() { # LOG
	grep -ao 'vmxbench: .*' "$1" 2>/dev/null | tr -d '\r' | awk '!seen[$0]++'
}

run_all() {
	if [ "${NV_BENCH_LINUX:-1}" != 0 ] && [ -f "$kernel" ] && [ -f "$initrd" ]; then
		linux=1
	fi
	echo "bench.sh: running vmxbench on bare Bochs and on nestvisor$([ $linux = 1 ] &&
		echo ", and the Linux kvm-l1 image") (logs: $out)"
	pids=()
	boot_bare bare & pids+=($!)
	boot_nestvisor nestvisor & pids+=($!)
	[ $linux = 1 ] && { boot_linux & pids+=($!); }
	wait "${pids[@]}"
	if [ "${NV_BENCH_L2:-1}" != 0 ] && [ -f "$kernel" ] && [ -f "$initrd_l2" ]; then
		l2=1
		echo "bench.sh: the container L2 through QEMU in L1, on bare Bochs and on nestvisor"
		boot_l2 bare & pids=($!)
		boot_l2 nestvisor & pids+=($!)
		wait "${pids[@]}"
	fi
	if [ "${NV_BENCH_REPEAT:-1}" != 0 ]; then
		repeat=1
		boot_bare bare-2 & pids=($!)
		boot_nestvisor nestvisor-2 & pids+=($!)
		wait "${pids[@]}"
	fi
	if [ "${NV_BENCH_KVM:-1}" != 0 ] && [ -f "$kernel" ] && [ -f "$initrd" ] && [ -f "$initrd_l3" ]; then
		kvm=1
		echo "bench.sh: Linux/KVM as L1's hypervisor: single level, KVM as L0, nestvisor as L0 (each twice)"
		boot_kvm single kvm-single & pids=($!)
		boot_kvm nestvisor kvm-nestvisor & pids+=($!)
		wait "${pids[@]}"
		boot_kvm kvm-l0 kvm-l0 & pids=($!)
		boot_kvm single kvm-single-2 & pids+=($!)
		wait "${pids[@]}"
		boot_kvm kvm-l0 kvm-l0-2 & pids=($!)
		boot_kvm nestvisor kvm-nestvisor-2 & pids+=($!)
		wait "${pids[@]}"
	fi
}

linux=0 l2=0 repeat=0 kvm=0
if [ $report_only = 1 ]; then
	[ -f "$out/kvm-single.log" ] && [ -f "$out/kvm-l0.log" ] && [ -f "$out/kvm-nestvisor.log" ] && kvm=1
	[ -f "$out/linux.log" ] && linux=1
	[ -f "$out/l2-bare.log" ] && [ -f "$out/l2-nestvisor.log" ] && l2=1
	[ -f "$out/bare-2.log" ] && [ -f "$out/nestvisor-2.log" ] && repeat=1
else
	run_all
fi
status=0
for n in bare nestvisor; do
	if ! lines "$out/$n.log" | grep -q '^vmxbench: done, 0 failed'; then
		echo "bench.sh: vmxbench on $n did not finish cleanly:" \
			"$(lines "$out/$n.log" | grep -m 1 FAIL || tail -n 1 "$out/$n.run")"
		status=1
	fi
done

# l2chain's "time:" line for WHAT in LOG: the seconds.
l2_time() { # LOG WHAT
	tr -d '\r' <"$1" 2>/dev/null | grep -a "^nestvisor-l1: time: .*$2 " |
		head -n 1 | sed -n 's/.* \([0-9][0-9]*\.[0-9]*\) s after.*/\1/p'
}
ratio() { # A B: B/A
	[ -n "$1" ] && [ -n "$2" ] || { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx\n", b / a; else print "-" }'
}

# Measurements and exit counts, without the notes: what must repeat.
numbers() { lines "$1" | grep -E '^vmxbench: [a-z0-9-]+ [0-9.]+ cycles|^vmxbench: exits '; }
same=
# Where the differences go: next to the logs, or (--report: the logs may
# be recorded ones, kept in git) in a directory of their own.
diffs=$out
[ $report_only = 1 ] && diffs=$(mktemp -d "${TMPDIR:-/tmp}/nv-bench-diff.XXXXXX")
if [ $repeat = 1 ]; then
	same=yes
	for n in bare nestvisor; do
		if ! diff <(numbers "$out/$n.log") <(numbers "$out/$n-2.log") >"$diffs/$n.diff"; then
			same="NO (see $diffs/$n.diff)"
			status=1
		fi
	done
fi

# kvmtest --bench's lines, each once (L2's console may be copied twice).
kvmlines() { # LOG
	grep -ao 'kvmbench: .*' "$1" 2>/dev/null | tr -d '\r' | awk '!seen[$0]++'
}
kvmnumbers() { kvmlines "$1" | grep -E '^kvmbench: [a-z-]+ [0-9.]+ cycles'; }
# The Linux columns repeat exactly where L2's operation stays in L1's
# kernel (CPUID, RDMSR); where it goes through L1's user space or waits for
# its timer, two boots of the same image differ a little (the source is not
# found yet: the images, Bochs's time0 and the kernels' randomization are
# fixed). The check: the medians of the second boot within 5 % of the
# first, the largest difference in the table's header.
kvm_same=
kvm_worst=0
if [ $kvm = 1 ]; then
	for n in kvm-single kvm-l0 kvm-nestvisor; do
		if ! kvmlines "$out/$n.log" | grep -q '^kvmbench: done, 0 failed'; then
			echo "bench.sh: kvmtest --bench in $n did not finish cleanly:" \
				"$(grep -ao -m 1 'kvmtest: FAIL.*' "$out/$n.log" | tr -d '\r' || tail -n 1 "$out/$n.run")"
			status=1
		fi
		[ -f "$out/$n-2.log" ] || continue
		kvm_same=${kvm_same:-yes}
		diff <(kvmnumbers "$out/$n.log") <(kvmnumbers "$out/$n-2.log") >"$diffs/$n.diff" && continue
		# Largest relative difference of the medians, in percent.
		d=$(paste -d ' ' <(kvmnumbers "$out/$n.log") <(kvmnumbers "$out/$n-2.log") | awk '
			{ a = $3; b = $14; if ($2 != $13 || a <= 0) { print "bad"; exit }
			  r = (a > b ? a - b : b - a) / a * 100; if (r > m) m = r }
			END { if (NR == 0) print "bad"; else printf "%.2f\n", m }')
		if [ "$d" = bad ] || awk -v d="$d" 'BEGIN { exit !(d > 5) }'; then
			kvm_same="NO (see $diffs/$n.diff)"
			status=1
		elif [ "$kvm_same" = yes ] || awk -v d="$d" -v w="$kvm_worst" 'BEGIN { exit !(d > w) }'; then
			kvm_worst=$d
			kvm_same="within $d % (the largest difference of a median: $n)"
		fi
	done
fi

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null | head -c 1)
if [ -n "${NV_BENCH_LABEL:-}" ]; then
	commit=$NV_BENCH_LABEL dirty=
elif [ $report_only = 1 ]; then
	commit="(report only, of the logs in $(basename "$out"))" dirty=
fi

{
	echo "nestvisor benchmarks, commit $commit${dirty:+ (plus uncommitted changes in the tree)}, $(date -u +%Y-%m-%d)"
	echo "Bochs corei7_skylake_x, clock sync=none: a cycle is an emulated instruction (RDTSC in the guest)."
	lines "$out/nestvisor.log" | sed -n 's/^vmxbench: note: \([0-9]*\) operations per batch/\1 operations per batch;/p' |
		tr '\n' ' '
	echo "median cycles per operation over the batches (the minimum in parentheses)."
	[ -n "$same" ] && echo "Second run of each image gave the same numbers: $same"
	echo
	awk '
	FNR == 1 { file++ }
	/^vmxbench: [a-z0-9-]+ [0-9.]+ cycles \(min/ {
		name = $2; med = $3; min = $6; sub(/,$/, "", min)
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
		val[file, name] = med " (" min ")"; num[file, name] = med
	}
	END {
		printf "%-36s %14s %18s %9s\n", "measurement", "bare Bochs", "nestvisor", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			# (POSIX awk: no line break inside ?:, which mawk rejects)
			r = "-"
			if (((1, k) in num) && ((2, k) in num) && num[1, k] > 0)
				r = sprintf("%.1fx", num[2, k] / num[1, k])
			printf "%-36s %14s %18s %9s\n", k, ((1, k) in val) ? val[1, k] : "-",
				((2, k) in val) ? val[2, k] : "-", r
		}
	}' <(lines "$out/bare.log") <(lines "$out/nestvisor.log")
	echo
	echo "L1 exits (each one handled by L0) per L2 exit reflected to L1, from NV_HC_EXIT_STATS:"
	lines "$out/nestvisor.log" | awk '
	/^vmxbench: exits / {
		b = $3; if (!(b in seen)) { seen[b] = 1; order[++n] = b }
		if ($4 ~ /^per-reflected-/) {
			r = $4; sub(/^per-reflected-/, "", r)
			if ($5 != "0.00") by[b] = by[b] " " r " " $5
		}
		else v[b, $4] = $5
	}
	END {
		for (i = 1; i <= n; i++) {
			b = order[i]
			printf "  %-20s %6d L2 exits, %6d reflected to L1", b, v[b, "l2-exits"], v[b, "reflected"]
			if (v[b, "reflected"] > 0)
				printf ", %s L1 exits per reflected exit (%s)", v[b, "l1-exits-per-reflected"], substr(by[b], 2)
			printf "\n"
		}
	}'
	if [ $linux = 1 ]; then
		echo
		echo "Linux as L1 (the kvm-l1 image: kvm-intel, kvmtest runs an L2), monitor's end-of-run statistics:"
		tr -d '\r' <"$out/linux.log" | awk '
		/\[nestvisor\] exit statistics: [0-9]+ exits from L1/ { sect = 1; l1 = $4; next }
		/\[nestvisor\] exit statistics: [0-9]+ exits from L2/ {
			sect = 2; l2 = $4; refl = $8; hand = $12; next
		}
		/\[nestvisor\] run ended/ { sect = 0 }
		sect && /^\[nestvisor\] +[0-9]+ [A-Z_]+ +[0-9]+$/ {
			if (sect == 1) r1 = r1 sprintf(" %s %s", $3, $4); else r2 = r2 sprintf(" %s %s", $3, $4)
		}
		END {
			if (l2 == "") { print "  (no statistics in the log: the run did not end through the monitor)"; exit }
			printf "  %d L2 exits, %d reflected to L1, %d L1 exits while handling them: %.2f per reflected exit\n",
				l2, refl, hand, refl ? hand / refl : 0
			printf "  L2 exits by reason:%s\n", r2
			printf "  L1 exits by reason (whole run, %d):%s\n", l1, r1
		}'
	fi
	if [ $l2 = 1 ]; then
		echo
		echo "The container L2 (Linux 6.1, crun) started by QEMU in L1, seconds on L1's clock"
		echo "(guest seconds: the TSC runs at the CPUID frequency, one tick per instruction):"
		printf "%-36s %14s %18s %9s\n" "L2 boot" "bare Bochs" "nestvisor" "ratio"
		for what in "reached its /init:to init" "container printed its first line:to the container's first line"; do
			key=${what%%:*} label=${what#*:}
			b=$(l2_time "$out/l2-bare.log" "$key") n=$(l2_time "$out/l2-nestvisor.log" "$key")
			printf "%-36s %14s %18s %9s\n" "$label" "${b:--}" "${n:--}" "$(ratio "$b" "$n")"
		done
		echo "  EPT violations L0 handled for L2 (whole run): $(tr -d '\r' <"$out/l2-nestvisor.log" |
			sed -n '/exits from L2/,$p' | awk '$3 == "EPT_VIOLATION" { print $4 }' | head -n 1)"
		echo "  Page faults handled for L2's memory up to the moment (L1's KVM on bare Bochs: its"
		echo "  pf_taken, EPT violations; nestvisor as L0: the L2 exits it handled itself, EPT02 fills):"
		printf "  %-34s %14s %18s %9s\n" "" "L1 KVM, bare" "nestvisor as L0" "ratio"
		for what in "L2's /init:201:to init" "the container's first line:202:to the container's first line"; do
			key=${what%%:*} rest=${what#*:} mark=${rest%%:*} label=${rest#*:}
			b=$(tr -d '\r' <"$out/l2-bare.log" | sed -n "s|^nestvisor-l1: kvm counts at $key: pf_taken \([0-9]*\) .*|\1|p" | head -n 1)
			n=$(tr -d '\r' <"$out/l2-nestvisor.log" |
				sed -n "s/.*stats mark $mark: L1 exits [0-9]*, L2 exits \([0-9]*\), reflected \([0-9]*\),.*/\1 \2/p" |
				head -n 1 | awk '{ print $1 - $2 }')
			printf "  %-34s %14s %18s %9s\n" "$label" "${b:--}" "${n:--}" "$(ratio "$b" "$n")"
		done
	fi
	if [ $kvm = 1 ]; then
		echo
		echo "Linux/KVM as L1's hypervisor: the same L2 (kvmtest --bench) under KVM on bare Bochs"
		echo "(single level), under an L1 KVM whose L0 is KVM (KVM as L0), and under L1's KVM on"
		echo "nestvisor. Ticks per L2 operation, timed in L2 (median of 7 batches, the minimum in"
		echo "parentheses; an emulated instruction per tick at every level; the empty loop subtracted)."
		[ -n "$kvm_same" ] && echo "Second run of each column gave the same numbers: $kvm_same"
		{
			kvmlines "$out/kvm-single.log" | sed 's/^/S /'
			kvmlines "$out/kvm-l0.log" | sed 's/^/K /'
			grep -ao 'nvlaunch: kvm stats mark [0-9]*:[ a-z0-9_-]*' "$out/kvm-l0.log" | sed 's/^/K /'
			kvmlines "$out/kvm-nestvisor.log" | sed 's/^/N /'
			grep -aoE '\[nestvisor\] stats mark [0-9]*: L1 exits [0-9]*, L2 exits [0-9]*, reflected [0-9]*, L1 exits while handling them [0-9]*(, L1D flushes [0-9]*)?' \
				"$out/kvm-nestvisor.log" | sed 's/^/N /'
		} | awk '
		function cell(c, k) { return ((c, k) in val) ? val[c, k] : "-" }
		# The marks before (b, even) and after (a, odd) row k of column t.
		function row_marks(t, k,   key, p) {
			b = ""; a = ""
			for (key in row) {
				split(key, p, SUBSEP)
				if (p[1] == t && row[key] == k) {
					if (p[2] % 2) a = p[2]; else b = p[2]
				}
			}
		}
		function ratio(a, b) {
			if (((a, k) in num) && ((b, k) in num) && num[b, k] > 0)
				return sprintf("%.2fx", num[a, k] / num[b, k])
			return "-"
		}
		$2 == "kvmbench:" && $5 == "cycles" {
			c = $1; k = $3; min = $7; sub(/,$/, "", min)
			if (!(k in seen)) { seen[k] = 1; order[++n] = k }
			val[c, k] = $4 " (" min ")"; num[c, k] = $4; ops[c, k] = $9 * $10
		}
		$2 == "kvmbench:" && $3 == "mark" { row[$1, $4] = $6 }
		$2 == "[nestvisor]" && $4 == "mark" {
			gsub(/[,:]/, "")
			m = $5; l0[$1, m] = $8 + $11; refl[$1, m] = $13; hand[$1, m] = $19
			if (NF >= 22) fl[$1, m] = $22
		}
		$2 == "nvlaunch" && $5 == "mark" || $2 == "nvlaunch:" && $5 == "mark" {
			gsub(/:/, "")
			m = $6
			for (i = 7; i < NF; i += 2) kst[$1, m, $i] = $(i + 1)
			l0[$1, m] = kst[$1, m, "exits"]
			if (kst[$1, m, "l1d_flush"] ~ /^[0-9]+$/) fl[$1, m] = kst[$1, m, "l1d_flush"]
		}
		END {
			printf "%-11s %17s %19s %19s %9s %12s\n", "L2 op", "single level", "KVM as L0",
				"nestvisor as L0", "vs single", "vs KVM as L0"
			for (i = 1; i <= n; i++) {
				k = order[i]
				printf "%-11s %17s %19s %19s %9s %12s\n", k, cell("S", k), cell("K", k), cell("N", k),
					ratio("N", "S"), ratio("N", "K")
			}
			printf "\nL0 exits per L2 operation, from the marks around each row (nestvisor: its\n"
			printf "statistics-mark port; KVM as L0: its debugfs counters, printed by nvlaunch):\n"
			printf "%-22s %14s %16s %24s\n", "L2 operation", "KVM as L0", "nestvisor as L0",
				"nestvisor: L1 exits per"
			printf "%-22s %14s %16s %24s\n", "", "", "", "reflected L2 exit"
			for (i = 1; i <= n; i++) {
				k = order[i]; kc = "-"; nc = "-"; rc = "-"
				for (c = 0; c < 2; c++) {
					t = c ? "N" : "K"
					row_marks(t, k)
					if (b == "" || a == "" || !((t, b) in l0) || !((t, a) in l0) || !((t, k) in ops) || ops[t, k] == 0)
						continue
					e = sprintf("%.2f", (l0[t, a] - l0[t, b]) / ops[t, k])
					if (t == "K") kc = e; else nc = e
					if (t == "N" && refl[t, a] > refl[t, b])
						rc = sprintf("%.2f", (hand[t, a] - hand[t, b]) / (refl[t, a] - refl[t, b]))
				}
				printf "%-22s %14s %16s %24s\n", k, kc, nc, rc
			}
			printf "\nL1D flushes per L2 operation (KVM as L0: its l1d_flush counter; nestvisor: the\n"
			printf "flushes before entries to L2; docs/nested.md, \"The L1D flush\"):\n"
			printf "%-22s %14s %16s\n", "L2 operation", "KVM as L0", "nestvisor as L0"
			for (i = 1; i <= n; i++) {
				k = order[i]; kc = "-"; nc = "-"
				for (c = 0; c < 2; c++) {
					t = c ? "N" : "K"
					row_marks(t, k)
					if (b == "" || a == "" || !((t, b) in fl) || !((t, a) in fl) || ops[t, k] == 0)
						continue
					e = sprintf("%.2f", (fl[t, a] - fl[t, b]) / ops[t, k])
					if (t == "K") kc = e; else nc = e
				}
				printf "%-22s %14s %16s\n", k, kc, nc
			}
		}'
	fi
} >"$table"
cat "$table"
exit $status
