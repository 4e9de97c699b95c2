"""LIST, listings: kvctl tree, list, diff and stats against the git commands
that give the same figures, on a git store (the repository itself) and on
an lmdb store made from it, in one run. run.py calls run().

The repository comes from --list-repo or $GITKV_BENCH_LIST_REPO (a bare git
repository, e.g. a copy of libgit2's); it is never downloaded, and nothing
here writes to it (kvctl opens it read-only for these commands). Without
one, a synthetic history is made with git fast-import. The lmdb store is
`kvctl --store lmdb:DIR clone REPO`, made once (not timed) in --list-lmdb
(default $GITKV_BENCH_LIST_LMDB, else OUT/listing-lmdb) and reused while
its branches are the repository's.

Every command is timed whole, spawn to exit, with its peak RSS from wait4
(through /usr/bin/time); each group runs in rounds. Every kvctl output is
checked against git's: the same paths and kinds as git ls-tree, the same
paths and operations as git diff --no-renames, the same counts and sizes
as git cat-file --batch-check.
"""
import json
import os
import random
import statistics
import subprocess

import fastimport

ENV_REPO = "GITKV_BENCH_LIST_REPO"
ENV_LMDB = "GITKV_BENCH_LIST_LMDB"
GOAL = 1.5  # kvctl's wall time at most 1.5x git's
SYSTEMS = ("gitkv-git", "gitkv-lmdb")
SHORT = {"gitkv-git": "git", "gitkv-lmdb": "lmdb"}
# Synthetic history: (commits, files, files changed per commit).
SYNTH = {"small": (200, 600, 8), "full": (4000, 16000, 10)}
# Repetitions of every case (each a few tens of milliseconds).
REPS = {"small": 2, "full": 11}
# git ls-tree modes and the kinds kvctl names them by.
KINDS = {"100644": "value", "100755": "exec", "120000": "link", "160000": "submodule",
         "040000": "dir"}
IDENT = dict(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
             GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_NAME="bench",
             GIT_COMMITTER_EMAIL="bench@example.com", GIT_COMMITTER_DATE="1700000000 +0000")
STATS_FMT = "%(objecttype) %(objectsize)"


def add_args(ap):
    ap.add_argument("--list-repo", default=os.environ.get(ENV_REPO),
                    help="LIST: the bare git repository to list (default $%s; without it, a "
                    "synthetic one)" % ENV_REPO)
    ap.add_argument("--list-lmdb", default=os.environ.get(ENV_LMDB),
                    help="LIST: where the lmdb store made from --list-repo is kept and "
                    "reused (default $%s, else OUT/listing-lmdb)" % ENV_LMDB)


