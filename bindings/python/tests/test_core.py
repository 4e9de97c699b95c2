"""The core of the binding: open, read, write, list, iterate, trees, on
every backend; the git backend's results checked with the git CLI."""

import pytest

import gitkv
from conftest import AUTHOR, git


def test_open_close_context_manager(backend):
    with backend.open() as repo:
        assert repo.backend == backend.kind
        assert repo.default_branch == "main"
        assert not repo.closed
    assert repo.closed
    with pytest.raises(gitkv.ClosedError):
        repo.branch("main")
    repo.close()  # twice is fine


def test_get_set_delete_are_commits(repo, backend):
    main = repo.branch("main")
    assert main.head is None
    assert len(main) == 0 and list(main) == []
    main["posts/2016/marrakech.md"] = b"# Marrakech"
    first = main.head
    assert first is not None and len(first) == 40
    assert main["posts/2016/marrakech.md"] == b"# Marrakech"
    assert "posts/2016/marrakech.md" in main
    assert "posts" not in main  # a directory is not a value
    assert main.kind("posts") == gitkv.Kind.DIR
    main["posts/2017/x"] = "unicode é"  # str is stored as UTF-8
    assert main["posts/2017/x"] == "unicode é".encode()
    del main["posts/2016/marrakech.md"]
    assert "posts/2016/marrakech.md" not in main
    log = list(main.log())
    assert len(log) == 3
    assert log[-1].id == first
    assert log[0].parents == (log[1].id,)
    with pytest.raises(KeyError):
        main["posts/2016/marrakech.md"]
    if backend.kind == "git":
        assert git(backend.dir, "show", "main:posts/2017/x") == "unicode é"
        assert git(backend.dir, "rev-list", "--count", "main").strip() == "3"


def test_missing_value_is_keyerror_with_message(repo):
    main = repo.branch("main")
    main["a"] = b"1"
    with pytest.raises(KeyError) as ei:
        main["b/c"]
    assert isinstance(ei.value, gitkv.NotFound)
    assert ei.value.code == -2
    assert "b/c" in str(ei.value)
    assert main.get("b/c") is None
    assert main.get("b/c", b"dflt") == b"dflt"
    assert main.get("a") == b"1"


def test_binary_values_and_empty(repo):
    main = repo.branch("main")
    blob = bytes(range(256)) * 300 + b"\0\0"
    main["bin"] = blob
    main["empty"] = b""
    assert main["bin"] == blob
    assert main["empty"] == b""
    assert "empty" in main
    chunks = []
    main.read("bin", chunks.append)
    assert b"".join(chunks) == blob
    assert all(len(c) <= 65536 for c in chunks)


def test_set_with_message_and_author(repo, backend):
    main = repo.branch("main")
    head = main.set("k", b"v", message="add k\n", author=("Ann", "ann@example.com", 1700000000, 60),
                    committer=("Bob", "bob@example.com", 1700000100, 0))
    assert head == main.head
    c = repo.lookup(head)
    assert c.message == "add k\n"
    assert c.summary == "add k"
    assert c.author == gitkv.Signature("Ann", "ann@example.com", 1700000000, 60)
    assert c.committer.name == "Bob"
    # the repo's author is used when none is given
    h2 = main.set("k2", b"v")
    assert repo.lookup(h2).author.name == AUTHOR[0]
    # setting what is there makes no commit
    assert main.set("k2", b"v") == h2
    h3 = main.remove("k2", message="drop k2\n")
    assert repo.lookup(h3).message == "drop k2\n"
    if backend.kind == "git":
        assert git(backend.dir, "log", "-1", "--format=%an <%ae> %at %ai", head).strip() == \
            "Ann <ann@example.com> 1700000000 2023-11-14 23:13:20 +0100"


def test_list_iterate_items_tree(repo):
    main = repo.branch("main")
    with main.transaction(message="seed\n") as tx:
        for p in ["a/x", "a/y", "b", "c/d/e"]:
            tx[p] = p.encode()
    assert main.list() == [("a", gitkv.Kind.DIR), ("b", gitkv.Kind.VALUE), ("c", gitkv.Kind.DIR)]
    assert main.list("a") == [("x", gitkv.Kind.VALUE), ("y", gitkv.Kind.VALUE)]
    assert list(main) == ["a/x", "a/y", "b", "c/d/e"]
    assert len(main) == 4
    assert main.items("a") == [("a/x", b"a/x"), ("a/y", b"a/y")]
    with pytest.raises(gitkv.NotFound):
        main.list("b")  # a value
    with main.tree() as t:
        assert t["c/d/e"] == b"c/d/e"
        t2 = t.set("z", b"zz").remove("a")
        assert list(t2) == ["b", "c/d/e", "z"]
        assert list(t) == ["a/x", "a/y", "b", "c/d/e"]  # immutable
        assert t.entry("b").kind == gitkv.Kind.VALUE and t.entry("b").size == 1
        sub = main.tree("c")
        assert list(sub) == ["d/e"]
        diff = t.diff(t2)
        assert [(c.path, c.op) for c in diff] == [
            ("a/x", gitkv.Op.REMOVED), ("a/y", gitkv.Op.REMOVED), ("z", gitkv.Op.ADDED)]
        head = main.set_tree("", t2, message="replace\n")
        assert main.tree().id == t2.id
        assert repo.lookup(head).tree_id == t2.id


