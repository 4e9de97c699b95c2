"""list and tree: what is there, in the byte order of `LC_ALL=C sort`."""

import base64
import shutil
import subprocess

import pytest

# Names chosen so that byte order, git's tree order (a directory sorts as
# "name/") and a locale's order all differ: '-' (0x2d) and '.' (0x2e) sort
# before '/' (0x2f), capitals before lowercase, UTF-8 after ASCII.
NAMES = ["b", "B", "a-b", "a.b", "a", "Z", "\u00e9t\u00e9", "_u", "0"]


@pytest.fixture
def tricky(kv):
    kv.ok("set", "a/inner", "dir a")  # "a" is a directory
    for name in NAMES:
        if name != "a":
            kv.ok("set", name, "v")
    kv.ok("set", "a-b2/x", "dir a-b2")
    return kv


def byte_sorted(items):
    return sorted(items, key=lambda s: s.encode())


def nul_items(out):
    """The items of -z output: each ended by a NUL."""
    assert out.endswith(b"\0") or out == b""
    return [item.decode() for item in out.split(b"\0")[:-1]]


def test_list_sorts_by_bytes_and_marks_directories(tricky):
    # -z: the names raw (the text output quotes the UTF-8 one, as git does).
    lines = nul_items(tricky.ok("list", "-z").out)
    names = [n for n in NAMES if n != "a"] + ["a", "a-b2"]
    assert [line.rstrip("/") for line in lines] == byte_sorted(names)
    assert "a/" in lines and "a-b2/" in lines and "a-b" in lines
    assert '"\\303\\251t\\303\\251"' in tricky.ok("list").lines


def test_list_json_gives_names_and_kinds(tricky):
    doc = tricky.ok("--json", "list").json()
    kinds = {e["name"]: e["kind"] for e in doc}
    assert kinds["a"] == "dir" and kinds["a-b2"] == "dir" and kinds["b"] == "value"
    assert [e["name"] for e in doc] == byte_sorted(kinds)
    assert all(set(e) == {"name", "kind"} for e in doc)


def test_list_of_a_subdirectory(kv):
    kv.ok("set", "posts/2016/a.md", "1")
    kv.ok("set", "posts/2016/b.md", "2")
    kv.ok("set", "posts/index", "3")
    assert kv.ok("list", "posts").lines == ["2016/", "index"]
    assert kv.ok("list", "posts/2016").lines == ["a.md", "b.md"]


def test_list_accepts_the_trailing_slash_it_prints(kv):
    kv.ok("set", "posts/x", "1")
    assert kv.ok("list", "posts/").lines == ["x"]


def test_list_of_a_value_or_an_absent_path_is_exit_1(kv):
    kv.ok("set", "d/v", "1")
    r = kv.fails(1, "list", "d/v")
    assert "d/v" in r.err
    r = kv.fails(1, "list", "nothing")
    assert "nothing" in r.err


def test_tree_prints_full_paths_in_byte_order(kv):
    paths = ["a/x", "a-b/x", "a.b", "a/y/z", "B", "b/c/d/e", "\u00e9/x"]
    for p in paths:
        kv.ok("set", p, p)
    assert nul_items(kv.ok("tree", "-z").out) == byte_sorted(paths)


def test_tree_output_is_what_lc_all_c_sort_gives(kv):
    paths = ["x/a-b/1", "x/a/1", "x/a.b", "x/A", "x/a0"]
    for p in paths:
        kv.ok("set", p, "v")
    out = kv.ok("tree").out
    if shutil.which("sort"):
        sorted_out = subprocess.run(
            ["sort"], input=out, capture_output=True, env={"LC_ALL": "C"}, check=True
        ).stdout
        assert out == sorted_out


def test_tree_of_a_directory_gives_full_paths_under_it(kv):
    kv.ok("set", "a/b/c", "1")
    kv.ok("set", "a/d", "2")
    kv.ok("set", "e", "3")
    assert kv.ok("tree", "a/b").lines == ["a/b/c"]
    assert kv.ok("tree", "a").lines == ["a/b/c", "a/d"]
    assert kv.ok("tree", "a/").lines == ["a/b/c", "a/d"]


def test_tree_of_a_value_is_that_value(kv):
    kv.ok("set", "a/b", "1")
    assert kv.ok("tree", "a/b").lines == ["a/b"]


