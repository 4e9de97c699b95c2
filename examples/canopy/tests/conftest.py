"""Fixtures for Canopy's tests.

A test gets a content repository written with the git CLI (fixed author
and committer dates per commit), a bare copy served by `git daemon` on
127.0.0.1 (tests/cli/servers.py, started and stopped by pid), and a
helper that starts the real canopy binary on a free port and stops it
by pid. canopy is stopped with SIGTERM and must exit 0: under the
sanitizer build that is also the leak check.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tests" / "cli"))

from servers import GitDaemon, git_env, run  # noqa: E402

CANOPY = os.environ.get("CANOPY") or str(HERE.parents[2] / "build" / "examples" / "canopy" / "canopy")
KVCTL = os.environ.get("GKV_KVCTL") or str(HERE.parents[2] / "build" / "cli" / "kvctl")
START_TIMEOUT = 20.0
UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def article(title, author="Ada Lovelace", body="Some text.\n", tags=None, abstract=None,
            author_url=None):
    head = [f"title: {title}", f"author: {author}"]
    if author_url:
        head.append(f"author_url: {author_url}")
    if tags:
        head.append(f"tags: {tags}")
    if abstract:
        head.append(f"abstract: {abstract}")
    head.append("content: markdown")
    return "---\n" + "\n".join(head) + "\n---\n" + body


class Content:
    """A work tree whose commits are pushed to a bare repository that
    git daemon serves."""

    def __init__(self, root, daemon):
        self.daemon = daemon
        self.bare = daemon.make_repo("blog.git")
        self.work = Path(root) / "work"
        self.url = daemon.url("blog.git")
        run(["git", "init", "-q", "-b", "main", self.work], env=git_env())
        self.git("remote", "add", "origin", str(self.bare))

    def git(self, *args, env=None):
        return run(["git", *args], cwd=self.work, env=git_env(env))

    def commit(self, files, date, message="edit", push=True):
        """Write files (None removes one), commit dated date (ISO 8601,
        author and committer), push; return the commit id."""
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        if push:
            self.git("push", "-q", "origin", "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD").strip()


class Canopy:
    """The canopy binary, on 127.0.0.1 and a port it picks itself."""

    def __init__(self, tmp, args):
        self.args = [CANOPY, "--listen", "127.0.0.1", "--port", "0", *args]
        self.log_path = Path(tmp) / f"canopy-{time.monotonic_ns()}.log"
        self.proc = None
        self.port = None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self.log().splitlines():
                if " listening on " in line:
                    self.port = int(line.split(" port ")[1].split()[0])
                    return self
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                raise RuntimeError(f"canopy exited {rc} at start:\n{self.log()}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"canopy did not listen within {START_TIMEOUT} s:\n{self.log()}")

    def stop(self):
        """SIGTERM by pid; the exit code (bounded wait, then SIGKILL)."""
        p, self.proc = self.proc, None
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                return p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
                return -9
        return p.returncode

    def request(self, path, method="GET", headers=None, body=None):
        """(status, headers as a dict with lower-case names, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request(path, **kw)

    def raw(self, data):
        """Send raw bytes; the status of the answer (0 if the
        connection was closed without one)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            try:
                s.sendall(data)
            except OSError:
                pass
            got = b""
            try:
                while b"\r\n" not in got:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                pass
        if not got.startswith(b"HTTP/1."):
            return 0
        return int(got.split(b" ")[1])

    def wait_for(self, path, status=200, timeout=15.0, contains=None):
        """Poll path until it answers status (and holds contains)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.get(path)
            if last[0] == status and (contains is None or contains in last[2]):
                return last
            time.sleep(0.05)
        raise AssertionError(f"{path} still answers {last[0] if last else None}:\n{self.log()}")


@pytest.fixture
def daemon(tmp_path):
    d = GitDaemon(tmp_path / "srv")
    d.start()
    yield d
    d.stop()


@pytest.fixture
def content(tmp_path, daemon):
    return Content(tmp_path, daemon)


@pytest.fixture
def canopy(tmp_path):
    """canopy(*args) starts one; each is stopped at the end, and must
    have exited 0."""
    started = []

    def start(*args):
        c = Canopy(tmp_path, [str(a) for a in args]).start()
        started.append(c)
        return c

    yield start
    for c in started:
        rc = c.stop()
        assert rc in (0, None), f"canopy exited {rc}:\n{c.log()}"


def base_site():
    """The first commit of the test blog."""
    return {
        ".config/uuid": UUID + "\n",
        ".config/blog_name": "Test Blog\n",
        ".config/root": "http://blog.example/\n",
        ".config/index_page": "posts\n",
        "posts/first.md": article(
            "First post", tags="news, c", abstract="The *first* one.",
            author_url="https://ada.example/",
            body="# Heading\n\nHello **world**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                 "```c\nint main(void);\n```\n"),
        "static/style.css": "body { color: black; }\n",
        "static/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "old-hello": "redirect: posts/first\n",
    }


def fast_import_blog(bare, n, start=1577872800, per_commit=1, body_lines=20):
    """Write a blog of n articles into the bare repository bare with git
    fast-import: one commit per per_commit articles, a day apart from
    start (seconds since 1970), on refs/heads/main. Return the number of
    commits."""
    out = []
    mark = 0
    paragraph = "".join(f"Line {k} of the article, with *some* markdown.\n\n"
                        for k in range(body_lines))

    def blob(data):
        nonlocal mark
        mark += 1
        raw = data.encode()
        out.append(f"blob\nmark :{mark}\ndata {len(raw)}\n".encode() + raw + b"\n")
        return mark

    conf = {".config/uuid": UUID + "\n", ".config/blog_name": "Big Blog\n",
            ".config/index_page": "posts\n"}
    files = {k: blob(v) for k, v in conf.items()}
    commits = 0
    i = 0
    while i < n:
        for _ in range(per_commit):
            if i >= n:
                break
            files[f"posts/a{i:05}.md"] = blob(article(f"Article {i}", tags=f"t{i % 10}",
                                                      abstract=f"Abstract {i}.",
                                                      body=paragraph))
            i += 1
        when = start + commits * 86400
        msg = f"commit {commits}".encode()
        cmd = [f"commit refs/heads/main\nauthor A <a@x> {when} +0000\n"
               f"committer A <a@x> {when} +0000\ndata {len(msg)}\n".encode() + msg + b"\n"]
        if commits == 0:
            cmd.append(b"deleteall\n")
        changed = files if commits == 0 else {k: v for k, v in files.items()
                                              if k.startswith("posts/a") and
                                              int(k[7:12]) >= i - per_commit}
        for path, m in changed.items():
            cmd.append(f"M 100644 :{m} {path}\n".encode())
        out.append(b"".join(cmd) + b"\n")
        commits += 1
    subprocess.run(["git", "-C", str(bare), "fast-import", "--quiet"], input=b"".join(out),
                   check=True, env=git_env(), timeout=120)
    return commits
