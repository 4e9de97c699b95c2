"""Watches: Python callbacks on branch moves, path changes and polls."""

import pytest

import gitkv


def test_branch_watch(repo):
    events = []
    main = repo.branch()
    with repo.watch(lambda b, old, new: events.append((b, old, new))) as w:
        h1 = main.set("a", b"1")
        h2 = main.set("a", b"2")
        repo.branches.create("x", h1)
        del repo.branches["x"]
    assert events == [("main", None, h1), ("main", h1, h2), ("x", None, h1), ("x", h1, None)]
    assert w.closed
    main["a"] = b"3"  # no longer watched
    assert len(events) == 4


def test_branch_watch_one_branch(repo):
    events = []
    w = repo.branch("main").watch(lambda b, old, new: events.append(b))
    repo.branch("main")["a"] = b"1"
    repo.branch("other")["a"] = b"1"
    assert events == ["main"]
    w.close()


def test_path_watch_gets_the_changes(repo):
    changes = []
    main = repo.branch()
    w = main.watch(lambda b, old, new, diff: changes.append(diff), prefix="cfg")
    main["other"] = b"x"  # outside the prefix: no call
    main["cfg/a"] = b"1"
    with main.transaction() as tx:
        tx["cfg/a"] = b"2"
        tx["cfg/b"] = b"3"
    assert changes == [
        [gitkv.Change("cfg/a", gitkv.Op.ADDED, None, b"1", gitkv.Kind.NONE, gitkv.Kind.VALUE)],
        [gitkv.Change("cfg/a", gitkv.Op.CHANGED, b"1", b"2", gitkv.Kind.VALUE, gitkv.Kind.VALUE),
         gitkv.Change("cfg/b", gitkv.Op.ADDED, None, b"3", gitkv.Kind.NONE, gitkv.Kind.VALUE)],
    ]
    w.close()


def test_watch_callback_that_raises(repo):
    main = repo.branch()

    def bad(branch, old, new):
        raise LookupError("watcher failed on " + branch)

    w = repo.watch(bad)
    with pytest.raises(LookupError, match="watcher failed on main"):
        main["a"] = b"1"
    assert main["a"] == b"1"  # the move landed: a watch cannot undo it
    with pytest.raises(LookupError):
        main.set("a", b"2")
    with pytest.raises(LookupError):
        with main.transaction() as tx:
            tx["b"] = b"1"
    assert main["b"] == b"1"
    w.close()
    main["c"] = b"1"  # nothing pending afterwards


def test_poll_sees_other_handles(disk_backend):
    with disk_backend.open() as writer, disk_backend.open(create=False) as reader:
        events = []
        w = reader.watch(lambda b, old, new: events.append((b, new)))
        assert reader.poll() == 0
        h = writer.branch()["k"] = b"v"
        h = writer.branches["main"]
        assert reader.poll() == 1
        assert events == [("main", h)]
        assert reader.poll() == 0
        w.close()


def test_watches_closed_with_repo(backend):
    repo = backend.open()
    w = repo.watch(lambda *a: None)
    s = repo.branch()
    repo.close()
    assert w.closed and s.closed


def test_a_callback_reading_through_another_store(repo):
    main = repo.branch()
    reader = repo.branch("main")  # the writer's store is busy during the call
    seen = []
    w = main.watch(lambda b, old, new: seen.append(reader["k"]))
    main["k"] = b"v1"
    main["k"] = b"v2"
    assert seen == [b"v1", b"v2"]
    busy = []

    def same_store(b, old, new):
        try:
            main["k"]
        except RuntimeError as e:
            busy.append(str(e))

    w2 = repo.watch(same_store)
    main["k"] = b"v3"
    assert busy and "callback" in busy[0]
    w.close()
    w2.close()
