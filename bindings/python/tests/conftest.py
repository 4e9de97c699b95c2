"""Fixtures of the binding's tests: the package from this checkout, the
library from $GITKV_LIBRARY (bindings/python/meson.build sets both), stores
of every backend in temporary directories, and the git CLI to check what
the git backend wrote."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # the package, before any installed one
if os.environ.get("GITKV_LIBRARY"):  # subprocesses run elsewhere
    os.environ["GITKV_LIBRARY"] = os.path.abspath(os.environ["GITKV_LIBRARY"])
sys.path.insert(0, str(TOP / "tests" / "cli"))  # servers.py: the project's git servers

import gitkv  # noqa: E402

BACKENDS = ["mem", "lmdb", "git"]
AUTHOR = ("Py Tester", "py@example.com")


def git_env():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("GIT_") and not k.startswith("GITKV_")}
    e.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", LC_ALL="C")
    return e


def git(repo_dir, *args, check=True):
    """Run the git CLI on a repository; its stdout."""
    p = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True,
                       env=git_env(), timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')}")
    return p.stdout.decode(errors="replace")


def fsck(repo_dir):
    """git fsck --strict must accept the repository."""
    git(repo_dir, "fsck", "--strict", "--no-dangling")


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    for k in ("GITKV_AUTHOR_NAME", "GITKV_AUTHOR_EMAIL"):
        monkeypatch.delenv(k, raising=False)


class Backend:
    """A store of one backend: its name, its URI, where the git CLI finds it."""

    def __init__(self, kind, tmp_path):
        self.kind = kind
        self.dir = tmp_path / f"store-{kind}"
        self.uri = "mem:" if kind == "mem" else f"{kind}:{self.dir}"

    def open(self, **kw):
        kw.setdefault("create", self.kind != "mem")
        kw.setdefault("author", AUTHOR)
        return gitkv.Repo.open(self.uri, **kw)

    def check_git(self):
        if self.kind == "git":
            fsck(self.dir)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    return Backend(request.param, tmp_path)


@pytest.fixture
def repo(backend):
    with backend.open() as r:
        yield r
    backend.check_git()


@pytest.fixture(params=["lmdb", "git"])
def disk_backend(request, tmp_path):
    return Backend(request.param, tmp_path)
