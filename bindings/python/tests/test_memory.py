"""Nothing leaks across a million calls: the process's resident memory
(VmRSS) stays within a small bound while the binding makes and drops C
objects in loops. Objects are freed by close(), by ``with``, and by their
finalizer when dropped without either."""

import gc
import os
import time

import pytest

import gitkv

SANITIZED = os.environ.get("GKV_SANITIZED") == "1"
MIB = 1024 * 1024


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def bounded(fn, n, bound):
    """Run fn n times after a warm-up, and assert RSS grew less than bound."""
    for _ in range(min(n // 10, 20000)):
        fn()
    gc.collect()
    before = rss()
    t0 = time.monotonic()
    for _ in range(n):
        fn()
    elapsed = time.monotonic() - t0
    gc.collect()
    grown = rss() - before
    assert grown < bound, f"RSS grew by {grown / MIB:.1f} MiB over {n} calls"
    return elapsed


def test_a_million_gets(tmp_path):
    with gitkv.Repo.open("mem:") as repo:
        main = repo.branch()
        main["d00/d01/k1"] = b"v" * 64
        get = main.__getitem__
        elapsed = bounded(lambda: get("d00/d01/k1"), 1_000_000, 4 * MIB)
        # bounded time: plain builds take about a second, sanitized ones longer
        assert elapsed < (240 if SANITIZED else 60)


@pytest.mark.parametrize("kind", ["lmdb", "git"])
def test_gets_and_misses_on_disk(tmp_path, kind):
    with gitkv.Repo.open(f"{kind}:{tmp_path / 's'}", create=True) as repo:
        main = repo.branch()
        main["a/b"] = b"x" * 100
        n = 20_000 if SANITIZED else 200_000

        def step():
            main["a/b"]
            main.get("a/c")
            "a/b" in main

        bounded(step, n, 4 * MIB)


def test_errors_do_not_leak():
    with gitkv.Repo.open("mem:") as repo:
        main = repo.branch()
        main["a"] = b"1"

        def miss():
            try:
                main["nope/x"]
            except KeyError:
                pass
            try:
                main["a//b"] = b"x"
            except gitkv.InvalidArgument:
                pass

        bounded(miss, 20_000 if SANITIZED else 200_000, 4 * MIB)


def test_dropped_handles_are_freed():
    with gitkv.Repo.open("mem:") as repo:
        main = repo.branch()
        with main.transaction() as tx:
            for i in range(200):
                tx[f"d{i % 10}/k{i}"] = b"v" * 100

        def make_and_drop():
            s = repo.branch("main")  # dropped: the finalizer frees it
            t = s.tree()
            t2 = t.set("x", b"y" * 200)  # a new tree, never written
            t2.list("d3")
            tx = s.transaction()
            tx["z"] = b"1"
            tx.rollback()
            with repo.empty_tree() as e:
                e.is_empty()
            del s, t, t2

        bounded(make_and_drop, 5_000 if SANITIZED else 50_000, 6 * MIB)


def test_closing_a_repo_frees_its_children_first():
    for _ in range(2000):
        repo = gitkv.Repo.open("mem:")
        s = repo.branch()
        s["a"] = b"1"
        t = s.tree()
        tx = s.transaction()
        w = repo.watch(lambda *a: None)
        repo.close()  # transaction, trees, store, watch, then the repo
        assert tx.closed and t.closed and s.closed and w.closed


def test_callbacks_do_not_leak():
    with gitkv.Repo.open("mem:") as repo:
        base = repo.empty_tree().set("v", b"base")
        ours = base.set("v", b"ours" * 50)
        theirs = base.set("v", b"theirs" * 50)
        opts = gitkv.MergeOptions(callback=lambda p, b, o, t: o + t)  # result malloc'd here, freed by C

        def merge():
            with repo.merge_trees(base, ours, theirs, merge=opts) as t:
                assert t["v"].startswith(b"ours")
            with repo.branch() as s:
                try:
                    s.read("absent", lambda piece: None)
                except KeyError:
                    pass

        bounded(merge, 2_000 if SANITIZED else 20_000, 4 * MIB)
        opts.close()
