"""Which store kvctl opens, when it creates one, and that it persists."""

import pytest

READS = [
    ["get", "k"],
    ["list"],
    ["tree"],
    ["log"],
    ["snapshot"],
    ["branch"],
]


def test_first_set_creates_the_default_store(kv):
    assert not (kv.cwd / ".gitkv").exists()
    kv.ok("set", "k", "v")
    assert (kv.cwd / ".gitkv").is_dir()
    assert kv.ok("get", "k").out == b"v"


@pytest.mark.parametrize("args", READS + [["remove", "k"], ["branch", "delete", "x"]])
def test_a_missing_store_is_exit_4_and_is_not_created(kv, args):
    r = kv.fails(4, *args)
    assert "./.gitkv" in r.err and "does not exist" in r.err
    assert not (kv.cwd / ".gitkv").exists()


def test_a_missing_named_store_is_exit_4_and_is_not_created(kv):
    target = kv.cwd / "elsewhere"
    r = kv.fails(4, "--store", f"lmdb:{target}", "get", "k")
    assert str(target) in r.err
    assert not target.exists()


def test_init_creates_an_empty_store_and_is_idempotent(kv):
    doc = kv.ok("--json", "init").json()
    assert doc == {"store": "./.gitkv", "branch": "main", "created": True}
    assert (kv.cwd / ".gitkv").is_dir()
    doc = kv.ok("--json", "init").json()
    assert doc["created"] is False
    kv.ok("init")


def test_the_default_branch_of_a_new_store_reads_as_empty(kv):
    kv.ok("init")
    assert kv.ok("list").out == b""
    assert kv.ok("tree").out == b""
    assert kv.ok("log").out == b""
    assert kv.ok("branch").out == b""
    assert kv.ok("--json", "log").json() == []
    assert kv.ok("--json", "list").json() == []
    kv.fails(1, "get", "k")
    r = kv.fails(1, "snapshot")
    assert "main" in r.err


def test_a_store_made_by_one_process_is_read_by_another(kv, tmp_path):
    store = tmp_path / "shared-store"
    kv.ok("--store", f"lmdb:{store}", "set", "a/b", "value")
    other = tmp_path / "other-cwd"
    other.mkdir()
    assert kv.ok("--store", f"lmdb:{store}", "get", "a/b", cwd=other).out == b"value"
    assert kv.ok("--store", str(store), "get", "a/b", cwd=other).out == b"value"


def test_gitkv_store_environment_variable(kv, env, tmp_path):
    store = tmp_path / "from-env"
    env2 = dict(env, GITKV_STORE=f"lmdb:{store}")
    kv.ok("set", "k", "env", env=env2)
    assert store.is_dir()
    assert not (kv.cwd / ".gitkv").exists()
    assert kv.ok("get", "k", env=env2).out == b"env"
    kv.fails(4, "get", "k")  # without it, ./.gitkv, which does not exist


def test_store_option_wins_over_the_environment(kv, env, tmp_path):
    env2 = dict(env, GITKV_STORE=f"lmdb:{tmp_path / 'env-store'}")
    kv.ok("--store", "lmdb:opt-store", "set", "k", "opt", env=env2)
    assert (kv.cwd / "opt-store").is_dir()
    assert not (tmp_path / "env-store").exists()
    kv.fails(4, "get", "k", env=env2)
    assert kv.ok("get", "k", "--store", "lmdb:opt-store", env=env2).out == b"opt"


def test_a_plain_path_becomes_an_lmdb_store_and_is_detected(kv):
    kv.ok("--store", "plain", "set", "k", "v")
    assert (kv.cwd / "plain").is_dir()
    assert kv.ok("--store", "plain", "get", "k").out == b"v"
    assert kv.ok("--store", "lmdb:plain", "get", "k").out == b"v"


def test_store_option_with_equals_sign(kv):
    kv.ok("--store=lmdb:eq", "set", "k", "v")
    assert kv.ok("get", "k", "--store=eq").out == b"v"


def test_mem_store_works_and_forgets(kv):
    r = kv.ok("--store", "mem:", "--json", "set", "k", "v")
    assert r.json()["changed"] is True
    assert kv.ok("--store", "mem:", "list").out == b""
    kv.fails(1, "--store", "mem:", "get", "k")
    assert not (kv.cwd / ".gitkv").exists()


def test_an_unknown_backend_is_not_created(kv):
    r = kv.run("--store", "git:repo", "set", "k", "v")
    # Either the git backend is built (and made the repository) or it is
    # not, and kvctl says so; never a crash, never a silent LMDB store.
    if r.rc != 0:
        assert r.rc in (2, 4) and r.err.startswith("kvctl: ") and "git:repo" in r.err
        assert not (kv.cwd / ".gitkv").exists()


def test_an_empty_directory_becomes_an_lmdb_store(kv):
    (kv.cwd / "empty").mkdir()
    kv.fails(4, "--store", "empty", "get", "k")
    kv.ok("--store", "empty", "set", "k", "v")
    assert kv.ok("--store", "lmdb:empty", "get", "k").out == b"v"


def test_an_existing_git_repository_reads_on_the_branch_head_names(kv, tmp_path):
    import shutil
    import subprocess

    git = shutil.which("git")
    if not git:
        pytest.skip("git not installed")
    repo = tmp_path / "gitrepo"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([git, "init", "-q", "-b", "master", str(repo)], check=True, env=env)
    (repo / "f").write_text("from git\n")
    subprocess.run([git, "-C", str(repo), "add", "f"], check=True, env=env)
    subprocess.run([git, "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "-m", "by git"], check=True, env=env)
    r = kv.run("--store", str(repo), "get", "f")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip("git backend not built")
    assert r.out == b"from git\n" and r.rc == 0
    assert kv.ok("--store", f"git:{repo}", "branch").lines == ["master"]
    kv.fails(1, "--store", str(repo), "--branch", "main", "get", "f")
    kv.ok("--store", str(repo), "set", "g", "from kvctl")
    out = subprocess.run([git, "-C", str(repo), "show", "master:g"], check=True,
                         capture_output=True, env=env).stdout
    assert out == b"from kvctl"


def test_concurrent_writers_lose_nothing(kv):
    import subprocess

    from conftest import KVCTL

    kv.ok("init")
    script = "for i in 1 2 3 4 5 6 7 8; do \"$0\" set \"w$1/k$i\" v || exit 1; done"
    procs = [subprocess.Popen(["sh", "-c", script, KVCTL, str(w)], cwd=kv.cwd, env=kv.env,
                              stderr=subprocess.PIPE) for w in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    assert len(kv.ok("tree").lines) == 32
    assert len(kv.commits()) == 32
