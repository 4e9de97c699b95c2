"""Every route of a blog served from a git daemon: status, content
type, dates from history, ETag and 304, the Atom feed (parsed), and
what must not be served."""

import re
import xml.etree.ElementTree as ET

import pytest

from conftest import UUID, Canopy, Content, article, base_site
from servers import GitDaemon

ATOM = "{http://www.w3.org/2005/Atom}"
HTML = "text/html; charset=utf-8"


@pytest.fixture(scope="module")
def blog(tmp_path_factory):
    """One blog, served once for the tests that only read it."""
    root = tmp_path_factory.mktemp("blog")
    daemon = GitDaemon(root / "srv")
    daemon.start()
    c = None
    try:
        content = Content(root, daemon)
        content.commit(base_site(), "2020-01-01T10:00:00Z", "first")
        content.commit({
            "posts/second.md": article("Second post", author="Grace", tags="c",
                                       abstract="Number two."),
            "about.md": article("About", body="About this blog.\n"),
            "posts/broken.md": "this is not an article\n",
        }, "2020-02-01T10:00:00Z", "second")
        content.commit({
            "posts/first.md": article(
                "First post", tags="news, c", abstract="The *first* one.",
                author_url="https://ada.example/", body="Edited body, **still** here.\n"),
        }, "2020-03-01T10:00:00Z", "edit first")
        c = Canopy(root, ["--remote", content.url]).start()
        yield c
    finally:
        rc = c.stop() if c else None
        daemon.stop()
    assert rc == 0, c.log()


def links(body):
    return re.findall(rb'href="([^"]*)"', body)


def test_article_page(blog):
    status, h, body = blog.get("/posts/first")
    assert status == 200 and h["content-type"] == HTML
    assert b"<title>First post - Test Blog</title>" in body
    assert b'<a rel="author" href="https://ada.example/">Ada Lovelace</a>' in body
    # created: the first commit that has it; updated: the last that changed it
    assert b'class="created" datetime="2020-01-01"' in body
    assert b'class="updated" datetime="2020-03-01"' in body
    assert b"Edited body, <strong>still</strong> here." in body
    for href in (b"/tags/news", b"/tags/c", b"/atom", b"/about", b"/posts", b"/"):
        assert href in links(body)
    # the key with its .md answers the same page
    assert blog.get("/posts/first.md")[2] == body
    assert blog.get("/posts/first/")[2] == body


