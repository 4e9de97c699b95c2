"""get, set and remove: values come back byte for byte, writes are commits."""

import base64

import pytest

from conftest import AUTHOR_EMAIL, AUTHOR_NAME


def test_set_then_get_gives_the_exact_bytes_without_a_newline(kv):
    kv.ok("set", "greeting", "hello")
    assert kv.ok("get", "greeting").out == b"hello"


def test_binary_value_round_trips_through_stdin(kv):
    data = bytes(range(256)) + b"\0\0tail without newline"
    kv.ok("set", "bin/all-bytes", input=data)
    assert kv.ok("get", "bin/all-bytes").out == data


def test_dash_reads_the_value_from_stdin(kv):
    kv.ok("set", "k", "-", input=b"from\0stdin")
    assert kv.ok("get", "k").out == b"from\0stdin"


def test_empty_value_is_a_value(kv):
    kv.ok("set", "empty", input=b"")
    assert kv.ok("get", "empty").out == b""
    assert kv.ok("list").lines == ["empty"]


def test_large_value_from_stdin(kv):
    data = bytes((i * 7919) & 0xFF for i in range(3 << 20))
    kv.ok("set", "big", input=data)
    assert kv.ok("get", "big").out == data


def test_value_that_looks_like_an_option_after_double_dash(kv):
    kv.ok("set", "--", "n", "-5")
    assert kv.ok("get", "n").out == b"-5"


def test_set_replaces_a_value_and_a_directory(kv):
    kv.ok("set", "a", "1")
    kv.ok("set", "a", "2")
    assert kv.ok("get", "a").out == b"2"
    kv.ok("set", "d/x", "1")
    kv.ok("set", "d", "now a value")
    assert kv.ok("get", "d").out == b"now a value"
    kv.fails(1, "get", "d/x")


def test_set_makes_intermediate_directories(kv):
    kv.ok("set", "posts/2016/marrakech.md", "# Marrakech\n")
    assert kv.ok("list").lines == ["posts/"]
    assert kv.ok("list", "posts").lines == ["2016/"]
    assert kv.ok("get", "posts/2016/marrakech.md").out == b"# Marrakech\n"


def test_each_write_is_one_commit(kv):
    kv.ok("set", "a", "1")
    kv.ok("set", "b", "2")
    kv.ok("remove", "a")
    assert len(kv.commits()) == 3


def test_setting_the_same_value_makes_no_commit(kv):
    kv.ok("set", "k", "v")
    before = kv.head()
    r = kv.ok("--json", "set", "k", "v")
    assert r.json() == {"branch": "main", "hash": before, "changed": False}
    assert kv.head() == before
    assert len(kv.commits()) == 1


def test_set_json_reports_the_new_head(kv):
    doc = kv.ok("--json", "set", "k", "v").json()
    assert doc["changed"] is True and doc["branch"] == "main"
    assert doc["hash"] == kv.head()


def test_remove_a_value(kv):
    kv.ok("set", "a", "1")
    kv.ok("set", "b", "2")
    kv.ok("remove", "a")
    kv.fails(1, "get", "a")
    assert kv.ok("list").lines == ["b"]


def test_remove_a_directory_removes_everything_under_it(kv):
    kv.ok("set", "d/x", "1")
    kv.ok("set", "d/e/y", "2")
    kv.ok("set", "keep", "3")
    kv.ok("remove", "d")
    assert kv.ok("tree").lines == ["keep"]


def test_removing_the_last_entry_removes_the_directory(kv):
    kv.ok("set", "d/only", "1")
    kv.ok("set", "top", "1")
    kv.ok("remove", "d/only")
    assert kv.ok("list").lines == ["top"]
    kv.fails(1, "list", "d")


def test_remove_of_an_absent_path_is_exit_1_and_no_commit(kv):
    kv.ok("set", "a", "1")
    before = kv.state()
    r = kv.fails(1, "remove", "nope")
    assert "nope" in r.err
    kv.fails(1, "remove", "a/b")
    assert kv.state() == before


