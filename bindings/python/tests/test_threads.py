"""Threads, as the C API allows them: a Repo and its trees are shared; a
store belongs to one thread at a time, so each thread opens its own."""

import threading

import gitkv

N_THREADS = 4


def run_threads(target, n=N_THREADS):
    errors = []

    def wrap(i):
        try:
            target(i)
        except BaseException as e:  # noqa: B036 - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    if errors:
        raise errors[0]


def test_concurrent_reads(repo):
    main = repo.branch()
    with main.transaction() as tx:
        for i in range(500):
            tx[f"d{i % 16}/k{i}"] = str(i).encode()
    tree = main.tree()

    def reader(i):
        mine = repo.branch("main")  # one store per thread
        for j in range(4000):
            k = (i * 131 + j) % 500
            assert mine[f"d{k % 16}/k{k}"] == str(k).encode()
            assert tree[f"d{k % 16}/k{k}"] == str(k).encode()  # a shared tree

    run_threads(reader)


def test_concurrent_writers_lose_nothing(repo):
    def writer(i):
        mine = repo.branch("main")
        for j in range(50):
            mine[f"t{i}/k{j}"] = b"x"

    run_threads(writer)
    main = repo.branch()
    assert len(main) == N_THREADS * 50
    assert len(list(main.log())) == N_THREADS * 50


def test_readers_alongside_a_writer(repo):
    main = repo.branch()
    main["counter"] = b"0"
    stop = threading.Event()

    def work(i):
        mine = repo.branch("main")
        if i == 0:
            for j in range(1, 200):
                mine["counter"] = str(j).encode()
            stop.set()
        else:
            last = 0
            for _ in range(200000):
                v = int(mine["counter"])
                assert v >= last  # readers see heads in order
                last = v
                if stop.is_set():
                    break

    run_threads(work)
    assert main["counter"] == b"199"


def test_a_store_used_by_two_threads_at_once_is_refused():
    with gitkv.Repo.open("mem:") as repo:
        main = repo.branch()
        entered = threading.Event()
        release = threading.Event()
        seen = []

        def slow(data):  # runs inside main.read, holding the store
            entered.set()
            release.wait(10)

        def other():
            entered.wait(10)
            try:
                main["k"]
            except RuntimeError as e:
                seen.append(str(e))
            finally:
                release.set()

        main["k"] = b"v"
        t = threading.Thread(target=other)
        t.start()
        main.read("k", slow)
        t.join(10)
        assert seen and "one thread at a time" in seen[0]
        assert main["k"] == b"v"  # usable again once the call returned
