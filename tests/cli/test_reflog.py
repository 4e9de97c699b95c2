"""kvctl reflog: every move of a branch, newest first, kept after the
branch is deleted, so that a delete or a revert can be undone."""

import subprocess

import pytest

ZERO = "0" * 40


@pytest.mark.parametrize("scheme", ["lmdb", "git"])
def test_moves_are_logged_and_a_delete_undone(kv, tmp_path, scheme):
    store = ["--store", f"{scheme}:{tmp_path}/s"]
    kv.ok(*store, "set", "a", "1", "-m", "first")
    one = kv.ok(*store, "snapshot").text.strip()
    kv.ok(*store, "set", "a", "2", "-m", "second")
    two = kv.ok(*store, "snapshot").text.strip()
    kv.ok(*store, "branch", "create", "topic")
    kv.ok(*store, "--branch", "topic", "set", "b", "x", "-m", "on topic")
    three = kv.ok(*store, "--branch", "topic", "snapshot").text.strip()

    lines = kv.ok(*store, "reflog").lines
    assert len(lines) == 2
    old, new, when, msg = lines[0].split(" ", 3)
    assert (old, new, msg) == (one, two, "commit: second")
    assert int(when) > 1_000_000_000
    assert lines[1].split(" ", 3)[::3] == [ZERO, "commit (initial): first"]

    topic = kv.ok(*store, "reflog", "topic").lines
    assert [l.split(" ", 3)[3] for l in topic] == [
        "commit: on topic", f"branch: Created from {two}"]

    kv.ok(*store, "branch", "delete", "topic")
    kept = kv.ok(*store, "reflog", "topic").lines
    assert kept[0].split(" ", 3)[:2] == [three, ZERO]
    assert kept[0].endswith("branch: deleted")
    # undo the delete from the log
    kv.ok(*store, "branch", "create", "topic", kept[0].split()[0])
    assert kv.ok(*store, "--branch", "topic", "get", "b").out == b"x"

    doc = kv.ok(*store, "--json", "reflog").json()
    assert [e["new"] for e in doc] == [two, one]
    assert doc[0]["message"] == "commit: second" and doc[0]["email"]

    kv.fails(1, *store, "reflog", "never")
    kv.fails(2, *store, "reflog", "bad..name")

    if scheme == "git":
        out = subprocess.run(["git", "--git-dir", f"{tmp_path}/s", "reflog", "show",
                              "--format=%H %gs", "refs/heads/main"],
                             capture_output=True, check=True, text=True, env=kv.env).stdout
        assert out.splitlines()[0] == f"{two} commit: second"