def test_tree_of_an_absent_path_is_exit_1(kv):
    kv.ok("set", "a/b", "1")
    r = kv.fails(1, "tree", "zz")
    assert "zz" in r.err


def test_tree_json(kv):
    kv.ok("set", "a/b", "1")
    kv.ok("set", "c", "2")
    assert kv.ok("--json", "tree").json() == [
        {"path": "a/b", "kind": "value"},
        {"path": "c", "kind": "value"},
    ]


def test_listings_of_another_branch(kv):
    kv.ok("set", "main-only", "1")
    kv.ok("branch", "create", "dev")
    kv.ok("--branch", "dev", "set", "dev-only", "1")
    assert kv.ok("list").lines == ["main-only"]
    assert kv.ok("--branch", "dev", "tree").lines == ["dev-only", "main-only"]


def git_fixture(tmp_path):
    """A git repository holding every kind gitkv reads but does not make."""
    git = shutil.which("git")
    if not git:
        pytest.skip("git not installed")
    repo = tmp_path / "repo"
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def g(*args, **kw):
        return subprocess.run(
            [git, "-C", str(repo), *args], check=True, capture_output=True, env=env, **kw
        ).stdout.decode().strip()

    subprocess.run([git, "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    (repo / "plain").write_text("p")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "link").symlink_to("plain")
    g("add", "plain", "run.sh", "link")
    blob = g("hash-object", "-w", "plain")
    g("update-index", "--add", "--cacheinfo", f"160000,{blob},sub")
    g("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "kinds")
    return repo


def test_list_json_kinds_of_entries_made_by_git(kv, tmp_path):
    repo = git_fixture(tmp_path)
    r = kv.run("--store", f"git:{repo}", "--json", "list")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip("git backend not built: " + r.err.strip())
    assert r.rc == 0, r
    assert r.json() == [
        {"name": "link", "kind": "link"},
        {"name": "plain", "kind": "value"},
        {"name": "run.sh", "kind": "exec"},
        {"name": "sub", "kind": "submodule"},
    ]


def test_json_gives_names_that_are_not_utf8_as_base64_objects(kv):
    kv.ok("set", b"bad\xff\xfename", "v")
    kv.ok("set", b"ok\xc3\xa9", "v")
    assert kv.ok("list", "-z").out == b"bad\xff\xfename\0ok\xc3\xa9\0"
    assert kv.ok("list").out == b'"bad\\377\\376name"\n"ok\\303\\251"\n'
    assert [e["name"] for e in kv.ok("--json", "list").json()] == [
        {"base64": base64.b64encode(b"bad\xff\xfename").decode()}, "ok\u00e9"]
    doc = kv.ok("--json", "tree").json()[0]["path"]
    assert base64.b64decode(doc["base64"]) == b"bad\xff\xfename"


def test_entries_made_by_git_read_as_values_except_submodules(kv, tmp_path):
    repo = git_fixture(tmp_path)
    store = ["--store", f"git:{repo}"]
    r = kv.run(*store, "tree")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip("git backend not built: " + r.err.strip())
    assert r.lines == ["link", "plain", "run.sh", "sub"]
    assert kv.ok(*store, "get", "run.sh").out == b"#!/bin/sh\n"
    assert kv.ok(*store, "get", "link").out == b"plain"  # a link's target
    r = kv.fails(1, *store, "get", "sub")
    assert "'sub'" in r.err and "submodule" in r.err


@pytest.mark.parametrize("raw,shown", [
    (b"sur\xed\xa0\x80", None),          # a UTF-16 surrogate
    (b"over\xc0\xaf", None),              # an overlong '/'
    (b"big\xf4\x90\x80\x80", None),      # above U+10FFFF
    (b"cut\xe2\x82", None),               # a truncated sequence
    (b"emoji\xf0\x9f\x98\x80", "emoji\U0001F600"),      # valid, 4 bytes
    (b"q\"b\\s", "q\"b\\s"),
])
def test_json_escaper_on_names(kv, raw, shown):
    kv.ok("set", raw, "v")
    r = kv.ok("--json", "list")
    assert r.out.isascii() or b"\xf0\x9f\x98\x80" in r.out
    # Not UTF-8: the exact bytes, as {"base64": ...} in place of the string.
    want = shown if shown is not None else {"base64": base64.b64encode(raw).decode()}
    assert r.json() == [{"name": want, "kind": "value"}]
