"""The progress bar of a transfer: drawn on stderr while kvctl clones
from a git daemon when stdout is a terminal (a pty), ended with
", done."; absent when stdout is a pipe, and with -q."""

import os
import pty
import select
import subprocess
import time

import pytest

from conftest import KVCTL
from servers import GitDaemon, GitSide, run, git_env


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress")
    with GitDaemon(root / "srv") as srv:
        bare = srv.make_repo("r.git")
        # Enough objects for several redraws of the bar.
        side = GitSide(bare, root / "work")
        side.seed({f"d{i // 50}/f{i}": f"value {i}\n" * (i % 7 + 1) for i in range(400)})
        yield srv.url("r.git")


def run_in_pty(args, env, cwd, timeout=60):
    """Run with stdin, stdout and stderr on a new pty; (status, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.execve(KVCTL, [KVCTL, *args], env)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        out += data
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_bar_on_a_terminal(kv, tmp_path, remote):
    rc, out = run_in_pty(["--store", f"lmdb:{tmp_path / 's'}", "clone", remote],
                         kv.env, kv.cwd)
    assert rc == 0, out
    text = out.decode(errors="replace")
    assert "Receiving objects:" in text, text
    assert "100% (" in text and ", done." in text, text
    assert "\r" in text  # redrawn in place
    assert kv.ok("--store", f"lmdb:{tmp_path / 's'}", "get", "d0/f1").out == b"value 1\n" * 2


def test_no_bar_with_q(kv, tmp_path, remote):
    rc, out = run_in_pty(["-q", "--store", f"lmdb:{tmp_path / 's'}", "clone", remote],
                         kv.env, kv.cwd)
    assert rc == 0 and out == b"", out


def test_no_bar_when_stdout_is_a_pipe(kv, tmp_path, remote):
    # stderr on a terminal, stdout a pipe: still no bar.
    master, slave = pty.openpty()
    try:
        p = subprocess.run([KVCTL, "--store", f"lmdb:{tmp_path / 's'}", "clone", remote],
                           stdout=subprocess.PIPE, stderr=slave, env=kv.env, cwd=kv.cwd,
                           timeout=60)
        os.close(slave)
        slave = None
        seen = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0 and p.stdout == b"" and seen == b"", (p, seen)
    r = kv.ok("--store", f"lmdb:{tmp_path / 't'}", "clone", remote)  # all pipes
    assert r.out == b"" and r.err == ""
