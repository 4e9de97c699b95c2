"""kvctl's sync commands when things go wrong: a conflicting pull, a
push that is not a fast-forward, a wrong password, an unknown key, an
unreachable host, a certificate nobody trusts, a store that is not new.
Each exits with its documented status, names the remote on one
`kvctl: ` line (never the password), and leaves both sides as they were.
Also `remote add/list/remove`, and git's view of them on a git store.
"""

import shutil
import socket

import pytest

from servers import (LOOPBACK, SSH_ENV, GitSide, HttpServer, ServerPool, credentials, free_port,
                     fsck_strict, git_env, run)


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    p = ServerPool(tmp_path_factory.mktemp("servers"))
    yield p
    p.close()


def cloned(kv, tmp_path, pool, kind="daemon", backend="lmdb"):
    """A remote seeded by git with a=1 and a store cloned from it."""
    bare, url, srv = pool.remote(kind)
    opts, creds = credentials(kind, srv)
    side = GitSide(bare, tmp_path / "git-work")
    side.seed({"a": "1", "keep": "k"})
    spec = f"lmdb:{tmp_path / 'store'}" if backend == "lmdb" else f"git:{tmp_path / 'store.git'}"
    st = ["--store", spec]
    env = {**kv.env, **creds}
    kv.ok(*st, "clone", url, *opts, env=env)
    return st, side, url, opts, env


@pytest.mark.parametrize("backend", ["lmdb", "git"])
def test_conflicting_pull_exits_3_and_changes_no_branch(kv, tmp_path, pool, backend):
    st, side, url, opts, env = cloned(kv, tmp_path, pool, backend=backend)
    kv.ok(*st, "set", "a", "mine")
    side.commit({"a": "theirs"}, "theirs")
    before = kv.state(*st)
    r = kv.run(*st, "pull", "origin", env=env)
    assert r.rc == 3, r
    lines = r.err.splitlines()
    assert lines[0].startswith("kvctl: conflict: a:"), r.err
    assert lines[-1].startswith("kvctl: ") and "origin" in lines[-1], r.err
    assert r.out == b""
    assert kv.state(*st) == before
    assert kv.ok(*st, "get", "a").out == b"mine"
    # --json: the error document lists the conflicts.
    r = kv.run(*st, "--json", "pull", "origin", env=env)
    assert r.rc == 3
    doc = r.json()
    assert doc["code"] == 3 and [c["path"] for c in doc["conflicts"]] == ["a"]
    assert kv.state(*st) == before
    # --strategy ff refuses too (exit 3); reset takes the remote's.
    r = kv.run(*st, "pull", "origin", "--strategy", "ff", env=env)
    assert r.rc == 3 and "origin" in r.err, r
    assert kv.state(*st) == before
    kv.ok(*st, "pull", "origin", "--strategy", "reset", env=env)
    assert kv.head(*st) == side.head()
    assert kv.ok(*st, "get", "a").out == b"theirs"


@pytest.mark.parametrize("kind", ["daemon", "path", "http"])
def test_non_fast_forward_push_exits_3_and_changes_nothing(kv, tmp_path, pool, kind):
    st, side, url, opts, env = cloned(kv, tmp_path, pool, kind=kind)
    kv.ok(*st, "set", "b", "mine")
    theirs = side.commit({"c": "theirs"}, "theirs")
    before, remote_before = kv.state(*st), side.refs()
    r = kv.fails(3, *st, "push", "origin", *opts, env=env)
    assert "origin" in r.err and "fast-forward" in r.err
    assert kv.state(*st) == before and side.refs() == remote_before
    r = kv.fails(3, *st, "push", url, *opts, env=env)  # by URL too
    assert side.refs() == remote_before
    # --force replaces the remote's branch.
    kv.ok(*st, "push", "origin", "--force", *opts, env=env)
    assert side.head() == kv.head(*st) != theirs
    fsck_strict(side.bare)


