#!/usr/bin/python3
"""Run the workloads of bench/README.md (W1 bulk, W2 commit-per-write,
W3 random reads, W4 history, W6 scale; W5 sync and LIST listings when asked
for, in w5.py and listing.py) on
gitkv (mem, lmdb durable, lmdb no-sync, git) and on the peers, in one run,
and print one table.

    bench/run.py --bindir BUILD/bench [--size small|full] [--out DIR] [--reps N]
    bench/run.py --bindir BUILD/bench --only W5 [--w5-repo BARE_REPO] [--kvctl PATH]
    bench/run.py --bindir BUILD/bench --only LIST [--list-repo REPO] [--list-lmdb DIR]

Every measured process is timed whole (spawn to exit, with its peak RSS from
wait4) and reports the time of its core loop measured inside it. For the git
commands, which cannot time themselves, the core time is estimated as the
whole time minus that of a baseline invocation (an empty or load-only stream,
a rev-parse). Every run's result is checked (ids, values read back in the
programs, counts, git fsck on the last repetition of each git output), and a
wrong result makes the run fail; times never do.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import listing
import w5

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's python3-pygit2 lives there
TUNED = "glibc.malloc.trim_threshold=268435456"
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# The ids bench/README.md gives, and those of the small size (found the same
# way: every git-format writer, git fast-import included, agrees on them).
KNOWN_IDS = {
    ("load", 100000): "622d918d524acbd21b2bf4496cdb7a3cba5ad38d",
    ("load", 10000): "0b65737b2c928793e5ad351fb18fbf048a1c494c",
    ("load", 1000): "7cc2c2d172eef18ff6463670b5f38ddfa8b1089d",
    ("w2", 1000, 100): "c8769eebed4b4564850f727b3642c71629f3f72a",
}

SIZES = {
    # n: W1 size; n0/u: W2's start and updates; n3/r: W3's store and reads
    # (r_slow for the slow readers); b: W4 branch commits; w6: W6's sizes.
    "full": dict(n=100000, n0=10000, u=2000, n3=100000, r=200000, r_slow=200000,
                 b=1000, w6=[10000, 100000, 1000000], w6_git=[10000, 100000],
                 reps=5, reps_slow=3, reps_rare=1, reps_w6=3),
    "small": dict(n=1000, n0=1000, u=100, n3=1000, r=2000, r_slow=2000,
                  b=50, w6=[1000, 10000], w6_git=[1000, 10000], reps=1, reps_slow=1,
                  reps_rare=1, reps_w6=1),
}

GITKV = [  # system, URI scheme, extra options
    ("gitkv-mem", "mem", []),
    ("gitkv-lmdb", "lmdb", []),
    ("gitkv-lmdb-nosync", "lmdb", ["--nosync"]),
    ("gitkv-git", "git", []),
]
# The same writers hashing with plain SHA-1 (GKV_HASH_SHA1: the CPU's SHA
# instructions, no collision detection), for the workloads where hashing
# is a large share of a commit: W1, W2 and W6.
GITKV_SHA1 = [
    ("gitkv-mem (sha1)", "mem", ["--hash", "sha1"]),
    ("gitkv-lmdb-nosync (sha1)", "lmdb", ["--nosync", "--hash", "sha1"]),
]
# nosync through LMDB's writable map (GKV_DURABILITY_NOSYNC_MAPPED): fewer
# syscalls per commit, the map allocated on disk. Only the writing
# workloads (W1, W2, W6) run it; reads and walks are the same as nosync.
GITKV_MAPPED = [
    ("gitkv-lmdb-mapped", "lmdb", ["--mapped"]),
]
# Every gitkv writer of W1, W2 and W6, the mapped row next to nosync.
WRITERS = GITKV[:3] + GITKV_MAPPED + GITKV[3:] + GITKV_SHA1
SHORT = {"gitkv-mem": "mem", "gitkv-lmdb": "lmdb", "gitkv-lmdb-nosync": "nosync",
         "gitkv-lmdb-mapped": "mapped", "gitkv-git": "git", "gitkv-mem (sha1)": "mem/sha1",
         "gitkv-lmdb-nosync (sha1)": "nosync/sha1"}


class Failure(Exception):
    pass


class Unavailable(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = dict(SIZES[args.size])
        if args.reps:
            self.cfg["reps"] = self.cfg["reps_slow"] = self.cfg["reps_rare"] = \
                self.cfg["reps_w6"] = args.reps
        self.bindir = os.path.abspath(args.bindir)
        self.tmp = tempfile.mkdtemp(prefix="gitkv-bench-", dir=args.tmp)
        self.trash = os.path.join(self.tmp, "trash")
        os.mkdir(self.trash)
        self.rows = []
        self.failures = []
        self.expected = dict(KNOWN_IDS)
        self.env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=self.tmp,
                        GIT_CONFIG_GLOBAL=os.path.join(self.tmp, "gitconfig"))
        self.env.pop("GLIBC_TUNABLES", None)
        self.counter = 0
        self.probes = []
        self.t_start = time.time()

    # ------------------------------------------------------------ plumbing

    def discard(self, path):
        """Put scratch data aside; it is deleted at the end of the run, so that
        deleting 100,000 loose objects (slow on a disk mounted with discard)
        neither slows the cases nor disturbs their timings."""
        self.counter += 1
        os.rename(path, os.path.join(self.trash, str(self.counter)))

    def prog(self, name):
        return os.path.join(self.bindir, name)

    def fresh(self, name):
        self.counter += 1
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
        return os.path.join(self.tmp, "%s-%d" % (safe, self.counter))

    def run(self, argv, stdin=None, env=None, stdout_file=None):
        """Run argv; return (wall seconds, peak RSS KiB, BENCH fields, stdout).

        The peak RSS comes from /usr/bin/time (wait4 in this process would
        also count the RSS Python had when it forked the child)."""
        out = stdout_file or os.path.join(self.tmp, "stdout")
        err = os.path.join(self.tmp, "stderr")
        rssf = os.path.join(self.tmp, "rss")
        timed = [TIME, "-q", "-f", "%M", "-o", rssf] + argv if TIME else argv
        with open(out, "wb") as fo, open(err, "wb") as fe:
            fi = open(stdin, "rb") if stdin else subprocess.DEVNULL
            t0 = time.perf_counter()
            p = subprocess.Popen(timed, stdin=fi, stdout=fo, stderr=fe, env=env or self.env)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            if stdin:
                fi.close()
        maxrss = ru.ru_maxrss
        self.last_cpu = ru.ru_utime + ru.ru_stime  # the command's CPU time (time waits for it)
        if TIME:
            with open(rssf) as f:
                last = f.read().split()
            maxrss = int(last[-1]) if last and last[-1].isdigit() else maxrss
        with open(err, "rb") as f:
            errtext = f.read().decode(errors="replace").strip()
        if p.returncode != 0:
            msg = errtext.splitlines()[-1] if errtext else "exit %d" % p.returncode
            if "unsupported" in errtext.lower() or "not supported" in errtext:
                raise Unavailable(msg)
            raise Failure("%s: %s" % (" ".join(os.path.basename(a) for a in argv[:2]), msg))
        fields, text = {}, ""
        if not stdout_file:
            with open(out, "rb") as f:
                text = f.read().decode(errors="replace")
            for line in text.splitlines():
                if line.startswith("BENCH ") and "=" in line:
                    k, v = line[6:].split("=", 1)
                    fields[k] = v
        return wall, maxrss, fields, text

    def git(self, *args, repo=None, check=True):
        argv = ["git"] + (["-C", repo] if repo else []) + list(args)
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise Failure("git %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout.strip()

    def fsck(self, repo):
        self.git("fsck", "--no-progress", "--strict", repo=repo)

    def expect(self, key, got, what):
        """Check got against the expected id for key (the first result sets it)."""
        want = self.expected.get(key)
        if want is None:
            self.expected[key] = got
        elif got != want:
            raise Failure("%s: %s, expected %s" % (what, got, want))

    @staticmethod
    def disk(path):
        """(allocated bytes, apparent bytes) of a file or a directory tree."""
        if os.path.isfile(path):
            st = os.stat(path)
            return st.st_blocks * 512, st.st_size
        alloc = size = 0
        for d, _, files in os.walk(path):
            for f in files:
                st = os.lstat(os.path.join(d, f))
                alloc += st.st_blocks * 512
                size += st.st_size
        return alloc, size

    def measure(self, workload, system, reps, once, core_key="core_s", notes=""):
        """Run once(rep, last) reps times; once returns (argv-run result, extra dict)."""
        row = dict(workload=workload, system=system, status="ok", notes=notes, reps=reps)
        walls, cores, rss, bases, extra, lats = [], [], [], [], {}, {}
        print("  %-14s %-26s" % (workload, system), end="", flush=True)
        try:
            for rep in range(reps):
                settle(system)
                wall, maxrss, fields, ex = once(rep, rep == reps - 1)
                walls.append(wall)
                if core_key in fields:
                    cores.append(float(fields[core_key]))
                rss.append(maxrss)
                ex = dict(ex or {})
                if "base_wall" in ex:
                    bases.append(ex.pop("base_wall"))
                extra.update(ex)
                extra["fields"] = fields
                for k in ("lat_median_s", "lat_mean_s"):
                    if k in fields:
                        lats.setdefault(k, []).append(float(fields[k]))
        except Unavailable as e:
            row.update(status="unavailable", error=str(e))
            print(" unavailable: %s" % e)
            self.rows.append(row)
            return row
        except Failure as e:
            row.update(status="FAILED", error=str(e))
            self.failures.append("%s %s: %s" % (workload, system, e))
            print(" FAILED: %s" % e)
            self.rows.append(row)
            return row
        row["wall_s"] = statistics.median(walls)
        row["walls"] = walls
        if cores:
            row["core_s"] = statistics.median(cores)
        elif bases:  # a git command: whole time minus that of its baseline
            row["base_wall_s"] = statistics.median(bases)
            if row["wall_s"] - row["base_wall_s"] > 0.05 * row["wall_s"]:
                row["core_s"] = row["wall_s"] - row["base_wall_s"]
            else:  # lost in the noise of the baseline: no estimate
                row["notes"] += "; core below the baseline's noise"
        row["rss_kib"] = max(rss)
        fields = extra.pop("fields", {})
        row["ops"] = float(fields.get("ops", extra.get("ops", 1)))
        row.update(extra)
        if "walk_count" in fields:
            row["walk_count"] = float(fields["walk_count"])
        for k, v in lats.items():  # per-commit latencies: median over the runs
            row[k] = statistics.median(v)
        self.rows.append(row)
        print(" wall %s  core %s" % (fmt_time(row["wall_s"]), fmt_time(row.get("core_s"))))
        return row

    def measure_interleaved(self, workload, cases):
        """measure() for several systems, their runs taken in rounds (run 1
        of every system, then run 2, ...), so that a noisy minute of a shared
        machine falls on all of them rather than on one system's runs. Each
        round starts one case further on, so that no case always runs right
        after the same one (without this, W3 on lmdb, always second after
        gitkv-mem, read 1.5-2.3x slower than no-sync, third, on the same
        store). cases: (system, reps, once, notes). A system stops at its
        first failure, which its row then reports."""
        results, failed = {}, {}
        print("  %-14s %d systems, runs in rounds" % (workload, len(cases)), flush=True)
        for rep in range(max(c[1] for c in cases)):
            k = rep % len(cases)
            for system, reps, once, _ in cases[k:] + cases[:k]:
                if rep >= reps or system in failed:
                    continue
                try:
                    settle(system)
                    results[(system, rep)] = once(rep, rep == reps - 1)
                except (Failure, Unavailable) as e:
                    failed[system] = e
        for system, reps, _, notes in cases:
            def replay(rep, last, system=system):
                if (system, rep) in results:
                    return results[(system, rep)]
                raise failed[system]
            self.measure(workload, system, reps, replay,
                         notes=notes + ("; " if notes else "") + "runs in rounds with the others")

    def find(self, workload, system):
        for r in self.rows:
            if r["workload"] == workload and r["system"] == system and r["status"] == "ok":
                return r
        return None

    def pygit2_available(self):
        r = subprocess.run([PYTHON, "-c", "import pygit2"], capture_output=True)
        return r.returncode == 0

    def unavailable(self, workload, system, why):
        self.rows.append(dict(workload=workload, system=system, status="unavailable",
                              error=why, notes=""))
        print("  %-14s %-26s unavailable: %s" % (workload, system, why))

    def gitkv_uri(self, scheme, d):
        return "mem:" if scheme == "mem" else "%s:%s" % (scheme, d)

    def check_git_repo(self, repo, key, what, last, count=None):
        head = self.git("rev-parse", "refs/heads/main", repo=repo)
        self.expect(key, head, what)
        if count is not None:
            n = int(self.git("rev-list", "--count", "refs/heads/main", repo=repo))
            if n != count:
                raise Failure("%s: %d commits, expected %d" % (what, n, count))
        if last:
            self.fsck(repo)

    # ------------------------------------------------------------ W1 bulk

    def w1(self):
        c = self.cfg
        n = c["n"]
        key = ("load", n)
        print("W1 bulk: D(%d) as one commit" % n)
        stream = os.path.join(self.tmp, "w1.fi")
        empty = os.path.join(self.tmp, "empty.fi")
        self.run([self.prog("bench-git"), "stream-w1", str(n)], stdout_file=stream)
        open(empty, "w").close()
        self.w1_repo = None

        def fast_import(tuned):
            env = dict(self.env, GLIBC_TUNABLES=TUNED) if tuned else None

            def once(rep, last):
                d = self.fresh("fi")
                self.git("init", "-q", "--bare", "-b", "main", d)
                base = self.fresh("fi0")
                self.git("init", "-q", "--bare", "-b", "main", base)
                b_wall = self.run(["git", "-C", base, "fast-import", "--quiet"], stdin=empty,
                                  env=env)[0]
                wall, rss, f, _ = self.run(["git", "-C", d, "fast-import", "--quiet"],
                                           stdin=stream, env=env)
                f["ops"] = str(n)
                self.check_git_repo(d, key, "fast-import W1 commit", last)
                alloc, size = self.disk(os.path.join(d, "objects"))
                if last and not tuned:
                    self.w1_repo = d  # the packed D(N) that W3's git readers use
                else:
                    self.discard(d)
                self.discard(base)
                return wall, rss, f, dict(disk=alloc, disk_apparent=size, base_wall=b_wall)
            return once

        self.measure("W1 bulk", "git fast-import", c["reps_rare"], fast_import(False),
                     notes="one pack; core = wall - empty stream")
        # The cases a target compares run in rounds; the slow rare peers after.
        cases = [("git fast-import (tuned)", c["reps"], fast_import(True),
                  "GLIBC_TUNABLES trim_threshold")]
        self.w1_lmdb = None
        self.w1_gitkv_git = None
        for system, scheme, opts in WRITERS:
            def once(rep, last, scheme=scheme, opts=opts, system=system):
                d = self.fresh(system)
                wall, rss, f, _ = self.run([self.prog("bench-gitkv"), "w1",
                                            self.gitkv_uri(scheme, d), str(n)] + opts)
                self.expect(key, f.get("commit"), system + " W1 commit")
                ex = {}
                if scheme == "lmdb":
                    ex["disk"], ex["disk_apparent"] = self.disk(os.path.join(d, "data.mdb"))
                elif scheme == "git":
                    self.check_git_repo(d, key, system + " W1 commit", last)
                    ex["disk"], ex["disk_apparent"] = self.disk(os.path.join(d, "objects"))
                if last and system == "gitkv-lmdb":
                    self.w1_lmdb = d
                elif last and scheme == "git":
                    self.w1_gitkv_git = d
                elif scheme != "mem":
                    self.discard(d)
                return wall, rss, f, ex
            slow = scheme == "git"
            cases.append((system, c["reps_slow"] if slow else c["reps"], once, ""))

        def lmdb_once(rep, last):
            d = self.fresh("lmdb-raw")
            wall, rss, f, _ = self.run([self.prog("bench-lmdb"), "w1", d, str(n)])
            alloc, size = self.disk(os.path.join(d, "data.mdb"))
            self.discard(d)
            return wall, rss, f, dict(disk=alloc, disk_apparent=size)
        cases.append(("raw LMDB", c["reps"], lmdb_once, "one txn of N puts (floor)"))
        self.measure_interleaved("W1 bulk", cases)
        self.w1_libgit2_like("W1 bulk", "libgit2 (C)", [self.prog("bench-libgit2")], key, n)
        if self.pygit2_available():
            self.w1_libgit2_like("W1 bulk", "pygit2", [PYTHON, os.path.join(HERE,
                                 "pygit2_bench.py")], key, n)
        else:
            self.unavailable("W1 bulk", "pygit2", "python3-pygit2 is not installed")
        self.packed_size()

    def w1_libgit2_like(self, workload, system, argv0, key, n):
        def once(rep, last):
            d = self.fresh(system.split()[0])
            wall, rss, f, _ = self.run(argv0 + ["w1", d, str(n)])
            self.expect(key, f.get("commit"), system + " W1 commit")
            self.check_git_repo(d, key, system + " W1 commit", last)
            alloc, size = self.disk(os.path.join(d, "objects"))
            self.discard(d)
            return wall, rss, f, dict(disk=alloc, disk_apparent=size)
        self.measure(workload, system, self.cfg["reps_rare"], once, notes="loose objects")

    def packed_size(self):
        """Bytes of W1's objects once packed by git gc (the same for every git writer)."""
        src = self.w1_gitkv_git
        if not src:
            return
        d = self.fresh("packed")
        shutil.copytree(src, d)
        self.git("gc", "-q", "--prune=now", repo=d)
        alloc, size = self.disk(os.path.join(d, "objects"))
        self.packed = dict(disk=alloc, disk_apparent=size)
        for r in self.rows:
            if r["workload"] == "W1 bulk" and r.get("status") == "ok" and "disk" in r and \
                    r["system"] in ("gitkv-git", "libgit2 (C)", "pygit2"):
                r["notes"] = (r["notes"] + "; " if r["notes"] else "") + \
                    "after git gc: %s" % fmt_bytes(alloc)
        self.discard(d)
        self.discard(src)
        self.w1_gitkv_git = None

    # ------------------------------------------------------------ W2 commits

    def w2(self):
        c = self.cfg
        n0, u = c["n0"], c["u"]
        key, base_key = ("w2", n0, u), ("load", n0)
        print("W2 commit-per-write: %d commits on D(%d)" % (u, n0))
        stream = os.path.join(self.tmp, "w2.fi")
        load_stream = os.path.join(self.tmp, "w2load.fi")
        self.run([self.prog("bench-git"), "stream-w2", str(n0), str(u)], stdout_file=stream)
        self.run([self.prog("bench-git"), "stream-w2", str(n0), "0"], stdout_file=load_stream)

        def fast_import(tuned):
            env = dict(self.env, GLIBC_TUNABLES=TUNED) if tuned else None

            def once(rep, last):
                d, d0 = self.fresh("fi"), self.fresh("fi0")
                for x in (d, d0):
                    self.git("init", "-q", "--bare", "-b", "main", x)
                b_wall = self.run(["git", "-C", d0, "fast-import", "--quiet"],
                                  stdin=load_stream, env=env)[0]
                self.check_git_repo(d0, base_key, "fast-import D(%d)" % n0, False)
                wall, rss, f, _ = self.run(["git", "-C", d, "fast-import", "--quiet"],
                                           stdin=stream, env=env)
                f["ops"] = str(u)
                self.check_git_repo(d, key, "fast-import W2 head", last, count=u + 1)
                self.discard(d)
                self.discard(d0)
                return wall, rss, f, dict(base_wall=b_wall)
            return once

        self.measure("W2 commits", "git fast-import", c["reps_slow"], fast_import(False),
                     notes="one stream; core = wall - load-only stream")
        # The floor of any writer that hashes W2's objects with sha1dc:
        # fast-import's output, read beforehand, then only hashed.
        floor_repo = self.fresh("floor")
        self.git("init", "-q", "--bare", "-b", "main", floor_repo)
        self.run(["git", "-C", floor_repo, "fast-import", "--quiet"], stdin=stream)
        self.check_git_repo(floor_repo, key, "fast-import W2 head (floor)", False, count=u + 1)

        def floor(rep, last):
            wall, rss, f, _ = self.run([self.prog("bench-libgit2"), "hashfloor", floor_repo])
            if int(float(f.get("ops", 0))) != u:
                raise Failure("hashfloor saw %s commits, not %d" % (f.get("ops"), u))
            return wall, rss, f, {}

        def raw_lmdb(opts, cmd="w2"):
            def once(rep, last):
                d = self.fresh("lmdb-raw")
                r = self.run([self.prog("bench-lmdb"), cmd, d, str(n0), str(u)] + opts)
                self.discard(d)
                return r[0], r[1], r[2], {}
            return once

        # The floor of any store keeping W2's objects in LMDB: a commit's
        # objects (random ids, gitkv's sizes) put in one transaction, by
        # id as gitkv does, or appended as one record with an id index.
        objs_note = "a commit's 5 objects by id + branch, one txn; no hashing, no trees"
        log_note = "a commit's objects as one appended record + 5 id-index puts, one txn"

        def gitkv(system, scheme, opts):
            def once(rep, last):
                d = self.fresh(system)
                wall, rss, f, _ = self.run([self.prog("bench-gitkv"), "w2",
                                            self.gitkv_uri(scheme, d), str(n0), str(u)] + opts)
                self.expect(base_key, f.get("base"), system + " D(%d)" % n0)
                self.expect(key, f.get("commit"), system + " W2 head")
                if scheme == "git":
                    self.check_git_repo(d, key, system + " W2 head", last, count=u + 1)
                if scheme != "mem":
                    self.discard(d)
                return wall, rss, f, {}
            return once

        def peer(system, argv0):
            def once(rep, last):
                d = self.fresh(system.split()[0])
                wall, rss, f, _ = self.run(argv0 + ["w2", d, str(n0), str(u)])
                self.expect(base_key, f.get("base"), system + " D(%d)" % n0)
                self.expect(key, f.get("commit"), system + " W2 head")
                self.check_git_repo(d, key, system + " W2 head", last, count=u + 1)
                self.discard(d)
                return wall, rss, f, {}
            return once

        # The systems the speed targets compare run in rounds: fast-import
        # (tuned), the floor, gitkv's in-memory and no-sync writers, the
        # libgit2 peers, raw LMDB without sync.
        loaded = "wall includes loading D(%d)" % n0
        cases = [("git fast-import (tuned)", c["reps"], fast_import(True),
                  "GLIBC_TUNABLES trim_threshold"),
                 ("SHA-1DC hashing alone (floor)", c["reps"], floor,
                  "W2's objects (fast-import's), only hashed: git_odb_hash")]
        durable = None
        for system, scheme, opts in WRITERS:
            if system == "gitkv-lmdb":
                durable = (system, scheme, opts)
            elif system == "gitkv-git":
                # disk-bound, so in the rounds of pygit2, which it is
                # compared with: a slow spell of the disk falls on both
                cases.append((system, c["reps_slow"], gitkv(system, scheme, opts), loaded))
            else:
                cases.append((system, c["reps"], gitkv(system, scheme, opts), loaded))
        cases.append(("libgit2 (C)", c["reps_slow"], peer("libgit2 (C)", [self.prog("bench-libgit2")]),
                      "tree builders per level; loose objects"))
        if self.pygit2_available():
            cases.append(("pygit2", c["reps_slow"],
                          peer("pygit2", [PYTHON, os.path.join(HERE, "pygit2_bench.py")]),
                          "tree builders per level; loose objects"))
        else:
            self.unavailable("W2 commits", "pygit2", "python3-pygit2 is not installed")
        cases.append(("raw LMDB (nosync)", c["reps"], raw_lmdb(["--nosync"]), "one txn per put"))
        cases.append(("raw LMDB, objects (nosync)", c["reps"], raw_lmdb(["--nosync"], "w2obj"),
                      objs_note))
        cases.append(("raw LMDB, objects in a log (nosync)", c["reps"],
                      raw_lmdb(["--nosync", "--log"], "w2obj"), log_note))
        cases.append(("raw LMDB, objects (nosync, writemap)", c["reps"],
                      raw_lmdb(["--nosync", "--writemap"], "w2obj"),
                      objs_note + "; MDB_WRITEMAP, the map allocated on disk (as mapped)"))
        self.measure_interleaved("W2 commits", cases)
        self.discard(floor_repo)

        # A durable commit's time is the disk's: gitkv-lmdb and raw LMDB's
        # synced puts run in rounds so that all see the same disk, five
        # of them, as this disk has slow spells of a round or two.
        if durable:
            system, scheme, opts = durable
            self.measure_interleaved("W2 commits", [
                (system, c["reps"], gitkv(system, scheme, opts), loaded),
                ("raw LMDB (sync)", c["reps"], raw_lmdb([]), "one txn per put"),
                ("raw LMDB, objects (sync)", c["reps"], raw_lmdb([], "w2obj"), objs_note),
                ("raw LMDB, objects in a log (sync)", c["reps"],
                 raw_lmdb(["--log"], "w2obj"), log_note)])

    # ------------------------------------------------------------ W3 reads

    def w3(self):
        c = self.cfg
        n, r, r_slow = c["n3"], c["r"], c["r_slow"]
        key = ("load", n)
        print("W3 random reads: %d gets at D(%d)" % (r, n))
        if n != c["n"] or not self.w1_repo:
            raise Failure("W3 needs W1's stores of D(%d)" % n)
        repo = self.w1_repo
        tree = self.git("rev-parse", "refs/heads/main^{tree}", repo=repo)
        cases = []
        for system, scheme, opts in GITKV:
            if scheme == "lmdb":
                if not self.w1_lmdb:
                    self.unavailable("W3 reads", system, "no lmdb store from W1")
                    continue
                uri, extra, note = "lmdb:" + self.w1_lmdb, [], "W1's store"
            elif scheme == "git":
                uri, extra, note = "git:" + repo, [], "fast-import's pack"
            else:
                uri, extra, note = "mem:", ["--load"], "wall includes loading D(%d)" % n
            reads = r_slow if scheme == "git" else r

            def once(rep, last, uri=uri, extra=extra, reads=reads, system=system, opts=opts):
                res = self.run([self.prog("bench-gitkv"), "w3", uri, str(n), str(reads)] +
                               extra + opts)
                self.expect(key, res[2].get("commit"), system + " W3 head")
                return res[0], res[1], res[2], {}
            if reads != r:
                note += "; %d reads" % reads
            cases.append((system, c["reps"], once, note))

        def catfile(rep, last):
            res = self.run([self.prog("bench-git"), "catfile", repo, tree, str(n), str(r_slow)])
            return res[0], res[1], res[2], {}
        cases.append(("git cat-file --batch", c["reps_slow"], catfile,
                      "--buffer, <tree>:<path>; %d reads" % r_slow))
        peers = [("libgit2 (C)", [self.prog("bench-libgit2")], r)]
        if self.pygit2_available():
            peers.append(("pygit2", [PYTHON, os.path.join(HERE, "pygit2_bench.py")], r_slow))
        else:
            self.unavailable("W3 reads", "pygit2", "python3-pygit2 is not installed")
        for system, argv0, reads in peers:
            def once(rep, last, argv0=argv0, reads=reads):
                res = self.run(argv0 + ["w3", repo, str(n), str(reads)])
                return res[0], res[1], res[2], {}
            note = "fast-import's pack" + ("; %d reads" % reads if reads != r else "")
            cases.append((system, c["reps_slow"], once, note))
        if self.w1_lmdb:
            def lmdb_once(rep, last):
                d = self.fresh("lmdb-raw")
                self.run([self.prog("bench-lmdb"), "w1", d, str(n)])
                res = self.run([self.prog("bench-lmdb"), "w3", d, str(n), str(r)])
                self.discard(d)
                return res[0], res[1], res[2], {}
            cases.append(("raw LMDB", c["reps"], lmdb_once, "one read txn for all gets (floor)"))
        self.measure_interleaved("W3 reads", cases)
        if self.w1_lmdb:
            self.discard(self.w1_lmdb)
            self.w1_lmdb = None

    # ------------------------------------------------------------ W4 history

    def w4(self):
        c = self.cfg
        n0, u, b = c["n0"], c["u"], c["b"]
        base_key = ("load", n0)
        print("W4 history: walk %d commits; merge base of two branches of %d" % (u + 1, b))
        stream = os.path.join(self.tmp, "w4.fi")
        self.run([self.prog("bench-git"), "stream-w4", str(n0), str(u), str(b)],
                 stdout_file=stream)
        repo = self.fresh("w4")
        self.git("init", "-q", "--bare", "-b", "main", repo)
        self.run(["git", "-C", repo, "fast-import", "--quiet"], stdin=stream)
        self.check_git_repo(repo, ("w2", n0, u), "W4 main", True, count=u + 1)
        want_base = self.expected[base_key]
        got = self.git("merge-base", "a", "b", repo=repo)
        if got != want_base:
            raise Failure("git merge-base: %s, expected %s" % (got, want_base))

        def git_cmd(argv, check, ops):
            def once(rep, last):
                b_wall = self.run(["git", "-C", repo, "rev-parse", "refs/heads/main"])[0]
                wall, rss, f, out = self.run(["git", "-C", repo] + argv)
                check(out.strip())
                f["ops"] = str(ops)
                return wall, rss, f, dict(base_wall=b_wall)
            return once

        def check_count(out):
            if int(out) != u + 1:
                raise Failure("git rev-list --count: %s, expected %d" % (out, u + 1))

        def check_base(out):
            if out != want_base:
                raise Failure("git merge-base: %s, expected %s" % (out, want_base))
        self.measure("W4 walk", "git rev-list --count", c["reps"],
                     git_cmd(["rev-list", "--count", "refs/heads/main"], check_count, u + 1),
                     notes="core = wall - git rev-parse")
        self.measure("W4 merge-base", "git merge-base", c["reps"],
                     git_cmd(["merge-base", "a", "b"], check_base, 1),
                     notes="core = wall - git rev-parse")
        lmdb_store = self.fresh("w4-lmdb")
        try:
            self.run([self.prog("bench-gitkv"), "w4setup", "lmdb:" + lmdb_store, str(n0),
                      str(u), str(b), "--nosync"])
        except Failure as e:
            self.failures.append("W4 lmdb setup: %s" % e)
            lmdb_store = None
        runs = {}  # system -> (wall, rss, fields) per rep, shared by the two W4 rows
        for system, scheme, opts in GITKV:
            if scheme == "mem":
                argv = ["w4", "mem:", "--setup", str(n0), str(u), str(b)]
                note = "wall includes building the history"
            elif scheme == "lmdb":
                if not lmdb_store:
                    continue
                argv = ["w4", "lmdb:" + lmdb_store] + opts
                note = ""
            else:
                argv = ["w4", "git:" + repo]
                note = "fast-import's pack"
            for wl, core_key in (("W4 walk", "walk_s"), ("W4 merge-base", "mb_s")):
                def once(rep, last, argv=argv, system=system, wl=wl):
                    k = (system, rep)
                    if wl == "W4 walk" or k not in runs:
                        runs[k] = self.run([self.prog("bench-gitkv")] + argv)
                    wall, rss, f, _ = runs[k]
                    if float(f.get("walk_count", -1)) != u + 1:
                        raise Failure("walked %s commits, expected %d" %
                                      (f.get("walk_count"), u + 1))
                    if f.get("merge_base") != want_base:
                        raise Failure("merge base %s, expected %s" %
                                      (f.get("merge_base"), want_base))
                    return wall, rss, f, {"ops": u + 1 if wl == "W4 walk" else 1}
                self.measure(wl, system, c["reps"], once, core_key=core_key,
                             notes=(note + "; " if note else "") + "one process: walk + merge base")
        peers = [("libgit2 (C)", [self.prog("bench-libgit2")])]
        if self.pygit2_available():
            peers.append(("pygit2", [PYTHON, os.path.join(HERE, "pygit2_bench.py")]))
        for system, argv0 in peers:
            for wl, core_key in (("W4 walk", "walk_s"), ("W4 merge-base", "mb_s")):
                def once(rep, last, argv0=argv0, system=system, wl=wl):
                    k = (system, rep)
                    if wl == "W4 walk" or k not in runs:
                        runs[k] = self.run(argv0 + ["w4", repo])
                    wall, rss, f, _ = runs[k]
                    if float(f.get("walk_count", -1)) != u + 1 or \
                            f.get("merge_base") != want_base:
                        raise Failure("wrong walk count or merge base")
                    return wall, rss, f, {"ops": u + 1 if wl == "W4 walk" else 1}
                self.measure(wl, system, c["reps"], once, core_key=core_key,
                             notes="one process: walk + merge base")
        if lmdb_store:
            self.discard(lmdb_store)
        self.discard(repo)

    # ------------------------------------------------------------ W6 scale

    def w6(self):
        """W2's commits at each size. The sizes are run in interleaved rounds
        (10k, 100k, 1M, 10k, ...) so that a change in the machine's load
        hits every size alike; the curve is read from the median commit."""
        c = self.cfg
        u, rounds = c["u"], c["reps_w6"]
        print("W6 scale: %d commits at D(N) for N in %s, %d rounds" % (u, c["w6"], rounds))
        for system, scheme, opts in WRITERS:
            if system == "gitkv-lmdb":
                continue  # its commits wait for fsync, the same at any size
            sizes = c["w6_git"] if scheme == "git" else c["w6"]
            done = {}
            for rep in range(rounds):
                for n0 in sizes:
                    try:
                        done[(n0, rep)] = self.w6_once(system, scheme, opts, n0, u)
                    except (Failure, Unavailable) as e:
                        done[(n0, rep)] = e
            for n0 in sizes:
                def once(rep, last, n0=n0):
                    r = done[(n0, rep)]
                    if isinstance(r, Exception):
                        raise r
                    return r
                self.measure("W6 D(%s)" % fmt_count(n0), system, rounds, once,
                             notes="rounds interleaved over the sizes; wall includes loading D(N)")

    def w6_once(self, system, scheme, opts, n0, u):
        d = self.fresh(system)
        res = self.run([self.prog("bench-gitkv"), "w2", self.gitkv_uri(scheme, d), str(n0),
                        str(u)] + opts)
        self.expect(("load", n0), res[2].get("base"), system + " D(%d)" % n0)
        self.expect(("w2", n0, u), res[2].get("commit"), system + " W6 head")
        if scheme != "mem":
            self.discard(d)
        return res[0], res[1], res[2], {}

    # ------------------------------------------------------------ all

    def touch_probe(self, when):
        """What a first touch of memory costs now (bench-gitkv touch): the
        one machine property that moved these ratios most between runs."""
        try:
            _, _, f, _ = self.run([self.prog("bench-gitkv"), "touch", "64"])
        except Failure as e:
            self.failures.append("touch probe: %s" % e)
            return
        probe = dict(when=when, plain_us=float(f["touch_us"]), huge_us=float(f["touch_huge_us"]))
        self.probes.append(probe)
        print("first touch of a 4 KiB page (%s of run): %.2f us plain, %.2f us in huge pages"
              % (when, probe["plain_us"], probe["huge_us"]), flush=True)

    def main(self):
        steps = {"W1": self.w1, "W2": self.w2, "W3": self.w3, "W4": self.w4, "W6": self.w6,
                 "W5": lambda: w5.run(self, Failure, Unavailable, PYTHON),
                 "LIST": lambda: listing.run(self, Failure, Unavailable)}
        self.touch_probe("start")
        for name in self.args.only.split(","):
            try:
                steps[name]()
            except Failure as e:
                self.failures.append("%s: %s" % (name, e))
                print("  %s stopped: %s" % (name, e))
        self.touch_probe("end")
        self.elapsed = time.time() - self.t_start