class Listing:
    def __init__(self, bench, failure, unavailable_exc):
        self.b = bench
        self.Failure = failure
        self.Unavailable = unavailable_exc
        args = bench.args
        self.kvctl = os.path.abspath(getattr(args, "kvctl", None) or
                                     os.path.join(bench.bindir, "..", "cli", "kvctl"))
        self.reps = args.reps or REPS[args.size]
        self.root = os.path.join(bench.tmp, "listing")
        os.mkdir(self.root)

    # ------------------------------------------------------------ helpers

    def git(self, *args, raw=False, env=None):
        r = subprocess.run(["git", "--git-dir", self.repo] + list(args),
                           env=dict(self.b.env, **(env or {})), capture_output=True)
        if r.returncode != 0:
            raise self.Failure("git %s: %s" % (" ".join(args[:2]),
                                                r.stderr.decode(errors="replace").strip()))
        return r.stdout if raw else r.stdout.decode(errors="replace").strip()

    def kv(self, store, *args):
        """kvctl, untimed (setup and checks): its stdout."""
        r = subprocess.run([self.kvctl, "--store", store] + list(args), env=self.b.env,
                           capture_output=True)
        if r.returncode != 0:
            raise self.Failure("kvctl %s: %s" % (" ".join(args[:2]),
                                                  r.stderr.decode(errors="replace").strip()))
        return r.stdout.decode(errors="replace")

    # ------------------------------------------------------------ the data

    def prepare(self):
        src = self.b.args.list_repo
        if src:
            if not os.path.isdir(src):
                raise self.Failure("LIST repository %s does not exist" % src)
            self.repo = os.path.abspath(src)
            self.source = self.repo
            out = self.b.args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "out")
            self.lmdb = os.path.abspath(self.b.args.list_lmdb or
                                        os.path.join(out, "listing-lmdb"))
        else:
            self.repo = os.path.join(self.root, "synthetic.git")
            self.synthesize()
            self.source = "synthetic"
            self.lmdb = os.path.join(self.root, "lmdb")
        self.main = self.git("symbolic-ref", "--short", "HEAD")
        self.head = self.git("rev-parse", "refs/heads/" + self.main)
        chain = self.git("rev-list", "--first-parent", self.head).split()
        # far: halfway down the first-parent history; near: the first parent
        self.far = chain[len(chain) // 2]
        self.near = chain[1] if len(chain) > 1 else chain[0]
        # the directory: the root's with the most entries
        best = None
        for line in self.git("ls-tree", self.head).splitlines():
            meta, name = line.split("\t", 1)
            if meta.split()[1] == "tree" and not name.startswith('"'):
                n = len(self.git("ls-tree", "%s:%s" % (self.head, name)).splitlines())
                if best is None or n > best[1]:
                    best = (name, n)
        if best is None:
            raise self.Failure("LIST: the repository's root has no directory to list")
        self.dir = best[0]
        self.nobjects = len(self.git("cat-file", "--batch-all-objects", "--batch-check",
                                     raw=True).splitlines())
        self.nvalues = len(self.git("ls-tree", "-r", "-z", self.head, raw=True).split(b"\0")) - 1
        self.make_lmdb()
        print("LIST listings: %s, %d objects, %d paths at %s of %s; diff far %s..%s, near "
              "%s..%s; list %s/; lmdb store %s" % (
                  self.source, self.nobjects, self.nvalues, self.head[:12], self.main,
                  self.far[:12], self.head[:12], self.near[:12], self.head[:12], self.dir,
                  self.lmdb), flush=True)

    def synthesize(self):
        """A history with every kind of entry (values, executables, links, a
        submodule) and names git quotes (a space, a tab, a quote, accents),
        files three levels deep edited a few at a time."""
        commits, nfiles, per = SYNTH[self.b.args.size]
        rng = random.Random(17)
        odd = ["with space.txt", "tab\there", 'quote"d', "caf\u00e9/cr\u00e8me", "\u65e5\u672c"]

        def path(f):
            if f < len(odd):
                return "odd/" + odd[f]
            return "src/m%02x/d%02x/f%d.%s" % (f % 16, (f // 16) % 16, f, "ch"[f % 2])

        def mode(f):
            return "100755" if f % 97 == 5 else "120000" if f % 101 == 7 else "100644"

        stream = os.path.join(self.root, "list.fi")
        with open(stream, "wb") as out:
            for j in range(commits):
                files = range(nfiles) if j == 0 else rng.sample(range(nfiles), per)
                fastimport.commit_header(out, j)
                if j == 0:
                    out.write(b"M 160000 %s vendor/sub\n" % (b"1" * 40))
                for f in files:
                    data = ("/* %d */ int v%d = %d;\n" % (f, f, rng.getrandbits(32))).encode() \
                        * (1 + f % 7)
                    if mode(f) == "120000":
                        data = ("../target/%d/%d" % (f, rng.getrandbits(16))).encode()
                    p = path(f).encode()
                    quoted = b'"' + p.replace(b"\\", b"\\\\").replace(b'"', b'\\"') \
                        .replace(b"\t", b"\\t") + b'"'
                    out.write(b"M %s inline %s\ndata %d\n%s\n" % (mode(f).encode(), quoted,
                                                                   len(data), data))
                if j and j % 50 == 0:  # a directory goes, another comes
                    out.write(b"D src/m%02x/d%02x\n" % (j % 16, (j // 16) % 16))
                out.write(b"\n")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", self.repo], check=True,
                       env=self.b.env, capture_output=True)
        with open(stream, "rb") as f:
            r = subprocess.run(["git", "--git-dir", self.repo, "fast-import", "--quiet"],
                               stdin=f, env=self.b.env, capture_output=True)
        if r.returncode != 0:
            raise self.Failure("fast-import: %s" % r.stderr.decode(errors="replace").strip())
        os.unlink(stream)
        self.git("repack", "-a", "-d", "-q")

    def heads(self):
        out = self.git("for-each-ref", "--format=%(refname:strip=2) %(objectname)",
                       "refs/heads/")
        return dict(line.split(" ", 1) for line in out.splitlines())

    def lmdb_valid(self):
        """The store at self.lmdb has the repository's branches, at their
        heads: the default branch checked by commit, the others by name."""
        store = "lmdb:" + self.lmdb
        try:
            names = self.kv(store, "branch").split()
            head = self.kv(store, "--branch", self.main, "snapshot").strip()
        except self.Failure:
            return False
        return sorted(names) == sorted(self.heads()) and head == self.head

    def make_lmdb(self):
        if os.path.isdir(self.lmdb) and os.listdir(self.lmdb):
            if self.lmdb_valid():
                self.lmdb_note = "reused"
                return
            raise self.Failure("LIST: %s holds something other than a clone of %s (remove it, "
                               "or name another --list-lmdb)" % (self.lmdb, self.repo))
        os.makedirs(os.path.dirname(self.lmdb), exist_ok=True)
        print("  making the lmdb store: kvctl --store lmdb:%s clone %s (not timed)"
              % (self.lmdb, self.repo), flush=True)
        self.kv("lmdb:" + self.lmdb, "clone", self.repo)
        if not self.lmdb_valid():
            raise self.Failure("LIST: the lmdb clone of %s does not have its branches"
                               % self.repo)
        self.lmdb_note = "made by this run"

    # ------------------------------------------------------------ what git says

    def git_tree(self, treeish, recursive):
        """[(path, kind)] of git ls-tree (-r), raw paths decoded, sorted by bytes."""
        out = self.git("ls-tree", "-z", *(["-r"] if recursive else []), treeish, raw=True)
        rows = []
        for item in out.split(b"\0"):
            if not item:
                continue
            meta, name = item.split(b"\t", 1)
            rows.append((name, KINDS[meta.split()[0].decode()]))
        rows.sort()
        return [(n.decode("utf-8", "surrogateescape"), k) for n, k in rows]

    def git_diff(self, a, b):
        out = self.git("diff", "--no-renames", "--name-status", "-z", a, b, raw=True)
        items = [x for x in out.split(b"\0")]
        rows = []
        for i in range(0, len(items) - 1, 2):
            op = items[i].decode()
            rows.append((items[i + 1], {"T": "M"}.get(op, op)))
        rows.sort()
        return [(p.decode("utf-8", "surrogateescape"), op) for p, op in rows]

    def git_counts(self, reachable):
        """{type: [count, bytes]}: every object (a git store), or those the
        branches reach (what a clone holds)."""
        if reachable:
            ids = self.git("rev-list", "--objects", "--branches", raw=True)
            r = subprocess.run(["git", "--git-dir", self.repo, "cat-file",
                                "--batch-check=" + STATS_FMT],
                               input=b"\n".join(line.split(b" ", 1)[0]
                                                for line in ids.splitlines()) + b"\n",
                               env=self.b.env, capture_output=True)
            if r.returncode != 0:
                raise self.Failure("git cat-file: %s" % r.stderr.decode(errors="replace"))
            out = r.stdout.decode()
        else:
            out = self.git("cat-file", "--batch-all-objects", "--batch-check=" + STATS_FMT)
        counts = {t: [0, 0] for t in ("commit", "tree", "blob", "tag")}
        for line in out.splitlines():
            t, size = line.split()
            counts[t][0] += 1
            counts[t][1] += int(size)
        return counts

    def git_branch_figures(self):
        """values, dirs, other entries and bytes of the head tree, as
        git ls-tree -r -t -l gives them."""
        out = self.git("ls-tree", "-r", "-t", "-l", "-z", self.head, raw=True)
        fig = dict(values=0, dirs=0, other=0, bytes=0)
        for item in out.split(b"\0"):
            if not item:
                continue
            meta = item.split(b"\t", 1)[0].split()
            mode, size = meta[0].decode(), meta[3].decode()
            if mode == "040000":
                fig["dirs"] += 1
                continue
            if mode == "160000":
                fig["other"] += 1
                continue
            fig["bytes"] += int(size)
            fig["values" if mode == "100644" else "other"] += 1
        return fig

    # ------------------------------------------------------------ checks

    def check_names(self, what, text, want, mark_dirs):
        """kvctl's text listing against git's names (quoted by git itself)."""
        got = text.splitlines()
        exp = [self.quote(n) + ("/" if mark_dirs and k == "dir" else "") for n, k in want]
        if got != exp:
            diff = [x for x in set(got) ^ set(exp)][:3] or ["order"]
            raise self.Failure("%s: %d lines where git has %d (%s)"
                               % (what, len(got), len(exp), diff))

    def quote(self, name):
        """A path as git quotes it (core.quotePath): C-style in double quotes
        when it holds a control character, a quote, a backslash or a byte
        above 0x7f."""
        raw = name.encode("utf-8", "surrogateescape")
        esc = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0b: "\\v", 0x0c: "\\f",
               0x0d: "\\r", 0x22: '\\"', 0x5c: "\\\\"}
        if not any(c < 0x20 or c >= 0x7f or c in (0x22, 0x5c) for c in raw):
            return name
        return '"' + "".join(esc.get(c) or ("\\%03o" % c if c < 0x20 or c >= 0x7f else chr(c))
                             for c in raw) + '"'

    def check_json(self, store, what, args, want, key, kind_key):
        got = json.loads(self.kv(store, "--json", *args))
        pairs = [(self.json_str(x[key]), x[kind_key]) for x in got]
        if pairs != want:
            diff = [x for x in set(pairs) ^ set(want)][:3] or ["order"]
            raise self.Failure("%s (--json): %d entries where git has %d (%s)"
                               % (what, len(pairs), len(want), diff))

    @staticmethod
    def json_str(v):
        """A JSON path: a string, or (not UTF-8) its base64 form."""
        if isinstance(v, str):
            return v
        import base64
        return base64.b64decode(v["base64"]).decode("utf-8", "surrogateescape")

    def check_stats(self, store, scheme):
        got = json.loads(self.kv(store, "--json", "stats"))
        counts = self.git_counts(reachable=(scheme == "lmdb"))
        for t, (n, size) in counts.items():
            o = got["objects"][t]
            if (o["count"], o["bytes"]) != (n, size):
                raise self.Failure("stats on %s: %d %ss (%d bytes), git counts %d (%d bytes)"
                                   % (scheme, o["count"], t, o["bytes"], n, size))
        if got["branches"] != len(self.heads()):
            raise self.Failure("stats on %s: %d branches, git has %d"
                               % (scheme, got["branches"], len(self.heads())))
        fig = self.git_branch_figures()
        br = {k: got["branch"][k] for k in fig}
        if br != fig:
            raise self.Failure("stats on %s: branch %s %s, git ls-tree -r -t -l says %s"
                               % (scheme, self.main, br, fig))

    # ------------------------------------------------------------ rows

    def group(self, workload, git_argv, git_note, kv_args, check, kv_note=None, floors=()):
        """One row for git, one for each store, and the floors (system,
        argv, note, the number of lines it must print): in rounds, each
        checked on its last run."""
        cpu = {}

        def timed(system, argv, stdin=None):
            res = self.b.run(argv, stdin=stdin)
            cpu.setdefault(system, []).append(self.b.last_cpu)
            return res

        def git_once(rep, last):
            res = timed("git", git_argv)
            return res[0], res[1], {}, {}

        def kv_once(system, store):
            def once(rep, last):
                res = timed(system, [self.kvctl, "--store", store] + kv_args)
                if last:
                    check(system, store, res[3])
                return res[0], res[1], {}, {}
            return once

        def floor_once(system, argv, lines):
            stdin = None
            if isinstance(lines, tuple):  # (lines, a file for its stdin)
                lines, stdin = lines

            def once(rep, last):
                res = timed(system, argv, stdin)
                got = len([x for x in res[3].splitlines() if not x.startswith("BENCH ")])
                if "objects" in res[2]:  # bench-lmdb objects: the records it read
                    got = int(float(res[2]["objects"]))
                if last and lines is not None and got != lines:
                    raise self.Failure("%s: %d lines, git prints %d" % (system, got, lines))
                return res[0], res[1], {}, {}
            return once

        kvcmd = kv_note or "kvctl " + " ".join(kv_args)
        self.b.measure_interleaved(workload, [
            ("git", self.reps, git_once, git_note),
            ("gitkv-git", self.reps, kv_once("gitkv-git", "git:" + self.repo), kvcmd),
            ("gitkv-lmdb", self.reps, kv_once("gitkv-lmdb", "lmdb:" + self.lmdb), kvcmd)] +
            [(system, self.reps, floor_once(system, argv, lines), note)
             for system, argv, note, lines in floors])
        for system, times in cpu.items():  # user + system CPU time, the median run's
            row = self.b.find(workload, system)
            if row:
                row["cpu_s"] = statistics.median(times)
                row["notes"] += "; CPU %s" % fmt_ms(row["cpu_s"])

    def rows(self):
        g = ["git", "--git-dir", self.repo]
        lg2 = [self.b.prog("bench-libgit2")]
        floor = "libgit2 (floor)"
        head = self.head
        top = self.git_tree(head, True)
        root = self.git_tree(head, False)
        sub = self.git_tree("%s:%s" % (head, self.dir), False)
        # kvctl lists a branch's head; a branch at HEAD's commit names it
        kvb = ["--branch", self.main]

        def tree_check(system, store, text):
            self.check_names("tree on " + system, text, top, False)
            self.check_json(store, "tree on " + system, kvb + ["tree"], top, "path", "kind")

        def list_check(what, want, path):
            def check(system, store, text):
                self.check_names("%s on %s" % (what, system), text, want, True)
                self.check_json(store, "%s on %s" % (what, system), kvb + ["list"] + path,
                                want, "name", "kind")
            return check

        def diff_check(a, b):
            want = self.git_diff(a, b)

            def check(system, store, text):
                got = []
                for line in text.splitlines():
                    op, p = line.split(" ", 1)
                    got.append((p, op))
                exp = [(self.quote(p), op) for p, op in want]
                if got != exp:
                    diff = [x for x in set(got) ^ set(exp)][:3] or ["order"]
                    raise self.Failure("diff on %s: %d lines where git has %d (%s)"
                                       % (system, len(got), len(exp), diff))
            return check

        def stats_check(system, store, text):
            self.check_stats(store, SHORT[system])

        # the trees a listing of HEAD reads, for the lmdb floor
        trees = os.path.join(self.root, "trees")
        ids = [self.git("rev-parse", head + "^{tree}")] + [
            line.split()[2] for line in self.git("ls-tree", "-r", "-t", head).splitlines()
            if line.split()[1] == "tree"]
        with open(trees, "w") as f:
            f.write("".join(i + "\n" for i in ids))
        self.group("LIST tree", g + ["ls-tree", "-r", head], "git ls-tree -r HEAD",
                   kvb + ["tree"], tree_check,
                   floors=[(floor, lg2 + ["lstree", self.repo, head, "-r"],
                            "bench-libgit2 lstree -r: git_tree_walk", len(top)),
                           ("raw LMDB, the trees (floor)",
                            [self.b.prog("bench-lmdb"), "objects", self.lmdb],
                            "bench-lmdb objects: the %d tree records of HEAD from the lmdb "
                            "store, by id, in one read transaction" % len(ids),
                            (len(ids), trees))])
        self.group("LIST list /", g + ["ls-tree", head], "git ls-tree HEAD",
                   kvb + ["list"], list_check("list", root, []),
                   floors=[(floor, lg2 + ["lstree", self.repo, head],
                            "bench-libgit2 lstree: the root tree's entries", len(root)),
                           ("libgit2 init (floor)", lg2 + ["init"],
                            "bench-libgit2 init: git_libgit2_init alone", 0)])
        self.group("LIST list dir", g + ["ls-tree", "%s:%s" % (head, self.dir)],
                   "git ls-tree HEAD:%s" % self.dir, kvb + ["list", self.dir],
                   list_check("list " + self.dir, sub, [self.dir]),
                   floors=[(floor, lg2 + ["lstree", self.repo, "%s:%s" % (head, self.dir)],
                            "bench-libgit2 lstree: a directory's entries", len(sub))])
        for workload, a, note in (("LIST diff far", self.far, "FAR HEAD"),
                                  ("LIST diff near", self.near, "HEAD^ HEAD")):
            self.group(workload, g + ["diff", "--no-renames", "--name-status", a, head],
                       "git diff --no-renames --name-status " + note,
                       ["diff", a, head], diff_check(a, head), "kvctl diff " + note,
                       floors=[(floor, lg2 + ["diff", self.repo, a, head],
                                "bench-libgit2 diff: git_diff_tree_to_tree",
                                len(self.git_diff(a, head)))])
        # What git needs for stats' figures: counts and sizes by type
        # (cat-file), refs, the head tree's entries and sizes, the packs.
        script = ("git --git-dir=\"$0\" cat-file --batch-all-objects --batch-check='%s' && "
                  "git --git-dir=\"$0\" for-each-ref --format='%%(refname)' && "
                  "git --git-dir=\"$0\" ls-tree -r -t -l %s && "
                  "git --git-dir=\"$0\" count-objects -v" % (STATS_FMT, head))
        self.group("LIST stats", ["sh", "-c", script, self.repo],
                   "git cat-file --batch-all-objects --batch-check, for-each-ref, "
                   "ls-tree -r -t -l HEAD, count-objects -v", kvb + ["stats"], stats_check)

    def main(self):
        if not os.access(self.kvctl, os.X_OK):
            raise self.Failure("no kvctl at %s (--kvctl)" % self.kvctl)
        self.prepare()
        try:
            self.rows()
        finally:
            self.b.list_info = dict(source=self.source, objects=getattr(self, "nobjects", None),
                                    paths=getattr(self, "nvalues", None),
                                    head=getattr(self, "head", None),
                                    far=getattr(self, "far", None),
                                    near=getattr(self, "near", None),
                                    dir=getattr(self, "dir", None),
                                    lmdb=getattr(self, "lmdb", None),
                                    lmdb_store=getattr(self, "lmdb_note", None))


def fmt_ms(s):
    return "%.1f ms" % (s * 1e3) if s < 1 else "%.2f s" % s


def run(bench, failure, unavailable_exc):
    Listing(bench, failure, unavailable_exc).main()


# ---------------------------------------------------------------- reporting

def ratios(bench, row):
    """On a git row: each store's wall time and peak RSS over git's (below
    1, kvctl is faster or smaller)."""
    if row["system"] == "libgit2 (floor)" and row.get("wall_s"):
        g = bench.find(row["workload"], "gitkv-git")
        return "git store %.2fx time of it" % (g["wall_s"] / row["wall_s"]) if g else ""
    if row["system"] != "git" or not row.get("wall_s"):
        return ""
    parts = []
    for s in SYSTEMS:
        g = bench.find(row["workload"], s)
        if g and g.get("wall_s"):
            cpu = ""
            if g.get("cpu_s") and row.get("cpu_s"):
                cpu = " %.2fx CPU" % (g["cpu_s"] / row["cpu_s"])
            parts.append("%s %.2fx time%s %.2fx RSS" % (SHORT[s], g["wall_s"] / row["wall_s"],
                                                        cpu, g["rss_kib"] / max(row["rss_kib"], 1)))
    return "; ".join(parts)


def targets(bench):
    """(target, system, ratio, goal, met, peer): each command's wall time
    over git's (met when at most GOAL)."""
    out = []
    for w in sorted(set(r["workload"] for r in bench.rows if r["workload"].startswith("LIST"))):
        peer = bench.find(w, "git")
        for s in SYSTEMS:
            g = bench.find(w, s)
            name = "%s time within %.1fx git" % (w, GOAL)
            if not g or not peer:
                row = [r for r in bench.rows if r["workload"] == w and r["system"] in (s, "git")
                       and r["status"] != "ok"]
                out.append((name, s, None, GOAL, None, row[0].get("error", "") if row else
                            "not run"))
                continue
            x = g["wall_s"] / peer["wall_s"]
            out.append((name, s, x, GOAL, x <= GOAL + 1e-12, peer.get("notes", "git")
                        .split(";")[0]))
    return out
