"""kvctl on git stores: every command on a `git:PATH` store kvctl makes, and
on a repository git made (branch master, executables, symlinks, a
submodule, packs, packed refs, an annotated tag), opened as `git:PATH` and
as a plain PATH. The git CLI checks what kvctl did: same ids, fsck clean,
modes kept.
"""

import shutil
import subprocess
import threading
import time

import pytest

from conftest import HEX40

GIT = shutil.which("git")

pytestmark = pytest.mark.skipif(GIT is None, reason="git not installed")


def git(repo_args, *args, env=None, check=True):
    p = subprocess.run([GIT, *repo_args, *args], capture_output=True, env=env, check=False)
    if check:
        assert p.returncode == 0, (args, p.stderr.decode())
    return p


def git_env(tmp_path):
    return {
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "GIT_AUTHOR_NAME": "Git",
        "GIT_AUTHOR_EMAIL": "git@example.com",
        "GIT_COMMITTER_NAME": "Git",
        "GIT_COMMITTER_EMAIL": "git@example.com",
    }


def fsck_clean(gitdir, env):
    p = git(["--git-dir", str(gitdir)], "fsck", "--strict", "--no-dangling", env=env,
            check=False)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b"", p.stderr.decode()


def made_by_git(tmp_path):
    """A non-bare repository on master with every kind of entry, gc'ed."""
    repo = tmp_path / "made-by-git"
    env = git_env(tmp_path)
    g = ["-C", str(repo)]
    git([], "init", "-q", "-b", "master", str(repo), env=env)
    (repo / "plain").write_text("hello\n")
    (repo / "d").mkdir()
    (repo / "d" / "tool").write_text("run\n")
    (repo / "d" / "tool").chmod(0o755)
    (repo / "d" / "link").symlink_to("../plain")
    git(g, "add", "-A", env=env)
    git(g, "commit", "-q", "-m", "one", env=env)
    head = git(g, "rev-parse", "HEAD", env=env).stdout.decode().strip()
    git(g, "update-index", "--add", "--cacheinfo", f"160000,{head},d/sub", env=env)
    git(g, "commit", "-q", "-m", "submodule", env=env)
    git(g, "tag", "-a", "v1", "-m", "release", env=env)
    git(g, "branch", "side", "HEAD~1", env=env)
    git(g, "gc", "-q", env=env)
    return repo, env


# ---- a store kvctl makes ----


def test_every_command_on_a_new_git_store(kv, tmp_path):
    env = git_env(tmp_path)
    store = ["--store", "git:repo"]
    repo = kv.cwd / "repo"
    kv.fails(4, *store, "log")  # reading makes nothing
    assert not repo.exists()
    kv.ok(*store, "init")
    kv.ok(*store, "init")  # idempotent
    gd = ["--git-dir", str(repo)]
    assert git(gd, "rev-parse", "--is-bare-repository", env=env).stdout == b"true\n"
    assert git(gd, "symbolic-ref", "HEAD", env=env).stdout == b"refs/heads/main\n"
    assert kv.ok(*store, "log").out == b""
    kv.ok(*store, "set", "a/b", "1")
    kv.ok(*store, "set", "a/c", "2", "-m", "msg c")
    kv.ok(*store, "set", "x", input=b"\x00bin\xff")
    assert kv.ok(*store, "get", "x").out == b"\x00bin\xff"
    assert kv.ok(*store, "list").lines == ["a/", "x"]
    assert kv.ok(*store, "--json", "list").json() == [
        {"name": "a", "kind": "dir"}, {"name": "x", "kind": "value"}]
    assert kv.ok(*store, "tree").lines == ["a/b", "a/c", "x"]
    assert kv.ok(*store, "tree", "a").lines == ["a/b", "a/c"]
    kv.ok(*store, "remove", "a/c")
    kv.fails(1, *store, "remove", "a/c")
    kv.fails(1, *store, "get", "a/c")
    kv.fails(2, *store, "set", "", "v")
    log = kv.ok(*store, "log").lines
    assert [line.split(" ", 1)[1] for line in log] == [
        "remove a/c", "set x", "msg c", "set a/b"]
    assert [line.split(" ", 1)[0] for line in log] == \
        git(gd, "log", "--format=%H", "main", env=env).stdout.decode().split()
    assert kv.ok(*store, "log", "a/c").lines == [log[0], log[2]]
    assert kv.ok(*store, "--json", "log", "-n", "1").json()[0]["hash"] == log[0].split()[0]
    head = kv.head(*store)
    assert head == git(gd, "rev-parse", "main", env=env).stdout.decode().strip()
    assert git(gd, "cat-file", "blob", "main:a/b", env=env).stdout == b"1"
    # branches are git branches
    kv.ok(*store, "branch", "create", "dev")
    kv.ok(*store, "--branch", "dev", "set", "d", "on dev")
    assert kv.ok(*store, "branch").lines == ["dev", "main"]
    assert git(gd, "cat-file", "blob", "dev:d", env=env).stdout == b"on dev"
    kv.ok(*store, "branch", "create", "old", head[:8])
    assert git(gd, "rev-parse", "old", env=env).stdout.decode().strip() == head
    kv.ok(*store, "branch", "delete", "dev")
    kv.ok(*store, "branch", "delete", "old")
    assert kv.ok(*store, "branch").lines == ["main"]
    assert git(gd, "for-each-ref", "--format=%(refname)", env=env).stdout == b"refs/heads/main\n"
    fsck_clean(repo, env)
    # a plain path finds it again
    assert kv.ok("--store", "repo", "get", "a/b").out == b"1"


