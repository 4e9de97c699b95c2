"""Stores (views of a branch or a commit) and transactions."""

from __future__ import annotations

import enum
import threading
from ctypes import byref, c_int, c_void_p
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Tuple, Union

from . import _lib
from ._lib import Buf, Oid as _COid, lib
from ._util import ClosedError, Handle, Oid, Path, dec, enc, fail, has_pending, oid_of, reraise, take_buf, value_bytes
from .commit import Commit, CSignature, SignatureLike
from .errors import Conflict, make
from .merge import MergeCallback, MergeFn, MergeOptions, as_options, read_conflicts
from .tree import Kind, Tree, read_list, reader

if TYPE_CHECKING:
    from .repo import Repo
    from .watch import Watch

_get = lib.gkv_store_get
_find = lib.gkv_store_find
_set = lib.gkv_store_set
_dispose = lib.gkv_buf_dispose


class Strategy(enum.IntEnum):
    """What a transaction's commit does when the head moved since it
    began (gkv_txn_strategy)."""

    FAIL = 0       #: raise Conflict
    OVERWRITE = 1  #: commit the transaction's tree on the new head
    MERGE = 2      #: three-way merge of the transaction's changes into the new head


class CommitInfo(Handle):
    """Commit information, made once and given to many writes (``info=``):
    message, and author and committer as Signature or (name, email[,
    time[, offset]]) (unset: the repo's author, dated now)."""

    _free_fn = lib.gkv_info_free
    _what = "commit info"

    def __init__(self, message: Optional[str], author: Optional[SignatureLike] = None,
                 committer: Optional[SignatureLike] = None) -> None:
        out = c_void_p()
        rc = lib.gkv_info_new(out, enc(message if message is not None else "", "message"))
        if rc:
            raise make(rc)
        self._own(out.value)
        for sig, setter in ((author, lib.gkv_info_set_author),
                            (committer, lib.gkv_info_set_committer)):
            if sig is not None:
                with CSignature(sig) as s:
                    rc = setter(out.value, s._p())
                if rc:
                    err = make(rc)
                    self.close()
                    raise err


def make_info(message: Optional[str], author: Optional[SignatureLike],
              committer: Optional[SignatureLike]) -> Optional[CommitInfo]:
    if message is None and author is None and committer is None:
        return None
    if message is None:
        message = "update\n"
    return CommitInfo(message, author, committer)