def test_markdown_tables_and_fenced_code(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    body = c.get("/posts/first")[2]
    assert b"<table>" in body and b"<th>a</th>" in body and b"<td>2</td>" in body
    assert b'<code class="language-c">int main(void);' in body
    assert b"<h1>Heading</h1>" in body


def test_listings_newest_first(blog):
    status, h, body = blog.get("/posts")
    assert status == 200 and h["content-type"] == HTML
    second, first = body.find(b"Second post"), body.find(b"First post")
    assert 0 < second < first
    assert b'datetime="2020-02-01"' in body and b'datetime="2020-01-01"' in body
    assert b"Number two." in body and b"The <em>first</em> one." in body
    assert b"Grace" in body
    assert b"About" not in body.split(b"<main>")[1]  # not below posts/
    # "/" is the index_page key: here the posts/ directory
    assert blog.get("/")[2] == body


def test_top_level_article_and_menu(blog):
    status, _, body = blog.get("/about")
    assert status == 200 and b"About this blog." in body
    nav = body.split(b"<nav>")[1].split(b"</nav>")[0]
    assert links(nav) == [b"/about", b"/posts", b"/tags", b"/atom"]


def test_tags(blog):
    status, h, body = blog.get("/tags")
    assert status == 200 and h["content-type"] == HTML
    assert b'href="/tags/c">c</a> (2)' in body and b'href="/tags/news">news</a> (1)' in body
    body = blog.get("/tags/c")[2]
    assert b"First post" in body and b"Second post" in body
    body = blog.get("/tags/news")[2]
    assert b"First post" in body and b"Second post" not in body
    assert blog.get("/tags/nothing")[0] == 404


def test_static_files(blog):
    status, h, body = blog.get("/static/style.css")
    assert status == 200 and h["content-type"] == "text/css; charset=utf-8"
    assert body == b"body { color: black; }\n"
    status, h, body = blog.get("/static/logo.png")
    assert status == 200 and h["content-type"] == "image/png"
    assert body == b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_redirect(blog):
    status, h, _ = blog.get("/old-hello")
    assert status == 301 and h["location"] == "/posts/first"


def test_atom_feed(blog):
    status, h, body = blog.get("/atom")
    assert status == 200 and h["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(body)
    assert feed.tag == ATOM + "feed"
    assert feed.find(ATOM + "id").text == "urn:uuid:" + UUID
    assert feed.find(ATOM + "title").text == "Test Blog"
    assert feed.find(ATOM + "updated").text == "2020-03-01T10:00:00Z"
    entries = feed.findall(ATOM + "entry")
    titles = [e.find(ATOM + "title").text for e in entries]
    # newest created first; ties (one commit) by key
    assert titles == ["About", "Second post", "First post"]
    first = entries[2]
    assert first.find(ATOM + "published").text == "2020-01-01T10:00:00Z"
    assert first.find(ATOM + "updated").text == "2020-03-01T10:00:00Z"
    assert first.find(ATOM + "link").get("href") == "http://blog.example/posts/first"
    assert first.find(ATOM + "author/" + ATOM + "name").text == "Ada Lovelace"
    assert sorted(c.get("term") for c in first.findall(ATOM + "category")) == ["c", "news"]
    assert "<strong>still</strong>" in first.find(ATOM + "content").text
    ids = [e.find(ATOM + "id").text for e in entries]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                            r"[0-9a-f]{12}", i) for i in ids)


