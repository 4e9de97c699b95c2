"""A blog of 1,000 articles over 1,000 commits: built at start in one
walk of history (seconds, not minutes), and one new article after a
push rebuilt from the previous build; requests during updates get whole
pages, old or new."""

import re
import threading

from conftest import article, fast_import_blog


def build_ms(log):
    return [float(m) for m in re.findall(r"built in ([0-9.]+) ms", log)]


def commits_read(log):
    return [int(m) for m in re.findall(r"(\d+) commits read", log)]


def test_thousand_articles(content, canopy):
    assert fast_import_blog(content.bare, 1000) == 1000
    c = canopy("--remote", content.url)
    (start,) = build_ms(c.log())
    # one walk of the history: each commit read once (a walk per article
    # would read ~1,000 times as many), in seconds even under sanitizers
    assert commits_read(c.log()) == [1000]
    assert start < 15000, c.log()
    body = c.get("/posts")[2]
    assert body.count(b'<a class="title"') == 1000
    assert body.find(b"Article 999") < body.find(b"Article 0<")
    assert b'datetime="2022-09-26"' in c.get("/posts/a00999")[2]  # 999 days after 2020-01-01
    content.git("fetch", "-q", "origin")
    content.git("checkout", "-q", "-B", "main", "origin/main")
    content.commit({"posts/zz-new.md": article("The new one")}, "2023-01-01T10:00:00Z")
    assert c.get("/push")[0] == 200
    assert b"The new one" in c.get("/posts/zz-new")[2]
    # after the push only the new commit is read, and the build is faster
    assert commits_read(c.log()) == [1000, 1]
    update = build_ms(c.log())[1]
    assert update < start, c.log()


def test_requests_during_updates_get_whole_pages(content, canopy):
    site_v = {".config/uuid": "u-1\n", "posts/p.md": article("P", body="version 0\n")}
    content.commit(site_v, "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    stop = threading.Event()
    seen, bad = set(), []

    def reader():
        while not stop.is_set():
            status, _, body = c.get("/posts/p")
            m = re.search(rb"version (\d+)", body)
            if status != 200 or not m or not body.rstrip().endswith(b"</html>"):
                bad.append((status, body[:200]))
            else:
                seen.add(int(m.group(1)))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for v in range(1, 6):
            content.commit({"posts/p.md": article("P", body=f"version {v}\n")},
                           f"2020-01-0{v + 1}T10:00:00Z")
            assert c.get("/push")[0] == 200
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not bad
    assert seen and seen <= set(range(6))
    assert b"version 5" in c.get("/posts/p")[2]
