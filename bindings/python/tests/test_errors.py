"""Every gitkv error code is one exception class carrying the library's
message; bad input is refused and changes nothing; the binding declares
every function of the public headers."""

import re

import pytest

import gitkv
from gitkv import _lib
from gitkv.errors import BY_CODE
from conftest import TOP


def header_functions():
    names = set()
    for h in ("include/gitkv.h", "include/gitkv/sync.h"):
        text = (TOP / h).read_text()
        for m in re.finditer(r"GKV_EXTERN[^;(]*?\b(gkv_\w+)\s*\(", text):
            names.add(m.group(1))
    return names


def test_every_public_function_is_declared():
    declared = {p[0] for p in _lib._PROTOS}
    names = header_functions()
    assert len(names) > 150
    assert names - declared == set(), "functions of the headers the binding lacks"
    assert declared - names == set(), "functions the binding declares that the headers lack"
    for n in names:
        f = getattr(_lib.lib, n)
        assert f.argtypes is not None or n in ("gkv_error_last", "gkv_error_last_code",
                                                "gkv_error_clear", "gkv_version_string",
                                                "gkv_hash_in_use")


def test_every_code_has_its_class():
    header = (TOP / "include/gitkv.h").read_text()
    codes = {m.group(1): int(m.group(2))
             for m in re.finditer(r"GKV_E_(\w+)\s*=\s*(-\d+)", header)}
    assert len(codes) == 17
    for name, code in codes.items():
        cls = BY_CODE[code]
        assert issubclass(cls, gitkv.Error)
        assert cls.code == code
        assert getattr(_lib, "E_" + name) == code
        err = gitkv.errors.make(code, "msg")
        assert type(err) is cls and err.code == code and str(err) == "msg"
    assert len(set(BY_CODE.values())) == 17
    assert issubclass(gitkv.NotFound, KeyError)
    assert issubclass(gitkv.InvalidArgument, ValueError)


BAD_PATHS = ["", "/a", "a/", "a//b", ".", "a/../b", ".git/x", "a/.GIT", ".gitmodules/x"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_bad_path_is_refused_and_changes_nothing(repo, backend, path):
    main = repo.branch()
    main["keep"] = b"1"
    head = main.head
    with pytest.raises(gitkv.InvalidArgument) as ei:
        main[path] = b"x"
    assert ei.value.code == -4
    assert "path" in str(ei.value)
    with pytest.raises(gitkv.InvalidArgument):
        main.remove(path)
    if path:
        with pytest.raises(gitkv.InvalidArgument):
            main[path]
    assert main.head == head
    assert list(main) == ["keep"]
    assert len(list(main.log())) == 1


def test_nul_in_a_path_is_refused(repo):
    main = repo.branch()
    with pytest.raises(gitkv.InvalidArgument) as ei:
        main["a\0b"] = b"x"
    assert "NUL" in str(ei.value)
    assert main.head is None


@pytest.mark.parametrize("name", ["", "HEAD", "-x", "a..b", "a b", "a/", "x.lock", "@", "a~1"])
def test_bad_branch_name(repo, name):
    with pytest.raises(gitkv.InvalidArgument) as ei:
        repo.branch(name)
    assert ei.value.code == -4
    with pytest.raises(gitkv.InvalidArgument):
        gitkv.validate_branch_name(name)
    assert list(repo.branches) == []


@pytest.mark.parametrize("uri", ["", "nope:x", "mem:x", "lmdb:", "git:"])
def test_bad_store_names(uri):
    with pytest.raises(gitkv.InvalidArgument) as ei:
        gitkv.Repo.open(uri)
    assert ei.value.message


def test_absent_store_without_create(tmp_path):
    with pytest.raises(gitkv.NotFound) as ei:
        gitkv.Repo.open(f"lmdb:{tmp_path / 'none'}")
    assert str(tmp_path / "none") in str(ei.value)
    assert not (tmp_path / "none").exists()


def test_not_a_store(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(b"garbage" * 100)
    with pytest.raises(gitkv.Error) as ei:
        gitkv.Repo.open(f"lmdb:{tmp_path / 'junk'}")
    assert ei.value.code in (-6, -4)


def test_bad_ids_and_specs(repo):
    main = repo.branch()
    main["a"] = b"1"
    with pytest.raises(gitkv.InvalidArgument):
        repo.commit("a..b")  # neither a branch name nor hex
    with pytest.raises(gitkv.NotFound):
        repo.commit("0" * 40)
    with pytest.raises(gitkv.InvalidArgument):
        repo.commit("abc")  # fewer than 4 hex digits
    with pytest.raises(gitkv.InvalidArgument):  # a tree is not a commit
        repo.commit(main.tree().id)
    with pytest.raises(TypeError):
        main[42]
    with pytest.raises(TypeError):
        main["k"] = 42


def test_ambiguous_prefix(repo):
    main = repo.branch()
    seen = {}
    i = 0
    while True:  # bounded: 4 hex digits collide within a few hundred commits
        h = main.set("k", str(i).encode())
        p = h[:4]
        if p in seen:
            break
        seen[p] = h
        i += 1
        assert i < 5000
    with pytest.raises(gitkv.Ambiguous) as ei:
        repo.resolve(p)
    assert ei.value.code == -11


def test_unsupported_gc_on_git(tmp_path):
    with gitkv.Repo.open(f"git:{tmp_path / 'g'}", create=True) as repo:
        repo.branch()["a"] = b"1"
        with pytest.raises(gitkv.Unsupported):
            repo.gc()


def test_gc_on_lmdb(tmp_path):
    with gitkv.Repo.open(f"lmdb:{tmp_path / 'l'}", create=True) as repo:
        main = repo.branch()
        main["a"] = b"1"
        repo.empty_tree().set("orphan", b"unreachable").write()
        done = repo.gc()
        assert done["objects_removed"] >= 2
        assert main["a"] == b"1"
        assert repo.fsck() == []


def test_closed_objects_raise_not_crash(repo):
    main = repo.branch()
    main["a"] = b"1"
    t = main.tree()
    repo.close()
    assert main.closed and t.closed
    with pytest.raises(gitkv.ClosedError):
        main["a"]
    with pytest.raises(gitkv.ClosedError):
        t["a"]
    with pytest.raises(gitkv.ClosedError):
        main["a"] = b"2"
