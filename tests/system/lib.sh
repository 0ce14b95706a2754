# lib.sh: result helpers for nestvisor's test scripts (source it).
# Every check adds exactly one line to the results file, and echoes it:
#   PASS <tier>/<name>
#   FAIL <tier>/<name>: <reason>
#   SKIP <tier>/<name>: <why>
# Call results_init FILE first (it empties FILE: one script, one file); NAME
# is "<tier>/<name>".

NV_RESULTS=

results_init() { # FILE
	NV_RESULTS=$1
	mkdir -p "$(dirname "$NV_RESULTS")"
	: >"$NV_RESULTS"
}

nv_result() { # LINE
	[ -n "$NV_RESULTS" ] || { echo "lib.sh: results_init not called" >&2; return 1; }
	echo "$1" | tee -a "$NV_RESULTS"
}

pass() { # NAME
	nv_result "PASS $1"
}

fail() { # NAME REASON
	nv_result "FAIL $1: ${2:-failed}"
}

skip() { # NAME WHY
	nv_result "SKIP $1: ${2:-skipped}"
}

# One result: PASS if a line of LOG matches the extended regex REGEX.
expect_log() { # LOG REGEX NAME
	if [ ! -f "$1" ]; then
		fail "$3" "no log $1"
	elif grep -aqE -- "$2" "$1"; then
		pass "$3"
	else
		fail "$3" "no line matching /$2/ in $1"
	fi
}

# One result: PASS if LOG has the line TEXT, exactly.
expect_line() { # LOG TEXT NAME
	if [ ! -f "$1" ]; then
		fail "$3" "no log $1"
	elif grep -aqxF -- "$2" "$1"; then
		pass "$3"
	else
		fail "$3" "no line '$2' in $1"
	fi
}

# One result: PASS if no line of LOG matches REGEX (quotes the first that does).
expect_no_log() { # LOG REGEX NAME
	local hit
	if [ ! -f "$1" ]; then
		fail "$3" "no log $1"
	elif hit=$(grep -aE -m 1 -- "$2" "$1"); then
		fail "$3" "unexpected line in $1: $(echo "$hit" | tr -d '\r' | cut -c 1-160)"
	else
		pass "$3"
	fi
}

# Returns 0 if every FILE exists; otherwise one FAIL line for NAME naming the
# missing inputs, and 1.
need_inputs() { # NAME FILE...
	local name=$1 missing=() f
	shift
	for f in "$@"; do [ -f "$f" ] || missing+=("$f"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	fail "$name" "missing input: ${missing[*]}"
	return 1
}

# Exit status for a tier script: 1 if its results file has a FAIL line.
results_status() {
	! grep -q '^FAIL ' "$NV_RESULTS"
}

# One result for a run the monitor should have ended with status 0 and no
# panic; run_rc and run_line are the caller's last tools/run.sh status and
# final line.
check_end() { # NAME LOG
	local fatal
	fatal=$(grep -a -m 1 '\[nestvisor\] FATAL' "$2" | tr -d '\r')
	if [ -n "$fatal" ]; then
		fail "$1" "$fatal"
	elif [ "${run_rc:-1}" -eq 0 ] && grep -aq '\[nestvisor\] run ended: status 0' "$2"; then
		pass "$1"
	else
		fail "$1" "${run_line:-no run} (log: $2)"
	fi
}
