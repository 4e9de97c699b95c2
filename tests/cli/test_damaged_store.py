"""A damaged store is exit 4, never "not found" or "invalid input".

The damage is made with git in a git store: a branch whose ref names a
blob, a tree or a missing commit (git refuses to write such a ref, so the
ref file is written by hand), and trees whose entries name an object of
the other type (written with `git hash-object --literally`). A caller's
own mistake on a sound store keeps its status: `get` of a directory is 1.
"""

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

READS = [["list"], ["tree"], ["log"], ["snapshot"], ["get", "k"]]


def git(env, repo, *args, input=None):
    ident = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
             "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    return subprocess.run(
        ["git", "--git-dir", str(repo), *args],
        input=input, capture_output=True, check=True, env={**env, **ident},
    ).stdout.decode().strip()


@pytest.fixture
def repo(kv, tmp_path):
    """A git store with one commit on main (k = v)."""
    path = tmp_path / "repo.git"
    git(kv.env, path.parent, "init", "-q", "--bare", str(path))
    git(kv.env, path, "symbolic-ref", "HEAD", "refs/heads/main")
    kv.ok("--store", f"git:{path}", "set", "k", "v")
    return path


def set_ref(repo, name, target):
    """Write refs/heads/NAME by hand: git itself refuses a non-commit."""
    ref = repo / "refs" / "heads" / name
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(target + "\n")


def refs(repo):
    """Every ref file and what it holds (git's own commands stop at a ref
    naming a missing object)."""
    heads = repo / "refs" / "heads"
    return {str(p.relative_to(heads)): p.read_text() for p in heads.rglob("*") if p.is_file()}


def blob(env, repo, data=b"not a commit\n"):
    return git(env, repo, "hash-object", "-w", "--stdin", input=data)


@pytest.mark.parametrize("what", ["blob", "tree", "missing"])
@pytest.mark.parametrize("args", READS + [["set", "k", "2"], ["remove", "k"]])
def test_a_branch_naming_no_commit_is_exit_4(kv, repo, what, args):
    store = ["--store", f"git:{repo}"]
    target = {
        "blob": lambda: blob(kv.env, repo),
        "tree": lambda: git(kv.env, repo, "rev-parse", "main^{tree}"),
        "missing": lambda: "1234567890" * 4,
    }[what]()
    set_ref(repo, "bad", target)
    before = refs(repo)
    r = kv.fails(4, *store, "--branch", "bad", *args)
    assert "'bad'" in r.err
    assert ("missing" in r.err) if what == "missing" else (f"is a {what}" in r.err)
    assert refs(repo) == before


@pytest.mark.parametrize("what", ["blob", "missing"])
def test_the_default_branch_naming_no_commit_is_exit_4(kv, repo, what):
    store = ["--store", f"git:{repo}"]
    set_ref(repo, "main", blob(kv.env, repo) if what == "blob" else "ab" * 20)
    for args in READS:
        kv.fails(4, *store, *args)


def test_a_damaged_branch_as_from_is_exit_4(kv, repo):
    store = ["--store", f"git:{repo}"]
    set_ref(repo, "bad", blob(kv.env, repo))
    kv.fails(4, *store, "branch", "create", "new", "bad")
    kv.fails(4, *store, "merge", "bad")
    kv.fails(4, *store, "--branch", "bad", "branch", "create", "new")
    kv.fails(4, *store, "--json", "branch", stdout_empty=False)
    # The repair works: the damaged branch can be deleted.
    kv.ok(*store, "branch", "delete", "bad")
    kv.ok(*store, "branch", "list")
    subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict"], check=True,
                   capture_output=True, env=kv.env)


def commit_of_tree(env, repo, entries):
    """A commit on main whose root tree holds raw entries (mode, name, id),
    written without git's type checks."""
    raw = b"".join(
        mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(oid)
        for mode, name, oid in sorted(entries, key=lambda e: e[1])
    )
    tree = git(env, repo, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", input=raw)
    commit = git(env, repo, "commit-tree", tree, "-m", "damaged")
    git(env, repo, "update-ref", "refs/heads/main", commit)


def test_a_value_entry_naming_a_tree_is_exit_4(kv, repo):
    store = ["--store", f"git:{repo}"]
    sub = git(kv.env, repo, "rev-parse", "main^{tree}")  # a tree holding k
    commit_of_tree(kv.env, repo, [("100644", "f", sub), ("100644", "ok", blob(kv.env, repo))])
    r = kv.fails(4, *store, "get", "f")
    assert "is a tree, not a blob" in r.err and "damaged" in r.err
    r = kv.fails(4, *store, "--json", "get", "f", stdout_empty=False)
    assert r.out.startswith(b"{\"error\":")  # nothing of the value before it
    # log PATH compares the ids trees record and reads no value: the
    # damage shows when the value is read, not in the history
    assert kv.ok(*store, "log", "f").out.endswith(b" damaged\n")
    assert kv.ok(*store, "get", "ok").out == b"not a commit\n"


def test_a_directory_entry_naming_a_blob_is_exit_4(kv, repo):
    store = ["--store", f"git:{repo}"]
    commit_of_tree(kv.env, repo, [("40000", "d", blob(kv.env, repo))])
    for args in (["list", "d"], ["tree"], ["tree", "d"], ["get", "d/x"]):
        r = kv.fails(4, *store, *args)
        assert "is a blob, not a tree" in r.err, args
    # log d compares the id the tree records and does not open d
    kv.ok(*store, "log", "d")


def test_a_missing_parent_is_exit_4(kv, repo):
    store = ["--store", f"git:{repo}"]
    tree = git(kv.env, repo, "rev-parse", "main^{tree}")
    body = f"tree {tree}\nparent {'cd' * 20}\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\norphan\n"
    c = git(kv.env, repo, "hash-object", "-t", "commit", "--literally", "-w", "--stdin",
            input=body.encode())
    set_ref(repo, "main", c)
    assert kv.ok(*store, "get", "k").out == b"v"
    kv.fails(4, *store, "log", stdout_empty=False)


def test_a_callers_mistake_on_a_sound_store_keeps_its_status(kv, repo):
    store = ["--store", f"git:{repo}"]
    kv.ok(*store, "set", "d/x", "1")
    kv.fails(1, *store, "get", "d")
    kv.fails(1, *store, "get", "nothing")
    kv.fails(1, *store, "list", "k")
    kv.fails(1, *store, "--branch", "nobranch", "list")
    kv.fails(2, *store, "get", "a//b")
    # A blob's id as FROM is the caller's mistake: not a commit.
    kv.fails(2, *store, "branch", "create", "x", blob(kv.env, repo, b"v"))