def test_commit_views_and_branches(repo):
    main = repo.branch("main")
    h1 = main.set("k", b"1")
    h2 = main.set("k", b"2")
    old = repo.commit(h1)
    assert old["k"] == b"1" and old.branch is None
    assert repo.commit(h1[:8])["k"] == b"1"  # a unique prefix
    assert repo.commit("main")["k"] == b"2"
    assert dict(repo.branches) == {"main": h2}
    repo.branches.create("topic", h1)
    assert repo.branch("topic")["k"] == b"1"
    assert "topic" in repo.branches and "nope" not in repo.branches
    with pytest.raises(gitkv.Exists):
        repo.branches.create("topic", h2)
    repo.branches.fast_forward("topic", h2)
    assert repo.branches["topic"] == h2
    with pytest.raises(gitkv.NonFastForward):
        repo.branches.fast_forward("topic", h1)
    with pytest.raises(gitkv.Conflict):
        repo.branches.cas("topic", h1, h1)
    repo.branches.cas("topic", h2, h1)
    del repo.branches["topic"]
    assert list(repo.branches) == ["main"]
    with pytest.raises(KeyError):
        repo.branches["topic"]
    assert repo.is_ancestor(h1, h2) and not repo.is_ancestor(h2, h1)
    assert repo.merge_bases(h1, h2) == [h1]
    kinds = [e.message.split(":")[0] for e in repo.reflog("main")]
    assert kinds[0] == "commit" and len(kinds) == 2


def test_reopen_persists(disk_backend):
    with disk_backend.open() as repo:
        repo.branch()["a/b"] = b"kept"
    with gitkv.Repo.open(str(disk_backend.dir)) as repo:  # plain path: detected
        assert repo.backend == disk_backend.kind
        assert repo.branch("main")["a/b"] == b"kept"
    disk_backend.check_git()


def test_git_store_is_gits(tmp_path):
    d = tmp_path / "r"
    with gitkv.Repo.open(f"git:{d}", create=True, author=AUTHOR) as repo:
        main = repo.branch("main")
        with main.transaction(message="many\n") as tx:
            for i in range(50):
                tx[f"d{i % 5}/k{i}"] = f"v{i}".encode()
        head = main.head
        tree_id = main.tree().id
    assert git(d, "rev-parse", "main").strip() == head
    assert git(d, "rev-parse", "main^{tree}").strip() == tree_id
    assert git(d, "cat-file", "blob", "main:d3/k13") == "v13"
    assert git(d, "log", "-1", "--format=%s%n%an").splitlines() == ["many", AUTHOR[0]]
    assert len(git(d, "ls-tree", "-r", "main").splitlines()) == 50
    from conftest import fsck
    fsck(d)
    # and what git writes, gitkv reads
    wt = tmp_path / "wt"
    from conftest import git_env
    import subprocess
    env = git_env()
    env.update(GIT_AUTHOR_NAME="G", GIT_AUTHOR_EMAIL="g@x", GIT_COMMITTER_NAME="G",
               GIT_COMMITTER_EMAIL="g@x")
    subprocess.run(["git", "clone", "-q", str(d), str(wt)], check=True, env=env)
    (wt / "from-git").write_text("hello")
    subprocess.run(["git", "-C", str(wt), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(wt), "commit", "-qm", "by git"], check=True, env=env)
    subprocess.run(["git", "-C", str(wt), "push", "-q", "origin", "main"], check=True, env=env)
    with gitkv.Repo.open(f"git:{d}") as repo:
        assert repo.branch("main")["from-git"] == b"hello"
        assert repo.lookup("main").message == "by git\n"


def test_readonly(disk_backend):
    with disk_backend.open() as repo:
        repo.branch()["k"] = b"v"
    with disk_backend.open(readonly=True, create=False) as repo:
        main = repo.branch()
        with pytest.raises(gitkv.ReadOnly) as ei:
            main["k"] = b"other"
        assert ei.value.code == -10
        main["k"] = b"v"  # a write that changes nothing succeeds
        assert main["k"] == b"v"


