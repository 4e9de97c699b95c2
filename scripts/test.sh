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
count() { # DIR: add that build's results to the totals
	local f="$1/meson-logs/testlog.json" p q
	[ -f "$f" ] || return 0
	p=$(/usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(1 for t in r if t["result"] in ("OK","EXPECTEDFAIL","SKIP")))' "$f")
	q=$(/usr/bin/python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sum(1 for t in r if t["result"] not in ("OK","EXPECTEDFAIL","SKIP")))' "$f")
	pass=$((pass + p))
	fail=$((fail + q))
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
	meson test -C "$dir" --num-processes 2 --print-errorlogs || status=1
	count "$dir"
}

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

echo
echo "tests: $pass passed, $fail failed"
exit $status
