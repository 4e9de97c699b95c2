"""libgit2 is loaded when a process needs it, not at start: kvctl reading an
lmdb store or a git store (listing, getting, logging, diffing, counting)
never maps libgit2 nor the libraries it brings, which cost every process
that links them some 6 ms before main; a write, which names objects with
git's collision-detecting SHA-1, loads it and works. The dynamic loader's
own record of the files it opens (LD_DEBUG=files) tells. Where libgit2
cannot be loaded, reads still work and a write fails with a clear error.
"""

import glob
import os
import shutil
import subprocess

import pytest

READS = [
    ["get", "a/b"],
    ["tree"],
    ["list"],
    ["list", "a"],
    ["log"],
    ["diff", "main", "side"],
    ["stats"],
    ["branch"],
    ["snapshot"],
    ["--json", "tree"],
]


def opened(kv, tmp_path, *args):
    """Run kvctl; the shared libraries the dynamic loader opened for it."""
    out = tmp_path / "ld"
    for f in glob.glob(str(out) + ".*"):
        os.unlink(f)
    env = dict(kv.env, LD_DEBUG="files", LD_DEBUG_OUTPUT=str(out))
    r = kv.run(*args, env=env)
    assert r.rc == 0, (args, r)
    logs = glob.glob(str(out) + ".*")
    assert logs, "the dynamic loader wrote no record"
    text = "".join(open(f, encoding="utf-8", errors="replace").read() for f in logs)
    assert "file=" in text, text[:400]
    return text


def test_reads_do_not_load_libgit2(kv, store, tmp_path):
    kv.ok(*store, "set", "a/b", "one")
    kv.ok(*store, "branch", "create", "side")
    kv.ok(*store, "set", "a/c", "two")
    for args in READS:
        text = opened(kv, tmp_path, *store, *args)
        assert "libgit2" not in text, args


def test_a_write_loads_libgit2(kv, store, tmp_path):
    text = opened(kv, tmp_path, *store, "set", "k", "v")
    assert "libgit2.so" in text
    assert kv.ok(*store, "get", "k").out == b"v"


def test_without_libgit2(kv, store, tmp_path):
    """Where libgit2 cannot be loaded (here: a library of its name that
    has none of its functions), reads work and a write fails cleanly,
    naming it, with the store as it was."""
    cc = shutil.which("cc") or shutil.which("gcc")
    soname = os.environ.get("GKV_LIBGIT2_SONAME")
    if not cc or not soname:
        pytest.skip("needs a C compiler and GKV_LIBGIT2_SONAME (meson test)")
    kv.ok(*store, "set", "a", "one")
    libdir = tmp_path / "fake"
    libdir.mkdir()
    src = libdir / "empty.c"
    src.write_text("int gkv_test_not_libgit2;\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(libdir / soname), str(src)], check=True)
    env = dict(kv.env, LD_LIBRARY_PATH=str(libdir))
    before = kv.state(*store)

    assert kv.ok(*store, "get", "a", env=env).out == b"one"
    kv.ok(*store, "list", env=env)
    r = kv.run(*store, "set", "b", "two", env=env)
    assert r.rc != 0 and r.out == b"", r
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kvctl: "), r.err
    assert "libgit2" in r.err and soname in r.err, r.err
    assert kv.state(*store) == before
    assert kv.run(*store, "get", "b").rc != 0
