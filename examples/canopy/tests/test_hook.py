"""Following the remote: the hook (with and without a shared secret), a
remote that goes away, --poll, an lmdb store kept across restarts, and
a shared lmdb store changed by kvctl while canopy serves it."""

import hashlib
import hmac
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import KVCTL, article, base_site
from servers import fsck_strict

ATOM = "{http://www.w3.org/2005/Atom}"


def entry_ids(c):
    feed = ET.fromstring(c.get("/atom")[2])
    return {e.find(ATOM + "title").text: (e.find(ATOM + "id").text,
                                           e.find(ATOM + "updated").text)
            for e in feed.findall(ATOM + "entry")}


def test_push_then_hook_serves_the_new_article(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    before = entry_ids(c)
    assert c.get("/posts/new")[0] == 404
    content.commit({
        "posts/new.md": article("Brand new", tags="fresh"),
        "posts/first.md": article("First post", tags="news, c", body="Rewritten.\n"),
    }, "2020-05-01T10:00:00Z", "new article")
    status, _, body = c.get("/push")
    assert status == 200 and body.startswith(b"serving ")
    status, _, body = c.get("/posts/new")
    assert status == 200 and b"Brand new" in body
    assert c.get("/tags/fresh")[0] == 200
    assert b"Rewritten." in c.get("/posts/first")[2]
    after = entry_ids(c)
    # the edited article keeps its feed id; its updated date moved
    assert after["First post"][0] == before["First post"][0]
    assert after["First post"][1] == "2020-05-01T10:00:00Z"
    assert after["Brand new"][1] == "2020-05-01T10:00:00Z"
    # any method calls the hook; a hook with nothing new changes nothing
    assert c.get("/push", method="POST", body=b"{}")[0] == 200
    assert c.get("/push/")[0] == 200


def test_force_push_replaces_the_branch(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    content.commit({"posts/gone.md": article("Gone soon")}, "2020-02-01T10:00:00Z")
    c = canopy("--remote", content.url, "--hook", "update")
    assert c.get("/posts/gone")[0] == 200
    content.git("reset", "-q", "--hard", "HEAD~1")
    content.commit({"posts/other.md": article("Other")}, "2020-03-01T10:00:00Z", push=False)
    content.git("push", "-q", "-f", "origin", "HEAD:refs/heads/main")
    assert c.get("/push")[0] == 404  # the hook is /update here
    assert c.get("/update")[0] == 200
    assert c.get("/posts/gone")[0] == 404
    status, _, body = c.get("/posts/other")
    assert status == 200 and b'class="created" datetime="2020-03-01"' in body
    # the new head does not descend from the old one: history read again
    assert c.log().count("2 commits read") == 2


def test_failed_fetch_keeps_the_old_content(content, daemon, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    page = c.get("/posts/first")[2]
    daemon.stop()
    status, _, body = c.get("/push")
    assert status == 502 and b"old content kept" in body
    assert c.get("/posts/first")[2] == page
    assert "keeping the old content" in c.log()


def test_content_that_loses_its_uuid_is_not_served(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    content.commit({".config/uuid": None, "posts/x.md": article("X")}, "2020-02-01T10:00:00Z")
    status, _, body = c.get("/push")
    assert status == 502 and b".config/uuid" in body
    assert c.get("/posts/x")[0] == 404 and c.get("/posts/first")[0] == 200


def sign(secret, body):
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_hook_secret(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url, "--hook-secret", "s3cret")
    content.commit({"posts/signed.md": article("Signed")}, "2020-02-01T10:00:00Z")
    body = b'{"ref":"refs/heads/main"}'
    assert c.get("/push")[0] == 403
    assert c.get("/push", method="POST", body=body)[0] == 403
    bad = {"X-Hub-Signature-256": "sha256=" + sign(b"wrong", body)}
    assert c.get("/push", method="POST", body=body, headers=bad)[0] == 403
    # signed for another body
    other = {"X-Hub-Signature-256": "sha256=" + sign(b"s3cret", b"other")}
    assert c.get("/push", method="POST", body=body, headers=other)[0] == 403
    assert c.get("/posts/signed")[0] == 404
    github = {"X-Hub-Signature-256": "sha256=" + sign(b"s3cret", body)}
    assert c.get("/push", method="POST", body=body, headers=github)[0] == 200
    assert c.get("/posts/signed")[0] == 200
    content.commit({"posts/gitea.md": article("Gitea")}, "2020-03-01T10:00:00Z")
    gitea = {"X-Gitea-Signature": sign(b"s3cret", body)}
    assert c.get("/push", method="POST", body=body, headers=gitea)[0] == 200
    assert c.get("/posts/gitea")[0] == 200
    # a body beyond the bound is refused before any fetch
    assert c.get("/push", method="POST", body=b"x" * (1024 * 1024 + 1), headers=github)[0] == 413


def test_hook_secret_from_environment(content, tmp_path, monkeypatch):
    from conftest import Canopy
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    monkeypatch.setenv("CANOPY_HOOK_SECRET", "envsecret")
    c = Canopy(tmp_path, ["--remote", content.url]).start()
    try:
        assert c.get("/push")[0] == 403
        body = b"{}"
        h = {"X-Hub-Signature-256": "sha256=" + sign(b"envsecret", body)}
        assert c.get("/push", method="POST", body=body, headers=h)[0] == 200
    finally:
        assert c.stop() == 0, c.log()


def test_poll_follows_without_a_hook(content, canopy):
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url, "--poll", "1")
    content.commit({"posts/polled.md": article("Polled")}, "2020-02-01T10:00:00Z")
    c.wait_for("/posts/polled", timeout=15)


@pytest.mark.parametrize("kind", ["lmdb", "git"])
def test_store_kept_across_restarts(kind, content, tmp_path, canopy):
    store = f"{kind}:{tmp_path / 'store'}"
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url, "--store", store)
    assert c.get("/posts/first")[0] == 200
    assert c.stop() == 0
    content.commit({"posts/later.md": article("Later")}, "2020-02-01T10:00:00Z")
    c = canopy("--remote", content.url, "--store", store)
    assert "cloning" not in c.log()
    assert c.get("/posts/later")[0] == 200
    assert c.stop() == 0
    if kind == "git":  # a real git repository, as git sees it
        fsck_strict(tmp_path / "store")
        log = subprocess.run(["git", "--git-dir", str(tmp_path / "store"), "log", "--format=%s",
                              "main"], capture_output=True, check=True, timeout=60)
        assert log.stdout == content.git("log", "--format=%s", "main").encode()
    # the remote gone: the store is served as it is
    content.daemon.stop()
    c = canopy("--remote", content.url, "--store", store)
    assert "serving what the store holds" in c.log()
    assert c.get("/posts/later")[0] == 200


def test_lmdb_store_changed_by_kvctl(content, tmp_path, canopy):
    path = tmp_path / "store"
    content.commit(base_site(), "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url, "--store", f"lmdb:{path}", "--watch", "100")
    assert c.get("/posts/local")[0] == 404
    text = article("Written with kvctl", tags="local").encode()
    p = subprocess.run([KVCTL, "--store", f"lmdb:{path}", "--branch", "main", "set",
                        "posts/local.md", "-", "-m", "local edit"],
                       input=text, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    _, _, body = c.wait_for("/posts/local", timeout=15)
    assert b"Written with kvctl" in body
    assert c.get("/tags/local")[0] == 200
