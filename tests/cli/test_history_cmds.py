"""diff, revert, dot and watch on LMDB and git stores; the git ones are
checked with the git CLI (git diff --name-status, git reflog, git
rev-list)."""

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import time

from conftest import HEX40, KVCTL, gitdir, is_git

GIT = shutil.which("git")


def git(gitdir, *args):
    p = subprocess.run([GIT, "--git-dir", str(gitdir), *args], capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
                            "HOME": str(gitdir)})
    assert p.returncode == 0, (args, p.stderr.decode())
    return p.stdout




def history(kv, store):
    """Two commits: FROM has a/b, a/c, x (a value), k; TO changes a/b,
    removes a/c, makes x a directory, adds d, keeps k."""
    kv.ok(*store, "set", "a/b", "1")
    kv.ok(*store, "set", "a/c", "2")
    kv.ok(*store, "set", "x", "value")
    kv.ok(*store, "set", "k", "same")
    old = kv.head(*store)
    kv.ok(*store, "set", "a/b", "3")
    kv.ok(*store, "remove", "a/c")
    kv.ok(*store, "set", "x/y", "under")
    kv.ok(*store, "set", "d", "new")
    return old, kv.head(*store)


WANT = ["D a/c", "M a/b", "A d", "D x", "A x/y"]


def test_diff_lines_json_and_z(kv, store):
    old, new = history(kv, store)
    lines = kv.ok(*store, "diff", old, new).lines
    assert lines == sorted(WANT, key=lambda l: l[2:].encode())
    assert [(e["op"], e["path"]) for e in kv.ok(*store, "--json", "diff", old, new).json()] == [
        (l[0], l[2:]) for l in lines]
    assert kv.ok(*store, "diff", "-z", old, new).out == b"".join(
        l.encode() + b"\0" for l in lines)
    # Reversed, A and D swap; a commit against itself is empty.
    rev = kv.ok(*store, "diff", new, old).lines
    assert sorted(rev) == sorted({"A": "D", "D": "A", "M": "M"}[l[0]] + l[1:] for l in lines)
    assert kv.ok(*store, "diff", new, new).out == b""
    assert kv.ok(*store, "--json", "diff", new, new).json() == []
    # Any commit spec: a branch, a unique prefix.
    assert kv.ok(*store, "diff", old[:8], "main").lines == lines
    if is_git(store):
        out = git(gitdir(store), "diff", "--name-status", "--no-renames", old, new).decode()
        assert sorted(out.replace("\t", " ").splitlines()) == sorted(lines)


def test_diff_errors(kv, store):
    old, new = history(kv, store)
    r = kv.fails(1, *store, "diff", old, "nosuch")
    assert "'nosuch'" in r.err
    r = kv.fails(1, *store, "--json", "diff", "0000000", new, stdout_empty=False)
    assert r.json()["code"] == 1 and "0000000" in r.json()["error"]
    kv.fails(2, *store, "diff", old)
    kv.fails(2, *store, "diff", "bad..name", new)


def test_diff_of_names_that_are_not_utf8(kv, store):
    kv.ok(*store, "set", "k", "1")
    old = kv.head(*store)
    name = b"caf\xe9\nx"
    kv.ok(*store, "set", name, "v")
    new = kv.head(*store)
    assert kv.ok(*store, "diff", old, new).out == b'A "caf\\351\\nx"\n'
    doc = kv.ok(*store, "--json", "diff", old, new).json()
    assert doc[0]["op"] == "A"
    assert base64.b64decode(doc[0]["path"]["base64"]) == name


def test_revert_moves_the_head_and_logs_it(kv, store):
    old, new = history(kv, store)
    before = kv.state(*store)
    doc = kv.ok(*store, "--json", "revert", old[:6]).json()
    assert doc == {"branch": "main", "hash": old, "previous": new, "changed": True}
    assert kv.head(*store) == old
    assert kv.ok(*store, "get", "a/c").out == b"2"
    assert kv.ok(*store, "tree").lines == ["a/b", "a/c", "k", "x"]
    entry = kv.ok(*store, "reflog").lines[0].split(" ", 3)
    assert entry[:2] == [new, old] and entry[3] == f"reset: moving to {old}"
    if is_git(store):
        assert git(gitdir(store), "rev-parse", "refs/heads/main").decode().strip() == old
        assert git(gitdir(store), "reflog", "show", "--format=%H %gs", "main").decode() \
            .splitlines()[0] == f"{old} reset: moving to {old}"
    # Back again; reverting to where it is changes nothing.
    assert kv.ok(*store, "revert", new).out == b""
    assert kv.ok(*store, "--json", "revert", new).json()["changed"] is False
    assert kv.head(*store) == new


