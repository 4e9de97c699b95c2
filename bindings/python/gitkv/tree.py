"""Trees: immutable, persistent values of paths to bytes."""

from __future__ import annotations

import enum
from ctypes import byref, c_int, c_uint64, c_void_p, string_at
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, NamedTuple, Optional, Tuple

from . import _lib
from ._lib import Buf, Oid as _COid, lib
from ._util import Handle, Oid, Path, dec, enc, fail, oid_of, oid_ptr, stash, take_buf, value_bytes
from .diff import Change, read_diff
from .errors import make

if TYPE_CHECKING:
    from .repo import Repo


_tree_get = lib.gkv_tree_get
_dispose = lib.gkv_buf_dispose


class Kind(enum.IntEnum):
    """What a path names (gkv_kind)."""

    NONE = 0
    VALUE = 1
    DIR = 2
    EXEC = 3
    LINK = 4
    SUBMODULE = 5


class Entry(NamedTuple):
    """What a path names, without its value: object id, kind, and size in
    bytes for a value (0 otherwise)."""

    id: Oid
    kind: Kind
    size: int


def read_list(lst: int) -> List[Tuple[str, Kind]]:
    """The (name, kind) pairs of a gkv_list, which is then freed."""
    try:
        n = lib.gkv_list_count(lst)
        return [(dec(lib.gkv_list_name(lst, i)), Kind(lib.gkv_list_kind(lst, i))) for i in range(n)]
    finally:
        lib.gkv_list_free(lst)


def reader(sink: Callable[[bytes], Any]):
    """A gkv_read_cb calling sink with each piece; an exception it raises
    stops the read and is raised again by the caller (reraise)."""

    def cb(data, size, _payload):
        try:
            sink(string_at(data, size) if size else b"")
            return 0
        except BaseException as e:  # noqa: B036 - handed back to the caller
            stash(e)
            return _lib.E_USER

    return _lib.READ_CB(cb)


