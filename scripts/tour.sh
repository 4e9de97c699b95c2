#!/usr/bin/env bash
# Set everything up and take a short tour of kvctl on the default store
# (./.gitkv, an LMDB store made by the first write), in a scratch folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" build
kvctl="$top/build/cli/kvctl"
work=$(mktemp -d /tmp/gitkv-tour.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

run() { printf '\n$ kvctl %s\n' "$*"; "$kvctl" "$@"; }
export GITKV_AUTHOR_NAME="Tour Guide" GITKV_AUTHOR_EMAIL="guide@example.com"

run init
run set posts/2016/marrakech.md "# Marrakech" -m "first post"
printf 'Notes from the road.\n' | "$kvctl" set posts/2016/notes.md -m "notes from stdin"
echo '$ printf ... | kvctl set posts/2016/notes.md -m "notes from stdin"'
run set about.md "About this blog"
run list
run list posts/2016
run tree
run get posts/2016/marrakech.md; echo
run branch create draft
run --branch draft set posts/2016/draft.md "unfinished"
run branch
run --branch draft tree
run merge draft -m "publish the draft"
run tree
run log
run --json list posts/2016
run snapshot
printf '\nThe store is ./.gitkv (LMDB); every change above is a git commit.\n'
