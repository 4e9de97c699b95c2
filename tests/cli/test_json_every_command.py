"""--json on every command, and --help with examples on every command:
each document parses with a JSON parser and has the members docs/cli.md
lists; each failure is the error document {"error","code"} with the exit
status as its code. No command prints colour."""

import base64
import json
import shutil

import pytest

from conftest import HEX40

GIT = shutil.which("git")
COMMANDS = ["init", "get", "set", "remove", "list", "tree", "log", "branch", "reflog",
            "snapshot", "merge", "diff", "revert", "watch", "dot", "export", "import", "gc",
            "fsck", "stats", "upgrade", "help"]


@pytest.fixture(params=["lmdb", "git"])
def store(request, kv):
    if request.param == "git" and GIT is None:
        pytest.skip("git not installed")
    name = f"{request.param}:{kv.cwd / 'st'}"
    r = kv.run("--store", name, "--json", "init")
    if r.rc == 4 and "not built" in r.err:
        pytest.skip(r.err)
    assert r.rc == 0, r
    assert r.json() == {"store": name, "branch": "main", "created": True}
    return ["--store", name]


def doc(kv, *args):
    """Run with --json; exit 0, one document on stdout, nothing else."""
    r = kv.ok("--json", *args)
    assert r.out.endswith(b"\n") and r.out.count(b"\n") == 1, r.out
    assert b"\x1b" not in r.out
    return json.loads(r.out)


def error_doc(kv, code, *args):
    r = kv.run("--json", *args)
    assert r.rc == code, r
    d = json.loads(r.out)
    assert d["code"] == code and isinstance(d["error"], str) and d["error"], d
    assert r.err.startswith("kvctl: ")
    return d


def test_every_command_speaks_json(kv, store, tmp_path):
    s = store
    w = doc(kv, *s, "set", "a/b", "1")
    assert set(w) == {"branch", "hash", "changed"} and HEX40.match(w["hash"])
    first = w["hash"]
    assert doc(kv, *s, "set", "a/c", "2")["changed"] is True
    assert doc(kv, *s, "get", "a/b") == {"path": "a/b", "kind": "value", "encoding": "utf-8",
                                          "value": "1"}
    assert doc(kv, *s, "list") == [{"name": "a", "kind": "dir"}]
    assert doc(kv, *s, "tree") == [{"path": "a/b", "kind": "value"},
                                   {"path": "a/c", "kind": "value"}]
    assert [set(c) for c in doc(kv, *s, "log")] == [
        {"hash", "parents", "author", "email", "time", "message"}] * 2
    head = doc(kv, *s, "snapshot")
    assert set(head) == {"branch", "hash"}
    assert doc(kv, *s, "branch", "create", "side", first) == {"name": "side", "head": first}
    assert [b["name"] for b in doc(kv, *s, "branch")] == ["main", "side"]
    assert set(doc(kv, *s, "reflog")[0]) == {"old", "new", "name", "email", "time", "message"}
    assert doc(kv, *s, "--branch", "side", "set", "s", "1")["changed"] is True
    m = doc(kv, *s, "merge", "side")
    assert set(m) == {"branch", "hash", "changed"} and m["changed"] is True
    assert doc(kv, *s, "diff", first, "main") == [{"op": "A", "path": "a/c"},
                                                  {"op": "A", "path": "s"}]
    r = doc(kv, *s, "revert", first)
    assert r["hash"] == first and r["previous"] == m["hash"]
    g = doc(kv, *s, "dot")
    assert set(g) == {"nodes", "edges"}
    e = doc(kv, *s, "export", str(tmp_path / "out"))
    assert set(e) == {"dir", "path", "branch", "files", "bytes", "skipped"} and e["files"] == 1
    i = doc(kv, *s, "import", str(tmp_path / "out"))
    assert set(i) == {"branch", "hash", "changed", "files", "bytes", "skipped"}
    assert i["changed"] is False
    assert doc(kv, *s, "remove", "a")["changed"] is True
    assert doc(kv, *s, "branch", "delete", "side")["name"] == "side"
    assert doc(kv, *s, "init")["created"] is False
    assert doc(kv, *s, "fsck") == {"problems": []}
    st = doc(kv, *s, "stats")
    assert set(st) == {"backend", "objects", "refs", "branches", "branch", "backend_stats"}
    assert set(st["objects"]) == {"commit", "tree", "blob", "tag"}
    up = doc(kv, *s, "upgrade")
    assert set(up) in ({"backend", "from", "to", "upgraded"}, {"backend", "upgraded"})
    r = kv.run(*s, "--json", "gc")
    g = json.loads(r.out)
    if r.rc == 0:
        assert (set(g) == {"supported", "message"} and g["supported"] is False) or set(g) == {
            "supported", "objects_removed", "bytes_removed", "objects_kept", "reflogs_removed"}
    else:  # a backend that cannot remove objects: the error document
        assert r.rc == 4 and g["code"] == 4 and "does not remove objects" in g["error"]