class Tree(Handle):
    """An immutable tree of paths to values. Every change returns a new
    Tree; the old one stays valid. Trees may be shared by threads. Read
    ``tree[path]`` (bytes, KeyError when absent), ``path in tree``,
    iterate over value paths; change with set/remove/set_tree."""

    _free_fn = lib.gkv_tree_free
    _what = "tree"

    def __init__(self, ptr: int, repo: "Repo") -> None:
        self._repo = repo
        self._own(ptr, repo)

    # -- reads
    def __getitem__(self, path: Path) -> bytes:
        p = self._ptr
        if not p:
            self._p()  # raises ClosedError
        if type(path) is str and "\0" not in path:
            b = path.encode("utf-8", "surrogateescape")
        else:
            b = enc(path)
        buf = Buf()
        ref = byref(buf)
        rc = _tree_get(ref, p, b)
        if rc:
            raise make(rc)
        if not buf.size:
            _dispose(ref)
            return b""
        try:
            return string_at(buf.ptr, buf.size)
        finally:
            _dispose(ref)

    def get(self, path: Path, default: Optional[bytes] = None) -> Optional[bytes]:
        """The value at path, or default when there is none."""
        buf = Buf()
        found = c_int()
        rc = lib.gkv_tree_find(byref(buf), byref(found), self._p(), enc(path))
        if rc:
            raise make(rc)
        return take_buf(buf) if found.value else default

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, (str, bytes)):
            return False
        return self.kind(path) in (Kind.VALUE, Kind.EXEC, Kind.LINK)

    def kind(self, path: Path) -> Kind:
        """What path names (Kind.NONE if nothing; "" is a directory)."""
        k = c_int()
        rc = lib.gkv_tree_kind(byref(k), self._p(), enc(path))
        if rc:
            raise make(rc)
        return Kind(k.value)

    def entry(self, path: Path) -> Entry:
        """Id, kind and size of what path names, without reading a value."""
        o = _COid()
        k = c_int()
        size = c_uint64()
        rc = lib.gkv_tree_entry(byref(o), byref(k), byref(size), self._p(), enc(path))
        if rc:
            raise make(rc)
        return Entry(oid_of(o), Kind(k.value), size.value)

    def list(self, path: Path = "") -> List[Tuple[str, Kind]]:
        """The children of the directory at path: (name, kind), by name."""
        out = c_void_p()
        rc = lib.gkv_tree_list(byref(out), self._p(), enc(path))
        if rc:
            raise make(rc)
        return read_list(out.value)

    def subtree(self, path: Path) -> "Tree":
        """The directory at path as a tree of its own."""
        out = c_void_p()
        rc = lib.gkv_tree_subtree(byref(out), self._p(), enc(path))
        if rc:
            raise make(rc)
        return Tree(out.value, self._repo)

    def read(self, path: Path, sink: Callable[[bytes], Any]) -> None:
        """Stream the value at path to sink in pieces of at most 64 KiB, in
        bounded memory (sink may be a file's write method). An exception
        sink raises stops the read and propagates."""
        cb = reader(sink.write if hasattr(sink, "write") else sink)  # type: ignore[attr-defined]
        rc = lib.gkv_tree_read(self._p(), enc(path), cb, None)
        if rc:
            fail(rc)

    def items(self, path: Path = "") -> List[Tuple[str, bytes]]:
        """Every (path, value) under path, in path order (gkv_tree_fold)."""
        out: List[Tuple[str, bytes]] = []

        def cb(p, _kind, data, size, _payload):
            try:
                out.append((dec(p), string_at(data, size) if size else b""))
                return 0
            except BaseException as e:  # noqa: B036
                stash(e)
                return _lib.E_USER

        fn = _lib.FOLD_CB(cb)
        rc = lib.gkv_tree_fold(self._p(), enc(path), fn, None)
        if rc:
            fail(rc)
        return out

    def walk(self, path: Path = "", dirs: bool = False) -> List[Tuple[str, Kind, Oid]]:
        """Every entry under path without reading values: (path, kind, id),
        in git's tree order; directories too when dirs is true."""
        out: List[Tuple[str, Kind, Oid]] = []

        def cb(p, kind, oid, _payload):
            try:
                out.append((dec(p), Kind(kind), oid_ptr(oid)))  # type: ignore[arg-type]
                return 0
            except BaseException as e:  # noqa: B036
                stash(e)
                return _lib.E_USER

        fn = _lib.WALK_CB(cb)
        rc = lib.gkv_tree_walk(self._p(), enc(path), 1 if dirs else 0, fn, None)
        if rc:
            fail(rc)
        return out

    def paths(self, path: Path = "") -> List[str]:
        """Every path under path that is not a directory, in order."""
        return [p for p, _k, _i in self.walk(path)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths())

    def __len__(self) -> int:
        return len(self.walk())

    def is_empty(self) -> bool:
        return bool(lib.gkv_tree_is_empty(self._p()))

    def __bool__(self) -> bool:
        return not self.is_empty()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def id(self) -> Oid:
        """The tree's id (computed, not written)."""
        o = _COid()
        rc = lib.gkv_tree_id(byref(o), self._p())
        if rc:
            raise make(rc)
        return oid_of(o)

    # -- changes: each returns a new tree
    def set(self, path: Path, value: Any) -> "Tree":
        """A new tree with value (bytes or str) at path."""
        v = value_bytes(value)
        out = c_void_p()
        rc = lib.gkv_tree_set(byref(out), self._p(), enc(path), v, len(v))
        if rc:
            raise make(rc)
        return Tree(out.value, self._repo)

    def remove(self, path: Path) -> "Tree":
        """A new tree without path (a value or a whole directory)."""
        out = c_void_p()
        rc = lib.gkv_tree_remove(byref(out), self._p(), enc(path))
        if rc:
            raise make(rc)
        return Tree(out.value, self._repo)

    def set_tree(self, path: Path, subtree: "Tree") -> "Tree":
        """A new tree with subtree at path ("" gives subtree itself)."""
        out = c_void_p()
        rc = lib.gkv_tree_set_tree(byref(out), self._p(), enc(path), subtree._p())
        if rc:
            raise make(rc)
        return Tree(out.value, self._repo)

    def write(self) -> Oid:
        """Store the tree and what the store lacks under it; its id."""
        o = _COid()
        rc = lib.gkv_tree_write(byref(o), self._p())
        if rc:
            raise make(rc)
        return oid_of(o)

    def diff(self, new: "Tree") -> List[Change]:
        """What changed from this tree to new, one entry per value path."""
        out = c_void_p()
        rc = lib.gkv_diff_trees(byref(out), self._p(), new._p())
        if rc:
            raise make(rc)
        try:
            return read_diff(out.value)
        finally:
            lib.gkv_diff_free(out.value)

    def __repr__(self) -> str:
        if self.closed:
            return "<gitkv.Tree closed>"
        return f"<gitkv.Tree {self.id}>"


def check_object(kind: int, data: bytes) -> None:
    """Check one raw object as git fsck --strict does (gkv_object_check):
    kind is 1 (commit), 2 (tree), 3 (blob) or 4 (tag). Raises Corrupt,
    naming the problem, for a bad object."""
    rc = lib.gkv_object_check(kind, data, len(data))
    if rc:
        raise make(rc)


__all__ = ["Kind", "Entry", "Tree", "check_object"]
