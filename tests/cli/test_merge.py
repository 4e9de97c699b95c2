"""merge FROM: fast-forward, merge commits, contents merge functions chosen
by .gitattributes, conflicts (exit 3, paths on stderr, nothing moved)."""

import pytest


@pytest.fixture
def forked(kv):
    """main and x diverge from a common commit; returns kv."""
    kv.ok("set", "common", "0")
    kv.ok("branch", "create", "x")
    kv.ok("--branch", "x", "set", "dir/on-x", "x")
    kv.ok("set", "dir/on-main", "m")
    return kv


def test_merge_makes_a_commit_with_both_parents(forked):
    kv = forked
    main_before = kv.head()
    x_head = kv.head("--branch", "x")
    kv.ok("merge", "x")
    assert kv.ok("tree").lines == ["common", "dir/on-main", "dir/on-x"]
    log = kv.ok("--json", "log", "-n", "1").json()
    assert log[0]["parents"] == [main_before, x_head]
    assert log[0]["message"] == "Merge x into main\n"
    # The merged branch did not move.
    assert kv.head("--branch", "x") == x_head


def test_merge_message_and_author(forked):
    kv = forked
    kv.ok("merge", "x", "-m", "bring x in", "--author", "Ann <ann@example.com>")
    log = kv.ok("--json", "log", "-n", "1").json()[0]
    assert log["message"] == "bring x in\n"
    assert (log["author"], log["email"]) == ("Ann", "ann@example.com")


def test_fast_forward_makes_no_commit(kv):
    kv.ok("set", "a", "1")
    kv.ok("branch", "create", "x")
    kv.ok("--branch", "x", "set", "b", "2")
    x_head = kv.head("--branch", "x")
    kv.ok("merge", "x")
    assert kv.head() == x_head


def test_merging_what_is_already_there_changes_nothing(forked):
    kv = forked
    kv.ok("merge", "x")
    head = kv.head()
    kv.ok("merge", "x")
    assert kv.head() == head
    assert kv.ok("--json", "merge", "x").json() == {
        "branch": "main", "hash": head, "changed": False}


def test_merge_by_commit_prefix(forked):
    kv = forked
    x_head = kv.head("--branch", "x")
    kv.ok("merge", x_head[:8])
    assert "dir/on-x" in kv.ok("tree").lines


def test_conflict_exits_3_lists_paths_and_moves_nothing(forked):
    kv = forked
    kv.ok("--branch", "x", "set", "common", "x")
    kv.ok("--branch", "x", "set", "both", "x")
    kv.ok("set", "common", "m")
    kv.ok("set", "both", "m")
    before = kv.state()
    r = kv.run("merge", "x")
    assert r.rc == 3
    assert r.out == b""
    lines = r.err.splitlines()
    assert all(line.startswith("kvctl: ") for line in lines)
    assert "kvctl: conflict: both: both sides changed the value" in lines
    assert "kvctl: conflict: common: both sides changed the value" in lines
    assert kv.state() == before
    doc = kv.run("--json", "merge", "x")
    assert doc.rc == 3
    body = doc.json()
    assert body["code"] == 3
    assert [c["path"] for c in body["conflicts"]] == ["both", "common"]


def test_gitattributes_counter_and_lines(kv):
    kv.ok("set", ".gitattributes", "*.count merge=counter\n*.set merge=lines\n")
    kv.ok("set", "hits.count", "10")
    kv.ok("set", "tags.set", "a\nb\n")
    kv.ok("branch", "create", "x")
    kv.ok("--branch", "x", "set", "hits.count", "15")
    kv.ok("--branch", "x", "set", "tags.set", "a\nb\nx\n")
    kv.ok("set", "hits.count", "11")
    kv.ok("set", "tags.set", "b\nm\n")
    kv.ok("merge", "x")
    assert kv.ok("get", "hits.count").out == b"16"
    assert kv.ok("get", "tags.set").out == b"b\nm\nx\n"


def test_merge_of_unknown_commit_or_branch(forked):
    kv = forked
    before = kv.state()
    kv.fails(1, "merge", "nosuch")
    kv.fails(1, "--branch", "nosuch", "merge", "x")
    kv.fails(2, "merge", "a..b")
    assert kv.state() == before


def test_merge_takes_a_removal_from_the_other_side(kv):
    kv.ok("set", "a", "1")
    kv.ok("set", "keep", "k")
    kv.ok("branch", "create", "x")
    kv.ok("--branch", "x", "remove", "a")
    kv.ok("--branch", "x", "set", "b", "2")
    kv.ok("set", "m", "3")
    kv.ok("merge", "x")
    assert kv.ok("tree").lines == ["b", "keep", "m"]


def test_merge_help(kv):
    r = kv.ok("merge", "--help")
    assert "merge FROM" in r.text
