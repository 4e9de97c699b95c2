"""branch (list, create, delete) and --branch."""

import shutil
import subprocess

import pytest


@pytest.fixture
def two(kv):
    """A store with two commits on main; returns (kv, [first, second])."""
    kv.ok("set", "a", "1")
    first = kv.head()
    kv.ok("set", "a", "2")
    return kv, [first, kv.head()]


def test_branch_lists_names_sorted_by_bytes(two):
    kv, _ = two
    for name in ["zeta", "Alpha", "feature/x", "feature-y", "b"]:
        kv.ok("branch", "create", name)
    assert kv.ok("branch").lines == sorted(
        ["main", "zeta", "Alpha", "feature/x", "feature-y", "b"], key=str.encode)


def test_branch_json_gives_names_and_heads(two):
    kv, (first, second) = two
    kv.ok("branch", "create", "old", first)
    assert kv.ok("--json", "branch").json() == [
        {"name": "main", "head": second},
        {"name": "old", "head": first},
    ]


def test_create_defaults_to_the_head_of_the_current_branch(two):
    kv, (_, second) = two
    kv.ok("branch", "create", "dev")
    assert kv.head("--branch", "dev") == second
    kv.ok("--branch", "dev", "set", "b", "1")
    kv.ok("--branch", "dev", "branch", "create", "dev2")
    assert kv.head("--branch", "dev2") == kv.head("--branch", "dev")


@pytest.mark.parametrize("length", [4, 7, 12, 40])
def test_create_from_a_commit_id_or_prefix(two, length):
    kv, (first, _) = two
    doc = kv.ok("--json", "branch", "create", "old", first[:length]).json()
    assert doc == {"name": "old", "head": first}
    assert kv.ok("--branch", "old", "get", "a").out == b"1"


def test_create_from_an_uppercase_id(two):
    kv, (first, _) = two
    kv.ok("branch", "create", "old", first.upper())
    assert kv.head("--branch", "old") == first


def test_create_from_another_branch(two):
    kv, (first, _) = two
    kv.ok("branch", "create", "old", first)
    kv.ok("branch", "create", "copy", "old")
    assert kv.head("--branch", "copy") == first


def test_create_from_an_unknown_commit_is_exit_1(two):
    kv, _ = two
    before = kv.state()
    for spec in ["deadbeef", "0" * 40, "no-such-branch"]:
        r = kv.fails(1, "branch", "create", "x", spec)
        assert spec in r.err
    assert kv.state() == before


def test_create_from_a_malformed_spec_is_exit_1_or_2(two):
    kv, _ = two
    before = kv.state()
    for spec in ["abc", "a..b"]:
        r = kv.run("branch", "create", "x", spec)
        assert r.rc in (1, 2) and r.err.startswith("kvctl: ") and spec in r.err, r
    assert kv.state() == before


def test_create_from_a_blob_id_is_refused(two):
    kv, (first, _) = two
    # The blob of "1" is an object in the store, but not a commit.
    blob = "56a6051ca2b02b04ef92d5150c9ef600403cb1de"
    r = kv.run("branch", "create", "x", blob)
    assert r.rc in (1, 2) and blob in r.err, r


