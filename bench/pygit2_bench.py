#!/usr/bin/python3
"""pygit2 (Debian's python3-pygit2, over libgit2): the workloads of
bench/README.md as a Python user would write them.

    pygit2_bench.py w1 DIR N        D(N) as one commit on main of a new repository
    pygit2_bench.py w2 DIR N0 U     load D(N0), then U commits (tree builders per level)
    pygit2_bench.py w3 DIR N R      R reads of tree[path] at main (values checked)
    pygit2_bench.py w4 DIR          count the commits of main; merge base of a and b

Same keys, values, seeds (SplitMix64), messages and signatures as the C
programs (bench/common.c), so the ids agree. Prints "BENCH key=value"
lines; only the core loop is timed here (core_s). Run with /usr/bin/python3.
"""
import hashlib
import resource
import sys
import time

import pygit2

SEED_W2, SEED_W3 = 2, 3
M64 = (1 << 64) - 1
SIG = pygit2.Signature("bench", "bench@example.com", 1700000000, 0)


def choices(seed, count, n):
    """The same sequence as bench_choices() in common.c."""
    out, x = [], seed
    for _ in range(count):
        x = (x + 0x9E3779B97F4A7C15) & M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append((z ^ (z >> 31)) % n)
    return out


def path(i):
    return "d%02x/d%02x/k%d" % (i % 64, (i // 64) % 64, i)


def value(i):
    return hashlib.sha256(str(i).encode()).hexdigest().encode()


def report(key, val):
    print("BENCH %s=%s" % (key, val), flush=True)


def new_repo(d):
    return pygit2.init_repository(d, bare=True, initial_head="main")


def load(repo, n, values=None):
    """D(n) as one commit on main: blobs, then tree builders bottom up."""
    leaves = {}
    for i in range(n):
        v = values[i] if values else value(i)
        bid = repo.create_blob(v)
        key = (i % 64, (i // 64) % 64)
        tb = leaves.get(key)
        if tb is None:
            tb = leaves[key] = repo.TreeBuilder()
        tb.insert("k%d" % i, bid, pygit2.GIT_FILEMODE_BLOB)
    tops = {}
    for (a, b), tb in sorted(leaves.items()):
        top = tops.get(a)
        if top is None:
            top = tops[a] = repo.TreeBuilder()
        top.insert("d%02x" % b, tb.write(), pygit2.GIT_FILEMODE_TREE)
    root = repo.TreeBuilder()
    for a, tb in sorted(tops.items()):
        root.insert("d%02x" % a, tb.write(), pygit2.GIT_FILEMODE_TREE)
    return repo.create_commit("refs/heads/main", SIG, SIG, "bulk\n", root.write(), [])


def w1(d, n):
    values = [value(i) for i in range(n)]
    repo = new_repo(d)
    t0 = time.perf_counter()
    cid = load(repo, n, values)
    t1 = time.perf_counter()
    report("core_s", t1 - t0)
    report("ops", n)
    report("commit", cid)


def w2(d, n0, u):
    repo = new_repo(d)
    head = load(repo, n0)
    report("base", head)
    work = []
    for j, i in enumerate(choices(SEED_W2, u, n0)):
        p = path(i)
        v = hashlib.sha256(b"update%d" % j).hexdigest().encode()
        work.append((p[:3], p[4:7], p[8:], v, "update %d\n" % j))
    lat = []
    t0 = t = time.perf_counter()
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
        head = repo.create_commit("refs/heads/main", SIG, SIG, msg, tb3.write(), [head])
        now = time.perf_counter()
        lat.append(now - t)
        t = now
    core = time.perf_counter() - t0
    lat.sort()
    report("core_s", core)
    report("ops", u)
    report("lat_mean_s", core / u)
    report("lat_median_s", lat[len(lat) // 2])
    report("commit", head)


def w3(d, n, r):
    picks = choices(SEED_W3, r, n)
    work = [(path(i), value(i)) for i in picks]
    repo = pygit2.Repository(d)
    t0 = time.perf_counter()
    tree = repo.revparse_single("refs/heads/main").tree
    for p, v in work:
        if tree[p].data != v:
            sys.exit("wrong value at " + p)
    t1 = time.perf_counter()
    report("core_s", t1 - t0)
    report("ops", r)


def w4(d):
    repo = pygit2.Repository(d)
    head = repo.references["refs/heads/main"].target
    a = repo.references["refs/heads/a"].target
    b = repo.references["refs/heads/b"].target
    t0 = time.perf_counter()
    count = sum(1 for _ in repo.walk(head, pygit2.GIT_SORT_NONE))
    t1 = time.perf_counter()
    base = repo.merge_base(a, b)
    t2 = time.perf_counter()
    report("walk_s", t1 - t0)
    report("walk_count", count)
    report("mb_s", t2 - t1)
    report("merge_base", base)


def main(argv):
    cmd, d, nums = argv[1], argv[2], [int(x) for x in argv[3:]]
    {"w1": w1, "w2": w2, "w3": w3, "w4": w4}[cmd](d, *nums)
    report("rss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main(sys.argv)
