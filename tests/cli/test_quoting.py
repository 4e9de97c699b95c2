"""Names in text output: quoted as git quotes paths, raw with -z.

A key may hold a newline, a tab, a quote, a backslash, an escape byte or
bytes that are not UTF-8. list, tree and branch must print such a name
so that it stays one line and no byte of it reaches the terminal as a
command: the way git prints paths with core.quotePath=true. The test
store is a git repository, so that git itself says what it prints for
the same names (`git ls-tree --name-only`, `git ls-tree -z`).
"""

import shutil
import subprocess

import pytest

from conftest import HEX40

# Every byte class the quoting treats apart, one name each.
NAMES = [
    b"a\nb",  # newline: one name must not become two lines
    b"tab\there",
    b'say "hi"',
    b"back\\slash",
    b"esc\x1b[31mred",  # an escape sequence
    b"bell\x07",
    b"cr\r",
    b"all\a\b\t\n\v\f\r",
    b"ctl\x01\x1f",
    b"del\x7f",
    b"caf\xc3\xa9",  # UTF-8: quoted too, as core.quotePath does
    b"bad\xff\xfe",  # not UTF-8
    b"c1\xc2\x9b",  # a C1 control (CSI) in UTF-8
    b"plain name",  # a space is not quoted
    b"plain",
]

git = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def nul_items(out):
    assert out == b"" or out.endswith(b"\0"), out
    return out.split(b"\0")[:-1]


@pytest.fixture
def store(kv, tmp_path):
    """A git store holding every name of NAMES at the root, and under d/."""
    repo = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True, env=kv.env)
    args = ["--store", f"git:{repo}"]
    for name in NAMES:
        kv.ok(*args, "set", name, b"v")
        kv.ok(*args, "set", b"d/" + name, b"v", "-m", b"set " + name)
    return args, repo


def git_out(kv, repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, check=True, env=kv.env
    ).stdout


def terminal_safe(out):
    """No control byte but the newlines that end items, no C1, no DEL."""
    return all(b >= 0x20 and b != 0x7F for b in out.replace(b"\n", b"")) and all(
        b < 0x80 for b in out
    )


@git
def test_list_quotes_as_git_ls_tree(kv, store):
    args, repo = store
    ours = kv.ok(*args, "list", "d").out
    theirs = git_out(kv, repo, "-c", "core.quotePath=true", "ls-tree", "--name-only", "HEAD:d")
    # Values only: git's tree order is the byte order of the raw names.
    assert ours == theirs
    assert len(ours.splitlines()) == len(NAMES)
    assert terminal_safe(ours)


@git
def test_list_z_is_raw_as_git_ls_tree_z(kv, store):
    args, repo = store
    ours = nul_items(kv.ok(*args, "list", "-z", "d").out)
    theirs = nul_items(git_out(kv, repo, "ls-tree", "-z", "--name-only", "HEAD:d"))
    assert ours == sorted(NAMES)  # by bytes
    assert sorted(ours) == sorted(theirs)


