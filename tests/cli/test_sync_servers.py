"""The test servers of servers.py, checked with the git CLI alone: each
serves a push and a clone, refuses what it must (a wrong password, an
unknown key, a certificate nobody trusts), and is gone once stopped.
The kvctl tests (test_sync_*.py) rely on exactly these behaviours."""

import socket
import subprocess

import pytest

from servers import (GitDaemon, HttpServer, ServerError, SshServer, TestCA, git_env,
                     run, LOOPBACK)


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


def commit(work, name, text):
    (work / name).write_text(text)
    run(["git", "-C", work, "add", name], env=git_env())
    run(["git", "-C", work, "commit", "-qm", f"add {name}"], env=git_env())
    return run(["git", "-C", work, "rev-parse", "HEAD"], env=git_env()).strip()


def make_server(kind, root, ca):
    if kind == "daemon":
        return GitDaemon(root)
    if kind == "http":
        return HttpServer(root)
    if kind == "https":
        return HttpServer(root, ca=ca)
    return SshServer(root)


@pytest.mark.parametrize("kind", ["daemon", "http", "https", "ssh"])
def test_push_then_clone(tmp_path, ca, kind):
    work = tmp_path / "work"
    run(["git", "init", "-q", "-b", "main", work], env=git_env())
    head = commit(work, "a", "1\n")
    with make_server(kind, tmp_path / "srv", ca) as srv:
        bare = srv.make_repo("r.git")
        srv.git("-C", work, "push", "-q", srv.git_url("r.git"), "main")
        assert run(["git", "-C", bare, "rev-parse", "main"], env=git_env()).strip() == head
        srv.git("clone", "-q", srv.git_url("r.git"), tmp_path / "copy")
        assert (tmp_path / "copy" / "a").read_text() == "1\n"
        port = srv.port
    # Stopped by its pid: nothing listens there any more.
    with pytest.raises(OSError):
        socket.create_connection((LOOPBACK, port), timeout=1).close()


def git_fails(srv, *args, env_extra=None):
    env = git_env(srv.git_extra_env())
    env.update(env_extra or {})
    p = subprocess.run(["git", *map(str, args)], env=env, capture_output=True, timeout=60)
    assert p.returncode != 0, p
    return p.stderr.decode(errors="replace")


@pytest.mark.parametrize("tls", [False, True])
def test_http_refuses_a_wrong_password(tmp_path, ca, tls):
    with HttpServer(tmp_path / "srv", ca=ca if tls else None) as srv:
        srv.make_repo("r.git")
        url = srv.url("r.git").replace("://", "://alice:wrong@")
        err = git_fails(srv, "ls-remote", url)
        assert "Authentication failed" in err or "401" in err, err
        err = git_fails(srv, "ls-remote", srv.url("r.git"))  # no credentials
        srv.git("ls-remote", srv.git_url("r.git"))


def test_https_certificate_is_not_trusted_without_the_ca(tmp_path, ca):
    with HttpServer(tmp_path / "srv", ca=ca) as srv:
        srv.make_repo("r.git")
        err = git_fails(srv, "ls-remote", srv.git_url("r.git"),
                        env_extra={"GIT_SSL_CAINFO": "/dev/null"})
        assert "certificate" in err.lower() or "SSL" in err, err


def test_ssh_refuses_an_unknown_key(tmp_path):
    other = tmp_path / "other_key"
    run(["ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", "", "-f", other])
    with SshServer(tmp_path / "srv") as srv:
        srv.make_repo("r.git")
        cmd = srv.git_extra_env()["GIT_SSH_COMMAND"].replace(str(srv.client_key), str(other))
        git_fails(srv, "ls-remote", srv.url("r.git"), env_extra={"GIT_SSH_COMMAND": cmd})
        srv.git("ls-remote", srv.url("r.git"))


def test_a_server_that_cannot_start_is_an_error(tmp_path):
    srv = HttpServer(tmp_path / "srv")
    srv.prepare_orig = srv.prepare

    def broken():
        srv.prepare_orig()
        srv.conf.write_text("this is not a lighttpd configuration\n")

    srv.prepare = broken
    with pytest.raises(ServerError):
        srv.start()
    assert srv.proc is None
