"""W5, sync with a git remote: clone, fetch, push and a store-to-store clone,
gitkv's kvctl beside git (and pygit2) in the same run. run.py calls run().

The repository comes from --w5-repo or $GITKV_BENCH_W5_REPO (a bare git
repository, e.g. a copy of libgit2's); it is never downloaded here. Without
one, a synthetic history is made with git fast-import (the small size always
does this unless a repository is given). The served copy holds the source's
branches (refs/heads/*) and nothing else, packed: what `git clone` and
`kvctl clone` both receive (git clone takes no refs/pull/*, and kvctl clone
takes branches only, so tags are left out of both).

`git daemon` serves the copy on 127.0.0.1; this module starts it and stops
it by its pid. Each command is timed whole, spawn to exit, with its peak RSS
from wait4 (through /usr/bin/time): for git, whose clone runs index-pack in
a second process, that is the larger of the two, not their sum.
"""
import os
import random
import socket
import subprocess
import time

import fastimport

IDENT = dict(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
             GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_NAME="bench",
             GIT_COMMITTER_EMAIL="bench@example.com", GIT_COMMITTER_DATE="1700000000 +0000")
ENV_REPO = "GITKV_BENCH_W5_REPO"
PUSH_BRANCH = {"git clone": "w5-push-git", "gitkv-lmdb": "w5-push-lmdb",
               "gitkv-git": "w5-push-gitstore", "pygit2": "w5-push-pygit2"}
# Synthetic history: (commits, files, files changed per commit, branch every).
SYNTH = {"small": (300, 256, 5, 50), "full": (9000, 4096, 5, 600)}
# The targets the clone must meet against `git clone --bare`: time, peak RSS.
GOAL_TIME, GOAL_RSS = 1.1, 2.0
SYSTEMS = ("gitkv-lmdb", "gitkv-git")
FLOOR = "floor: lmdb encoding"


def add_args(ap):
    ap.add_argument("--w5-repo", default=os.environ.get(ENV_REPO),
                    help="W5: the bare git repository to serve (default $%s; "
                    "without it, a synthetic one)" % ENV_REPO)
    ap.add_argument("--kvctl", default=None,
                    help="W5: the kvctl to run (default BINDIR/../cli/kvctl)")
    ap.add_argument("--w5-via", choices=("kvctl", "library"), default="kvctl",
                    help="W5: gitkv's clone, fetch and push by kvctl (default) or by "
                    "bench-sync, the same library calls without the CLI")