@git
def test_tree_quotes_full_paths_as_git(kv, store):
    args, repo = store
    ours = kv.ok(*args, "tree").out.splitlines()
    theirs = git_out(kv, repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert sorted(ours) == sorted(theirs)
    assert len(ours) == 2 * len(NAMES)
    raw = nul_items(kv.ok(*args, "tree", "-z").out)
    assert raw == sorted(NAMES + [b"d/" + n for n in NAMES])
    theirs_raw = nul_items(git_out(kv, repo, "ls-tree", "-r", "-z", "--name-only", "HEAD"))
    assert sorted(raw) == sorted(theirs_raw)


def test_exact_quoting(kv):
    expect = {
        b"a\nb": b'"a\\nb"',
        b"all\a\b\t\n\v\f\r": b'"all\\a\\b\\t\\n\\v\\f\\r"',
        b'q"': b'"q\\""',
        b"b\\s": b'"b\\\\s"',
        b"esc\x1b": b'"esc\\033"',
        b"del\x7f": b'"del\\177"',
        b"\xc3\xa9": b'"\\303\\251"',
        b"sp ace": b"sp ace",
        b"ok": b"ok",
    }
    for name in expect:
        kv.ok("set", name, "v")
    assert sorted(kv.ok("list").out.splitlines()) == sorted(expect.values())
    kv.ok("set", b"dir\n/x", "v")
    assert b'"dir\\n/"' in kv.ok("list").out.splitlines()
    assert b'"dir\\n/x"' in kv.ok("tree").out.splitlines()
    assert b"dir\n/\0" in kv.ok("list", "-z").out


def test_quoted_output_round_trips_to_the_names(kv):
    """A script can decode each line back into exactly the stored bytes."""
    for name in NAMES:
        kv.ok("set", name, "v")
    for line in kv.ok("list").out.splitlines():
        if line.startswith(b'"'):
            # C-style unquoting: Python's unicode_escape handles \n \t \\ \"
            # and octal escapes byte for byte through latin-1.
            name = line[1:-1].decode("latin-1").encode("latin-1").decode(
                "unicode_escape").encode("latin-1")
        else:
            name = line
        assert name in NAMES, line


def test_log_subjects_never_reach_the_terminal_raw(kv):
    kv.ok("set", "k", "1", "-m", b"title \x1b]0;pwned\x07 end")
    kv.ok("set", "k", "2", "-m", b"caf\xc3\xa9 is fine")
    kv.ok("set", "k", "3", "-m", b"bad \xff byte")
    kv.ok("set", "k", "4", "-m", b"tab\there")
    kv.ok("set", "k", "5", "-m", b'"starts with a quote"')
    kv.ok("set", "k", "6", "-m", b"c1 \xc2\x9b[2J")
    lines = kv.ok("log").out.splitlines()
    subjects = [line.split(b" ", 1)[1] for line in lines]
    assert all(HEX40.match(line.split(b" ")[0].decode()) for line in lines)
    assert subjects == [
        b'"c1 \\302\\233[2J"',
        b'"\\"starts with a quote\\""',
        b'"tab\\there"',
        b'"bad \\377 byte"',
        b"caf\xc3\xa9 is fine",  # valid UTF-8 without controls stays as it is
        b'"title \\033]0;pwned\\a end"',
    ]
    for line in lines:
        assert not any(b < 0x20 or b == 0x7F for b in line), line
    # -z: raw, NUL-ended.
    raw = nul_items(kv.ok("log", "-z").out)
    assert [item.split(b" ", 1)[1] for item in raw][-1] == b"title \x1b]0;pwned\x07 end"
    assert len(raw) == 6


def test_branch_names_are_quoted(kv):
    kv.ok("set", "k", "v")
    kv.ok("branch", "create", b"caf\xc3\xa9")
    kv.ok("branch", "create", 'q"uote')
    lines = kv.ok("branch").out.splitlines()
    assert lines == [b'"caf\\303\\251"', b"main", b'"q\\"uote"']
    assert nul_items(kv.ok("branch", "-z").out) == [b"caf\xc3\xa9", b"main", b'q"uote']


def test_errors_and_notes_stay_one_safe_line(kv):
    kv.ok("set", "k", "v")
    r = kv.fails(1, "get", b"no\x1b[2Jpe\xc2\x9b")
    assert "\x1b" not in r.err and "\\x1b" in r.err
    assert "\x9b" not in r.err
    r = kv.run("-v", "--store", b"s\x1bx", "init")
    assert r.rc == 0 and "\x1b" not in r.err and "\\x1b" in r.err


def test_conflict_paths_are_quoted(kv):
    kv.ok("set", b"a\nb", "base")
    kv.ok("branch", "create", "other")
    kv.ok("set", b"a\nb", "ours")
    kv.ok("--branch", "other", "set", b"a\nb", "theirs")
    r = kv.run("merge", "other")
    assert r.rc == 3
    assert 'kvctl: conflict: "a\\nb": ' in r.err
    assert len(r.err.splitlines()) == 2


@pytest.mark.parametrize("cmd", [["get", "k"], ["set", "k", "v"], ["snapshot"]])
def test_z_is_refused_where_it_means_nothing(kv, cmd):
    r = kv.fails(2, cmd[0], "-z", *cmd[1:])
    assert "-z" in r.err


def test_z_with_an_empty_listing_prints_nothing(kv):
    kv.ok("init")
    assert kv.ok("list", "-z").out == b""
    assert kv.ok("tree", "-z").out == b""
    assert kv.ok("log", "-z").out == b""