def test_revert_errors_leave_the_branch(kv, store):
    old, new = history(kv, store)
    before = kv.state(*store)
    r = kv.fails(1, *store, "revert", "feedbeef")
    assert "'feedbeef'" in r.err
    r = kv.fails(1, *store, "--branch", "nosuch", "revert", old)
    assert "'nosuch'" in r.err
    kv.fails(2, *store, "revert", "ab")  # too short a prefix
    kv.fails(2, *store, "revert")
    assert kv.state(*store) == before


def test_revert_another_branch(kv, store):
    old, new = history(kv, store)
    kv.ok(*store, "branch", "create", "test", old)
    kv.ok(*store, "--branch", "test", "revert", "main")
    assert kv.head(*store, "--branch", "test") == new
    assert kv.head(*store) == new


def test_dot_draws_every_branch(kv, store):
    old, new = history(kv, store)
    kv.ok(*store, "branch", "create", "side", old)
    kv.ok(*store, "--branch", "side", "set", "s", "1", "-m", 'say "hi"\\')
    side = kv.head(*store, "--branch", "side")
    out = kv.ok(*store, "dot").text
    assert out.startswith("digraph gitkv {\n") and out.endswith("}\n")
    assert f'"refs/heads/side" -> "{side}";' in out
    assert f'"refs/heads/main" -> "{new}";' in out
    assert f'"{side}" -> "{old}";' in out  # side was made at old
    assert 'say \\"hi\\"\\\\' in out
    doc = kv.ok(*store, "--json", "dot").json()
    commits = [n["id"] for n in doc["nodes"] if n["kind"] == "commit"]
    branches = {n["label"]: n["id"] for n in doc["nodes"] if n["kind"] == "branch"}
    assert branches == {"main": "refs/heads/main", "side": "refs/heads/side"}
    edges = {(e["from"], e["to"]) for e in doc["edges"]}
    assert ("refs/heads/side", side) in edges and ("refs/heads/main", new) in edges
    all_commits = set(kv.commits(*store)) | set(kv.commits(*store, "--branch", "side"))
    assert set(commits) == all_commits and len(commits) == len(all_commits)
    for c in commits:
        assert HEX40.match(c)
    if is_git(store):
        revs = git(gitdir(store), "rev-list", "--all", "--parents").decode().splitlines()
        want = {(r.split()[0], p) for r in revs for p in r.split()[1:]}
        assert {e for e in edges if not e[0].startswith("refs/")} == want
    dot = shutil.which("dot")
    if dot:
        p = subprocess.run([dot, "-Tsvg"], input=out.encode(), capture_output=True)
        assert p.returncode == 0 and b"<svg" in p.stdout, p.stderr


def test_dot_of_an_empty_store(kv, store):
    assert kv.ok(*store, "--json", "dot").json() == {"nodes": [], "edges": []}


def read_lines(proc, n, timeout):
    """Up to n lines of proc's stdout, waiting at most timeout seconds."""
    lines, buf, end = [], b"", time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while len(lines) < n and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
    return lines


