#!/usr/bin/env bash
# Check that every source file includes only what its layer may see:
#
#   util/      the public headers (include/) and util/
#   backends/  include/, util/, backends/*.h and its own folder -- never
#              store/, and never another backend's folder
#   store/     include/, util/ and store/
#   sync/      include/, util/ and sync/
#   cli/       include/ and cli/ (the public API only)
#   examples/  include/ and the example's own folder (the public API only;
#              an example's tests/ folder is a test, not a layer)
#
# The build gives each layer only its own include paths, so that
# `#include "tree.h"` from a backend does not compile; this check catches
# what include paths cannot: a relative `#include "../../store/tree.h"`.
# Each quoted include is resolved as the compiler would (the file's own
# folder, then the layer's include paths) and the file it names must lie
# in a folder the layer may see. <lmdb.h> belongs to backends/lmdb alone.
#
# Usage: scripts/check-layers.sh [SOURCE_ROOT]   (exit 1 on any violation)
set -uo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$root" || exit 2

bad=0
checked=0
complain() { # FILE LINE MESSAGE
	printf '%s:%s: %s\n' "$1" "$2" "$3" >&2
	bad=$((bad + 1))
}

# The include paths of a layer (besides the including file's own folder).
search_paths() {
	case $1 in
	util) echo "include util" ;;
	backends) echo "include util" ;;
	store) echo "include util store" ;;
	sync) echo "include util sync" ;;
	cli) echo "include" ;;
	examples) echo "include" ;;
	esac
}

# May a file of layer L, in folder DIR, include the file at path P (relative
# to the root, normalised)?
allowed() { # LAYER DIR P
	local layer=$1 dir=$2 p=$3
	case $p in include/*) return 0 ;; esac
	case $layer in
	util) case $p in util/*) return 0 ;; esac ;;
	store) case $p in util/* | store/*) return 0 ;; esac ;;
	sync) case $p in util/* | sync/*) return 0 ;; esac ;;
	cli) case $p in cli/*) return 0 ;; esac ;;
	examples) [[ $dir != examples && $p == "$dir"/* ]] && return 0 ;;
	backends)
		case $p in util/*) return 0 ;; esac
		# backends/x.h (shared by the built-in backends), or the file's
		# own backend folder
		[[ $p == backends/* && $p != backends/*/* ]] && return 0
		[[ $dir != backends && $p == "$dir"/* ]] && return 0
		;;
	esac
	return 1
}

for layer in util backends store sync cli examples; do
	[ -d "$layer" ] || continue
	paths=$(search_paths "$layer")
	while IFS= read -r -d '' f; do
		checked=$((checked + 1))
		dir=$(dirname "$f")
		while IFS=: read -r line text; do
			name=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
			if [ -z "$name" ]; then
				if [[ $text =~ \<lmdb\.h\> && $dir != backends/lmdb ]]; then
					complain "$f" "$line" "<lmdb.h> outside backends/lmdb"
				fi
				continue
			fi
			resolved=
			for base in "$dir" $paths; do
				if [ -f "$base/$name" ]; then
					resolved=$(realpath -m --relative-to="$root" "$base/$name")
					break
				fi
			done
			if [ -z "$resolved" ]; then
				complain "$f" "$line" "\"$name\" is not found on the $layer layer's include paths"
			elif [[ $resolved == ../* ]] || ! allowed "$layer" "$dir" "$resolved"; then
				complain "$f" "$line" "the $layer layer may not include $resolved"
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f")
	done < <(find "$layer" -name '*.[ch]' -not -path 'examples/*/tests/*' -print0 | sort -z)
done

if [ "$bad" -ne 0 ]; then
	echo "check-layers: $bad include(s) cross a layer ($checked files checked)" >&2
	exit 1
fi
echo "check-layers: ok ($checked files checked)"