def test_feed_of_ten_newest(content, canopy):
    site = base_site()
    for i in range(12):
        site[f"posts/p{i:02}.md"] = article(f"Post {i}")
    content.commit(site, "2020-01-01T10:00:00Z")
    content.commit({"posts/late.md": article("Late")}, "2021-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    entries = ET.fromstring(c.get("/atom")[2]).findall(ATOM + "entry")
    assert len(entries) == 10
    assert entries[0].find(ATOM + "title").text == "Late"


def test_etag_and_not_modified(blog):
    status, h, body = blog.get("/posts/first")
    etag = h["etag"]
    assert etag.startswith('"') and h["last-modified"] == "Sun, 01 Mar 2020 10:00:00 GMT"
    status, h2, body2 = blog.get("/posts/first", headers={"If-None-Match": etag})
    assert status == 304 and body2 == b"" and h2["etag"] == etag
    assert blog.get("/posts/first", headers={"If-None-Match": '"other"'})[0] == 200
    assert blog.get("/posts/first", headers={"If-None-Match": f'"x", {etag}'})[0] == 304
    # every page has its own tag
    tags = {blog.get(p)[1]["etag"] for p in ("/posts/first", "/posts/second", "/atom", "/tags")}
    assert len(tags) == 4


def test_not_served(blog):
    for path in ("/nothing", "/posts/broken", "/posts/broken.md", "/.config/uuid",
                 "/.config", "/posts/first/more", "/static", "/tags/"):
        status, h, body = blog.get(path)
        if path == "/tags/":
            assert status == 200  # a trailing slash is the same page
            continue
        assert status == 404, path
        assert h["content-type"] == HTML and b"Not found" in body and b"Test Blog" in body
    # the unparsable value was skipped with a warning, not an error page
    assert "skipping 'posts/broken.md'" in blog.log()


def test_keep_alive(blog):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", blog.port, timeout=30)
    try:
        for path in ("/posts/first", "/atom", "/static/style.css", "/nothing", "/posts/first"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            assert r.getheader("Connection", "").lower() != "close", path
        sock = c.sock
        c.request("GET", "/tags")
        c.getresponse().read()
        assert c.sock is sock  # the same connection served every request
    finally:
        c.close()


def test_bad_requests(blog):
    for path in (b"/../etc/passwd", b"/posts/../about", b"/posts/%2e%2e/about", b"/./about",
                 b"/posts//first"):
        assert blog.raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 400, path
    # a URL beyond canopy's bound, and one beyond the connection's memory
    assert blog.raw(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 414
    assert blog.raw(b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 414
    # headers beyond the connection's memory limit (32 KiB)
    big = b"GET /posts/first HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n"
    assert blog.raw(big) == 431
    assert blog.get("/posts/first", method="POST", body=b"x")[0] == 405
    assert blog.get("/posts/first", method="DELETE")[0] == 405
    # and the server still answers
    assert blog.get("/posts/first")[0] == 200
    status, h, body = blog.get("/posts/first", method="HEAD")
    assert status == 200 and body == b""


def test_refuses_content_without_uuid(content, tmp_path):
    from conftest import Canopy
    site = base_site()
    del site[".config/uuid"]
    content.commit(site, "2020-01-01T10:00:00Z")
    c = Canopy(tmp_path, ["--remote", content.url])
    with pytest.raises(RuntimeError) as e:
        c.start()
    assert "exited 1" in str(e.value) and ".config/uuid" in str(e.value)


def test_usage_errors(tmp_path):
    import subprocess
    from conftest import CANOPY
    for args in ([], ["--remote"], ["--remote", "x", "--port", "70000"],
                 ["--remote", "x", "--hook", "a/b"], ["--remote", "x", "--bogus", "1"]):
        p = subprocess.run([CANOPY, *args], capture_output=True, timeout=30)
        assert p.returncode == 2, args
        assert b"usage: canopy" in p.stderr or b"canopy:" in p.stderr
    p = subprocess.run([CANOPY, "--help"], capture_output=True, timeout=30)
    assert p.returncode == 0 and b"--hook-secret" in p.stdout


def test_unreachable_remote_at_start(tmp_path, canopy):
    from conftest import Canopy
    c = Canopy(tmp_path, ["--remote", "git://127.0.0.1:1/none.git"])
    with pytest.raises(RuntimeError) as e:
        c.start()
    assert "exited 1" in str(e.value) and "cannot clone" in str(e.value)


def test_names_that_need_escaping(content, canopy):
    site = base_site()
    site["posts/odd name.md"] = article('Quotes " & <tags>', tags="two words, c++, é")
    content.commit(site, "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    body = c.get("/posts/odd%20name")[2]
    assert b"<h1>Quotes &quot; &amp; &lt;tags&gt;</h1>" in body
    for href in (b"/tags/two%20words", b"/tags/c%2B%2B", b"/tags/%C3%A9"):
        assert href in links(body)
        assert c.get(href.decode())[0] == 200, href
    assert b'href="/posts/odd%20name"' in c.get("/posts")[2]
    ET.fromstring(c.get("/atom")[2])  # still well-formed


def test_unparsable_values_are_skipped_with_a_reason(content, canopy):
    site = base_site()
    bad = {
        "posts/no-title.md": ("---\nauthor: A\n---\nbody\n", "header has no 'title'"),
        "posts/no-author.md": ("---\ntitle: T\n---\nbody\n", "header has no 'author'"),
        "posts/open.md": ("---\ntitle: T\nauthor: A\n", "no closing '---'"),
        "posts/html.md": ("---\ntitle: T\nauthor: A\ncontent: html\n---\n<p>x</p>\n",
                          "content 'html' is not 'markdown'"),
        "posts/line.md": ("---\ntitle: T\nauthor: A\njust words\n---\nx\n", "is not 'key: value'"),
        "posts/nul.md": ("---\ntitle: T\x00\nauthor: A\n---\nx\n", "NUL"),
        "posts/empty-redirect": ("redirect:\n", "not 'redirect: PATH'"),
    }
    for name, (text, _) in bad.items():
        site[name] = text
    content.commit(site, "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    log = c.log()
    for name, (_, why) in bad.items():
        assert f"skipping '{name}': " in log and why in log, (name, log)
        url = "/" + name.removesuffix(".md")
        assert c.get(url)[0] == 404, url
    assert f"{len(bad)} skipped" in log
    assert c.get("/posts/first")[0] == 200  # the rest is served
