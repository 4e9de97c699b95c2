"""History, diffs and merges (built-in functions and Python callbacks)."""

import pytest

import gitkv
from conftest import git


def test_log_with_and_without_path(repo, backend):
    main = repo.branch()
    h1 = main.set("a", b"1", message="a1\n")
    h2 = main.set("b", b"1", message="b1\n")
    h3 = main.set("a", b"2", message="a2\n")
    h4 = main.remove("b", message="rm b\n")
    h5 = main.set("c/d", b"1", message="cd\n")
    assert [c.id for c in main.log()] == [h5, h4, h3, h2, h1]
    assert [c.id for c in main.log(path="a")] == [h3, h1]
    assert [c.id for c in main.log(path="b")] == [h4, h2]
    assert [c.id for c in main.log(path="c")] == [h5]
    assert [c.id for c in main.log(path="nothing")] == []
    assert [c.id for c in main.log(limit=2)] == [h5, h4]
    assert [c.id for c in repo.log(h5, hide=[h3])] == [h5, h4]
    assert repo.last_change(h5, "a") == h3
    assert repo.first_change(h5, "a") == h1
    with pytest.raises(gitkv.InvalidArgument):
        list(main.log(path="a//b"))
    assert list(repo.branch("empty").log()) == []
    if backend.kind == "git":
        assert git(backend.dir, "log", "--format=%H", "--", "a").split() == [h3, h1]


def test_log_outlived_by_close(repo):
    main = repo.branch()
    for i in range(5):
        main[f"k{i}"] = b"v"
    it = main.log()
    next(it)
    repo.close()  # the walk is freed with the repo, before it
    with pytest.raises(gitkv.ClosedError):
        next(it)


def test_diff_commits(repo):
    main = repo.branch()
    h1 = main.set("a", b"1")
    main["b"] = b"x"
    main["a"] = b"2"
    h2 = main.remove("b")
    h3 = main.set("c", b"new")
    d = repo.diff(h1, h3)
    assert d == [
        gitkv.Change("a", gitkv.Op.CHANGED, b"1", b"2", gitkv.Kind.VALUE, gitkv.Kind.VALUE),
        gitkv.Change("c", gitkv.Op.ADDED, None, b"new", gitkv.Kind.NONE, gitkv.Kind.VALUE),
    ]
    assert [c.op for c in repo.diff(h3, h2)] == [gitkv.Op.REMOVED]
    assert repo.diff(h2, h2) == []


def diverge(repo, base_items, ours_items, theirs_items):
    main = repo.branch()
    for k, v in base_items.items():
        main[k] = v
    repo.branches.create("topic", main.head)
    topic = repo.branch("topic")
    for k, v in ours_items.items():
        main.set(k, v, message=f"ours {k}\n")
    for k, v in theirs_items.items():
        topic.set(k, v, message=f"theirs {k}\n")
    return main, topic


def test_merge_clean_and_conflict(repo, backend):
    main, topic = diverge(repo, {"a": b"0", "b": b"0"}, {"a": b"ours"}, {"b": b"theirs"})
    head = repo.merge("main", "topic", message="merge topic\n")
    c = repo.lookup(head)
    assert len(c.parents) == 2 and c.message == "merge topic\n"
    assert main["a"] == b"ours" and main["b"] == b"theirs"
    main2, topic2 = main, topic
    main2["x"] = b"1"
    topic2["x"] = b"2"
    before = main2.head
    with pytest.raises(gitkv.Conflict) as ei:
        repo.merge("main", "topic")
    assert ei.value.conflicts and ei.value.conflicts[0][0] == "x"
    assert main2.head == before
    if backend.kind == "git":
        from conftest import fsck
        fsck(backend.dir)
        assert git(backend.dir, "show", "-s", "--format=%P", head).split() == list(c.parents)


@pytest.mark.parametrize("fn,ours,theirs,want", [
    (gitkv.MergeFn.COUNTER, b"15", b"12", b"17"),
    (gitkv.MergeFn.LINES, b"a\nb\n", b"a\nc\n", b"a\nb\nc\n"),
])
def test_merge_builtin_functions(repo, fn, ours, theirs, want):
    base = b"10" if fn == gitkv.MergeFn.COUNTER else b"a\n"
    diverge(repo, {"v": base}, {"v": ours}, {"v": theirs})
    repo.merge("main", "topic", merge=fn)
    assert repo.branch()["v"] == want


def test_merge_rules_and_lww(repo):
    diverge(repo, {"n.count": b"1", "name": b"x"}, {"n.count": b"2", "name": b"ours"},
            {"n.count": b"3", "name": b"theirs"})
    opts = gitkv.MergeOptions(default=gitkv.MergeFn.LWW, rules={"*.count": gitkv.MergeFn.COUNTER})
    repo.merge("main", "topic", merge=opts)
    main = repo.branch()
    assert main["n.count"] == b"4"
    assert main["name"] in (b"ours", b"theirs")


def test_merge_python_callback(repo):
    diverge(repo, {"v": b"b", "w": b"b", "z": b"b"}, {"v": b"o", "w": b"o", "z": b"o"},
            {"v": b"t", "w": b"t", "z": b"t"})
    seen = []

    def cb(path, base, ours, theirs):
        seen.append((path, base, ours, theirs))
        if path == "v":
            return base + ours + theirs
        if path == "w":
            return None  # remove it
        return gitkv.PASS  # z: the default, lww

    repo.merge("main", "topic", merge=gitkv.MergeOptions(callback=cb, default=gitkv.MergeFn.LWW))
    main = repo.branch()
    assert sorted(p for p, *_ in seen) == ["v", "w", "z"]
    assert ("v", b"b", b"o", b"t") in seen
    assert main["v"] == b"bot"
    assert "w" not in main
    assert main["z"] in (b"o", b"t")


def test_merge_callback_conflict_answer(repo):
    main, _ = diverge(repo, {"v": b"b"}, {"v": b"o"}, {"v": b"t"})
    head = main.head
    with pytest.raises(gitkv.Conflict) as ei:
        repo.merge("main", "topic", merge=lambda *a: gitkv.CONFLICT)
    assert [p for p, _ in ei.value.conflicts] == ["v"]
    assert main.head == head


def test_merge_callback_that_raises(repo):
    main, _ = diverge(repo, {"v": b"b"}, {"v": b"o"}, {"v": b"t"})
    head = main.head

    def bad(path, base, ours, theirs):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        repo.merge("main", "topic", merge=bad)
    assert main.head == head
    with pytest.raises(ZeroDivisionError):
        repo.merge_commits("main", "topic", merge=bad)

    def bad_value(path, base, ours, theirs):
        return 12  # not bytes

    with pytest.raises(TypeError):
        repo.merge("main", "topic", merge=bad_value)
    assert main.head == head
    assert repo.fsck() == []


def test_merge_commits_and_trees(repo):
    main, topic = diverge(repo, {"a": b"0"}, {"a": b"1"}, {"b": b"2"})
    m = repo.merge_commits("main", "topic")
    assert repo.lookup(m).parents == (main.head, topic.head)
    assert main.head != m  # no branch moved
    base = repo.tree(repo.merge_bases("main", "topic")[0])
    t = repo.merge_trees(base, main.tree(), topic.tree())
    assert sorted(t.items()) == [("a", b"1"), ("b", b"2")]
    # a fast-forward makes no commit
    repo.branches.create("behind", repo.merge_bases("main", "topic")[0])
    assert repo.merge("behind", "main") == main.head
