"""kvctl clone, push and pull against real git servers on 127.0.0.1 (git
daemon, http with basic auth, https with the test's CA, ssh with the
test's key) and a plain path, for the lmdb and git backends: what kvctl
pushes, git clones; what git pushes, kvctl pulls; git fsck --strict is
clean on both sides.

The mem backend is one store per process, so a clone followed by a push
needs two processes and cannot be run through kvctl; it is covered here
only by a clone or fetch within one process (test_mem_*), and by the C
tests of the library for the rest.
"""

import json

import pytest

from servers import KINDS, GitSide, ServerPool, credentials, fsck_strict, run, git_env

BACKENDS = ("lmdb", "git")


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    p = ServerPool(tmp_path_factory.mktemp("servers"))
    yield p
    p.close()


def store_spec(backend, tmp_path):
    return f"lmdb:{tmp_path / 'store'}" if backend == "lmdb" else f"git:{tmp_path / 'store.git'}"


class Remote:
    """A bare repository on a server, kvctl's way to it and git's."""

    def __init__(self, pool, kind, tmp_path):
        self.kind = kind
        self.bare, self.url, self.srv = pool.remote(kind)
        self.opts, self.creds = credentials(kind, self.srv)
        self.git = GitSide(self.bare, tmp_path / "git-work")

    def env(self, kv):
        return {**kv.env, **self.creds}

    def git_clone(self, dest):
        """A clone by the git CLI through the server (the path for "path")."""
        if self.srv is None:
            run(["git", "clone", "-q", str(self.bare), dest], env=git_env())
        else:
            self.srv.git("clone", "-q", self.srv.git_url(self.bare.name), dest)
        return dest


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_clone_push_pull(kv, tmp_path, pool, backend, kind):
    r = Remote(pool, kind, tmp_path)
    seed = r.git.seed({"a": "1", "dir/x": "x"})
    st = ["--store", store_spec(backend, tmp_path)]
    env = r.env(kv)

    # clone: every branch, the default branch, origin recorded.
    out = kv.ok(*st, "--json", "clone", r.url, *r.opts, env=env).json()
    assert out["default_branch"] == "main"
    assert out["branches"] == [{"name": "main", "head": seed}]
    assert kv.ok(*st, "get", "a").out == b"1"
    assert kv.ok(*st, "get", "dir/x").out == b"x"
    assert kv.head(*st) == seed
    assert kv.ok(*st, "remote").text == f"origin\t{r.url}\n"

    # set, then push to the recorded remote.
    kv.ok(*st, "set", "b", "2", "-m", "from kvctl")
    mine = kv.head(*st)
    kv.ok(*st, "push", "origin", *r.opts, env=env)
    assert r.git.head() == mine
    assert kv.ok(*st, "push", "origin", *r.opts, env=env).out == b""  # nothing new

    # git changes the remote; kvctl pulls it (a fast-forward).
    theirs = r.git.commit({"c": "3", "a": "1 changed"}, "from git")
    pulled = kv.ok(*st, "--json", "pull", "origin", *r.opts, env=env).json()
    assert pulled["hash"] == theirs and pulled["changed"] is True
    assert kv.head(*st) == theirs
    assert kv.ok(*st, "get", "c").out == b"3"
    assert kv.ok(*st, "get", "a").out == b"1 changed"
    assert kv.ok(*st, "get", "b").out == b"2"

    # A git clone through the server sees everything; both sides fsck clean.
    copy = r.git_clone(tmp_path / "copy")
    assert (copy / "b").read_text() == "2" and (copy / "c").read_text() == "3"
    fsck_strict(r.bare)
    if backend == "git":
        fsck_strict(tmp_path / "store.git")
        # git sees the remote kvctl recorded, and its tracking ref.
        g = ["git", "--git-dir", tmp_path / "store.git"]
        assert run([*g, "config", "remote.origin.url"], env=git_env()).strip() == r.url
        assert run([*g, "rev-parse", "refs/remotes/origin/main"], env=git_env()).strip() == theirs


