#!/usr/bin/env bash
# Every public function has a contract: each GKV_EXTERN declaration in
# include/**/*.h sits right under a /** ... */ block (a run of consecutive
# declarations may share one), and a function returning int names its
# errors there (some GKV_E_* code) unless the block says it cannot fail.
# Then, on copies of the headers, the check is shown to refuse a removed
# comment and a comment that names no error, naming the function.
# Usage: check.sh SOURCE_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/gitkv-headers.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0

# check_headers INCLUDE_DIR: print "FILE:LINE: NAME: problem" for each
# problem and "checked N" last; exit 1 if any problem.
check_headers() {
	find "$1" -name '*.h' | sort | xargs awk '
	function finish(   name, rest) {
		rest = decl
		sub(/\(.*/, "", rest)
		name = rest
		sub(/.*[^A-Za-z0-9_]/, "", name)
		checked++
		if (dblock == "") {
			printf "%s:%d: %s: no /** */ comment right above it\n", dfile, dline, name
			bad++
		} else if (decl ~ /^GKV_EXTERN[ \t]+int[ \t]/ && dblock !~ /GKV_E_/ &&
			   tolower(dblock) !~ /cannot fail/) {
			printf "%s:%d: %s: returns int but its comment names no GKV_E_ error " \
			    "and does not say it cannot fail\n", dfile, dline, name
			bad++
		}
		run = dblock
		indecl = 0
		prev = "decl"
	}
	FNR == 1 { incomment = 0; indecl = 0; prev = "start"; run = ""; block = "" }
	{
		line = $0
		if (incomment) {
			block = block "\n" line
			if (line ~ /\*\//) { incomment = 0; prev = isdoc ? "doc" : "comment" }
			next
		}
		if (indecl) {
			decl = decl " " line
			if (line ~ /;/) finish()
			next
		}
		if (line ~ /^[ \t]*\/\*/) {
			block = line
			isdoc = line ~ /^[ \t]*\/\*\*/
			rest = line
			sub(/^[ \t]*\/\*/, "", rest)
			if (rest ~ /\*\//) prev = isdoc ? "doc" : "comment"
			else incomment = 1
			next
		}
		if (line ~ /^[ \t]*$/) { prev = "blank"; next }
		if (line ~ /^GKV_EXTERN[ \t]/) {
			decl = line; dfile = FILENAME; dline = FNR
			if (prev == "doc") dblock = block
			else if (prev == "decl") dblock = run
			else dblock = ""
			indecl = 1
			if (line ~ /;/) finish()
			next
		}
		prev = "code"
	}
	END {
		printf "checked %d\n", checked
		exit bad > 0
	}'
}

# The headers as they are pass, and every GKV_EXTERN line was checked.
out=$(check_headers "$src/include")
rc=$?
checked=$(sed -n 's/^checked //p' <<<"$out")
want=$(cat $(find "$src/include" -name '*.h') | grep -c '^GKV_EXTERN[[:space:]]')
if [ $rc -ne 0 ]; then
	echo "public functions without a complete contract comment:"
	grep -v '^checked ' <<<"$out"
	fail=1
fi
if [ "$checked" != "$want" ]; then
	echo "checked $checked declarations, but the headers hold $want GKV_EXTERN lines"
	fail=1
fi

# A copy of the headers where edit_FN changed FILE around FUNCTION must
# be refused, naming FUNCTION.
expect_refused() { # FILE FUNCTION EDIT WHY
	local copy="$work/include" at
	rm -rf "$copy"
	cp -r "$src/include" "$copy"
	at=$(grep -n "^GKV_EXTERN.*[ *]$2(" "$copy/$1" | head -1 | cut -d: -f1)
	if [ -z "$at" ]; then
		echo "self-test: $2 is not declared in $1"
		fail=1
		return
	fi
	"$3" "$copy/$1" "$at"
	if out=$(check_headers "$copy"); then
		echo "not refused: $4 ($1: $2)"
		fail=1
	elif ! grep -q ": $2: " <<<"$out"; then
		echo "refused without naming $2: $out"
		fail=1
	fi
}

# The line range of the comment block ending right above line AT.
block_above() { # FILE AT -> "START END"
	awk -v at="$2" 'NR < at && /^[ \t]*\/\*\*/ { s = NR } NR == at - 1 { print s, NR; exit }' "$1"
}
remove_comment() { # FILE AT
	local r
	r=$(block_above "$1" "$2")
	sed -i "${r% *},${r#* }d" "$1"
}
unname_errors() { # FILE AT
	local r
	r=$(block_above "$1" "$2")
	sed -i "${r% *},${r#* }s/GKV_E_/GKV-E-/g" "$1"
}
blank_line_between() { # FILE AT
	sed -i "$2i\\
" "$1"
}

expect_refused gitkv.h gkv_repo_open remove_comment "a function without its comment"
expect_refused gitkv.h gkv_branch_delete unname_errors "an int function whose comment names no error"
expect_refused gitkv.h gkv_commit_lookup blank_line_between "a comment separated from its function"
expect_refused gitkv/backends.h gkv_backend_lmdb_open remove_comment "a backend constructor without its comment"

[ $fail -eq 0 ] && echo "headers: $checked declarations checked, each with its contract"
exit $fail
