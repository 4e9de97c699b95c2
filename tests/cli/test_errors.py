"""Bad input: exit statuses, one 'kvctl: ' line naming the culprit, and a
store left exactly as it was."""

import pytest

INVALID_PATHS = ["a//b", "../x", ".git/x", "a/./b", "/lead", "trail/", "x/..", "a/.GIT/b"]


@pytest.fixture
def filled(kv):
    kv.ok("set", "a/b", "1")
    kv.ok("set", "c", "2")
    return kv


@pytest.mark.parametrize("path", INVALID_PATHS)
@pytest.mark.parametrize("cmd", [["set", "{}", "v"], ["get", "{}"], ["remove", "{}"]])
def test_invalid_path_is_exit_2_naming_it_and_changes_nothing(filled, cmd, path):
    before = filled.state()
    args = [a.format(path) for a in cmd]
    r = filled.fails(2, *args)
    assert f"'{path}'" in r.err
    assert filled.state() == before


@pytest.mark.parametrize("path", ["a//b", "../x", ".git/x", "a/./b"])
@pytest.mark.parametrize("cmd", ["list", "tree", "log"])
def test_invalid_path_for_listings_is_exit_2(filled, cmd, path):
    r = filled.fails(2, cmd, path)
    assert f"'{path}'" in r.err


def test_invalid_path_from_stdin_does_not_create_the_store(kv):
    kv.fails(2, "set", "a//b", input=b"value")
    assert not (kv.cwd / ".gitkv").exists()


def test_setting_the_root_is_exit_2(filled):
    before = filled.state()
    filled.fails(2, "set", "", "v")
    filled.fails(2, "remove", "")
    assert filled.state() == before


def test_get_of_the_root_is_exit_1(filled):
    filled.fails(1, "get", "")


def test_error_line_stays_one_line_for_a_path_holding_a_newline(filled):
    r = filled.fails(1, "get", "new\nline")
    assert "new\\x0aline" in r.err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["get"],
        ["get", "a", "b"],
        ["set"],
        ["set", "a", "b", "c"],
        ["remove"],
        ["list", "a", "b"],
        ["snapshot", "x"],
        ["init", "x"],
        ["branch", "create"],
        ["branch", "delete"],
        ["branch", "rename", "a", "b"],
        ["branch", "create", "a", "b", "c"],
        ["get", "--bogus", "a"],
        ["--bogus", "get", "a"],
        ["get", "a", "-m", "msg"],
        ["list", "-n", "3"],
        ["log", "-n"],
        ["log", "-n", "-1"],
        ["log", "-n", "abc"],
        ["log", "-n", "3x"],
        ["--store"],
        ["set", "k", "--author"],
        ["help", "frobnicate"],
    ],
)
def test_bad_usage_is_exit_2(filled, args):
    before = filled.state()
    filled.fails(2, *args)
    assert filled.state() == before


def test_unknown_command_is_named(kv):
    r = kv.fails(2, "frobnicate")
    assert "frobnicate" in r.err


def test_unknown_option_is_named(kv):
    r = kv.fails(2, "get", "--bogus", "a")
    assert "--bogus" in r.err


def test_invalid_branch_name_is_exit_2(filled):
    for name in ["a..b", "-x", "has space", "end.lock", "@"]:
        r = filled.fails(2, "--branch", name, "get", "c")
        assert name in r.err


def test_json_error_document_on_stdout(filled):
    r = filled.fails(1, "--json", "get", "nope", stdout_empty=False)
    doc = r.json()
    assert set(doc) == {"error", "code"} and doc["code"] == 1
    assert "nope" in doc["error"]
    r = filled.fails(2, "get", "a//b", "--json", stdout_empty=False)
    assert r.json()["code"] == 2
    r = filled.fails(4, "--json", "--store", "lmdb:absent", "list", stdout_empty=False)
    assert r.json()["code"] == 4


def test_json_error_replaces_partial_output(filled):
    filled.ok("branch", "create", "dev")
    r = filled.fails(1, "--json", "--branch", "nope", "log", stdout_empty=False)
    assert r.json()["code"] == 1


def test_failed_commands_print_nothing_on_stdout(filled):
    for args in (["get", "zz"], ["list", "zz"], ["tree", "zz"], ["remove", "zz"]):
        filled.fails(1, *args)


def test_a_result_that_cannot_be_written_is_exit_4(filled):
    import subprocess

    from conftest import KVCTL

    try:
        full = open("/dev/full", "wb")
    except OSError:
        pytest.skip("no /dev/full")
    with full:
        p = subprocess.run([KVCTL, "get", "c"], stdout=full, stderr=subprocess.PIPE,
                           cwd=filled.cwd, env=filled.env, timeout=60)
    assert p.returncode == 4
    assert p.stderr.decode().startswith("kvctl: ") and "stdout" in p.stderr.decode()