class Store(Handle):
    """A view of a branch (``repo.branch("main")``) or of a fixed commit
    (``repo.commit(id)``). Reads see the head at the time of the call.

    - ``store[path]`` -> bytes (KeyError, precisely gitkv.NotFound, when
      no value is there); ``store.get(path, default)``;
    - ``store[path] = value`` and ``del store[path]``: one commit each;
      ``set``/``remove`` are the same with ``message=``, ``author=``,
      ``committer=`` and return the new head;
    - ``path in store``, ``iter(store)`` (every value path), ``len(store)``,
      ``store.list(dir)``, ``store.tree()``;
    - ``with store.transaction(message=...) as tx:`` commits on exit;
    - ``store.log(path=None)``: history, newest first.

    A store belongs to one thread at a time (the C API's rule); using one
    from a second thread while a call is running raises RuntimeError. Open
    one store per thread: the Repo itself is shared.
    """

    _free_fn = lib.gkv_store_free
    _what = "store"

    def __init__(self, ptr: int, repo: "Repo") -> None:
        self._repo = repo
        self._lock = threading.Lock()
        self._buf = Buf()
        self._bufref = byref(self._buf)
        self._own(ptr, repo)

    def _enter(self) -> int:
        p = self._ptr
        if not p:
            raise ClosedError("store is closed")
        if not self._lock.acquire(False):
            raise RuntimeError("this store is in use by another thread, or by the call a "
                               "callback runs in (a store belongs to one thread at a time: "
                               "open one per thread, or another for the callback)")
        return p

    # -- identity
    @property
    def repo(self) -> "Repo":
        return self._repo

    @property
    def branch(self) -> Optional[str]:
        """The branch name, or None for a commit view."""
        b = lib.gkv_store_branch(self._p())
        return dec(b) if b is not None else None

    @property
    def head(self) -> Optional[Oid]:
        """The head commit's id, or None when the branch has no commit yet."""
        o = _COid()
        p = self._enter()
        try:
            rc = lib.gkv_store_head(byref(o), p)
        finally:
            self._lock.release()
        if rc == _lib.E_NOTFOUND:
            return None
        if rc:
            raise make(rc)
        return oid_of(o)

    # -- reads
    def __getitem__(self, path: Path) -> bytes:
        p = self._enter()
        try:
            if type(path) is str and "\0" not in path:
                path = path.encode("utf-8", "surrogateescape")  # type: ignore[assignment]
            else:
                path = enc(path)  # type: ignore[assignment]
            buf = self._buf
            rc = _get(self._bufref, p, path)
            if rc:
                raise make(rc)
            if not buf.size:
                _dispose(self._bufref)
                return b""
            try:
                return _lib.ctypes.string_at(buf.ptr, buf.size)
            finally:
                _dispose(self._bufref)
        finally:
            self._lock.release()

    def get(self, path: Path, default: Optional[bytes] = None) -> Optional[bytes]:
        """The value at path, or default when path holds no value."""
        found = c_int()
        p = self._enter()
        try:
            rc = _find(self._bufref, byref(found), p, enc(path))
            if rc:
                raise make(rc)
            return take_buf(self._buf) if found.value else default
        finally:
            self._lock.release()

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, (str, bytes)):
            return False
        out = c_int()
        p = self._enter()
        try:
            rc = lib.gkv_store_mem(byref(out), p, enc(path))
        finally:
            self._lock.release()
        if rc:
            raise make(rc)
        return bool(out.value)

    def kind(self, path: Path) -> Kind:
        """What path names (Kind.NONE if nothing)."""
        k = c_int()
        p = self._enter()
        try:
            rc = lib.gkv_store_kind(byref(k), p, enc(path))
        finally:
            self._lock.release()
        if rc:
            raise make(rc)
        return Kind(k.value)

    def list(self, path: Path = "") -> List[Tuple[str, Kind]]:
        """The children of the directory at path: (name, kind) pairs, by name."""
        out = c_void_p()
        p = self._enter()
        try:
            rc = lib.gkv_store_list(byref(out), p, enc(path))
        finally:
            self._lock.release()
        if rc:
            raise make(rc)
        return read_list(out.value)

    def tree(self, path: Path = "") -> Tree:
        """The head's tree (path "") or the directory at path, as a Tree."""
        out = c_void_p()
        p = self._enter()
        try:
            if path == "" or path == b"":
                rc = lib.gkv_store_tree(byref(out), p)
            else:
                rc = lib.gkv_store_get_tree(byref(out), p, enc(path))
        finally:
            self._lock.release()
        if rc:
            raise make(rc)
        return Tree(out.value, self._repo)

    def read(self, path: Path, sink: Any) -> None:
        """Stream the value at path to sink (a callable or a file), in
        pieces, in bounded memory, whatever the value's size."""
        cb = reader(sink.write if hasattr(sink, "write") else sink)
        p = self._enter()
        try:
            rc = lib.gkv_store_read(p, enc(path), cb, None)
        finally:
            self._lock.release()
        if rc:
            fail(rc)

    def paths(self, path: Path = "") -> List[str]:
        """Every value path under path, in order."""
        with self.tree() as t:
            return t.paths(path) if t.kind(path) != Kind.NONE else []

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths())

    def __len__(self) -> int:
        return len(self.paths())

    def items(self, path: Path = "") -> List[Tuple[str, bytes]]:
        """Every (path, value) under path, in order."""
        with self.tree() as t:
            return t.items(path)

    # -- writes: one commit each
    def _write(self, fn: Callable[..., int], *args: Any, message: Optional[str],
               author: Optional[SignatureLike], committer: Optional[SignatureLike],
               info: Optional[CommitInfo] = None) -> Oid:
        own = None
        if info is None:
            info = own = make_info(message, author, committer)
        o = _COid()
        p = self._enter()
        try:
            rc = fn(byref(o), p, *args, info._p() if info is not None else None)
        finally:
            self._lock.release()
            if own is not None:
                own.close()
        if rc:
            fail(rc)
        if has_pending():
            reraise()
        return oid_of(o)

    def __setitem__(self, path: Path, value: Any) -> None:
        v = value_bytes(value)
        path = enc(path)  # type: ignore[assignment]
        p = self._enter()
        try:
            rc = _set(None, p, path, v, len(v), None)
        finally:
            self._lock.release()
        if rc:
            fail(rc)
        if has_pending():
            reraise()

    def set(self, path: Path, value: Any, *, message: Optional[str] = None,
            author: Optional[SignatureLike] = None,
            committer: Optional[SignatureLike] = None, info: Optional[CommitInfo] = None) -> Oid:
        """Store value (bytes, or str as UTF-8) at path: one commit. Returns
        the new head (unchanged if the value was already there). message,
        author, committer describe the commit; or info, a CommitInfo made
        once for many writes."""
        v = value_bytes(value)
        return self._write(_set, enc(path), v, len(v), message=message, author=author,
                           committer=committer, info=info)

    def __delitem__(self, path: Path) -> None:
        self.remove(path)

    def remove(self, path: Path, *, message: Optional[str] = None,
               author: Optional[SignatureLike] = None,
               committer: Optional[SignatureLike] = None, info: Optional[CommitInfo] = None) -> Oid:
        """Remove path (a value or a whole directory): one commit. NotFound
        (a KeyError) when nothing is there."""
        return self._write(lib.gkv_store_remove, enc(path), message=message, author=author,
                           committer=committer, info=info)

    def set_tree(self, path: Path, tree: Tree, *, message: Optional[str] = None,
                 author: Optional[SignatureLike] = None,
                 committer: Optional[SignatureLike] = None, info: Optional[CommitInfo] = None) -> Oid:
        """Put tree at path ("" replaces the whole tree): one commit."""
        return self._write(lib.gkv_store_set_tree, enc(path), tree._p(), message=message,
                           author=author, committer=committer, info=info)

    def test_and_set(self, path: Path, expected: Optional[bytes], new: Optional[bytes], *,
                     message: Optional[str] = None, author: Optional[SignatureLike] = None,
                     committer: Optional[SignatureLike] = None,
                     info: Optional[CommitInfo] = None) -> Oid:
        """Set path to new (None: remove it) only if it holds expected (None:
        nothing there). Conflict when it does not; nothing is written then."""
        bufs = []
        for v in (expected, new):
            if v is None:
                bufs.append(None)
                continue
            b = value_bytes(v)
            keep = _lib.ctypes.create_string_buffer(b, len(b) or 1)
            bufs.append((keep, Buf(_lib.ctypes.cast(keep, c_void_p).value, len(b))))
        e = byref(bufs[0][1]) if bufs[0] else None
        n = byref(bufs[1][1]) if bufs[1] else None
        return self._write(lib.gkv_store_test_and_set, enc(path), e, n, message=message,
                           author=author, committer=committer, info=info)

    # -- transactions
    def transaction(self, *, message: Optional[str] = None,
                    strategy: Strategy = Strategy.FAIL,
                    merge: Union[MergeOptions, MergeFn, MergeCallback, None] = None,
                    author: Optional[SignatureLike] = None,
                    committer: Optional[SignatureLike] = None) -> "Transaction":
        """Begin a transaction on the head as it is now. As a context
        manager it commits on exit (one commit with every change) and rolls
        back if the block raises."""
        out = c_void_p()
        p = self._enter()
        try:
            rc = lib.gkv_txn_begin(byref(out), p)
        finally:
            self._lock.release()
        if rc:
            raise make(rc)
        return Transaction(out.value, self, message, Strategy(strategy), merge, author, committer)

    # -- history
    def log(self, path: Optional[Path] = None, *, limit: Optional[int] = None) -> Iterator[Commit]:
        """The commits of the head's history, newest first; with path, only
        those that changed what path holds compared with their first parent
        (or added it). An empty branch has no history."""
        head = self.head
        if head is None:
            return iter(())
        return self._repo.log(head, path=path, limit=limit)

    # -- watches
    def watch(self, callback: Callable[..., None], prefix: Optional[Path] = None) -> "Watch":
        """Watch this branch: callback(branch, old, new) after each move, or
        with prefix, callback(branch, old, new, changes) when something
        under prefix changed (see Repo.watch)."""
        b = self.branch
        if b is None:
            raise TypeError("a commit view has no branch to watch")
        return self._repo.watch(callback, branch=b, prefix=prefix)

    def __repr__(self) -> str:
        if self.closed:
            return "<gitkv.Store closed>"
        b = self.branch
        return f"<gitkv.Store branch={b!r}>" if b is not None else "<gitkv.Store commit view>"