def start_watch(kv, *args):
    return subprocess.Popen([KVCTL, *args], cwd=kv.cwd, env=kv.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def stop_watch(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    return rc, err


def test_watch_sees_writes_of_another_process(kv, store):
    kv.ok(*store, "set", "posts/a", "1")
    kv.ok(*store, "set", "other", "1")
    proc = start_watch(kv, *store, "watch", "posts")
    try:
        time.sleep(0.5)  # let it read the heads first
        kv.ok(*store, "set", "posts/b", "2")
        assert read_lines(proc, 1, 10) == ["A posts/b"]
        kv.ok(*store, "set", "other", "2")  # outside PATH: nothing
        kv.ok(*store, "set", "posts/a", "changed")
        assert read_lines(proc, 1, 10) == ["M posts/a"]
        kv.ok(*store, "remove", "posts")
        assert read_lines(proc, 2, 10) == ["D posts/a", "D posts/b"]
    finally:
        rc, err = stop_watch(proc)
    assert rc == 0 and err == "", err


def test_watch_json_lines_and_sigterm(kv, store):
    kv.ok(*store, "set", "a", "1")
    proc = start_watch(kv, *store, "--json", "watch")
    try:
        time.sleep(0.5)
        kv.ok(*store, "set", b"b\xff", "2")
        head = kv.head(*store)
        [line] = read_lines(proc, 1, 10)
        doc = json.loads(line)
        assert doc["commit"] == head and doc["op"] == "A"
        assert base64.b64decode(doc["path"]["base64"]) == b"b\xff"
        old = kv.commits(*store)[-1]
        kv.ok(*store, "revert", old)  # a move back shows as changes too
        assert [json.loads(l) for l in read_lines(proc, 1, 10)] == [
            {"commit": old, "op": "D", "path": {"base64": base64.b64encode(b"b\xff").decode()}}]
    finally:
        rc, err = stop_watch(proc, signal.SIGTERM)
    assert rc == 0 and err == "", err


def test_watch_errors(kv, store):
    kv.fails(2, *store, "watch", "a//b")
    kv.fails(1, *store, "--branch", "nosuch", "watch")
    kv.fails(4, "--store", f"lmdb:{kv.cwd / 'none'}", "watch")


def fast_import(gitdir, stream):
    p = subprocess.run([GIT, "--git-dir", str(gitdir), "fast-import", "--quiet"],
                       input=stream.encode(), capture_output=True,
                       env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
                            "HOME": str(gitdir)})
    assert p.returncode == 0, p.stderr.decode()


def test_diff_as_git_on_kinds_and_directory_order(kv, tmp_path):
    """Commits made by git with every kind of entry (values, executables,
    links, a submodule), names around '/' in order ("a.b", "a", "a/x",
    "a0"), directories that come, go, turn into values and back, and an
    unchanged deep directory: kvctl diff between every pair prints what
    git diff --no-renames --name-status prints, on the repository and on
    an lmdb clone of it."""
    repo = tmp_path / "repo.git"
    assert subprocess.run([GIT, "init", "-q", "--bare", "-b", "main", str(repo)],
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}).returncode == 0
    files = [
        # (path, mode, contents) per commit; absent: not there
        {"a.b": ("100644", "1"), "a/x": ("100644", "2"), "a0": ("100644", "3"),
         "deep/1/2/3/v": ("100644", "same"), "run": ("100644", "sh"),
         "ln": ("120000", "target"), "q/r": ("100644", "4")},
        {"a.b": ("100644", "1"), "a": ("100644", "now a value"), "a0": ("100755", "3"),
         "deep/1/2/3/v": ("100644", "same"), "run": ("100755", "sh"),
         "ln": ("100644", "target"), "q/r/s": ("100644", "4"), "sub": ("160000", None)},
        {"a/x": ("100644", "2"), "a/y/z": ("100644", "5"), "a0": ("100755", "3b"),
         "deep/1/2/3/v": ("100644", "same"), "ln": ("120000", "elsewhere"),
         "q": ("100644", "q is a value"), "sub": ("160000", None)},
    ]
    stream = []
    for j, tree in enumerate(files):
        stream.append("commit refs/heads/main\nmark :%d\n"
                      "committer T <t@e> %d +0000\ndata 2\nc\n" % (j + 1, 1700000000 + j))
        if j:
            stream.append("from :%d\ndeleteall\n" % j)
        for path, (mode, data) in sorted(tree.items()):
            if mode == "160000":
                stream.append("M 160000 %s %s\n" % ("ab" * 20, path))
            else:
                stream.append("M %s inline %s\ndata %d\n%s\n" % (mode, path, len(data), data))
        stream.append("\n")
    fast_import(repo, "".join(stream))
    commits = git(repo, "rev-list", "--reverse", "main").decode().split()
    assert len(commits) == 3
    lmdb = "lmdb:%s" % (kv.cwd / "clone")
    kv.ok("--store", lmdb, "clone", str(repo))
    for a in commits:
        for b in commits:
            want = git(repo, "diff", "--no-renames", "--name-status", "-z", a, b).split(b"\0")
            want = sorted(("M" if op == b"T" else op.decode()) + " " + p.decode()
                          for op, p in zip(want[0::2], want[1::2]))
            want = sorted(want, key=lambda l: l[2:].encode())
            for st in ("git:%s" % repo, lmdb):
                assert kv.ok("--store", st, "diff", a, b).lines == want, (st, a, b)