def test_every_command_gives_the_error_document(kv, store, tmp_path):
    s = store
    kv.ok(*s, "set", "k", "v")
    error_doc(kv, 1, *s, "get", "nosuch")
    error_doc(kv, 2, *s, "set", "a//b", "v")
    error_doc(kv, 1, *s, "remove", "nosuch")
    error_doc(kv, 1, *s, "list", "nosuch")
    error_doc(kv, 1, *s, "tree", "nosuch")
    error_doc(kv, 2, *s, "log", "-n", "x")
    error_doc(kv, 1, *s, "--branch", "nosuch", "snapshot")
    error_doc(kv, 3, *s, "branch", "create", "main")
    error_doc(kv, 1, *s, "reflog", "nosuch")
    error_doc(kv, 1, *s, "merge", "nosuch")
    error_doc(kv, 1, *s, "diff", "main", "nosuch")
    error_doc(kv, 1, *s, "revert", "nosuch")
    error_doc(kv, 2, *s, "watch", "a//b")
    error_doc(kv, 4, "--store", f"lmdb:{tmp_path / 'none'}", "dot")
    error_doc(kv, 1, *s, "export", str(tmp_path / "x"), "nosuch")
    error_doc(kv, 1, *s, "import", str(tmp_path / "nosuch"))
    error_doc(kv, 4, "--store", f"lmdb:{tmp_path / 'none'}", "gc")
    error_doc(kv, 4, "--store", f"lmdb:{tmp_path / 'none'}", "fsck")
    error_doc(kv, 1, *s, "--branch", "nosuch", "stats")
    error_doc(kv, 2, "help", "nosuch")
    error_doc(kv, 2, "nosuch")
    error_doc(kv, 2, *s, "get", "--bad-option", "k")


def test_non_utf8_bytes_are_base64_objects_everywhere(kv, store):
    s = store
    name, msg, branch = b"k\xff", b"m\xfe\n", "b\u00e9"
    kv.ok(*s, "set", name, "v", "-m", msg)
    kv.ok(*s, "branch", "create", branch)
    [entry] = doc(kv, *s, "tree")
    assert base64.b64decode(entry["path"]["base64"]) == name
    assert base64.b64decode(doc(kv, *s, "list")[0]["name"]["base64"]) == name
    assert base64.b64decode(doc(kv, *s, "log")[0]["message"]["base64"]) == msg
    # Valid UTF-8 stays a plain string.
    assert [b["name"] for b in doc(kv, *s, "branch")] == [branch, "main"]
    labels = [n["label"] for n in doc(kv, *s, "dot")["nodes"] if n["kind"] == "commit"]
    assert base64.b64decode(labels[0]["base64"]) == msg.rstrip(b"\n")
    # get of the path: the value's own encoding, the path as base64.
    g = doc(kv, *s, "get", name)
    assert base64.b64decode(g["path"]["base64"]) == name and g["value"] == "v"


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help_with_examples(kv, cmd):
    text = kv.ok(cmd, "--help").text
    assert text.startswith(f"usage: kvctl [GLOBAL OPTIONS] {cmd}")
    assert "\nExamples:\n  kvctl " in text
    if cmd not in ("help",):
        assert "--json" in text or "With --json" in text
    assert f"\n  {cmd} " in kv.ok("--help").text


def test_no_colour_anywhere(kv, store):
    kv.ok(*store, "set", "a", "1")
    for args in (["log"], ["tree"], ["branch"], ["dot"], ["--help"], ["log", "--help"]):
        r = kv.ok(*store, *args)
        assert b"\x1b" not in r.out, args


def test_help_as_json(kv):
    d = doc(kv, "help")
    assert set(COMMANDS) <= {c["name"] for c in d["commands"]}
    one = doc(kv, "help", "import")
    assert one["name"] == "import" and "Examples:" in one["help"]