@pytest.mark.parametrize("tls", [False, True])
def test_wrong_password_exits_4_naming_the_remote_not_the_password(kv, tmp_path, pool, tls):
    kind = "https" if tls else "http"
    bare, url, srv = pool.remote(kind)
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    opts, creds = credentials(kind, srv)
    store = tmp_path / "store"
    bad = {**kv.env, **creds, "GITKV_PASSWORD": "not-the-Pa55word"}
    r = kv.fails(4, "--store", f"lmdb:{store}", "clone", url, *opts, env=bad)
    assert url in r.err and "not-the-Pa55word" not in r.err, r.err
    assert not store.exists()  # a failed clone leaves nothing
    # No credentials at all: the same.
    r = kv.fails(4, "--store", f"lmdb:{store}", "clone", url, *opts,
                 env={**kv.env})
    assert url in r.err
    # A password in the URL is masked in the message and in --json.
    user = next(iter(srv.users))
    in_url = url.replace("://", f"://{user}:url-Pa55word@")
    r = kv.run("--store", f"lmdb:{store}", "--json", "clone", in_url, *opts, env={**kv.env})
    assert r.rc == 4, r
    assert "url-Pa55word" not in r.err and b"url-Pa55word" not in r.out, r
    assert r.json()["code"] == 4


def test_push_with_a_wrong_password_changes_nothing(kv, tmp_path, pool):
    st, side, url, opts, env = cloned(kv, tmp_path, pool, kind="http")
    kv.ok(*st, "set", "b", "2")
    before, remote_before = kv.state(*st), side.refs()
    r = kv.fails(4, *st, "push", "origin", env={**env, "GITKV_PASSWORD": "wrong-pw"})
    assert "origin" in r.err or url in r.err
    assert "wrong-pw" not in r.err
    assert kv.state(*st) == before and side.refs() == remote_before


def test_ssh_with_an_unknown_key_exits_4(kv, tmp_path, pool):
    bare, url, srv = pool.remote("ssh")
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    other = tmp_path / "other_key"
    run(["ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-f", other])
    known = {"GITKV_SSH_KNOWN_HOSTS": str(srv.known_hosts)}
    r = kv.fails(4, "--store", f"lmdb:{tmp_path / 's'}", "clone", url, "--ssh-key", str(other),
                 env={**kv.env, **SSH_ENV, **known})
    assert url in r.err
    assert not (tmp_path / "s").exists()
    # GITKV_SSH_KEY names the right key.
    kv.ok("--store", f"lmdb:{tmp_path / 's'}", "clone", url,
          env={**kv.env, **SSH_ENV, **known, "GITKV_SSH_KEY": str(srv.client_key)})


def test_ssh_host_key_must_be_known(kv, tmp_path, pool):
    """The ssh server's key is checked against known_hosts, as ssh does:
    a host it does not name, or names with another key, or whose key it
    revokes, is refused (exit 4) before anything is fetched; hashed names,
    wildcards, GITKV_SSH_KNOWN_HOSTS and ~/.ssh/known_hosts are honoured."""
    bare, url, srv = pool.remote("ssh")
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    env = {**kv.env, **SSH_ENV}
    key = ["--ssh-key", str(srv.client_key)]
    kh = tmp_path / "known_hosts"
    store = tmp_path / "s"

    def clone_fails(*why, **extra):
        r = kv.fails(4, "--store", f"lmdb:{store}", "clone", url, *key, "--known-hosts",
                     str(kh), env={**env, **extra})
        assert url in r.err
        for w in why:
            assert w in r.err, r.err
        assert not store.exists()

    # not named: unknown (the message says how to add it)
    kh.write_text(f"otherhost {srv.known_line().split(' ', 1)[1]}")
    clone_fails("is not in", "ssh-keyscan -p %d" % srv.port)
    # named with another key: someone may be in the middle
    kh.write_text(srv.known_line(srv.client_key))
    clone_fails("someone may be in the middle")
    # the right key, but revoked
    kh.write_text(srv.known_line() + "@revoked * " + srv.known_line().split(" ", 1)[1])
    clone_fails("revoked")
    # the port matters: the same key for port 22 names another host
    kh.write_text(f"{LOOPBACK} " + srv.known_line().split(" ", 1)[1])
    clone_fails("is not in")
    # a negated pattern wins
    kh.write_text(f"*,!{'[' + LOOPBACK + ']'}:{srv.port} " + srv.known_line().split(" ", 1)[1])
    clone_fails("is not in")
    # hashed by ssh-keygen -H, behind a comment: accepted
    kh.write_text("# test\n" + srv.known_line(srv.client_key).replace(f":{srv.port}", ":1")
                  + srv.known_line())
    run(["ssh-keygen", "-q", "-H", "-f", kh])
    assert "|1|" in kh.read_text() and LOOPBACK not in kh.read_text()
    kv.ok("--store", f"lmdb:{store}", "clone", url, *key, "--known-hosts", str(kh), env=env)
    # lines that do not parse are skipped, not fatal
    shutil.rmtree(store)
    kh.write_text("garbage\n@cert-authority * ssh-ed25519 AAAA\n"
                  f"[{LOOPBACK}]:{srv.port} ecdsa-sha2-nistp256 !!not-base64!!\n"
                  + srv.known_line())
    kv.ok("--store", f"lmdb:{store}", "clone", url, *key, "--known-hosts", str(kh), env=env)
    # GITKV_SSH_KNOWN_HOSTS, then ~/.ssh/known_hosts
    shutil.rmtree(store)
    kv.ok("--store", f"lmdb:{store}", "clone", url, *key,
          env={**env, "GITKV_SSH_KNOWN_HOSTS": str(srv.known_hosts)})
    shutil.rmtree(store)
    home = tmp_path / "home2"
    (home / ".ssh").mkdir(parents=True)
    kv.fails(4, "--store", f"lmdb:{store}", "clone", url, *key, env={**env, "HOME": str(home)})
    (home / ".ssh" / "known_hosts").write_text(f"[{LOOPBACK}]:* " +
                                               srv.known_line().split(" ", 1)[1])
    kv.ok("--store", f"lmdb:{store}", "clone", url, *key, env={**env, "HOME": str(home)})
    # a known_hosts file that does not exist is bad usage
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's2'}", "clone", url, *key, "--known-hosts",
             str(tmp_path / "nope"), env=env)


