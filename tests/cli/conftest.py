"""Fixtures for kvctl's tests: run the real binary in a temporary directory.

The binary comes from $GKV_KVCTL (tests/meson.build sets it). Every test
gets its own working directory and a hermetic environment: no GITKV_STORE,
a HOME of its own (so no ~/.gitconfig), and a fixed author.
"""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

KVCTL = os.environ.get("GKV_KVCTL")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
AUTHOR_NAME = "Test Author"
AUTHOR_EMAIL = "author@example.com"


@dataclass
class Result:
    rc: int
    out: bytes
    err: str

    @property
    def text(self):
        return self.out.decode()

    @property
    def lines(self):
        return self.out.decode().splitlines()

    def json(self):
        return json.loads(self.out)


class Kv:
    """Runs kvctl in cwd with env; methods assert what every call must hold."""

    def __init__(self, cwd, env):
        self.cwd = cwd
        self.env = env

    def run(self, *args, input=b"", env=None, cwd=None):
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run(
            [KVCTL, *args],
            input=input,
            capture_output=True,
            cwd=cwd or self.cwd,
            env=env or self.env,
            timeout=120,
        )
        err = p.stderr.decode(errors="replace")
        # Sanitizer reports are failures whatever the exit status.
        assert "Sanitizer" not in err and "runtime error" not in err, err
        return Result(p.returncode, p.stdout, err)

    def ok(self, *args, **kw):
        """Run, expect exit 0 and nothing on stderr; return the Result."""
        r = self.run(*args, **kw)
        assert r.rc == 0, (args, r)
        assert r.err == "", (args, r.err)
        return r

    def fails(self, code, *args, stdout_empty=True, **kw):
        """Run, expect exit `code` and one 'kvctl: ' line on stderr."""
        r = self.run(*args, **kw)
        assert r.rc == code, (args, r)
        lines = r.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("kvctl: "), r.err
        if stdout_empty:
            assert r.out == b"", r.out
        return r

    def state(self, *store_args):
        """What a command could change, to compare before and after: the
        head of every branch (commits are immutable, so the heads
        determine every tree and log)."""
        r = self.run(*store_args, "--json", "branch")
        return r.rc, r.out

    def head(self, *args):
        out = self.ok(*args, "snapshot").text.strip()
        assert HEX40.match(out), out
        return out

    def commits(self, *args):
        return [line.split(" ", 1)[0] for line in self.ok(*args, "log").lines]


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    e = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GITKV_") and not k.startswith("GIT_")
    }
    e.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GITKV_AUTHOR_NAME=AUTHOR_NAME,
        GITKV_AUTHOR_EMAIL=AUTHOR_EMAIL,
        LC_ALL="C",
    )
    return e


@pytest.fixture
def kv(tmp_path, env):
    assert KVCTL, "GKV_KVCTL is not set (run through meson test)"
    work = tmp_path / "work"
    work.mkdir()
    return Kv(work, env)


@pytest.fixture(params=["lmdb", "git"])
def store(request, kv):
    """The --store arguments of a new, initialised store of each kind
    (tests that need another set of kinds define their own)."""
    if request.param == "git" and shutil.which("git") is None:
        pytest.skip("git not installed")
    name = f"{request.param}:{kv.cwd / 'st'}"
    r = kv.run("--store", name, "init")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip(r.err)
    assert r.rc == 0, r
    return ["--store", name]


def is_git(store):
    """Whether the --store arguments of the store fixture name a git store."""
    return store[1].startswith("git:")


def gitdir(store):
    """The git directory of a git store from the store fixture."""
    return store[1][len("git:"):]
