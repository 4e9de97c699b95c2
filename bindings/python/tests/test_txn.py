"""Transactions: one commit on exit, rollback on exception, and the three
strategies when the head moved meanwhile."""

import pytest

import gitkv
from conftest import git


def test_commit_on_exit_one_commit(repo, backend):
    main = repo.branch()
    main["keep"] = b"0"
    with main.transaction(message="batch\n") as tx:
        for i in range(20):
            tx[f"k/{i}"] = str(i).encode()
        assert tx["k/3"] == b"3"  # sees its own changes
        del tx["keep"]
        del tx["never/there"]  # absent: not an error in a transaction
        assert main.get("k/3") is None  # nothing visible before commit
    assert tx.head == main.head
    log = list(main.log())
    assert len(log) == 2 and log[0].message == "batch\n"
    assert len(main) == 20 and "keep" not in main
    if backend.kind == "git":
        assert git(backend.dir, "log", "-1", "--format=%B", "main") == "batch\n\n"


def test_rollback_on_exception(repo):
    main = repo.branch()
    main["a"] = b"1"
    head = main.head
    with pytest.raises(RuntimeError, match="boom"):
        with main.transaction(message="x") as tx:
            tx["a"] = b"2"
            tx["b"] = b"3"
            raise RuntimeError("boom")
    assert main.head == head
    assert main["a"] == b"1" and "b" not in main
    assert tx.closed


def test_empty_transaction_makes_no_commit(repo):
    main = repo.branch()
    with main.transaction() as tx:
        pass
    assert tx.head is None and main.head is None
    main["a"] = b"1"
    h = main.head
    with main.transaction() as tx:
        tx["a"] = b"1"
    assert tx.head == h and main.head == h


def test_fail_strategy_conflicts_when_head_moved(repo):
    main = repo.branch()
    main["a"] = b"1"
    other = repo.branch("main")
    tx = main.transaction(message="t\n")
    tx["b"] = b"2"
    other["c"] = b"3"  # the head moves
    moved = other.head
    with pytest.raises(gitkv.Conflict) as ei:
        tx.commit()
    assert ei.value.code == -5
    assert main.head == moved and "b" not in main
    with pytest.raises(gitkv.ClosedError):
        tx.commit()


def test_overwrite_strategy(repo):
    main = repo.branch()
    main["a"] = b"1"
    other = repo.branch("main")
    with main.transaction(message="t\n", strategy=gitkv.Strategy.OVERWRITE) as tx:
        tx["b"] = b"2"
        other["c"] = b"3"
    assert list(main) == ["a", "b"]  # c replaced: the transaction's tree wins
    c = repo.lookup(main.head)
    assert c.parents == (other.head if False else repo.lookup(c.parents[0]).id,)
    assert repo.lookup(c.parents[0]).message.startswith("set c")


def test_merge_strategy(repo):
    main = repo.branch()
    main["a"] = b"1"
    other = repo.branch("main")
    with main.transaction(message="t\n", strategy=gitkv.Strategy.MERGE) as tx:
        tx["b"] = b"2"
        other["c"] = b"3"
    assert list(main) == ["a", "b", "c"]


def test_merge_strategy_conflict_lists_paths(repo):
    main = repo.branch()
    main["a"] = b"1"
    other = repo.branch("main")
    tx = main.transaction(message="t\n", strategy=gitkv.Strategy.MERGE)
    tx["a"] = b"mine"
    other["a"] = b"theirs"
    head = other.head
    with pytest.raises(gitkv.Conflict) as ei:
        tx.commit()
    assert [p for p, _r in ei.value.conflicts] == ["a"]
    assert main.head == head and main["a"] == b"theirs"


def test_merge_strategy_with_builtin_function(repo):
    main = repo.branch()
    main["n.count"] = b"10"
    other = repo.branch("main")
    with main.transaction(message="t\n", strategy=gitkv.Strategy.MERGE,
                          merge=gitkv.MergeOptions(rules={"*.count": gitkv.MergeFn.COUNTER})) as tx:
        tx["n.count"] = b"15"
        other["n.count"] = b"12"
    assert main["n.count"] == b"17"


def test_merge_strategy_python_callback(repo):
    main = repo.branch()
    main["v"] = b"base"
    other = repo.branch("main")
    calls = []

    def resolve(path, base, ours, theirs):
        calls.append((path, base, ours, theirs))
        return ours + b"+" + theirs

    with main.transaction(strategy=gitkv.Strategy.MERGE, merge=resolve) as tx:
        tx["v"] = b"mine"
        other["v"] = b"theirs"
    assert calls == [("v", b"base", b"mine", b"theirs")] or calls == [("v", b"base", b"theirs", b"mine")]
    assert main["v"] in (b"mine+theirs", b"theirs+mine")


def test_merge_callback_that_raises_propagates(repo):
    main = repo.branch()
    main["v"] = b"base"
    other = repo.branch("main")

    class Mine(Exception):
        pass

    def bad(path, base, ours, theirs):
        raise Mine(path)

    tx = main.transaction(strategy=gitkv.Strategy.MERGE, merge=bad)
    tx["v"] = b"mine"
    other["v"] = b"theirs"
    head = other.head
    with pytest.raises(Mine, match="^v$"):
        tx.commit()
    assert main.head == head and main["v"] == b"theirs"


def test_explicit_commit_and_tree(repo):
    main = repo.branch()
    tx = main.transaction()
    tx.set("x/y", b"1")
    assert tx.list("x") == [("y", gitkv.Kind.VALUE)]
    t = tx.tree()
    assert t["x/y"] == b"1"
    h = tx.commit(message="explicit\n")
    assert h == main.head and repo.lookup(h).message == "explicit\n"
    assert t["x/y"] == b"1"  # the tree outlives its transaction