@pytest.mark.parametrize("scheme", ["git", "http", "https", "ssh"])
def test_unreachable_host_exits_4(kv, tmp_path, scheme):
    port = free_port()  # nothing listens there
    url = f"{scheme}://{LOOPBACK}:{port}/r.git"
    r = kv.fails(4, "--store", f"lmdb:{tmp_path / 's'}", "clone", url)
    assert url in r.err
    assert not (tmp_path / "s").exists()
    kv.ok("--store", f"lmdb:{tmp_path / 'e'}", "init")
    before = kv.state("--store", f"lmdb:{tmp_path / 'e'}")
    kv.fails(4, "--store", f"lmdb:{tmp_path / 'e'}", "fetch", url)
    assert kv.state("--store", f"lmdb:{tmp_path / 'e'}") == before


def test_untrusted_certificate_exits_4_until_the_ca_is_given(kv, tmp_path, pool):
    bare, url, srv = pool.remote("https")
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    opts, creds = credentials("https", srv)
    env = {**kv.env, **creds}
    r = kv.fails(4, "--store", f"lmdb:{tmp_path / 's'}", "clone", url, env=env)
    assert url in r.err
    assert not (tmp_path / "s").exists()
    # GITKV_CA_FILE trusts the test's CA, as --ca-file does.
    kv.ok("--store", f"lmdb:{tmp_path / 's'}", "clone", url,
          env={**env, "GITKV_CA_FILE": str(srv.ca.ca_cert)})
    assert kv.ok("--store", f"lmdb:{tmp_path / 's'}", "get", "a").out == b"1"
    kv.fails(2, "--store", f"lmdb:{tmp_path / 't'}", "clone", url, "--ca-file",
             str(tmp_path / "no-such.pem"), env=env)


def test_clone_into_a_store_with_refs_exits_3_and_touches_nothing(kv, tmp_path, pool):
    bare, url, srv = pool.remote("path")
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    st = ["--store", f"lmdb:{tmp_path / 's'}"]
    kv.ok(*st, "set", "mine", "x")
    before = kv.state(*st)
    r = kv.fails(3, *st, "clone", url)
    assert "store" in r.err
    assert kv.state(*st) == before
    # A directory holding something that is not a store: refused, kept.
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "file").write_text("keep me")
    r = kv.run("--store", str(junk), "clone", url)
    assert r.rc != 0 and (junk / "file").read_text() == "keep me"
    assert sorted(p.name for p in junk.iterdir()) == ["file"]
    # An empty directory is a place for a clone.
    (tmp_path / "empty").mkdir()
    kv.ok("--store", str(tmp_path / "empty"), "clone", url)
    assert kv.ok("--store", str(tmp_path / "empty"), "get", "a").out == b"1"