class Transaction(Handle):
    """Changes made in memory on the head's tree as it was at begin,
    committed as one commit by commit() or at the end of a ``with`` block
    (rolled back if the block raises). Reads see the transaction's own
    changes. What commit does when the head moved meanwhile is the
    strategy's: FAIL raises Conflict, OVERWRITE commits this tree anyway,
    MERGE merges the changes (Conflict with ``.conflicts`` if they clash)."""

    _free_fn = lib.gkv_txn_free
    _what = "transaction"

    def __init__(self, ptr: int, store: Store, message: Optional[str], strategy: Strategy,
                 merge: Union[MergeOptions, MergeFn, MergeCallback, None],
                 author: Optional[SignatureLike], committer: Optional[SignatureLike]) -> None:
        self._store = store
        self._own(ptr, store)
        self.message = message
        self.strategy = strategy
        self.author = author
        self.committer = committer
        self.head: Optional[Oid] = None
        self._merge = as_options(merge)  # kept alive: the txn keeps its callback
        self._made_merge = self._merge if self._merge is not merge else None
        if self._merge is not None:
            rc = lib.gkv_txn_set_merge_options(ptr, self._merge._p())
            if rc:
                err = make(rc)
                self.close()
                raise err
        self._done = False

    def __getitem__(self, path: Path) -> bytes:
        buf = Buf()
        rc = lib.gkv_txn_get(byref(buf), self._p(), enc(path))
        if rc:
            raise make(rc)
        return take_buf(buf)

    def get(self, path: Path, default: Optional[bytes] = None) -> Optional[bytes]:
        buf = Buf()
        found = c_int()
        rc = lib.gkv_txn_find(byref(buf), byref(found), self._p(), enc(path))
        if rc:
            raise make(rc)
        return take_buf(buf) if found.value else default

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, (str, bytes)):
            return False
        return self.get(path) is not None

    def list(self, path: Path = "") -> List[Tuple[str, Kind]]:
        out = c_void_p()
        rc = lib.gkv_txn_list(byref(out), self._p(), enc(path))
        if rc:
            raise make(rc)
        return read_list(out.value)

    def __setitem__(self, path: Path, value: Any) -> None:
        v = value_bytes(value)
        rc = lib.gkv_txn_set(self._p(), enc(path), v, len(v))
        if rc:
            raise make(rc)

    set = __setitem__

    def __delitem__(self, path: Path) -> None:
        """Remove path (absent is not an error in a transaction)."""
        rc = lib.gkv_txn_remove(self._p(), enc(path))
        if rc:
            raise make(rc)

    remove = __delitem__

    def set_tree(self, path: Path, tree: Tree) -> None:
        rc = lib.gkv_txn_set_tree(self._p(), enc(path), tree._p())
        if rc:
            raise make(rc)

    def tree(self) -> Tree:
        """The transaction's current tree."""
        out = c_void_p()
        rc = lib.gkv_txn_tree(byref(out), self._p())
        if rc:
            raise make(rc)
        return Tree(out.value, self._store._repo)

    def commit(self, *, message: Optional[str] = None,
               strategy: Optional[Strategy] = None) -> Optional[Oid]:
        """Commit every change as one commit; returns the new head (the
        head at begin if nothing changed, None if there was none). The
        transaction is finished afterwards, whatever the result."""
        if self._done:
            raise ClosedError("transaction already committed or rolled back")
        msg = message if message is not None else self.message
        strat = Strategy(strategy if strategy is not None else self.strategy)
        info = make_info(msg if msg is not None else "transaction\n", self.author, self.committer)
        o = _COid()
        p = self._p()
        self._done = True
        try:
            rc = lib.gkv_txn_commit(byref(o), p, int(strat), info._p() if info else None)
        finally:
            if info is not None:
                info.close()
        if rc:
            try:
                reraise()
                err = make(rc)
                if isinstance(err, Conflict):
                    err.conflicts = read_conflicts(lib.gkv_txn_conflicts(p))
                raise err
            finally:
                self.close()
        self.close()
        reraise()
        self.head = None if all(b == 0 for b in bytes(o)) else oid_of(o)
        return self.head

    def rollback(self) -> None:
        """Drop every change; nothing is written."""
        self._done = True
        self.close()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.rollback()
            return
        if not self._done:
            self.commit()

    def close(self) -> None:
        """Free the transaction (rolled back if not committed)."""
        super().close()
        made = getattr(self, "_made_merge", None)
        if made is not None:
            made.close()

    def __repr__(self) -> str:
        return f"<gitkv.Transaction strategy={self.strategy.name}{' done' if self._done else ''}>"


__all__ = ["Store", "Transaction", "Strategy", "CommitInfo"]