def test_get_of_an_absent_path_is_exit_1_naming_it(kv):
    kv.ok("set", "a", "1")
    r = kv.fails(1, "get", "missing/key")
    assert "missing/key" in r.err


def test_get_of_a_directory_is_exit_1(kv):
    kv.ok("set", "d/x", "1")
    r = kv.fails(1, "get", "d")
    assert "'d'" in r.err


def test_default_messages_end_with_a_newline(kv):
    kv.ok("set", "a", "1")
    kv.ok("remove", "a")
    kv.ok("set", "b", "1")
    msgs = [c["message"] for c in kv.ok("--json", "log").json()]
    assert msgs == ["set b\n", "remove a\n", "set a\n"]


def test_message_option_anywhere_on_the_line(kv):
    kv.ok("set", "-m", "first", "a", "1")
    kv.ok("set", "b", "-m", "second", "2")
    kv.ok("set", "c", "3", "--message", "third\n")
    kv.ok("set", "d", "4", "--message=fourth")
    kv.ok("remove", "a", "-m", "fifth")
    msgs = [c["message"] for c in kv.ok("--json", "log").json()]
    assert msgs == ["fifth\n", "fourth\n", "third\n", "second\n", "first\n"]
    assert kv.ok("log", "-n", "1").text.endswith(" fifth\n")


def test_author_option_sets_name_and_email(kv):
    kv.ok("set", "a", "1", "--author", "Ada Lovelace <ada@example.org>")
    kv.ok("set", "b", "2")
    log = kv.ok("--json", "log").json()
    assert (log[1]["author"], log[1]["email"]) == ("Ada Lovelace", "ada@example.org")
    assert (log[0]["author"], log[0]["email"]) == (AUTHOR_NAME, AUTHOR_EMAIL)


@pytest.mark.parametrize("author", ["Ada", "Ada <ada@example.org", "<a> trailing", "A <a<b>"])
def test_malformed_author_is_exit_2_and_creates_nothing(kv, author):
    r = kv.fails(2, "set", "a", "1", "--author", author)
    assert "author" in r.err
    assert not (kv.cwd / ".gitkv").exists()


def test_get_json_text_value(kv):
    kv.ok("set", "t", "caf\u00e9 \"quoted\"\n")
    doc = kv.ok("--json", "get", "t").json()
    assert doc == {
        "path": "t",
        "kind": "value",
        "encoding": "utf-8",
        "value": "caf\u00e9 \"quoted\"\n",
    }


def test_get_json_binary_value_is_base64(kv):
    data = b"\xff\xfe\0binary"
    kv.ok("set", "b", input=data)
    doc = kv.ok("--json", "get", "b").json()
    assert doc["encoding"] == "base64"
    assert base64.b64decode(doc["value"]) == data


def test_json_escapes_control_characters(kv):
    data = "nul\0 tab\t bell\x07 del\x7f ls\u2028"
    kv.ok("set", "c", input=data.encode())
    r = kv.ok("--json", "get", "c")
    assert r.json()["value"] == data
    assert b"\0" not in r.out and b"\x07" not in r.out and b"\t" not in r.out


def test_path_segments_may_hold_any_byte_but_slash(kv):
    for path in ["sp ace", "tab\tname", "uni\u00e9", "dots..x", ".hidden"]:
        kv.ok("set", path, path)
        assert kv.ok("get", path).out == path.encode()


def test_verbose_says_what_was_done_on_stderr_and_quiet_says_nothing(kv):
    r = kv.run("-v", "set", "k", "v")
    assert r.rc == 0 and r.out == b""
    assert r.err == f"kvctl: committed {kv.head()} on branch 'main'\n"
    r = kv.run("set", "k", "v", "--verbose")
    assert r.rc == 0 and "nothing changed" in r.err
    r = kv.run("-v", "-q", "set", "k", "w")
    assert (r.rc, r.out, r.err) == (0, b"", "")