def test_remote_that_is_not_there(kv, tmp_path, pool):
    st, side, url, opts, env = cloned(kv, tmp_path, pool, kind="path")
    r = kv.run(*st, "push", "nosuchremote")
    assert r.rc in (1, 2) and "nosuchremote" in r.err, r  # no such remote, nor path
    kv.fails(1, *st, "pull", "origin", "nosuchbranch")
    kv.fails(2, *st, "pull", "origin", "bad..name")
    kv.fails(2, *st, "pull", "origin", "--strategy", "rebase")
    kv.fails(2, "--store", f"lmdb:{tmp_path / 'n'}", "--branch", "main", "clone", url)
    missing = tmp_path / "nothing-here.git"
    r = kv.fails(1, "--store", f"lmdb:{tmp_path / 'n'}", "clone", str(missing))
    assert str(missing) in r.err
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize("backend", ["lmdb", "git"])
def test_remote_add_list_remove(kv, tmp_path, backend):
    spec = f"lmdb:{tmp_path / 's'}" if backend == "lmdb" else f"git:{tmp_path / 's.git'}"
    st = ["--store", spec]
    kv.ok(*st, "init")
    assert kv.ok(*st, "remote").out == b""
    assert kv.ok(*st, "--json", "remote").json() == []
    kv.ok(*st, "remote", "add", "origin", "https://example.invalid/r.git")
    out = kv.ok(*st, "--json", "remote", "add", "backup", "/srv/backup.git").json()
    assert out == {"name": "backup", "url": "/srv/backup.git"}
    assert kv.ok(*st, "remote").text == (
        "backup\t/srv/backup.git\norigin\thttps://example.invalid/r.git\n")
    assert kv.ok(*st, "--json", "remote").json() == [
        {"name": "backup", "url": "/srv/backup.git"},
        {"name": "origin", "url": "https://example.invalid/r.git"}]
    if backend == "git":
        g = ["git", "--git-dir", tmp_path / "s.git", "config"]
        assert run([*g, "remote.origin.url"], env=git_env()).strip() == \
            "https://example.invalid/r.git"
    before = kv.state(*st)
    kv.fails(3, *st, "remote", "add", "origin", "/elsewhere")
    kv.fails(2, *st, "remote", "add", "bad..name", "/x")
    kv.fails(2, *st, "remote", "add", "ok", "")
    kv.fails(2, *st, "remote", "frobnicate")
    kv.fails(1, *st, "remote", "remove", "nosuch")
    assert kv.state(*st) == before
    kv.ok(*st, "remote", "remove", "origin")
    assert kv.ok(*st, "remote").text == "backup\t/srv/backup.git\n"
    if backend == "git":
        p = __import__("subprocess").run(
            ["git", "--git-dir", tmp_path / "s.git", "config", "remote.origin.url"],
            env=git_env(), capture_output=True)
        assert p.returncode == 1  # git sees it gone
    # A password in a recorded URL is shown masked.
    kv.ok(*st, "remote", "add", "priv", "https://u:hunter2@example.invalid/r.git")
    assert "hunter2" not in kv.ok(*st, "remote").text
    # A store that does not exist is not created by `remote`.
    kv.fails(4, "--store", f"lmdb:{tmp_path / 'none'}", "remote")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("cmd", ["clone", "fetch", "pull", "push", "remote"])
def test_sync_commands_have_help(kv, cmd):
    out = kv.ok("help", cmd).text
    assert out.startswith(f"usage: kvctl [GLOBAL OPTIONS] {cmd}")
    assert kv.ok(cmd, "--help").text == out
    assert f"\n  {cmd} " in kv.ok("help").text
    if cmd != "remote":
        for word in ("GITKV_PASSWORD", "--ssh-key", "--ca-file", "Exit 4"):
            assert word in out, word
    assert not (kv.cwd / ".gitkv").exists()


def test_sync_options_belong_to_sync_commands(kv, tmp_path):
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's'}", "set", "a", "1", "--ssh-key", "k")
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's'}", "get", "a", "--strategy", "ff")
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's'}", "clone", "/x", "--force")
    assert not (tmp_path / "s").exists()


def test_username_without_password_is_a_usage_error(kv, tmp_path, pool):
    bare, url, srv = pool.remote("path")
    GitSide(bare, tmp_path / "g").seed({"a": "1"})
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's'}", "clone", url,
             env={**kv.env, "GITKV_USERNAME": "me"})
    kv.fails(2, "--store", f"lmdb:{tmp_path / 's'}", "clone", url, "--ssh-key",
             str(tmp_path / "no-such-key"))
    assert not (tmp_path / "s").exists()
