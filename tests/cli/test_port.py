"""export and import on LMDB and git stores. git stores are checked with
the git CLI (ls-tree, fsck --strict); stores holding names that could
escape DIR are built with git's plumbing, since gitkv refuses to make
them."""

import base64
import os
import shutil
import subprocess

import pytest

from conftest import gitdir, is_git

GIT = shutil.which("git")


def git(gitdir, *args, input=None):
    p = subprocess.run([GIT, "--git-dir", str(gitdir), *args], capture_output=True, input=input,
                       env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
                            "HOME": str(gitdir), "GIT_AUTHOR_NAME": "g",
                            "GIT_AUTHOR_EMAIL": "g@g", "GIT_COMMITTER_NAME": "g",
                            "GIT_COMMITTER_EMAIL": "g@g"})
    assert p.returncode == 0, (args, p.stderr.decode())
    return p.stdout




def files_under(top):
    """{relative path (bytes): contents} of the regular files under top."""
    out = {}
    top = os.fsencode(top)
    for root, dirs, files in os.walk(top):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out[os.path.relpath(p, top)] = open(p, "rb").read()
    return out


def make_dir(top, files):
    for rel, data in files.items():
        p = os.path.join(os.fsencode(top), rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


FILES = {b"index.html": b"<h1>hi</h1>\n", b"posts/2016/a.md": b"a\n",
         b"posts/b.md": b"", b"caf\xe9 \n": b"\xff\x00bytes", b"z/deep/er/x": b"x" * 200000}


def test_import_then_export_round_trips(kv, store, tmp_path):
    src = tmp_path / "src"
    make_dir(src, FILES)
    doc = kv.ok(*store, "--json", "import", str(src), "-m", "publish").json()
    assert doc["changed"] is True and doc["files"] == len(FILES) and doc["skipped"] == 0
    assert doc["bytes"] == sum(len(v) for v in FILES.values())
    assert doc["hash"] == kv.head(*store)
    assert kv.ok(*store, "log").lines[0].endswith(" publish")
    assert sorted(kv.ok(*store, "tree", "-z").out.split(b"\0")[:-1]) == sorted(FILES)
    if is_git(store):
        out = git(gitdir(store), "ls-tree", "-r", "-z", "--name-only", "main")
        assert sorted(out.split(b"\0")[:-1]) == sorted(FILES)
        assert git(gitdir(store), "show", "main:posts/2016/a.md") == b"a\n"
        git(gitdir(store), "fsck", "--strict", "--no-dangling")
    dst = tmp_path / "dst"
    doc = kv.ok(*store, "--json", "export", str(dst)).json()
    assert doc["files"] == len(FILES) and doc["dir"] == str(dst)
    assert files_under(dst) == FILES
    # Only part of the tree; a value alone.
    part = tmp_path / "part"
    kv.ok(*store, "export", str(part), "posts")
    assert files_under(part) == {b"2016/a.md": b"a\n", b"b.md": b""}
    one = tmp_path / "one"
    kv.ok(*store, "export", str(one), "posts/2016/a.md")
    assert files_under(one) == {b"a.md": b"a\n"}


def test_import_is_exact_and_makes_no_empty_commit(kv, store, tmp_path):
    src = tmp_path / "src"
    make_dir(src, {b"a": b"1", b"d/b": b"2", b"d/c": b"3"})
    kv.ok(*store, "set", "old/value", "gone after import")
    kv.ok(*store, "import", str(src))
    head = kv.head(*store)
    assert kv.ok(*store, "tree").lines == ["a", "d/b", "d/c"]
    # Same files: no commit.
    assert kv.ok(*store, "--json", "import", str(src)).json()["changed"] is False
    assert kv.head(*store) == head
    # A file removed disappears; an emptied directory vanishes.
    os.unlink(src / "d" / "b")
    os.unlink(src / "d" / "c")
    (src / "a").write_bytes(b"changed")
    kv.ok(*store, "import", str(src))
    assert kv.ok(*store, "tree").lines == ["a"]
    assert kv.ok(*store, "get", "a").out == b"changed"
    assert kv.commits(*store)[1] == head


def test_import_into_a_path_keeps_the_rest(kv, store, tmp_path):
    kv.ok(*store, "set", "keep", "1")
    kv.ok(*store, "set", "site/old", "1")
    src = tmp_path / "src"
    make_dir(src, {b"new": b"n"})
    kv.ok(*store, "import", str(src), "site")
    assert kv.ok(*store, "tree").lines == ["keep", "site/new"]
    assert kv.ok(*store, "log", "-n", "1").lines[0].endswith(" import site")


def test_import_skips_links_and_special_files_with_warnings(kv, store, tmp_path):
    src = tmp_path / "src"
    outside = tmp_path / "outside"
    make_dir(outside, {b"secret": b"s"})
    make_dir(src, {b"f": b"1"})
    os.symlink(outside / "secret", src / "link")
    os.symlink(outside, src / "dirlink")
    os.mkfifo(src / "fifo")
    r = kv.run(*store, "--json", "import", str(src))
    assert r.rc == 0, r
    assert r.json()["skipped"] == 3 and r.json()["files"] == 1
    warnings = r.err.splitlines()
    assert len(warnings) == 3 and all(w.startswith("kvctl: warning: ") for w in warnings)
    assert any("link" in w and "symbolic link" in w for w in warnings)
    assert any("fifo" in w and "FIFO" in w for w in warnings)
    assert kv.ok(*store, "tree").lines == ["f"]
    # -q: no warnings.
    r = kv.run(*store, "-q", "import", str(src))
    assert r.rc == 0 and r.err == ""


@pytest.mark.parametrize("bad", [b".git/config", b"sub/.GIT/x", b"git~1/x", b"a/.gitmodules/x"])
def test_import_of_a_name_gitkv_refuses_commits_nothing(kv, store, tmp_path, bad):
    kv.ok(*store, "set", "k", "v")
    before = kv.state(*store)
    src = tmp_path / "src"
    make_dir(src, {b"ok": b"1", bad: b"2"})
    r = kv.fails(2, *store, "import", str(src))
    assert os.fsdecode(bad) in r.err
    assert kv.state(*store) == before
    # Nor does it make a store that was not there.
    kv.fails(2, "--store", f"lmdb:{tmp_path / 'new'}", "import", str(src))
    assert not (tmp_path / "new").exists()


def test_import_errors(kv, store, tmp_path):
    before = kv.state(*store)
    r = kv.fails(1, *store, "import", str(tmp_path / "absent"))
    assert "absent" in r.err
    src = tmp_path / "src"
    make_dir(src, {b"a": b"1"})
    kv.fails(2, *store, "import", str(src), "a//b")
    kv.fails(1, *store, "--branch", "nosuch", "import", str(src))
    assert kv.state(*store) == before


def test_export_writes_over_files_only_inside(kv, store, tmp_path):
    kv.ok(*store, "set", "f", "new")
    kv.ok(*store, "set", "h", "new")
    kv.ok(*store, "set", "d/x", "new")
    outside = tmp_path / "outside"
    make_dir(outside, {b"target": b"keep", b"hard": b"keep"})
    dst = tmp_path / "dst"
    make_dir(dst, {b"unrelated": b"stays"})
    os.symlink(outside / "target", dst / "f")     # a link where a file goes
    os.link(outside / "hard", dst / "h")          # a hard link to outside
    kv.ok(*store, "export", str(dst))
    assert (outside / "target").read_bytes() == b"keep"
    assert (outside / "hard").read_bytes() == b"keep"
    assert not os.path.islink(dst / "f") and (dst / "f").read_bytes() == b"new"
    assert (dst / "h").read_bytes() == b"new" and (dst / "unrelated").read_bytes() == b"stays"
    assert not [n for n in os.listdir(dst) if n.startswith(".kvctl")]


def test_export_never_follows_a_symlink_to_a_directory(kv, store, tmp_path):
    kv.ok(*store, "set", "d/x", "pwned")
    outside = tmp_path / "outside"
    outside.mkdir()
    dst = tmp_path / "dst"
    dst.mkdir()
    os.symlink(outside, dst / "d")
    r = kv.fails(4, *store, "export", str(dst))
    assert "'d'" in r.err and "symbolic link" in r.err
    assert os.listdir(outside) == []


def git_store_with_entry(tmp_path, kv, name, mode=b"40000"):
    """A git store whose main holds entry `name` (a directory holding
    file "pwned", or with mode 120000 a symlink to /tmp), made with
    git's plumbing."""
    if GIT is None:
        pytest.skip("git not installed")
    gd = tmp_path / "evil.git"
    git(gd, "init", "-q", "--bare", "-b", "main")
    blob = git(gd, "hash-object", "-w", "--stdin", input=b"pwned\n").decode().strip()
    inner = git(gd, "mktree", input=f"100644 blob {blob}\tpwned\n".encode()).decode().strip()
    if mode == b"120000":
        target = git(gd, "hash-object", "-w", "--stdin", input=b"/tmp").decode().strip()
        entry = b"120000 " + name + b"\0" + bytes.fromhex(target)
    else:
        entry = mode + b" " + name + b"\0" + bytes.fromhex(inner)
    ok = b"100644 ok\0" + bytes.fromhex(blob)
    entries = sorted([entry, ok], key=lambda e: e.split(b" ", 1)[1])
    tree = git(gd, "hash-object", "-t", "tree", "-w", "--literally", "--stdin",
               input=b"".join(entries)).decode().strip()
    commit = git(gd, "commit-tree", tree, "-m", "evil").decode().strip()
    git(gd, "update-ref", "refs/heads/main", commit)
    r = kv.run("--store", f"git:{gd}", "tree")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip(r.err)
    return ["--store", f"git:{gd}"]


@pytest.mark.parametrize("name", [b"..", b".git", b".GIT", b".git.", b"git~1", b".git\xe2\x80\x8c"])
def test_export_refuses_names_that_escape(kv, tmp_path, name):
    store = git_store_with_entry(tmp_path, kv, name)
    dst = tmp_path / "site" / "dst"
    r = kv.fails(4, *store, "export", str(dst))
    # Nothing written anywhere: not the sibling "ok", not above DIR.
    assert not (tmp_path / "site" / "pwned").exists()
    assert not dst.exists() or os.listdir(dst) == []
    assert "damaged" in r.err or "refusing" in r.err


def test_export_skips_symlink_entries(kv, tmp_path):
    store = git_store_with_entry(tmp_path, kv, b"link", mode=b"120000")
    dst = tmp_path / "dst"
    r = kv.run(*store, "--json", "export", str(dst))
    assert r.rc == 0, r
    assert r.json()["skipped"] == 1 and r.json()["files"] == 1
    assert r.err.startswith("kvctl: warning: ") and "'link'" in r.err
    assert os.listdir(dst) == ["ok"]


def test_export_errors(kv, store, tmp_path):
    kv.ok(*store, "set", "a", "1")
    kv.fails(1, *store, "export", str(tmp_path / "x"), "nosuch")
    kv.fails(2, *store, "export", str(tmp_path / "x"), "a//b")
    (tmp_path / "file").write_bytes(b"")
    r = kv.fails(4, *store, "export", str(tmp_path / "file"))
    assert "file" in r.err
    assert not (tmp_path / "x").exists()


def test_non_utf8_names_round_trip_through_json(kv, store, tmp_path):
    src = tmp_path / "src"
    name = b"\xff\xfe-not-utf8"
    make_dir(src, {name: b"v"})
    kv.ok(*store, "import", str(src))
    [entry] = kv.ok(*store, "--json", "tree").json()
    assert base64.b64decode(entry["path"]["base64"]) == name
    # The name given back to kvctl reads the value.
    assert kv.ok(*store, "get", base64.b64decode(entry["path"]["base64"])).out == b"v"
    dst = tmp_path / "dst"
    kv.ok(*store, "export", str(dst))
    assert os.listdir(os.fsencode(dst)) == [name]
