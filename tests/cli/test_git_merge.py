"""Merges on git stores, checked with the git CLI: the merge commits are
the ones git would make (both parents, in order), `git log --graph` shows
them, git agrees on the merge bases of a criss-cross history, git can
merge what kvctl branched (and kvctl what git merged), fsck stays clean.
"""

import shutil
import subprocess

import pytest

from test_git_store import fsck_clean, git, git_env

GIT = shutil.which("git")

pytestmark = pytest.mark.skipif(GIT is None, reason="git not installed")


@pytest.fixture
def store(kv, tmp_path):
    path = tmp_path / "store.git"
    kv.ok("--store", f"git:{path}", "init")
    return kv, path, git_env(tmp_path)


def test_merge_commit_is_seen_by_git(store):
    kv, path, env = store
    s = ("--store", f"git:{path}")
    g = ["--git-dir", str(path)]
    kv.ok(*s, "set", "a", "1")
    kv.ok(*s, "branch", "create", "x")
    kv.ok(*s, "--branch", "x", "set", "b", "2")
    kv.ok(*s, "set", "c", "3")
    ours, theirs = kv.head(*s), kv.head(*s, "--branch", "x")
    kv.ok(*s, "merge", "x")
    merge = kv.head(*s)
    parents = git(g, "rev-list", "--parents", "-n", "1", "main", env=env).stdout.split()
    assert [p.decode() for p in parents] == [merge, ours, theirs]
    graph = git(g, "log", "--graph", "--format=%H %s", "main", env=env).stdout.decode()
    assert f"*   {merge} Merge x into main" in graph
    assert "|\\" in graph  # the second parent's line opens, as for any merge
    tree = git(g, "ls-tree", "-r", "--name-only", "main", env=env).stdout.decode().split()
    assert tree == ["a", "b", "c"]
    fsck_clean(path, env)


def test_git_agrees_on_criss_cross_merge_bases(store, tmp_path):
    kv, path, env = store
    s = ("--store", f"git:{path}")
    g = ["--git-dir", str(path)]
    kv.ok(*s, "set", "base", "0")
    kv.ok(*s, "branch", "create", "y")
    kv.ok(*s, "set", "x", "1")
    kv.ok(*s, "--branch", "y", "set", "y", "1")
    x1, y1 = kv.head(*s), kv.head(*s, "--branch", "y")
    # Criss-cross: each side merges the other's first commit.
    kv.ok(*s, "branch", "create", "a", x1)
    kv.ok(*s, "branch", "create", "b", y1)
    kv.ok(*s, "--branch", "a", "merge", y1)
    kv.ok(*s, "--branch", "b", "merge", x1, "-m", "other way round")
    bases = git(g, "merge-base", "--all", "a", "b", env=env).stdout.decode().split()
    assert sorted(bases) == sorted([x1, y1])
    kv.ok(*s, "--branch", "a", "set", "p", "a")
    kv.ok(*s, "--branch", "b", "set", "q", "b")
    kv.ok(*s, "--branch", "a", "merge", "b")
    tree = git(g, "ls-tree", "-r", "--name-only", "a", env=env).stdout.decode().split()
    assert tree == ["base", "p", "q", "x", "y"]
    fsck_clean(path, env)


def test_git_merges_what_kvctl_branched_and_back(store, tmp_path):
    kv, path, env = store
    s = ("--store", f"git:{path}")
    kv.ok(*s, "set", "f", "1\n")
    kv.ok(*s, "branch", "create", "x")
    kv.ok(*s, "--branch", "x", "set", "g", "2\n")
    kv.ok(*s, "set", "h", "3\n")
    # git clones the store, merges x into main itself, and pushes back.
    work = tmp_path / "work"
    git([], "clone", "-q", str(path), str(work), env=env)
    w = ["-C", str(work)]
    git(w, "merge", "-q", "--no-edit", "origin/x", env=env)
    git(w, "push", "-q", "origin", "main", env=env)
    merge = git(w, "rev-parse", "HEAD", env=env).stdout.decode().strip()
    assert kv.head(*s) == merge
    assert kv.ok(*s, "tree").lines == ["f", "g", "h"]
    # kvctl merges on top of git's merge: nothing left to merge from x.
    kv.ok(*s, "merge", "x")
    assert kv.head(*s) == merge
    fsck_clean(path, env)
