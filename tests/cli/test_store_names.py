"""Store names that are not stores: an unknown scheme, a store kvctl may
not read, a directory another user owns, and the default branch that
only --force deletes.

Tests run as root, which no permission stops: the permission cases run
kvctl as another user (setpriv), in a directory that user can reach, and
are skipped where that is impossible.
"""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import KVCTL

OTHER_UID = 12345


# ------------------------------------------------------------ unknown schemes

@pytest.mark.parametrize("name", ["gti:typo", "LMDB:x", "http:host", "file:d"])
@pytest.mark.parametrize("args", [["init"], ["set", "x", "1"], ["list"], ["get", "x"]])
def test_an_unknown_scheme_is_exit_2_and_creates_nothing(kv, name, args):
    r = kv.fails(2, "--store", name, *args)
    assert "unknown scheme" in r.err and name.split(":")[0] in r.err
    assert os.listdir(kv.cwd) == []


def test_an_unknown_scheme_from_the_environment_too(kv):
    env = dict(kv.env, GITKV_STORE="gti:typo")
    kv.fails(2, "set", "x", "1", env=env)
    assert os.listdir(kv.cwd) == []


@pytest.mark.parametrize("name", ["./gti:typo", "a.b:c", "1x:y", "a-b:c"])
def test_a_colon_after_more_than_letters_is_a_path(kv, name):
    kv.ok("--store", name, "set", "x", "1")
    assert kv.ok("--store", name, "get", "x").out == b"1"
    assert os.path.isdir(os.path.join(kv.cwd, name))


@pytest.mark.parametrize("scheme", ["lmdb:", "git:"])
def test_known_schemes_still_create(kv, scheme):
    kv.ok("--store", f"{scheme}s", "init")
    assert os.path.isdir(os.path.join(kv.cwd, "s"))


# ------------------------------------------------------------ default branch

@pytest.mark.parametrize("kind", ["lmdb", "git"])
def test_deleting_the_default_branch_needs_force(kv, kind):
    store = ["--store", f"{kind}:s"]
    kv.ok(*store, "set", "k", "v")
    default = kv.ok(*store, "--json", "init").json()["branch"]
    kv.ok(*store, "branch", "create", "other")
    before = kv.state(*store)
    r = kv.fails(2, *store, "branch", "delete", default)
    assert "--force" in r.err and f"'{default}'" in r.err
    assert kv.state(*store) == before
    assert kv.ok(*store, "get", "k").out == b"v"
    # Other branches need no --force.
    kv.ok(*store, "branch", "delete", "other")
    kv.ok(*store, "branch", "create", "other")
    # With --force (or -f) it is deleted, and says where it was.
    r = kv.run(*store, "-v", "branch", "delete", "--force", default)
    assert r.rc == 0 and "was " in r.err, r
    assert kv.ok(*store, "branch").lines == ["other"]
    kv.ok(*store, "branch", "create", default, "other")
    kv.ok(*store, "branch", "delete", "-f", default)


def test_force_is_only_an_option_of_branch(kv):
    kv.ok("set", "k", "v")
    kv.fails(2, "set", "--force", "k", "w")
    assert kv.ok("get", "k").out == b"v"


# ------------------------------------------------------------ permissions

def can_switch_user():
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    r = subprocess.run(["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}",
                        "--clear-groups", "true"], capture_output=True)
    return r.returncode == 0


as_other = pytest.mark.skipif(not can_switch_user(), reason="cannot run as another user")


@pytest.fixture
def shared(kv):
    """A directory another user can reach (pytest's are root's alone),
    with a HOME of its own; removed afterwards."""
    top = tempfile.mkdtemp(prefix="kvctl-perm-")
    os.chmod(top, 0o755)
    home = os.path.join(top, "home")
    os.mkdir(home)
    os.chown(home, OTHER_UID, OTHER_UID)
    yield top, dict(kv.env, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))
    shutil.rmtree(top)


def run_as_other(env, cwd, *args):
    return subprocess.run(
        ["setpriv", f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups",
         KVCTL, *args],
        capture_output=True, env=env, cwd=cwd, timeout=120,
    )


@as_other
@pytest.mark.parametrize("kind", ["lmdb", "git"])
@pytest.mark.parametrize("prefix", ["", "scheme"])
def test_an_unreadable_store_says_permission_denied(kv, shared, kind, prefix):
    top, env = shared
    path = os.path.join(top, "s")
    kv.ok("--store", f"{kind}:{path}", "set", "k", "v")
    os.chmod(path, 0o700)  # root's, and closed to others
    before = kv.state("--store", path)
    name = f"{kind}:{path}" if prefix else path
    for args in (["list"], ["get", "k"], ["set", "k", "w"], ["init"]):
        p = run_as_other(env, top, "--store", name, *args)
        err = p.stderr.decode()
        assert p.returncode == 4, (args, err)
        assert "Permission denied" in err and path in err, err
        assert "does not exist" not in err, err
    assert kv.state("--store", path) == before


@as_other
def test_a_store_inside_a_closed_directory_says_permission_denied(kv, shared):
    top, env = shared
    closed = os.path.join(top, "closed")
    os.mkdir(closed, 0o700)
    kv.ok("--store", f"lmdb:{closed}/s", "set", "k", "v")
    for store in (f"{closed}/s", f"lmdb:{closed}/s", f"{closed}/new"):
        p = run_as_other(env, top, "--store", store, "set", "k", "w")
        err = p.stderr.decode()
        assert p.returncode == 4 and "Permission denied" in err, err
    assert not os.path.exists(f"{closed}/new")


@as_other
def test_an_unreadable_file_of_the_store_is_named(kv, shared):
    top, env = shared
    path = os.path.join(top, "s")
    kv.ok("--store", f"lmdb:{path}", "set", "k", "v")
    data = os.path.join(path, "data.mdb")
    os.chmod(data, 0o600)
    p = run_as_other(env, top, "--store", path, "list")
    err = p.stderr.decode()
    assert p.returncode == 4 and "Permission denied" in err, err
    assert "does not exist" not in err


def test_a_git_store_another_user_owns_says_so(kv, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    repo = tmp_path / "repo.git"
    kv.ok("--store", f"git:{repo}", "set", "k", "v")
    for root, dirs, files in os.walk(repo):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), OTHER_UID, OTHER_UID)
    os.chown(repo, OTHER_UID, OTHER_UID)
    for name in (f"git:{repo}", str(repo)):
        r = kv.fails(4, "--store", name, "list")
        assert f"uid {OTHER_UID}" in r.err and "safe.directory" in r.err, r.err
        assert "does not exist" not in r.err


def test_an_absent_store_still_does_not_exist(kv):
    r = kv.fails(4, "--store", "nothing-here", "list")
    assert "does not exist" in r.err
    assert not os.path.exists(os.path.join(kv.cwd, "nothing-here"))
    assert stat.S_ISDIR(os.stat(kv.cwd).st_mode)
