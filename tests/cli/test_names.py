"""kvctl and the names git refuses: a key git would read as `.git` on NTFS
or HFS+ (`d/git~1`, `.git. `, `.git::$INDEX_ALLOCATION`, `.g<U+200C>it`), a
`.gitmodules` used as a directory, a `.gitmodules` whose url or path could
be read as an option, and a path deeper than git's 4096 levels exit 2 with
one `kvctl: ` line naming the input, and change nothing, on every kind of
store. Near misses git accepts are stored, and a git store stays clean
under `git fsck --strict`.
"""

import shutil
import subprocess

import pytest

GIT = shutil.which("git")

REFUSED = [
    "d/git~1",
    "git~1",
    "GIT~1/x",
    ".git ",
    ".git.",
    ".git. . .",
    ".git::$INDEX_ALLOCATION",
    ".git:x/y",
    "a\\.git",
    ".g\u200cit",
    "\ufeff.git",
    ".GI\u206aT/x",
    ".gitmodules/x",
    "d/gitmod~1/x",
    ".gitattributes/x",
]

ACCEPTED = ["git~2", ".gitx", ".git-foo", "x.git", "a\\b", ".g\u200bit", "caf\u00e9"]
FILES_ONLY = [".gitmodules", "d/gitmod~1"]

BAD_MODULES = [
    '[submodule "x"]\n\tpath = x\n\turl = -x\n',
    '[submodule "x"]\n\tpath = -x\n\turl = https://example.com/x\n',
]

GOOD_MODULES = '[submodule "x"]\n\tpath = x\n\turl = https://example.com/x\n'

STORES = [[], ["--store", "lmdb:store"], ["--store", "git:repo.git"]]


@pytest.mark.parametrize("store", STORES, ids=["default", "lmdb", "git"])
def test_reserved_names_exit_2_and_change_nothing(kv, store):
    kv.ok(*store, "set", "kept", "1")
    for key in REFUSED:
        r = kv.fails(2, *store, "set", key, "v")
        assert "invalid path" in r.err, r.err
        before = kv.state(*store)
        kv.fails(2, *store, "set", key, "-", input=b"v")
        assert kv.state(*store) == before
    deep = "/".join(["a"] * 4097)
    r = kv.fails(2, *store, "set", deep, "v")
    assert "path too deep" in r.err, r.err
    assert kv.ok(*store, "get", "kept").out == b"1"


@pytest.mark.parametrize("store", STORES, ids=["default", "lmdb", "git"])
def test_bad_gitmodules_exit_2(kv, store):
    kv.ok(*store, "set", "kept", "1")
    before = kv.state(*store)
    for path in [".gitmodules", "d/.gitmodules", "gitmod~1"]:
        for text in BAD_MODULES:
            r = kv.fails(2, *store, "set", path, "-", input=text)
            assert path in r.err and "could be read as an option" in r.err, r.err
    assert kv.state(*store) == before


@pytest.mark.skipif(GIT is None, reason="git not installed")
def test_accepted_near_misses_pass_fsck(kv):
    store = ["--store", "git:repo.git"]
    for key in ACCEPTED:
        kv.ok(*store, "set", key, key)
        kv.ok(*store, "set", "dirs/" + key + "/x", key)
    for key in FILES_ONLY:
        kv.ok(*store, "set", key, "-", input=GOOD_MODULES)
    for key in ACCEPTED:
        assert kv.ok(*store, "get", key).out == key.encode()
    p = subprocess.run([GIT, "--git-dir", str(kv.cwd / "repo.git"), "fsck", "--strict",
                        "--no-dangling"], capture_output=True, env=kv.env, check=False)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b"", p.stderr.decode()
