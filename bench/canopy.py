#!/usr/bin/python3
"""Canopy against lighttpd, and how fast a push is served.

  /usr/bin/python3 bench/canopy.py [--articles 1000] [--duration 10]

Builds a blog of N articles (one commit each, git fast-import) in a bare
repository served by `git daemon` on 127.0.0.1, then:

 1. requests/s with wrk on loopback for the index and for one article,
    from canopy (pages in memory) and from lighttpd serving the same
    pages, rendered to files by `canopy --render-to` (the bodies are
    checked to be the same bytes);
 2. the time from `git push` returning to the new article being served:
    push one new article, call the hook at once (what the git host's
    webhook does), poll until the article answers 200; the median of
    several pushes, and canopy's own rebuild time from its log.

Needs wrk and lighttpd (scripts/deps.sh). Every server is started and
stopped by pid; scratch data goes to a temporary directory, removed at
the end.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cli"))
sys.path.insert(0, str(ROOT / "examples" / "canopy" / "tests"))

from servers import GitDaemon, free_port, git_env, run  # noqa: E402
from conftest import article, fast_import_blog  # noqa: E402

LIGHTTPD = "/usr/sbin/lighttpd"
WRK = "/usr/bin/wrk"


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_listening(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        try:
            get(port, "/")
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wrk(url, duration, connections, threads):
    out = run([WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", url],
              timeout=duration + 60)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not m or errors:
        raise RuntimeError(f"wrk {url}:\n{out}")
    return float(m.group(1))


def start_canopy(canopy, tmp, url, port, threads, log_name="canopy.log"):
    log = open(tmp / log_name, "wb")
    proc = subprocess.Popen([canopy, "--remote", url, "--listen", "127.0.0.1", "--port",
                             str(port), "--threads", str(threads)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    wait_listening(port, proc, "canopy", timeout=120)
    return proc


def start_lighttpd(tmp, docroot, port):
    conf = tmp / "lighttpd.conf"
    conf.write_text(f"""
server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{tmp}/lighttpd-error.log"
server.pid-file = "{tmp}/lighttpd.pid"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html; charset=utf-8", ".css" => "text/css",
                   "" => "application/octet-stream")
""")
    proc = subprocess.Popen([LIGHTTPD, "-D", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    wait_listening(port, proc, "lighttpd")
    return proc


def push_latency(work, canopy_port, pushes, reader=None, first=0):
    """Push one new article at a time; the times (ms) from the push
    returning to the article served, and those of `git fetch` of the
    same commit into the clone reader (the git CLI's own fetch, for
    comparison)."""
    times, git_fetch = [], []
    for k in range(first, first + pushes):
        name = f"posts/new-{k}.md"
        (work / name).write_text(article(f"New article {k}", tags="new"))
        run(["git", "-C", work, "add", name], env=git_env())
        run(["git", "-C", work, "commit", "-q", "-m", f"new {k}"], env=git_env())
        run(["git", "-C", work, "push", "-q", "origin", "HEAD:refs/heads/main"], env=git_env())
        pushed = time.perf_counter()
        status, _ = get(canopy_port, "/push")
        if status != 200:
            raise RuntimeError(f"hook answered {status}")
        deadline = pushed + 30
        while get(canopy_port, f"/posts/new-{k}")[0] != 200:
            if time.perf_counter() > deadline:
                raise RuntimeError("the new article was never served")
        times.append((time.perf_counter() - pushed) * 1000)
        if reader:
            t0 = time.perf_counter()
            run(["git", "-C", reader, "fetch", "-q", "origin"], env=git_env())
            git_fetch.append((time.perf_counter() - t0) * 1000)
    return times, git_fetch


def report_pushes(what, log_path, times, git_fetch):
    log = log_path.read_text()
    builds = [float(x) for x in re.findall(r"built in ([0-9.]+) ms", log)]
    fetches = [float(x) for x in re.findall(r"fetched in ([0-9.]+) ms", log)]
    print(f"{what}: push returned -> new article served: median "
          f"{statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f}, "
          f"{len(times)} pushes)")
    line = (f"  canopy's fetch {statistics.median(fetches[-len(times):]):.1f} ms and rebuild "
            f"{statistics.median(builds[-len(times):]):.1f} ms (medians; {builds[0]:.0f} ms "
            f"for the whole blog at start)")
    if git_fetch:
        line += f"; git fetch of the same commit: {statistics.median(git_fetch):.1f} ms"
    print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--canopy", default=str(ROOT / "build" / "examples" / "canopy" / "canopy"))
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                    help="canopy's HTTP threads and wrk's")
    ap.add_argument("--pushes", type=int, default=5)
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="canopy-bench-"))
    daemon = canopy = lighttpd = None
    try:
        daemon = GitDaemon(tmp / "srv")
        daemon.start()
        bare = daemon.make_repo("blog.git")
        fast_import_blog(bare, a.articles)
        url = daemon.url("blog.git")
        docroot = tmp / "site"
        run([a.canopy, "--remote", url, "--render-to", docroot], timeout=300)
        cport, lport = free_port(), free_port()
        canopy = start_canopy(a.canopy, tmp, url, cport, a.threads)
        lighttpd = start_lighttpd(tmp, docroot, lport)

        article_path = f"posts/a{a.articles // 2:05}"
        pages = [("index", "/", "/"), ("article", "/" + article_path, f"/{article_path}/")]
        for name, cpath, lpath in pages:
            assert get(cport, cpath) == get(lport, lpath), f"{name}: not the same bytes"
        print(f"blog of {a.articles} articles; wrk -t{a.threads} -c{a.connections} "
              f"-d{a.duration}s on 127.0.0.1; {os.cpu_count()} CPUs")
        print(f"{'page':10} {'canopy req/s':>14} {'lighttpd req/s':>16} {'ratio':>7}")
        for name, cpath, lpath in pages:
            c = wrk(f"http://127.0.0.1:{cport}{cpath}", a.duration, a.connections, a.threads)
            lt = wrk(f"http://127.0.0.1:{lport}{lpath}", a.duration, a.connections, a.threads)
            print(f"{name:10} {c:14.0f} {lt:16.0f} {c / lt:7.2f}")

        stop(lighttpd)
        lighttpd = None
        work = tmp / "work"
        reader = tmp / "reader"
        run(["git", "clone", "-q", str(bare), work], env=git_env())
        run(["git", "clone", "-q", daemon.git_url("blog.git"), reader], env=git_env())
        report_pushes("git daemon (git://)", tmp / "canopy.log",
                      *push_latency(work, cport, a.pushes, reader))
        # The same through libgit2's local transport (file://): no server
        # process to start per fetch, so what is left is canopy's own cost.
        stop(canopy)
        fport = free_port()
        canopy = start_canopy(a.canopy, tmp, f"file://{bare}", fport, a.threads, "canopy-file.log")
        report_pushes("file://", tmp / "canopy-file.log", *push_latency(work, fport, a.pushes, first=a.pushes))
    finally:
        stop(canopy)
        stop(lighttpd)
        if daemon:
            daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
