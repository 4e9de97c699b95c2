#!/usr/bin/env bash
# Set everything up and run every test: once in a normal build (warnings
# are errors), once under AddressSanitizer + UndefinedBehaviorSanitizer
# (leaks included). Ends with one line: "tests: N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh" || exit 1

pass=0
fail=0
status=0
count() { # LOG: add the summary meson test printed to the totals
	local ok bad
	ok=$(awk '/^Ok:/ {s += $2} /^Expected Fail:/ {s += $3} /^Skipped:/ {s += $2} END {print s + 0}' "$1")
	bad=$(awk '/^Fail:/ {s += $2} /^Unexpected Pass:/ {s += $3} /^Timeout:/ {s += $2} END {print s + 0}' "$1")
	pass=$((pass + ok))
	fail=$((fail + bad))
}

run_suite() { # DIR, meson options...
	local dir=$1
	shift
	echo "== build $dir $*"
	if ! scripts/build.sh "$dir" -Dwerror=true "$@"; then
		echo "build of $dir failed"
		status=1
		fail=$((fail + 1))
		return
	fi
	echo "== test $dir"
	local log
	log=$(mktemp)
	meson test -C "$dir" --num-processes 2 --print-errorlogs 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	count "$log"
	rm -f "$log"
}

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

echo
echo "tests: $pass passed, $fail failed"
exit $status
