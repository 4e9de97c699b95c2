"""gc, fsck and stats on LMDB and git stores; the git ones checked with
the git CLI (cat-file --batch-all-objects, fsck), the damage made by
removing or rewriting a loose object file."""

import json
import os
import shutil
import subprocess
import zlib

import pytest

from conftest import KVCTL, gitdir, is_git

GIT = shutil.which("git")


def git(gitdir, *args, input=None):
    p = subprocess.run([GIT, "--git-dir", str(gitdir), *args], capture_output=True, input=input,
                       env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
                            "HOME": str(gitdir)})
    assert p.returncode == 0, (args, p.stderr.decode())
    return p.stdout.decode()




def fill(kv, store):
    kv.ok(*store, "set", "a/b", "1")
    kv.ok(*store, "set", "a/c", "22")
    kv.ok(*store, "set", "d", "333")


def test_stats_counts_what_the_store_holds(kv, store):
    fill(kv, store)
    kv.ok(*store, "branch", "create", "side")
    doc = kv.ok(*store, "--json", "stats").json()
    assert doc["backend"] == store[1].split(":")[0]
    assert doc["branches"] == 2 and doc["refs"] >= 2
    assert doc["branch"] == {"name": "main", "values": 3, "dirs": 1, "other": 0, "bytes": 6}
    objs = doc["objects"]
    assert objs["commit"]["count"] == 3
    assert objs["blob"]["count"] == 3 and objs["blob"]["bytes"] == 6
    assert isinstance(doc["backend_stats"], dict)
    if is_git(store):
        counts = {}
        out = git(gitdir(store), "cat-file", "--batch-all-objects", "--batch-check")
        for line in out.splitlines():
            _, kind, size = line.split()
            c = counts.setdefault(kind, [0, 0])
            c[0] += 1
            c[1] += int(size)
        for kind in ("commit", "tree", "blob"):
            assert [objs[kind]["count"], objs[kind]["bytes"]] == counts[kind], kind
    text = kv.ok(*store, "stats").lines
    assert text[0] == f"backend {doc['backend']}"
    assert "branches 2" in text
    assert "branch main: 3 values, 1 directories, 0 other entries, 6 bytes" in text


def test_fsck_of_a_sound_store(kv, store):
    fill(kv, store)
    assert kv.ok(*store, "fsck").out == b""
    assert kv.ok(*store, "--json", "fsck").json() == {"problems": []}


def test_fsck_reports_a_missing_object_and_exits_4(kv, tmp_path):
    if GIT is None:
        pytest.skip("git not installed")
    gd = tmp_path / "st.git"
    store = ["--store", f"git:{gd}"]
    r = kv.run(*store, "set", "k", "value")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip(r.err)
    kv.ok(*store, "set", "j", "other")
    blob = git(gd, "rev-parse", "main:k").strip()
    os.unlink(gd / "objects" / blob[:2] / blob[2:])
    r = kv.run(*store, "fsck")
    assert r.rc == 4, r
    assert any(line.startswith(blob + " ") for line in r.lines), r.lines
    assert r.err.startswith("kvctl: ") and "problem" in r.err
    r = kv.run(*store, "--json", "fsck")
    assert r.rc == 4
    doc = json.loads(r.out)
    assert doc["code"] == 4 and blob in [p["id"] for p in doc["problems"]]


def test_fsck_reports_an_object_whose_bytes_do_not_hash_to_its_id(kv, tmp_path):
    if GIT is None:
        pytest.skip("git not installed")
    gd = tmp_path / "st.git"
    store = ["--store", f"git:{gd}"]
    r = kv.run(*store, "set", "k", "value")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip(r.err)
    blob = git(gd, "rev-parse", "main:k").strip()
    path = gd / "objects" / blob[:2] / blob[2:]
    os.chmod(path, 0o644)
    path.write_bytes(zlib.compress(b"blob 5\0VALUE"))
    r = kv.run(*store, "fsck")
    assert r.rc == 4 and blob in r.text, r


def test_gc_removes_what_no_ref_reaches(kv, store):
    fill(kv, store)
    kv.ok(*store, "branch", "create", "tmp")
    kv.ok(*store, "--branch", "tmp", "set", "big", "x" * 1000)
    kv.ok(*store, "branch", "delete", "tmp")
    before = kv.state(*store)
    r = kv.run(*store, "gc")
    if r.rc == 4 and "does not remove objects" in r.err:
        # A backend without the seam's batch_delete: an error, and nothing moved.
        assert kv.state(*store) == before
        pytest.skip("this backend cannot remove objects: " + r.err)
    assert r.rc == 0 and r.err == "", r
    if is_git(store):
        assert "git gc" in r.text
        doc = kv.ok(*store, "--json", "gc").json()
        assert doc["supported"] is False
        return
    assert r.lines[0].startswith("removed ") and r.lines[0].endswith(" bytes)")
    n = int(r.lines[0].split()[1])
    assert n >= 3  # the commit, its tree and the blob "big"
    doc = kv.ok(*store, "--json", "gc").json()
    assert doc["objects_removed"] == 0 and doc["supported"] is True
    assert kv.state(*store) == before
    assert kv.ok(*store, "get", "a/c").out == b"22"
    assert kv.ok(*store, "fsck").out == b""