def git_repo_with_many_commits(tmp_path, n):
    """A git repository whose main has n commits, made in one fast-import
    (dates fixed, so the ids are the same on every run); None without git."""
    git = shutil.which("git")
    if not git:
        return None
    repo = tmp_path / "many"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([git, "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    stream = []
    for i in range(1, n + 1):
        msg, val = f"commit {i}\n", str(i)
        stream.append(f"commit refs/heads/main\nmark :{i}\n"
                      f"committer T <t@example.com> {1500000000 + i} +0000\n"
                      f"data {len(msg)}\n{msg}" + (f"from :{i - 1}\n" if i > 1 else "") +
                      f"M 100644 inline k\ndata {len(val)}\n{val}\n")
    subprocess.run([git, "-C", str(repo), "fast-import", "--quiet"],
                   input="".join(stream).encode(), check=True, env=env)
    ids = subprocess.run([git, "-C", str(repo), "rev-list", "main"], check=True,
                         capture_output=True, env=env).stdout.decode().split()
    assert len(ids) == n
    return repo, ids


def commits_by_kvctl(kv):
    """Make commits with kvctl until two share 4 hex digits (slow: one
    process per commit, about 300 on average)."""
    ids = []
    for i in range(5000):
        ids.append(kv.ok("--json", "set", "k", str(i)).json()["hash"])
        if ids[-1][:4] in {h[:4] for h in ids[:-1]}:
            return ids
    pytest.fail("no two commits shared a 4-hex prefix")


def test_create_from_an_ambiguous_prefix_is_exit_2(kv, tmp_path):
    store = []
    # With these fixed dates, commits 552 and one before it share "09e5".
    made = git_repo_with_many_commits(tmp_path, 600)
    if made:
        store = ["--store", f"git:{made[0]}"]
        r = kv.run(*store, "snapshot")
        if r.rc == 4 and "not built" in r.err:
            store, made = [], None  # no git backend: make them with kvctl
    ids = made[1] if made else commits_by_kvctl(kv)
    firsts = {}
    for h in ids:
        firsts.setdefault(h[:4], []).append(h)
    prefix, (h, other) = next((p, hs[:2]) for p, hs in sorted(firsts.items()) if len(hs) > 1)
    before = kv.state(*store)
    r = kv.fails(2, *store, "branch", "create", "x", prefix)
    assert prefix in r.err and "ambiguous" in r.err
    assert kv.state(*store) == before
    # A longer prefix that tells them apart, or the whole id, is fine.
    n = next(n for n in range(5, 41) if h[:n] != other[:n])
    kv.ok(*store, "branch", "create", "x", h[:n])
    assert kv.head(*store, "--branch", "x") == h


def test_create_an_existing_branch_is_exit_3(two):
    kv, (first, _) = two
    kv.ok("branch", "create", "dev", first)
    before = kv.state()
    r = kv.fails(3, "branch", "create", "dev")
    assert "dev" in r.err
    kv.fails(3, "branch", "create", "main", first)
    assert kv.state() == before


def test_create_with_an_invalid_name_is_exit_2(two):
    kv, _ = two
    before = kv.state()
    for name in ["a..b", "x.lock", "bad name", "tail/"]:
        r = kv.fails(2, "branch", "create", name)
        assert name in r.err
    assert kv.state() == before


def test_create_on_an_empty_store_is_exit_1(kv):
    kv.ok("init")
    r = kv.fails(1, "branch", "create", "dev")
    assert "main" in r.err


def test_delete(two):
    kv, (_, second) = two
    kv.ok("branch", "create", "dev")
    doc = kv.ok("--json", "branch", "delete", "dev").json()
    assert doc == {"name": "dev", "head": second}
    assert kv.ok("branch").lines == ["main"]
    r = kv.fails(1, "branch", "delete", "dev")
    assert "dev" in r.err
    assert kv.ok("get", "a").out == b"2"


def test_reads_and_writes_on_a_missing_branch_are_exit_1_naming_it(two):
    kv, _ = two
    before = kv.state()
    for args in (["get", "a"], ["list"], ["tree"], ["log"], ["snapshot"],
                 ["set", "a", "x"], ["remove", "a"]):
        r = kv.fails(1, "--branch", "nope", *args)
        assert "'nope'" in r.err
    assert kv.state() == before


def test_write_to_a_missing_branch_does_not_create_the_store(kv):
    kv.fails(1, "--branch", "dev", "set", "a", "1")
    assert not (kv.cwd / ".gitkv").exists()


def test_branches_are_independent(two):
    kv, (_, second) = two
    kv.ok("branch", "create", "dev")
    kv.ok("--branch", "dev", "set", "a", "dev value")
    kv.ok("set", "main-only", "x")
    assert kv.ok("get", "a").out == b"2"
    assert kv.ok("get", "a", "--branch", "dev").out == b"dev value"
    kv.fails(1, "--branch", "dev", "get", "main-only")
    assert kv.commits("--branch", "dev")[1] == second


def test_branch_option_equal_to_the_default_is_the_default(kv):
    kv.ok("--branch", "main", "set", "a", "1")
    assert kv.ok("get", "a").out == b"1"