def test_a_git_store_is_readable_by_git_clone(kv, tmp_path):
    env = git_env(tmp_path)
    kv.ok("--store", "git:repo", "set", "posts/hello.md", "# Hello\n")
    clone = tmp_path / "clone"
    git([], "clone", "-q", str(kv.cwd / "repo"), str(clone), env=env)
    assert (clone / "posts" / "hello.md").read_text() == "# Hello\n"
    assert git(["-C", str(clone)], "rev-parse", "HEAD", env=env).stdout.decode().strip() == \
        kv.head("--store", "git:repo")


def test_a_non_git_directory_is_not_taken_over(kv):
    (kv.cwd / "junk").mkdir()
    (kv.cwd / "junk" / "f").write_text("mine")
    r = kv.fails(2, "--store", "git:junk", "set", "k", "v")
    assert "git:junk" in r.err
    assert sorted(p.name for p in (kv.cwd / "junk").iterdir()) == ["f"]


# ---- a repository git made ----


@pytest.mark.parametrize("scheme", ["", "git:"])
def test_a_repository_git_made(kv, tmp_path, scheme):
    repo, env = made_by_git(tmp_path)
    store = ["--store", f"{scheme}{repo}"]
    g = ["-C", str(repo)]
    assert kv.ok(*store, "branch").lines == ["master", "side"]
    assert kv.ok(*store, "--json", "list", "d").json() == [
        {"name": "link", "kind": "link"},
        {"name": "sub", "kind": "submodule"},
        {"name": "tool", "kind": "exec"},
    ]
    assert kv.ok(*store, "tree").lines == ["d/link", "d/sub", "d/tool", "plain"]
    assert kv.ok(*store, "get", "d/link").out == b"../plain"
    assert kv.ok(*store, "get", "d/tool").out == b"run\n"
    kv.fails(1, *store, "get", "d/sub")
    kv.fails(1, *store, "--branch", "main", "get", "plain")
    assert kv.commits(*store) == \
        git(g, "log", "--format=%H", "master", env=env).stdout.decode().split()
    assert kv.commits(*store, "--branch", "side") == \
        git(g, "log", "--format=%H", "side", env=env).stdout.decode().split()
    kv.fails(1, *store, "branch", "create", "t", "v1")  # a tag is not a commit spec
    # a write next to exec, link and submodule keeps them
    kv.ok(*store, "set", "d/new", "fresh")
    modes = [line.split()[0] + " " + line.split("\t")[1]
             for line in git(g, "ls-tree", "master", "d/", env=env).stdout.decode().splitlines()]
    assert modes == ["120000 d/link", "100644 d/new", "160000 d/sub", "100755 d/tool"]
    assert kv.head(*store) == git(g, "rev-parse", "master", env=env).stdout.decode().strip()
    kv.ok(*store, "remove", "d/tool")
    assert git(g, "ls-tree", "--name-only", "master", "d/", env=env).stdout.decode().split() \
        == ["d/link", "d/new", "d/sub"]
    # the work tree is git's: kvctl never writes there
    assert not (repo / "d" / "new").exists()
    assert (repo / "d" / "tool").exists()
    fsck_clean(repo / ".git", env)


def test_git_and_kvctl_take_turns(kv, tmp_path):
    env = git_env(tmp_path)
    store = ["--store", "git:repo"]
    kv.ok(*store, "init")
    clone = tmp_path / "clone"
    for i in range(4):
        kv.ok(*store, "set", f"kv/{i}", str(i))
        if i == 0:
            git([], "clone", "-q", str(kv.cwd / "repo"), str(clone), env=env)
        g = ["-C", str(clone)]
        git(g, "pull", "-q", "--ff-only", env=env)
        (clone / f"git{i}").write_text(f"{i}\n")
        git(g, "add", "-A", env=env)
        git(g, "commit", "-q", "-m", f"git {i}", env=env)
        git(g, "push", "-q", "origin", "main", env=env)
    assert kv.ok(*store, "tree").lines == [
        "git0", "git1", "git2", "git3", "kv/0", "kv/1", "kv/2", "kv/3"]
    assert len(kv.commits(*store)) == 8
    fsck_clean(kv.cwd / "repo", env)


def test_a_write_waits_out_a_lock_git_holds(kv):
    store = ["--store", "git:repo"]
    kv.ok(*store, "set", "k", "v")
    lock = kv.cwd / "repo" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    release = threading.Timer(0.5, lock.unlink)
    start = time.monotonic()
    release.start()
    try:
        kv.ok(*store, "set", "k", "w")
    finally:
        release.join()
    assert time.monotonic() - start >= 0.4
    assert kv.ok(*store, "get", "k").out == b"w"
    assert HEX40.match(kv.head(*store))