def test_maint_errors(kv, tmp_path):
    none = ["--store", f"lmdb:{tmp_path / 'none'}"]
    for cmd in ("gc", "fsck", "stats"):
        r = kv.fails(4, *none, cmd)
        assert "does not exist" in r.err
        kv.fails(2, "--store", "lmdb:x", cmd, "extra")
    assert not (tmp_path / "none").exists()


def test_upgrade(kv, store):
    """A store made now is format 4 already; a git store has no gitkv
    format: both are left as they are, exit 0, saying so."""
    fill(kv, store)
    before = kv.ok(*store, "tree").out
    doc = kv.ok(*store, "--json", "upgrade").json()
    if is_git(store):
        assert doc == {"backend": "git", "upgraded": False}
        assert "nothing to upgrade" in kv.ok(*store, "upgrade").text
    else:
        assert doc == {"backend": "lmdb", "from": 4, "to": 4, "upgraded": False}
        assert kv.ok(*store, "upgrade").text == f"store '{store[1]}' is already format 4\n"
    assert kv.ok(*store, "tree").out == before
    assert kv.ok(*store, "fsck").out == b""


def as_format_3(src, dst):
    """A format-3 copy of the format-4 lmdb store src, made with LMDB's
    own tools: every database copied, the trees loaded into "objects"
    with the blobs (where format 3 keeps them), the version set to 3."""
    mdb_dump, mdb_load = shutil.which("mdb_dump"), shutil.which("mdb_load")
    if not mdb_dump or not mdb_load:
        pytest.skip("lmdb-utils not installed")
    dst.mkdir()
    dbs = {"objects": ["objects", "trees"], "commits": ["commits"], "refs": ["refs"],
           "reflog": ["reflog"], "config": ["config"]}
    for db, sources in dbs.items():
        for source in sources:
            dump = subprocess.run([mdb_dump, "-s", source, str(src)], capture_output=True)
            if dump.returncode != 0 and source == "config":
                continue  # made by the first setting only
            assert dump.returncode == 0, dump.stderr
            # the dump's header names its database, which mdb_load would take over -s
            data = b"".join(line for line in dump.stdout.splitlines(keepends=True)
                            if not line.startswith(b"database="))
            subprocess.run([mdb_load, "-s", db, str(dst)], input=data, check=True,
                           capture_output=True)
    subprocess.run([mdb_load, "-T", "-s", "meta", str(dst)],
                   input=b"magic\ngitkv-lmdb\nversion\n3\n", check=True, capture_output=True)
    out = subprocess.run([shutil.which("mdb_stat"), "-s", "trees", str(dst)], capture_output=True)
    assert out.returncode != 0  # no "trees" database


def test_upgrade_of_a_format_3_store(kv, tmp_path):
    """A format-3 store becomes format 4, holding the same branches,
    values, history and logs, fsck clean; refused (exit 3, naming the
    process, nothing changed) while another process has it open."""
    src = tmp_path / "st4"
    kv.ok("--store", f"lmdb:{src}", "init")
    fill(kv, ["--store", f"lmdb:{src}"])
    kv.ok("--store", f"lmdb:{src}", "branch", "create", "side")
    kv.ok("--store", f"lmdb:{src}", "--branch", "side", "set", "x/y", "side value")
    st = tmp_path / "st3"
    as_format_3(src, st)
    s = ["--store", f"lmdb:{st}"]
    seen = {args: kv.ok(*s, *args).out for args in
            [("tree",), ("--branch", "side", "tree"), ("log",), ("reflog",), ("branch",)]}
    assert kv.ok(*s, "fsck").out == b""

    watch = subprocess.Popen([KVCTL, *s, "watch"], cwd=kv.cwd,
                             env=kv.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(200):  # until it has read the store: a slot in LMDB's reader table
            readers = subprocess.run([shutil.which("mdb_stat"), "-r", str(st)],
                                     capture_output=True).stdout.decode()
            if str(watch.pid) in readers.split():
                break
            subprocess.run(["sleep", "0.05"])
        assert str(watch.pid) in readers.split(), readers
        r = kv.fails(3, *s, "upgrade")
        assert f"pid {watch.pid}" in r.err and "nothing was upgraded" in r.err
    finally:
        watch.terminate()
        watch.wait(timeout=10)

    assert kv.ok(*s, "upgrade").text == f"upgraded store 'lmdb:{st}' from format 3 to format 4\n"
    for args, out in seen.items():
        assert kv.ok(*s, *args).out == out, args
    assert kv.ok(*s, "fsck").out == b""
    assert kv.ok(*s, "--json", "upgrade").json() == {
        "backend": "lmdb", "from": 4, "to": 4, "upgraded": False}


def test_upgrade_errors(kv, tmp_path):
    r = kv.fails(4, "--store", f"lmdb:{tmp_path / 'none'}", "upgrade")
    assert str(tmp_path / "none") in r.err
    r = kv.fails(4, "--store", str(tmp_path / "none"), "upgrade")
    assert "does not exist" in r.err
    assert not (tmp_path / "none").exists()
    doc = kv.ok("--store", "mem:", "--json", "upgrade").json()
    assert doc == {"backend": "mem", "upgraded": False}