# ---------------------------------------------------------------- formatting

def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return "%.2f s" % s
    if s >= 1e-3:
        return "%.1f ms" % (s * 1e3)
    return "%.0f us" % (s * 1e6)


def fmt_rate(x):
    if x is None:
        return "-"
    for div, suf in ((1e6, "M"), (1e3, "k")):
        if x >= div:
            return "%.3g%s/s" % (x / div, suf)
    return "%.3g/s" % x


def fmt_bytes(b):
    if b is None:
        return ""
    for div, suf in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if b >= div:
            return "%.1f %s" % (b / div, suf)
    return "%d B" % b


def fmt_ratio(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x


def syncs(system):
    """Whether a system's runs wait on fsync (gitkv-git, durable lmdb, raw
    LMDB's synced rows): their time is the disk's."""
    return system in ("gitkv-git", "gitkv-lmdb") or system.endswith("(sync)")


def settle(system):
    """Before a run that waits on fsync: write back what earlier runs left
    in the page cache and the journal, so that its fsyncs do not carry
    them (ext4 commits the journal, with the loose objects and the
    metadata of 10,000 new files of the pygit2 run before it, inside
    the first fsync). Without it, gitkv-git took 2.10 s for W2 right
    after the loose-object writers, against 1.18-1.57 s alone.
    Not before the others: a sync before every run, or a pause after
    it, left the CPU-bound runs after it slower (W2's hashing floor
    ~3% with the sync; W3 on lmdb 250-290 ms with the pause, against
    167-197 ms with neither; the vCPU idles while the disk works)."""
    if syncs(system):
        os.sync()


def fmt_count(n):
    return "%dM" % (n // 1000000) if n >= 1000000 else "%dk" % (n // 1000) if n >= 1000 else str(n)


def rate(row):
    """Core-loop throughput in ops/s (None if unknown)."""
    if not row or row.get("status") != "ok" or not row.get("core_s"):
        return None
    return row["ops"] / row["core_s"]


def in_sequence(a, b):
    """A row for doing a's work and then b's, op for op: the core times
    per op add up (None unless both rates are known)."""
    if rate(a) is None or rate(b) is None:
        return None
    return dict(status="ok", ops=1.0, core_s=1 / rate(a) + 1 / rate(b))


def ratios(bench, row):
    """gitkv / peer for a peer row: each backend's core ops/s over the peer's."""
    if row["workload"].startswith("W5"):  # time and RSS ratios, not speeds
        return w5.ratios(bench, row)
    if row["workload"].startswith("LIST"):
        return listing.ratios(bench, row)
    if row["system"].startswith("gitkv") or rate(row) is None:
        return ""
    parts = []
    for system, _, _ in WRITERS:
        g = rate(bench.find(row["workload"], system))
        if g is not None:
            parts.append("%s %s" % (SHORT[system], fmt_ratio(g / rate(row))))
    return " ".join(parts)


def table(bench):
    head = ["workload", "system", "wall", "core", "ops/s (core)", "peak RSS", "disk",
            "gitkv/peer (core ops/s)", "notes"]
    lines = []
    for r in bench.rows:
        if r["status"] != "ok":
            lines.append([r["workload"], r["system"], r["status"], "", "", "", "", "",
                          r.get("error", "")])
            continue
        notes = r.get("notes", "")
        if r.get("lat_median_s") and r["workload"].startswith(("W2", "W6")):
            notes = (notes + "; " if notes else "") + "median commit %s" % \
                fmt_time(r["lat_median_s"])
        if r["reps"] > 1:
            notes = (notes + "; " if notes else "") + "median of %d" % r["reps"]
        elif r["reps"] == 1 and bench.args.size == "full" and "1 run" not in notes:
            notes = (notes + "; " if notes else "") + "1 run (slow)"
        lines.append([r["workload"], r["system"], fmt_time(r.get("wall_s")),
                      fmt_time(r.get("core_s")), fmt_rate(rate(r)),
                      fmt_bytes(r.get("rss_kib", 0) * 1024), fmt_bytes(r.get("disk")),
                      ratios(bench, r), notes])
    return head, lines


def render_text(head, lines):
    w = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
    out = ["  ".join(str(h).ljust(w[i]) for i, h in enumerate(head)).rstrip()]
    out.append("  ".join("-" * w[i] for i in range(len(head))))
    for ln in lines:
        out.append("  ".join(str(x).ljust(w[i]) for i, x in enumerate(ln)).rstrip())
    return "\n".join(out)


def render_md(head, lines):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ln in lines:
        out.append("| " + " | ".join(str(x).replace("|", "/") for x in ln) + " |")
    return "\n".join(out)


def targets(bench):
    """The issue's targets: (target, gitkv system, value, goal, met)."""
    f = bench.find
    res = []

    def best(workload, systems):
        rows = [f(workload, s) for s in systems]
        rows = [r for r in rows if rate(r)]
        return max(rows, key=rate) if rows else None

    def speed(target, workload, system, peer_row, goal, peer_name, g=None):
        g = g or f(workload, system)
        # A rate is unknown when a core time was too short to estimate
        # (small sizes): the target is then "n/a", never a crash.
        if rate(g) is None or rate(peer_row) is None:
            res.append((target, system, None, goal, None, peer_name))
            return
        x = rate(g) / rate(peer_row)
        res.append((target, system, x, goal, x >= goal - 1e-12, peer_name))

    fi2 = best("W2 commits", ["git fast-import", "git fast-import (tuned)"])
    py2 = f("W2 commits", "pygit2")
    for s in ("gitkv-mem", "gitkv-lmdb-nosync", "gitkv-lmdb-mapped", "gitkv-mem (sha1)",
              "gitkv-lmdb-nosync (sha1)"):
        speed("W2 >= 5x fast-import", "W2 commits", s, fi2, 5, "fast-import (best)")
        speed("W2 >= 20x pygit2", "W2 commits", s, py2, 20, "pygit2")
    # What a writer hashing with sha1dc could reach at best against fast-import.
    speed("W2 bound: sha1dc floor vs fast-import", "W2 commits",
          "SHA-1DC hashing alone (floor)", fi2, 5, "fast-import (best)")
    # What any writer keeping W2's objects in LMDB could reach at best: it
    # must hash them (the sha1dc floor) and put them (the objects floors);
    # the two floors' times add up.
    hash2 = f("W2 commits", "SHA-1DC hashing alone (floor)")
    for floor in ("raw LMDB, objects (nosync)", "raw LMDB, objects in a log (nosync)",
                  "raw LMDB, objects (nosync, writemap)"):
        both = in_sequence(hash2, f("W2 commits", floor))
        speed("W2 bound: sha1dc floor + objects floor vs fast-import", "W2 commits",
              floor + " + sha1dc", fi2, 5, "fast-import (best)", g=both)
        speed("W2 bound: sha1dc floor + objects floor vs pygit2", "W2 commits",
              floor + " + sha1dc", py2, 20, "pygit2", g=both)
    speed("W2 durable within 1.5x raw LMDB sync", "W2 commits", "gitkv-lmdb",
          f("W2 commits", "raw LMDB (sync)"), 1 / 1.5, "raw LMDB (sync)")
    for floor in ("raw LMDB, objects (sync)", "raw LMDB, objects in a log (sync)"):
        speed("W2 bound: durable objects floor vs raw LMDB sync", "W2 commits", floor,
              f("W2 commits", "raw LMDB (sync)"), 1 / 1.5, "raw LMDB (sync)")
    speed("W2 git >= pygit2", "W2 commits", "gitkv-git", py2, 1, "pygit2")
    speed("W3 within 3x raw LMDB get", "W3 reads", "gitkv-lmdb", f("W3 reads", "raw LMDB"),
          1 / 3, "raw LMDB")
    speed("W3 >= 5x pygit2", "W3 reads", "gitkv-lmdb", f("W3 reads", "pygit2"), 5, "pygit2")
    speed("W3 >= 20x cat-file", "W3 reads", "gitkv-lmdb", f("W3 reads", "git cat-file --batch"),
          20, "git cat-file --batch")
    speed("W3 git >= 2x pygit2", "W3 reads", "gitkv-git", f("W3 reads", "pygit2"), 2, "pygit2")
    fi1 = best("W1 bulk", ["git fast-import", "git fast-import (tuned)"])
    for s in ("gitkv-mem", "gitkv-lmdb", "gitkv-lmdb-nosync", "gitkv-mem (sha1)",
              "gitkv-lmdb-nosync (sha1)"):
        speed("W1 >= 3x fast-import", "W1 bulk", s, fi1, 3, "fast-import (best)")
    speed("W1 git within 1.5x fast-import", "W1 bulk", "gitkv-git", fi1, 1 / 1.5,
          "fast-import (best)")
    for s, _, _ in GITKV:
        speed("W4 walk within 1.5x rev-list", "W4 walk", s, f("W4 walk", "git rev-list --count"),
              1 / 1.5, "git rev-list --count")
        speed("W4 merge base within 1.5x git", "W4 merge-base", s,
              f("W4 merge-base", "git merge-base"), 1 / 1.5, "git merge-base")
    present = set(r["workload"] for r in bench.rows)
    res = [t for t in res if any(w.startswith(t[0][:2]) for w in present)]
    big, small = bench.cfg["w6"][-1], bench.cfg["w6"][0]
    for sysname, _, _ in WRITERS:
        lo = f("W6 D(%s)" % fmt_count(small), sysname)
        hi = f("W6 D(%s)" % fmt_count(big), sysname)
        if lo and hi and lo.get("lat_median_s") and hi.get("lat_median_s"):
            x = lo["lat_median_s"] / hi["lat_median_s"]
            res.append(("W6 commit at D(%s) within 1.5x" % fmt_count(big), sysname, x, 1 / 1.5,
                        x >= 1 / 1.5, "its median commit at D(%s)" % fmt_count(small)))
    return res


def render_targets(res):
    out = []
    for target, system, x, goal, met, peer in res:
        if x is None:
            out.append("- %s, %s: not measured (row missing, or a time too short to estimate)" % (target, system))
            continue
        out.append("- %s, %s: %.2fx of %s's speed (goal >= %.2fx): %s" %
                   (target, system, x, peer, goal, "MET" if met else "MISSED"))
    return "\n".join(out)


def probe_line(bench):
    return "; ".join("first touch of a 4 KiB page at the %s: %.2f us plain, %.2f us in huge pages"
                     % (p["when"], p["plain_us"], p["huge_us"]) for p in bench.probes)


def machine(bench):
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "first_touch": bench.probes}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory"] = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        with open("/proc/loadavg") as f:
            info["loadavg_at_end"] = f.read().split()[:3]
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bindir", required=True, help="where bench-gitkv & co. were built")
    ap.add_argument("--size", choices=sorted(SIZES), default="full")
    ap.add_argument("--reps", type=int, default=0, help="repetitions of every case")
    ap.add_argument("--only", default="W1,W2,W3,W4,W6", help="workloads to run")
    ap.add_argument("--out", help="directory for results.json and results.md")
    ap.add_argument("--tmp", default=None, help="parent of the scratch directory")
    w5.add_args(ap)
    listing.add_args(ap)
    args = ap.parse_args()
    bench = Bench(args)
    try:
        bench.main()
    finally:
        print("removing the scratch data in %s" % bench.tmp, flush=True)
        shutil.rmtree(bench.tmp, ignore_errors=True)
    head, lines = table(bench)
    res = targets(bench)
    print()
    print(render_text(head, lines))
    print()
    if res:
        print("Targets (core-loop speed of gitkv over the peer's):")
        print(render_targets(res))
    res5 = w5.targets(bench) + listing.targets(bench)
    if res5:
        print("W5 and LIST targets (kvctl's wall time and peak RSS over git's):")
        print(w5.render_targets(res5))
    print("\nsize %s, %.0f s in all; wall = whole process, core = loop timed inside it"
          % (args.size, bench.elapsed))
    print(probe_line(bench))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(dict(size=args.size, config=bench.cfg, machine=machine(bench),
                           elapsed_s=bench.elapsed, rows=bench.rows, failures=bench.failures,
                           targets=[dict(target=t, system=s, ratio=x, goal=g, met=m, peer=p)
                                    for t, s, x, g, m, p in res]
                           + [dict(target=t, system=s, ratio=x, goal=g, met=m, peer=p,
                                   at_most=True) for t, s, x, g, m, p in res5],
                           w5=getattr(bench, "w5_info", None),
                           listing=getattr(bench, "list_info", None)), f, indent=1)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(render_md(head, lines) + "\n\n" + probe_line(bench) + "\n\n"
                    + render_targets(res) + "\n" + (w5.render_targets(res5) + "\n" if res5 else ""))
    if bench.failures:
        print("\nFAILED:\n  " + "\n  ".join(bench.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
