#!/usr/bin/env bash
# The layering rules hold, and their check (scripts/check-layers.sh) and
# the build's include paths refuse each way of breaking them.
# Usage: check.sh SOURCE_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/gitkv-layers.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0

# The tree as it is passes.
if ! out=$("$src/scripts/check-layers.sh" "$src" 2>&1); then
	echo "the source tree breaks the layers:"
	echo "$out"
	exit 1
fi

# A copy with one bad include added to FILE must fail, naming FILE.
expect_refused() { # FILE LINE-TO-ADD WHY
	local copy="$work/tree"
	rm -rf "$copy"
	mkdir -p "$copy"
	cp -r "$src/include" "$src/util" "$src/store" "$src/backends" "$src/cli" "$src/scripts" "$copy/"
	[ -d "$src/sync" ] && cp -r "$src/sync" "$copy/"
	printf '%s\n' "$2" >>"$copy/$1"
	if out=$("$copy/scripts/check-layers.sh" "$copy" 2>&1); then
		echo "not refused: $3 ($1: $2)"
		fail=1
	elif ! grep -q "^$1:" <<<"$out"; then
		echo "refused without naming $1: $out"
		fail=1
	fi
}

expect_refused backends/mem/mem.c '#include "../../store/tree.h"' "a backend reaching a core header by a relative path"
expect_refused backends/lmdb/lmdb.c '#include "repo.h"' "a backend naming a core header"
expect_refused backends/git/git_odb.c '#include "../lmdb/env.h"' "a backend reaching another backend's internals"
expect_refused backends/backend_util.h '#include "../store/common.h"' "the backends' shared header reaching the core"
expect_refused util/arena.c '#include "../store/repo.h"' "util/ reaching the core"
expect_refused util/slab.c '#include "../backends/backend_util.h"' "util/ reaching the backends"
expect_refused store/tree.c '#include "../backends/lmdb/env.h"' "the core reaching a backend's internals"
expect_refused store/repo.c '#include <lmdb.h>' "the core using LMDB directly"
expect_refused cli/kvctl.c '#include "../store/tree.h"' "the CLI reaching the core"

# The build's include paths refuse a core header by name in a backend:
# compile a backend file as the build does (include/ and util/ only).
cc=${CC:-cc}
if printf '#include "tree.h"\n' | cat - "$src/backends/mem/mem.c" |
	"$cc" -fsyntax-only -x c -I"$src/include" -I"$src/util" -I"$src/backends/mem" - 2>/dev/null; then
	echo "a backend including tree.h compiled with the backends' include paths"
	fail=1
fi
if ! "$cc" -fsyntax-only -I"$src/include" -I"$src/util" "$src/backends/mem/mem.c" 2>/dev/null; then
	echo "backends/mem/mem.c does not compile with the backends' include paths alone"
	fail=1
fi

[ $fail -eq 0 ] && echo "layers: ok"
exit $fail