class W5:
    def __init__(self, bench, failure, unavailable_exc, python):
        self.b = bench
        self.Failure = failure
        self.Unavailable = unavailable_exc
        self.python = python
        args = bench.args
        self.kvctl = os.path.abspath(args.kvctl or os.path.join(bench.bindir, "..", "cli",
                                                                "kvctl"))
        self.via = args.w5_via
        self.sync = bench.prog("bench-sync")
        self.reps_clone = bench.cfg["reps_slow"]
        self.reps_small = bench.cfg["reps"]
        self.daemon = None
        self.root = os.path.join(bench.tmp, "w5-served")
        os.mkdir(self.root)
        self.served = os.path.join(self.root, "served.git")
        self.clones = {}   # system -> the clone the later rows use
        self.seeded = set()  # systems whose store-to-store source is not their clone
        self.source_note = ""

    # ------------------------------------------------------------ helpers

    def git(self, *args, repo=None, env=None, stdin=None):
        argv = ["git"] + (["-C", repo] if repo else []) + list(args)
        r = subprocess.run(argv, env=dict(self.b.env, **(env or {})), capture_output=True,
                           input=stdin)
        if r.returncode != 0:
            raise self.Failure("git %s: %s" % (" ".join(args[:3]),
                                                r.stderr.decode(errors="replace").strip()))
        return r.stdout.decode(errors="replace").strip()

    def kv(self, store, *args, branch=None):
        """kvctl, untimed (setup and checks); raises Failure with its stderr."""
        argv = [self.kvctl, "--store", store] + (["--branch", branch] if branch else []) + \
            list(args)
        r = subprocess.run(argv, env=self.b.env, capture_output=True)
        if r.returncode != 0:
            raise self.Failure("kvctl %s: %s" % (" ".join(args[:2]), stderr_text(
                r.stderr.decode(errors="replace"), r.returncode)))
        return r.stdout.decode(errors="replace")

    def run(self, argv):
        """bench.run, with a failure reporting the command's stderr."""
        os.sync()  # every case starts with nothing left to write back
        try:
            return self.b.run(argv)
        except (self.Failure, self.Unavailable) as e:  # W5: a failed command is a failure
            try:
                with open(os.path.join(self.b.tmp, "stderr")) as f:
                    text = f.read()
            except OSError:
                raise e
            raise self.Failure("%s: %s" % (command_name(argv), stderr_text(text, None) or str(e)))

    def url(self):
        return "git://127.0.0.1:%d/served.git" % self.port

    def heads(self, repo):
        out = self.git("for-each-ref", "--format=%(refname:strip=2) %(objectname)",
                       "refs/heads/", repo=repo)
        return dict(line.split(" ", 1) for line in out.splitlines())

    # ------------------------------------------------------------ the data

    def prepare(self):
        src = self.b.args.w5_repo
        if src:
            if not os.path.isdir(src):
                raise self.Failure("W5 repository %s does not exist" % src)
            self.git("init", "-q", "--bare", self.served)
            self.git("fetch", "-q", "--no-tags", os.path.abspath(src),
                     "refs/heads/*:refs/heads/*", repo=self.served)
            head = self.git("symbolic-ref", "HEAD", repo=src)
            self.git("symbolic-ref", "HEAD", head, repo=self.served)
            self.source_note = os.path.abspath(src)
        else:
            self.synthesize()
            self.source_note = "synthetic"
        self.git("config", "receive.fsckObjects", "true", repo=self.served)
        self.git("config", "gc.auto", "0", repo=self.served)
        main = self.git("symbolic-ref", "--short", "HEAD", repo=self.served)
        self.main = main
        tip = self.git("rev-parse", "refs/heads/" + main, repo=self.served)
        for br in PUSH_BRANCH.values():  # each pusher gets a branch of its own
            self.git("update-ref", "refs/heads/" + br, tip, repo=self.served)
        self.git("repack", "-a", "-d", "-q", repo=self.served)
        stats = dict(line.split(": ", 1) for line in
                     self.git("count-objects", "-v", repo=self.served).splitlines())
        self.objects = int(stats["in-pack"])
        self.pack_kib = int(stats["size-pack"])
        self.commits = int(self.git("rev-list", "--count", "--branches", repo=self.served))
        self.nbranches = len(self.heads(self.served))
        print("W5 sync: %s, %d branches, %d commits, %d objects, a %.1f MiB pack, served by "
              "git daemon on 127.0.0.1" % (self.source_note, self.nbranches, self.commits,
                                           self.objects, self.pack_kib / 1024), flush=True)

    def synthesize(self):
        """A history of the shape of a source project's: files three levels
        deep edited a few at a time, a line at a time (so packs hold deltas),
        with a branch every few hundred commits."""
        commits, nfiles, per, every = SYNTH[self.b.args.size]
        rng = random.Random(5)
        lines = [[rng.getrandbits(64) for _ in range(40)] for _ in range(nfiles)]

        def path(f):
            return "src/m%02x/d%02x/f%d.c" % (f % 16, (f // 16) % 16, f)

        def blob(f):
            return "".join("/* %d %d */ line_%d = 0x%016x;\n" % (f, i, i, x)
                           for i, x in enumerate(lines[f])).encode()

        stream = os.path.join(self.root, "w5.fi")
        with open(stream, "wb") as out:
            for j in range(commits):
                files = range(nfiles) if j == 0 else rng.sample(range(nfiles), per)
                fastimport.commit_header(out, j)
                for f in files:
                    if j:
                        lines[f][rng.randrange(40)] = rng.getrandbits(64)
                    data = blob(f)
                    out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path(f).encode(),
                                                                       len(data), data))
                out.write(b"\n")
                if j and j % every == 0:
                    out.write(b"reset refs/heads/topic-%d\nfrom :%d\n\n" % (j // every, j + 1))
        self.git("init", "-q", "--bare", "-b", "main", self.served)
        with open(stream, "rb") as f:
            r = subprocess.run(["git", "-C", self.served, "fast-import", "--quiet"], stdin=f,
                               env=self.b.env, capture_output=True)
        if r.returncode != 0:
            raise self.Failure("fast-import: %s" % r.stderr.decode(errors="replace").strip())
        os.unlink(stream)

    def commit_on(self, repo, branch, path, text):
        """A commit on branch of the git repository repo adding path (not timed)."""
        env = dict(IDENT, GIT_INDEX_FILE=os.path.join(self.root, "index"))
        old = self.git("rev-parse", "refs/heads/" + branch, repo=repo)
        blob = self.git("hash-object", "-w", "--stdin", repo=repo, stdin=text.encode())
        self.git("read-tree", old, repo=repo, env=env)
        self.git("update-index", "--add", "--cacheinfo", "100644,%s,%s" % (blob, path),
                 repo=repo, env=env)
        tree = self.git("write-tree", repo=repo, env=env)
        new = self.git("commit-tree", tree, "-p", old, "-m", "w5 " + path, repo=repo, env=env)
        self.git("update-ref", "refs/heads/" + branch, new, old, repo=repo)
        os.unlink(env["GIT_INDEX_FILE"])
        return new

    # ------------------------------------------------------------ the daemon

    def start_daemon(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.daemon_log = open(os.path.join(self.root, "daemon.log"), "wb")
        # git-daemon itself, not through the git wrapper, so that the pid
        # this module stops is the daemon's.
        prog = os.path.join(self.git("--exec-path"), "git-daemon")
        if not os.access(prog, os.X_OK):
            raise self.Failure("no git-daemon in %s" % os.path.dirname(prog))
        self.daemon = subprocess.Popen(
            [prog, "--reuseaddr", "--export-all", "--enable=receive-pack",
             "--informative-errors", "--base-path=" + self.root, "--listen=127.0.0.1",
             "--port=%d" % self.port, self.root],
            env=self.b.env, stdin=subprocess.DEVNULL, stdout=self.daemon_log,
            stderr=self.daemon_log)
        for _ in range(100):  # at most 10 s
            if self.daemon.poll() is not None:
                raise self.Failure("git daemon exited: %s" % self.read_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise self.Failure("git daemon does not accept connections on port %d" % self.port)

    def read_log(self):
        self.daemon_log.flush()
        with open(self.daemon_log.name, errors="replace") as f:
            return f.read().strip()[-500:]

    def stop_daemon(self):
        if self.daemon is None:
            return
        self.daemon.terminate()
        try:
            self.daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
        self.daemon_log.close()
        self.daemon = None

    # ------------------------------------------------------------ checks

    def check_git_clone(self, d, what):
        want = self.heads(self.served)
        got = self.heads(d)
        if got != want:
            missing = sorted(set(want.items()) ^ set(got.items()))[:3]
            raise self.Failure("%s: branches differ from the served repository's (%s)"
                               % (what, missing))

    def check_kv_clone(self, store, what):
        """Every branch of the served repository is a branch of the store at
        the same commit."""
        want = self.heads(self.served)
        got = self.kv(store, "branch").split()
        if sorted(got) != sorted(want):
            diff = sorted(set(got) ^ set(want))[:3]
            raise self.Failure("%s: branches differ from the served repository's (%s)"
                               % (what, diff))
        for br, oid in want.items():
            have = self.kv(store, "snapshot", branch=br).strip()
            if have != oid:
                raise self.Failure("%s: branch %s at %s, expected %s" % (what, br, have, oid))

    def fsck(self, d, what):
        r = subprocess.run(["git", "-C", d, "fsck", "--no-progress", "--no-dangling"],
                           env=self.b.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise self.Failure("%s: git fsck: %s" % (what, r.stderr.strip()[-300:]))

    # ------------------------------------------------------------ rows

    def clone_rows(self):
        url = self.url()
        note = "%d objects, %.0f MiB pack" % (self.objects, self.pack_kib / 1024)

        def git_clone(system, extra):
            def once(rep, last):
                d = self.b.fresh("w5-" + system)
                res = self.run(["git"] + extra + ["clone", "-q", "--bare", url, d])
                self.check_git_clone(d, system)
                if last and system == "git clone":
                    self.clones[system] = d
                else:
                    self.b.discard(d)
                return res[0], res[1], res[2], {"cpu_s": self.b.last_cpu}
            return once

        def kv_clone(system, scheme):
            def once(rep, last):
                d = self.b.fresh("w5-" + system)
                store = "%s:%s" % (scheme, d)
                res = self.run(self.cmd_clone(url, store))
                if last:
                    self.check_kv_clone(store, system)
                    if scheme == "git":
                        self.check_git_clone(d, system)
                        self.fsck(d, system)
                    self.clones[system] = d
                else:
                    self.b.discard(d)
                return res[0], res[1], res[2], {}
            return once

        def pygit2_clone(rep, last):
            d = self.b.fresh("w5-pygit2")
            res = self.run([self.python, "-c", "import sys, pygit2; "
                            "pygit2.clone_repository(sys.argv[1], sys.argv[2], bare=True)",
                            url, d])
            got = self.git("rev-parse", "HEAD", repo=d)
            want = self.git("rev-parse", "refs/heads/" + self.main, repo=self.served)
            if got != want:
                raise self.Failure("pygit2 clone: HEAD at %s, expected %s" % (got, want))
            self.b.discard(d)
            return res[0], res[1], res[2], {}

        r = self.reps_clone
        cases = [("git clone", r, git_clone("git clone", []), "git clone --bare; " + note),
                 ("git clone (fsckObjects)", r,
                  git_clone("git clone (fsckObjects)", ["-c", "transfer.fsckObjects=true"]),
                  "git -c transfer.fsckObjects=true clone --bare")]
        if self.b.pygit2_available():
            cases.append(("pygit2", r, pygit2_clone, "clone_repository(bare=True), libgit2"))
        else:
            self.b.unavailable("W5 clone", "pygit2", "python3-pygit2 is not installed")
        cases += [("gitkv-lmdb", r, kv_clone("gitkv-lmdb", "lmdb"),
                   self.note("kvctl --store lmdb:DIR clone git://", "gkv_clone git:// lmdb:DIR")),
                  ("gitkv-git", r, kv_clone("gitkv-git", "git"),
                   self.note("kvctl --store git:DIR clone git://", "gkv_clone git:// git:DIR"))]
        self.b.measure_interleaved("W5 clone", cases)
        if "gitkv-lmdb" in self.clones:
            self.encode_floor(self.clones["gitkv-lmdb"])

    def encode_floor(self, d):
        """What any clone into lmdb must add to git's work: every object
        encoded as lmdb keeps it (whole, compressed, checksummed), the
        reads untimed (bench-sync encode, on the lmdb clone)."""
        def once(rep, last):
            res = self.run([self.sync, "encode", "lmdb:" + d])
            return res[0], res[1], res[2], {}
        self.b.measure("W5 clone", FLOOR, 1, once,
                       notes="bench-sync encode: lmdb's encode_raw of every object of the "
                       "clone, CPU time; reads untimed")

    def store_rows(self):
        """Store to store: kvctl clone of the lmdb (git) clone into a new
        store, against git clone --no-local of the served repository."""
        def git_local(rep, last):
            d = self.b.fresh("w5-git-local")
            res = self.run(["git", "clone", "-q", "--bare", "--no-local", self.served, d])
            self.check_git_clone(d, "git clone --no-local")
            self.b.discard(d)
            return res[0], res[1], res[2], {}

        def kv_local(system, scheme):
            def once(rep, last):
                src = self.clones.get(system) or self.seed(system, scheme)
                d = self.b.fresh("w5-s2s-" + system)
                store = "%s:%s" % (scheme, d)
                res = self.run(self.cmd_clone("%s:%s" % (scheme, src), store))
                if last:
                    self.check_kv_clone(store, system + " store-to-store")
                    if scheme == "git":
                        self.fsck(d, system + " store-to-store")
                self.b.discard(d)
                return res[0], res[1], res[2], {}
            return once

        r = self.reps_clone
        for system in SYSTEMS:  # a source made now is made before the timed runs
            if system not in self.clones:
                try:
                    self.seed(system, SCHEME[system])
                except self.Failure as e:
                    print("  W5 store-to-store: no source store for %s: %s" % (system, e))
        src = {s: " (A made by kvctl clone git:SERVED)" if s in self.seeded else ""
               for s in SYSTEMS}
        self.b.measure_interleaved("W5 store-to-store", [
            ("git clone --no-local", r, git_local, "git clone --bare --no-local PATH"),
            ("gitkv-lmdb", r, kv_local("gitkv-lmdb", "lmdb"),
             self.note("kvctl --store lmdb:B clone lmdb:A", "gkv_clone lmdb:A lmdb:B")
             + src["gitkv-lmdb"]),
            ("gitkv-git", r, kv_local("gitkv-git", "git"),
             self.note("kvctl --store git:B clone git:A", "gkv_clone git:A git:B")
             + src["gitkv-git"])])

    def note(self, kvctl, library):
        """What a gitkv row runs: the kvctl command, or the library call
        bench-sync makes in its place (--w5-via library)."""
        return kvctl if self.via == "kvctl" else "bench-sync: %s (the library, not kvctl)" % library

    def cmd_clone(self, remote, store):
        if self.via == "kvctl":
            return [self.kvctl, "--store", store, "clone", remote]
        return [self.sync, "clone", remote, store]

    def seed(self, system, scheme):
        """When the git:// clone failed, the store-to-store row copies from
        a store made by a store-to-store clone of the served repository
        itself (git:SERVED), not timed; its row says so."""
        key = "seed " + system
        if key not in self.clones:
            d = self.b.fresh("w5-seed-" + system)
            store = "%s:%s" % (scheme, d)
            argv = self.cmd_clone("git:" + self.served, store)
            r = subprocess.run(argv, env=self.b.env, capture_output=True, text=True)
            if r.returncode != 0:
                raise self.Failure("%s: %s" % (command_name(argv), stderr_text(r.stderr,
                                                                            r.returncode)))
            self.check_kv_clone("%s:%s" % (scheme, d), system + " seed")
            self.clones[key] = d
            self.seeded.add(system)
        return self.clones[key]

    def fetch_rows(self):
        """One new commit on the served main, then each clone fetches it; a
        round per commit, so every repetition fetches exactly one."""
        r = self.reps_small
        state = {}

        def new_commit(rep):
            if rep not in state:
                state[rep] = self.commit_on(self.served, self.main, "w5/fetch-%d" % rep,
                                            "fetched %d\n" % rep)
            return state[rep]

        def git_fetch(rep, last):
            want = new_commit(rep)
            d = self.clones.get("git clone")
            if not d:
                raise self.Failure("no git clone to fetch into")
            res = self.run(["git", "-C", d, "-c", "maintenance.auto=false", "fetch", "-q",
                            "origin", "+refs/heads/*:refs/heads/*"])
            got = self.git("rev-parse", "refs/heads/" + self.main, repo=d)
            if got != want:
                raise self.Failure("git fetch: %s at %s, expected %s" % (self.main, got, want))
            return res[0], res[1], res[2], {}

        def kv_fetch(system, scheme):
            def once(rep, last):
                want = new_commit(rep)
                d = self.clones.get(system)
                if not d:
                    raise self.Failure("no %s clone to fetch into (its clone failed)" % system)
                store = "%s:%s" % (scheme, d)
                res = self.run([self.kvctl, "--store", store, "fetch", "origin"]
                               if self.via == "kvctl" else [self.sync, "fetch", store, "origin"])
                r = subprocess.run([self.sync, "has", store, want], env=self.b.env,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    raise self.Failure("%s fetch: commit %s is not in the store: %s"
                                       % (system, want, r.stderr.strip()))
                if scheme == "git":
                    got = self.git("rev-parse", "refs/remotes/origin/" + self.main, repo=d)
                    if got != want:
                        raise self.Failure("%s fetch: origin/%s at %s, expected %s"
                                           % (system, self.main, got, want))
                return res[0], res[1], res[2], {}
            return once

        self.b.measure_interleaved("W5 fetch", [
            ("git fetch", r, git_fetch,
             "one new commit; git -c maintenance.auto=false fetch origin "
             "+refs/heads/*:refs/heads/*"),
            ("gitkv-lmdb", r, kv_fetch("gitkv-lmdb", "lmdb"),
             self.note("kvctl fetch origin", "gkv_fetch origin")),
            ("gitkv-git", r, kv_fetch("gitkv-git", "git"),
             self.note("kvctl fetch origin", "gkv_fetch origin"))])

    def push_rows(self):
        """Each clone makes one commit (not timed) on a branch of its own and
        pushes it; the served repository checks every object it receives
        (receive.fsckObjects)."""
        r = self.reps_small

        def git_push(rep, last):
            d = self.clones.get("git clone")
            if not d:
                raise self.Failure("no git clone to push from")
            br = PUSH_BRANCH["git clone"]
            new = self.commit_on(d, br, "w5/push-git-%d" % rep, "pushed %d\n" % rep)
            res = self.run(["git", "-C", d, "push", "-q", "origin", br])
            got = self.git("rev-parse", "refs/heads/" + br, repo=self.served)
            if got != new:
                raise self.Failure("git push: %s at %s, expected %s" % (br, got, new))
            return res[0], res[1], res[2], {}

        def kv_push(system, scheme):
            def once(rep, last):
                d = self.clones.get(system)
                if not d:
                    raise self.Failure("no %s clone to push from (its clone failed)" % system)
                store = "%s:%s" % (scheme, d)
                br = PUSH_BRANCH[system]
                self.kv(store, "set", "w5/push-%s-%d" % (scheme, rep), "pushed %d" % rep, "-m",
                        "w5 push %d" % rep, branch=br)
                new = self.kv(store, "snapshot", branch=br).strip()
                res = self.run([self.kvctl, "--store", store, "--branch", br, "push", "origin"]
                               if self.via == "kvctl" else [self.sync, "push", store, "origin", br])
                got = self.git("rev-parse", "refs/heads/" + br, repo=self.served)
                if got != new:
                    raise self.Failure("%s push: %s at %s, expected %s" % (system, br, got, new))
                return res[0], res[1], res[2], {}
            return once

        self.b.measure_interleaved("W5 push", [
            ("git push", r, git_push, "one new commit; git push origin BRANCH"),
            ("gitkv-lmdb", r, kv_push("gitkv-lmdb", "lmdb"),
             self.note("kvctl --branch BRANCH push origin", "gkv_push origin BRANCH")),
            ("gitkv-git", r, kv_push("gitkv-git", "git"),
             self.note("kvctl --branch BRANCH push origin", "gkv_push origin BRANCH"))])

    def main(self):
        if not os.access(self.kvctl, os.X_OK):
            raise self.Failure("no kvctl at %s (--kvctl)" % self.kvctl)
        self.prepare()
        self.start_daemon()
        try:
            self.clone_rows()
            self.store_rows()
            self.fetch_rows()
            self.push_rows()
            self.fsck(self.served, "the served repository after the pushes")
        finally:
            self.stop_daemon()
            self.b.w5_info = dict(source=self.source_note, objects=getattr(self, "objects", None),
                                  pack_kib=getattr(self, "pack_kib", None),
                                  commits=getattr(self, "commits", None),
                                  branches=getattr(self, "nbranches", None))


def command_name(argv):
    """"kvctl clone", "git fetch": the program and its command, no paths."""
    words, skip = [os.path.basename(argv[0])], False
    for a in argv[1:]:
        if skip:
            skip = False
        elif a in ("--store", "--branch", "-C", "-c"):
            skip = True
        elif not a.startswith("-"):
            words.append(a)
            break
    return " ".join(words)


def stderr_text(text, code):
    """What a failed command said: its error lines, at most three."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith(("kvctl:", "fatal:", "error:"))] or lines[-3:]
    msg = " / ".join(errs[:3])
    if not msg and code is not None:
        msg = "exit %d" % code
    return msg[:400]


def run(bench, failure, unavailable_exc, python):
    W5(bench, failure, unavailable_exc, python).main()


# ---------------------------------------------------------------- reporting

PEERS = {"W5 clone": "git clone", "W5 store-to-store": "git clone --no-local",
         "W5 fetch": "git fetch", "W5 push": "git push"}
SHORT = {"gitkv-lmdb": "lmdb", "gitkv-git": "git"}
SCHEME = SHORT  # the store scheme of each system, which is also its short name


def ratios(bench, row):
    """On a git row: each gitkv row's wall time and peak RSS over git's
    (below 1, gitkv is faster or smaller)."""
    if PEERS.get(row["workload"]) != row["system"] or not row.get("wall_s"):
        return ""
    parts = []
    for s in SYSTEMS:
        g = bench.find(row["workload"], s)
        if g and g.get("wall_s"):
            parts.append("%s %.2fx time %.2fx RSS" % (SHORT[s], g["wall_s"] / row["wall_s"],
                                                      g["rss_kib"] / max(row["rss_kib"], 1)))
    return "; ".join(parts)


def targets(bench):
    """(target, system, ratio, goal, met, peer): the clone's time and RSS
    over `git clone --bare`'s (met when at most the goal)."""
    out = []
    if not any(r["workload"].startswith("W5") for r in bench.rows):
        return out
    peer = bench.find("W5 clone", "git clone")
    for s in SYSTEMS:
        g = bench.find("W5 clone", s)
        for what, key, goal in (("time", "wall_s", GOAL_TIME), ("peak RSS", "rss_kib", GOAL_RSS)):
            name = "W5 clone %s within %.1fx git clone" % (what, goal)
            if not g or not peer:
                row = [r for r in bench.rows if r["workload"] == "W5 clone" and r["system"] == s]
                why = row[0].get("error", "") if row else "not run"
                out.append((name, s, None, goal, None, why))
                continue
            x = g[key] / peer[key]
            out.append((name, s, x, goal, x <= goal + 1e-12, "git clone --bare"))
    # The bound: git clone's own CPU and lmdb's encoding, spread over
    # every core with nothing waiting, against git clone's wall time.
    f = bench.find("W5 clone", FLOOR)
    if f and peer and f.get("core_s") and peer.get("cpu_s"):
        ncpu = os.cpu_count() or 1
        x = (peer["cpu_s"] + f["core_s"]) / ncpu / peer["wall_s"]
        out.append(("bound: git clone's CPU + lmdb's encoding on %d cores, time" % ncpu,
                    "gitkv-lmdb", x, GOAL_TIME, x <= GOAL_TIME + 1e-12, "git clone --bare"))
    return out


def render_targets(res):
    out = []
    for target, system, x, goal, met, peer in res:
        if x is None:
            out.append("- %s, %s: not measured (%s)" % (target, system, peer or "row failed"))
        else:
            out.append("- %s, %s: %.2fx of %s's (goal <= %.1fx): %s"
                       % (target, system, x, peer, goal, "MET" if met else "NOT MET"))
    return "\n".join(out)
