#!/usr/bin/python3
"""W2 and W3 (/work/shared/bench/WORKLOADS.md, bench/README.md) through the
Python binding (bindings/python) and through pygit2, in the same run, in
rounds; prints the medians, the ratios, and the binding's per-call
overhead: its time minus the C library's own time for the same work
(bench-gitkv, from the same build, run on the same store kind).

    GITKV_LIBRARY=build/libgitkv.so /usr/bin/python3 bench/pybind_bench.py \
        [--build build] [--rounds 3] [--n 10000] [--commits 10000] [--gets 200000]

W2: from D(N) at main, COMMITS updates of random existing keys, each its
own commit (same keys, values, messages and signatures as bench/, so the
final commit ids of the binding and pygit2 agree, and are checked).
W3: GETS reads of random keys at the head of D(N), values checked: through
the binding as store[path] (a store reads its head at each get) and as
tree[path] on the head's tree (what pygit2's tree[path] does).
Only the core loop is timed, in every program.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parent
sys.path.insert(0, str(TOP / "bindings" / "python"))
sys.path.insert(0, str(HERE))

import pygit2  # noqa: E402

import gitkv  # noqa: E402
import pygit2_bench as pg  # noqa: E402  (the peer, as bench/ runs it: same keys and seeds)

SIG = gitkv.Signature("bench", "bench@example.com", 1700000000, 0)
D10000 = "0b65737b2c928793e5ad351fb18fbf048a1c494c"


def update_value(j):
    import hashlib
    return hashlib.sha256(b"update%d" % j).hexdigest().encode()


def load_gitkv(repo, n):
    main = repo.branch("main")
    with main.transaction(message="bulk\n", author=SIG, committer=SIG) as tx:
        for i in range(n):
            tx[pg.path(i)] = pg.value(i)
    return main, tx.head


# ------------------------------------------------------------------- W2

def w2_binding(uri, n, u, durability):
    with gitkv.Repo.open(uri, create=True, durability=durability) as repo:
        main, base = load_gitkv(repo, n)
        if n == 10000:
            assert base == D10000, f"D(10000) is {base}, not git's {D10000}"
        work = [(pg.path(i), update_value(j), gitkv.CommitInfo("update %d\n" % j, SIG, SIG))
                for j, i in enumerate(pg.choices(pg.SEED_W2, u, n))]
        set_ = main.set
        t0 = time.perf_counter()
        for p, v, info in work:
            head = set_(p, v, info=info)
        core = time.perf_counter() - t0
        for _p, _v, info in work:
            info.close()
        return core, head


def w2_pygit2(d, n, u):
    repo = pg.new_repo(d)
    head = pg.load(repo, n)
    work = []
    for j, i in enumerate(pg.choices(pg.SEED_W2, u, n)):
        p = pg.path(i)
        work.append((p[:3], p[4:7], p[8:], update_value(j), "update %d\n" % j))
    t0 = time.perf_counter()
    for da, db, k, v, msg in work:
        root = repo[head].tree
        top = repo[root[da].id]
        leaf = repo[top[db].id]
        tb = repo.TreeBuilder(leaf)
        tb.insert(k, repo.create_blob(v), pygit2.GIT_FILEMODE_BLOB)
        tb2 = repo.TreeBuilder(top)
        tb2.insert(db, tb.write(), pygit2.GIT_FILEMODE_TREE)
        tb3 = repo.TreeBuilder(root)
        tb3.insert(da, tb2.write(), pygit2.GIT_FILEMODE_TREE)
        head = repo.create_commit("refs/heads/main", pg.SIG, pg.SIG, msg, tb3.write(), [head])
    return time.perf_counter() - t0, str(head)


# ------------------------------------------------------------------- W3

def w3_prepare_binding(uri, n):
    with gitkv.Repo.open(uri, create=True, durability=gitkv.Durability.NOSYNC) as repo:
        load_gitkv(repo, n)


def w3_binding(repo, work, how):
    main = repo.branch("main")
    if how == "tree":
        t0 = time.perf_counter()
        get = main.tree().__getitem__
    else:
        get = main.__getitem__
        t0 = time.perf_counter()
    for p, v in work:
        if get(p) != v:
            sys.exit("wrong value at " + p)
    return time.perf_counter() - t0


def w3_pygit2(d, work):
    repo = pygit2.Repository(d)
    t0 = time.perf_counter()
    tree = repo.revparse_single("refs/heads/main").tree
    for p, v in work:
        if tree[p].data != v:
            sys.exit("wrong value at " + p)
    return time.perf_counter() - t0


# ------------------------------------------------------- C's own time

def c_time(build, args):
    exe = Path(build) / "bench" / "bench-gitkv"
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, check=True,
                         timeout=600).stdout
    for line in out.splitlines():
        if line.startswith("BENCH core_s="):
            return float(line.split("=", 1)[1])
    raise RuntimeError("bench-gitkv printed no core_s:\n" + out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--gets", type=int, default=200000)
    ap.add_argument("--backends", default="mem,lmdb,git")
    a = ap.parse_args()
    backends = a.backends.split(",")
    res = {}

    def add(key, v):
        res.setdefault(key, []).append(v)

    with tempfile.TemporaryDirectory(prefix="pybind-bench-") as tmp:
        tmp = Path(tmp)
        # W3's stores are made once; gets do not change them
        w3_work = [(pg.path(i), pg.value(i)) for i in pg.choices(pg.SEED_W3, a.gets, a.n)]
        pg_repo = pg.new_repo(str(tmp / "w3-pygit2"))
        pg.load(pg_repo, a.n)
        del pg_repo
        w3_uris = {}
        for b in backends:
            if b == "mem":
                continue
            w3_uris[b] = f"{b}:{tmp / ('w3-' + b)}"
            w3_prepare_binding(w3_uris[b], a.n)
        for r in range(a.rounds):
            for b in backends:
                dur = gitkv.Durability.NOSYNC if b != "mem" else None
                uri = "mem:" if b == "mem" else f"{b}:{tmp / f'w2-{b}-{r}'}"
                core, head = w2_binding(uri, a.n, a.commits, dur)
                add(("W2", b, "binding"), core)
                add(("W2", b, "head"), head)
                cargs = ["w2", uri if b == "mem" else f"{b}:{tmp / f'w2c-{b}-{r}'}",
                         str(a.n), str(a.commits)] + (["--nosync"] if b != "mem" else [])
                add(("W2", b, "c"), c_time(a.build, cargs))
            core, head = w2_pygit2(str(tmp / f"w2-pygit2-{r}"), a.n, a.commits)
            add(("W2", "pygit2", "pygit2"), core)
            add(("W2", "pygit2", "head"), head)
            add(("W3", "pygit2", "pygit2"), w3_pygit2(str(tmp / "w3-pygit2"), w3_work))
            for b in backends:
                if b == "mem":
                    continue
                with gitkv.Repo.open(w3_uris[b]) as repo:
                    add(("W3", b, "store"), w3_binding(repo, w3_work, "store"))
                    add(("W3", b, "tree"), w3_binding(repo, w3_work, "tree"))
                add(("W3", b, "c"), c_time(a.build, ["w3", w3_uris[b], str(a.n), str(a.gets)]))
            print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
        report(a, backends, res)  # before the stores are removed, which takes a while


def report(a, backends, res):
    med = {k: statistics.median(v) for k, v in res.items() if not isinstance(v[0], str)}
    pg_head = res[("W2", "pygit2", "head")][0]
    for b in backends:
        assert res[("W2", b, "head")][0] == pg_head, f"W2 on {b}: head differs from pygit2's"
    print(f"pybind_bench: D({a.n}), W2 {a.commits} commits, W3 {a.gets} gets, "
          f"median of {a.rounds} rounds; gitkv {gitkv.version()}, pygit2 {pygit2.__version__} "
          f"(libgit2 {pygit2.LIBGIT2_VERSION}); W2 final commit {pg_head} (same for all)")
    print()
    print("| workload | store | binding s | C s | pygit2 s | binding / pygit2 speed | overhead per call |")
    print("|---|---|---:|---:|---:|---:|---:|")
    pw2 = med[("W2", "pygit2", "pygit2")]
    for b in backends:
        t, c = med[("W2", b, "binding")], med[("W2", b, "c")]
        print(f"| W2 store.set | {b}{' nosync' if b != 'mem' else ''} | {t:.3f} | {c:.3f} | {pw2:.3f} | "
              f"{pw2 / t:.1f}x | {(t - c) / a.commits * 1e6:.2f} µs |")
    pw3 = med[("W3", "pygit2", "pygit2")]
    for b in backends:
        if b == "mem":
            continue
        c = med[("W3", b, "c")]
        for how in ("store", "tree"):
            t = med[("W3", b, how)]
            print(f"| W3 {how}[path] | {b} | {t:.3f} | {c:.3f} | {pw3:.3f} | {pw3 / t:.1f}x | "
                  f"{(t - c) / a.gets * 1e6:.2f} µs |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