def test_max_value(disk_backend):
    with disk_backend.open() as repo:
        repo.branch()["big"] = b"x" * 1000
    with disk_backend.open(max_value=100, create=False) as repo:
        with pytest.raises(gitkv.TooLarge) as ei:
            repo.branch()["big"]
        assert ei.value.code == -15
        chunks = []
        repo.branch().read("big", chunks.append)  # streaming ignores the cap
        assert b"".join(chunks) == b"x" * 1000


def test_test_and_set(repo):
    main = repo.branch()
    main.test_and_set("k", None, b"1")
    with pytest.raises(gitkv.Conflict):
        main.test_and_set("k", None, b"2")
    with pytest.raises(gitkv.Conflict):
        main.test_and_set("k", b"0", b"2")
    main.test_and_set("k", b"1", b"")
    assert main["k"] == b""
    main.test_and_set("k", b"", None)
    assert "k" not in main


def test_config_and_default_branch(disk_backend):
    with disk_backend.open() as repo:
        repo.config["app.color"] = "blue"
        assert repo.config["app.color"] == "blue"
        assert ("app.color", "blue") in repo.config.items_under("app")
        del repo.config["app.color"]
        with pytest.raises(KeyError):
            repo.config["app.color"]
        repo.default_branch = "trunk"
        assert repo.default_branch == "trunk"
        repo.branch()["x"] = b"1"
        assert list(repo.branches) == ["trunk"]


def test_objects_and_hash(repo):
    oid = repo.branch().set("k", b"hello")
    t, data = repo.read_object(oid)
    assert t == 1 and data.startswith(b"tree ")
    blob = gitkv.hash_object(3, b"hello")
    assert blob == "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"  # git hash-object
    assert repo.object_exists(blob)
    assert repo.read_object(blob) == (3, b"hello")
    assert not repo.object_exists("0" * 40)
    st = repo.stats()
    assert st["count"]["commit"] == 1 and st["branches"] == 1
    assert repo.fsck() == []
    gitkv.check_object(3, b"anything")
    with pytest.raises(gitkv.Corrupt) as ei:
        gitkv.check_object(2, b"100644 a\0" + b"\1" * 3)
    assert ei.value.code == -6


def test_create_commit_and_trees(repo):
    t = repo.empty_tree().set("a", b"1").set("b/c", b"2")
    c1 = repo.create_commit(t, [], "first\n", author=("A", "a@x", 1700000000, 0),
                            committer=("A", "a@x", 1700000000, 0))
    assert repo.tree(c1)["b/c"] == b"2"
    assert repo.tree(t.id).id == t.id
    c2 = repo.create_commit(t.set("a", b"3"), [c1], "second\n")
    repo.branches.create("made", c2)
    assert repo.branch("made")["a"] == b"3"
    assert [c.id for c in repo.log("made")] == [c2, c1]


def test_commit_info_made_once(repo):
    main = repo.branch()
    sig = gitkv.Signature("bench", "bench@example.com", 1700000000, 0)
    with gitkv.CommitInfo("shared\n", sig, sig) as info:
        h1 = main.set("a", b"1", info=info)
        h2 = main.set("b", b"2", info=info)
        h3 = main.remove("a", info=info)
    for h in (h1, h2, h3):
        c = repo.lookup(h)
        assert c.message == "shared\n" and c.author == sig and c.committer == sig
    with pytest.raises(gitkv.InvalidArgument):
        gitkv.CommitInfo("x", ("bad<name", "e@x"))


def test_read_sink_that_raises(repo):
    main = repo.branch()
    main["big"] = b"z" * 300_000  # several pieces
    got = []

    def sink(piece):
        got.append(piece)
        if len(got) == 2:
            raise BufferError("disk full, say")

    with pytest.raises(BufferError, match="disk full"):
        main.read("big", sink)
    assert len(got) == 2
    got.clear()
    with main.tree() as t:
        with pytest.raises(BufferError):
            t.read("big", sink)
    assert main["big"] == b"z" * 300_000
    with pytest.raises(KeyError):
        main.read("absent", sink)


def test_walk_and_fold_callbacks_stop_cleanly(repo):
    main = repo.branch()
    with main.transaction() as tx:
        for i in range(10):
            tx[f"d/k{i}"] = b"v"
    with main.tree() as t:
        assert [p for p, _k, _i in t.walk("d", dirs=True)] == [f"d/k{i}" for i in range(10)]
        assert [p for p, k, _i in t.walk("", dirs=True)][0] == "d"
        assert len(t.items()) == 10
        assert len(t) == 10
