"""log and snapshot: history newest first, limits, and per-path history."""

import base64
import re

from conftest import AUTHOR_EMAIL, AUTHOR_NAME

LINE = re.compile(r"^([0-9a-f]{40}) (.*)$")


def make_history(kv):
    """Five commits touching a, d/x and b; returns their hashes, oldest first."""
    hashes = []
    for args in (["set", "a", "1"], ["set", "d/x", "1"], ["set", "b", "1"],
                 ["set", "a", "2"], ["remove", "d/x"]):
        kv.ok(*args)
        hashes.append(kv.head())
    return hashes


def test_log_lists_commits_newest_first_as_hash_and_subject(kv):
    hashes = make_history(kv)
    lines = kv.ok("log").lines
    assert [LINE.match(x).group(1) for x in lines] == hashes[::-1]
    assert [LINE.match(x).group(2) for x in lines] == [
        "remove d/x", "set a", "set b", "set d/x", "set a"]


def test_log_subject_is_the_first_line_of_the_message(kv):
    kv.ok("set", "k", "v", "-m", "subject line\n\nbody text\n")
    assert kv.ok("log").lines[0].endswith(" subject line")
    assert kv.ok("--json", "log").json()[0]["message"] == "subject line\n\nbody text\n"


def test_log_n_limits_the_count(kv):
    hashes = make_history(kv)
    assert [x.split()[0] for x in kv.ok("log", "-n", "2").lines] == hashes[:-3:-1]
    assert [x.split()[0] for x in kv.ok("log", "-n2").lines] == hashes[:-3:-1]
    assert len(kv.ok("log", "--max-count=3").lines) == 3
    assert kv.ok("log", "-n", "0").out == b""
    assert len(kv.ok("log", "-n", "100").lines) == 5


def test_log_path_shows_only_commits_that_changed_it(kv):
    h = make_history(kv)
    assert [x.split()[0] for x in kv.ok("log", "a").lines] == [h[3], h[0]]
    assert [x.split()[0] for x in kv.ok("log", "b").lines] == [h[2]]
    # A directory changes when anything under it does; its removal counts.
    assert [x.split()[0] for x in kv.ok("log", "d").lines] == [h[4], h[1]]
    assert [x.split()[0] for x in kv.ok("log", "d/x").lines] == [h[4], h[1]]
    assert kv.ok("log", "never-there").out == b""


def test_log_path_and_n_together(kv):
    h = make_history(kv)
    assert [x.split()[0] for x in kv.ok("log", "a", "-n", "1").lines] == [h[3]]
    assert [x.split()[0] for x in kv.ok("log", "-n", "1", "d").lines] == [h[4]]


def test_log_path_sees_a_value_replaced_by_a_directory(kv):
    kv.ok("set", "p", "value")
    kv.ok("set", "p/q", "now a directory")
    kv.ok("set", "other", "x")
    assert [x.split(" ", 1)[1] for x in kv.ok("log", "p").lines] == ["set p/q", "set p"]


def test_log_json(kv):
    h = make_history(kv)
    doc = kv.ok("--json", "log").json()
    assert [c["hash"] for c in doc] == h[::-1]
    for i, c in enumerate(doc):
        assert set(c) == {"hash", "parents", "author", "email", "time", "message"}
        assert c["author"] == AUTHOR_NAME and c["email"] == AUTHOR_EMAIL
        assert isinstance(c["time"], int) and c["time"] > 1_500_000_000
        assert c["parents"] == ([] if i == len(doc) - 1 else [doc[i + 1]["hash"]])
    assert doc[0]["message"] == "remove d/x\n"
    assert kv.ok("--json", "log", "-n", "1", "b").json()[0]["hash"] == h[2]


def test_snapshot_is_the_head(kv):
    h = make_history(kv)
    out = kv.ok("snapshot").out
    assert out == h[-1].encode() + b"\n"
    assert kv.ok("--json", "snapshot").json() == {"branch": "main", "hash": h[-1]}
    assert kv.ok("log", "-n", "1").text.startswith(h[-1])


def test_log_and_snapshot_of_another_branch(kv):
    kv.ok("set", "a", "1")
    base = kv.head()
    kv.ok("branch", "create", "dev")
    kv.ok("--branch", "dev", "set", "b", "1")
    dev = kv.head("--branch", "dev")
    assert dev != base and kv.head() == base
    assert kv.commits("--branch", "dev") == [dev, base]
    assert kv.commits() == [base]


def test_log_json_message_with_invalid_utf8_round_trips_as_base64(kv):
    kv.ok("set", "k", "v", "-m", b"caf\xe9 \xc3\xa9 \"q\"\t\x01")
    msg = kv.ok("--json", "log").json()[0]["message"]
    assert base64.b64decode(msg["base64"]) == b"caf\xe9 \xc3\xa9 \"q\"\t\x01\n"
    kv.ok("set", "k", "w", "-m", "caf\u00e9 \"q\"\t\x01")
    assert kv.ok("--json", "log").json()[0]["message"] == "caf\u00e9 \"q\"\t\x01\n"