@pytest.mark.parametrize("kind", ["daemon", "path"])
def test_fetch_of_a_url_prints_heads_and_moves_no_ref(kv, tmp_path, pool, kind):
    r = Remote(pool, kind, tmp_path)
    seed = r.git.seed({"a": "1"})
    st = ["--store", store_spec("git", tmp_path)]
    kv.ok(*st, "clone", r.url)
    other = r.git.commit({"f": "feature"}, "feature", branch="feature")
    newer = r.git.commit({"a": "2"}, "newer")
    refs_before = run(["git", "--git-dir", tmp_path / "store.git", "for-each-ref"],
                      env=git_env())
    out = kv.ok(*st, "fetch", str(r.bare) if kind == "path" else r.url).text
    assert out.splitlines() == [f"{other} feature", f"{newer} main"]
    assert run(["git", "--git-dir", tmp_path / "store.git", "for-each-ref"],
               env=git_env()) == refs_before
    # The objects are in the store: a branch can be made at the fetched head.
    kv.ok(*st, "branch", "create", "f", other)
    assert kv.ok(*st, "--branch", "f", "get", "f").out == b"feature"
    assert kv.head(*st) == seed  # main did not move


def test_fetch_of_a_recorded_remote_moves_remote_tracking_refs(kv, tmp_path, pool):
    r = Remote(pool, "daemon", tmp_path)
    seed = r.git.seed({"a": "1"})
    st = ["--store", store_spec("git", tmp_path)]
    kv.ok(*st, "clone", r.url)
    newer = r.git.commit({"a": "2"}, "newer")
    assert kv.ok(*st, "fetch", "origin").out == b""
    g = ["git", "--git-dir", tmp_path / "store.git"]
    assert run([*g, "rev-parse", "refs/remotes/origin/main"], env=git_env()).strip() == newer
    assert kv.head(*st) == seed
    out = kv.ok(*st, "--json", "fetch", "origin", "main").json()
    assert out["recorded"] is True
    assert out["branches"] == [{"name": "main", "head": newer}]
    # pull --strategy ff then moves main to what was fetched.
    kv.ok(*st, "pull", "origin", "--strategy", "ff")
    assert kv.head(*st) == newer


@pytest.mark.parametrize("kind", ["daemon", "path"])
def test_mem_clone_and_fetch_in_one_process(kv, tmp_path, pool, kind):
    r = Remote(pool, kind, tmp_path)
    seed = r.git.seed({"a": "1"})
    feat = r.git.commit({"b": "2"}, "feature", branch="feature")
    out = kv.ok("--store", "mem:", "--json", "clone", r.url).json()
    assert out["branches"] == [{"name": "feature", "head": feat}, {"name": "main", "head": seed}]
    out = kv.ok("--store", "mem:", "fetch", r.url).text
    assert out.splitlines() == [f"{feat} feature", f"{seed} main"]  # sorted by branch


def test_push_of_a_new_branch_and_to_another_name(kv, tmp_path, pool):
    r = Remote(pool, "daemon", tmp_path)
    r.git.seed({"a": "1"})
    st = ["--store", store_spec("lmdb", tmp_path)]
    kv.ok(*st, "clone", r.url)
    kv.ok(*st, "branch", "create", "topic")
    kv.ok(*st, "--branch", "topic", "set", "t", "topic value")
    topic = kv.head(*st, "--branch", "topic")
    out = kv.ok(*st, "--branch", "topic", "--json", "push", "origin").json()
    assert out == {"branch": "topic", "remote": "origin", "remote_branch": "topic", "hash": topic}
    assert r.git.head("topic") == topic
    kv.ok(*st, "--branch", "topic", "push", "origin", "renamed")
    assert r.git.head("renamed") == topic
    fsck_strict(r.bare)
