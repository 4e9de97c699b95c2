#!/usr/bin/env bash
# Install gitkv into a scratch DESTDIR and build examples/hello.c against it
# the way a user would, with pkg-config, against the shared and the static
# library; then run both, and check the man page renders.
# Usage: check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
dest=$(mktemp -d /tmp/gitkv-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --quiet >/dev/null
pc=$(dirname "$(find "$dest" -name gitkv.pc | head -n 1)")
# The .pc file names the real prefix; the sysroot puts it under DESTDIR.
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs gitkv)
static=$(pkg-config --static --cflags --libs gitkv)
libdir=$(pkg-config --variable=libdir gitkv) # the sysroot is already in it

cc -o "$dest/hello" "$src/examples/hello.c" $flags
cc -o "$dest/hello-static" "$src/examples/hello.c" -Wl,-Bstatic -lgitkv -Wl,-Bdynamic $static
out=$(LD_LIBRARY_PATH="$libdir" "$dest/hello" "lmdb:$dest/store")
case "$out" in "hello, world (commit "*) ;; *) echo "hello printed: $out"; exit 1 ;; esac
"$dest/hello-static" mem: | grep -q "^hello, world"
# The split headers as installed: a backend author's wrapper over a
# built-in backend, opened through gitkv/backends.h, its buffers from the
# library's allocator.
cat >"$dest/wrap.c" <<'C'
#include <gitkv.h>
#include <gitkv/backends.h>
#include <gitkv/sys/backend.h>
#include <stdio.h>
#include <string.h>

static int wrap_default_branch(char **out, gkv_backend *b)
{
	(void)b;
	if (!(*out = gkv_backend_data_alloc(sizeof("trunk"))))
		return GKV_E_NOMEM;
	memcpy(*out, "trunk", sizeof("trunk"));
	return 0;
}

int main(void)
{
	gkv_backend *b;
	gkv_repo *repo;

	if (gkv_backend_mem_new(&b) < 0)
		return 1;
	b->default_branch = wrap_default_branch;
	if (gkv_repo_open_backend(&repo, b, NULL) < 0)
		return 1;
	printf("%s\n", gkv_repo_default_branch(repo));
	gkv_repo_free(repo);
	return 0;
}
C
cc -Wall -Werror -o "$dest/wrap" "$dest/wrap.c" $flags
[ "$(LD_LIBRARY_PATH="$libdir" "$dest/wrap")" = trunk ] || { echo "wrap did not open its backend"; exit 1; }
kvctl_bin=$(find "$dest" -name kvctl -type f | head -n 1)
test -x "$kvctl_bin"
# canopy (examples/canopy), when built, is installed beside kvctl.
if [ -x "$build/examples/canopy/canopy" ]; then
	"$(dirname "$kvctl_bin")/canopy" --help | grep -q -- --hook-secret
fi
man_page=$(find "$dest" -name kvctl.1 | head -n 1)
groff -man -Tutf8 -ww "$man_page" >/dev/null
echo "install check: ok"
