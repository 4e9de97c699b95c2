"""Shared plumbing: ids, strings, owned C handles, and the exceptions that
callbacks raise while C is calling them."""

from __future__ import annotations

import os
import threading
import weakref
from ctypes import byref, c_void_p, string_at
from typing import Any, Callable, List, Optional, Union

from . import _lib
from ._lib import Buf, Oid as _COid, StrArray, lib
from .errors import InvalidArgument, make

Path = Union[str, bytes]


class Oid(str):
    """An object id: a str of 40 lowercase hex digits (so it compares,
    hashes and prints as one), with the 20 raw bytes in ``raw``."""

    __slots__ = ()

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self)

    def __repr__(self) -> str:
        return f"Oid('{self}')"


def oid_of(c: _COid) -> Oid:
    """An Oid from a gkv_oid."""
    return Oid(bytes(c).hex())


def oid_ptr(p) -> Optional[Oid]:
    """An Oid from a const gkv_oid * (None for NULL)."""
    if not p:
        return None
    return Oid(string_at(p, 20).hex())


def c_oid(value: Union[str, bytes]) -> _COid:
    """A gkv_oid from 40 hex digits (str) or 20 raw bytes."""
    o = _COid()
    if isinstance(value, bytes) and len(value) == 20:
        o.id[:] = value
        return o
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        raise TypeError(f"an object id is a str of 40 hex digits, not {type(value).__name__}")
    rc = lib.gkv_oid_fromstr(byref(o), value.encode())
    if rc:
        raise make(rc)
    return o


def enc(s: Path, what: str = "path") -> bytes:
    """A str or bytes argument as the NUL-terminated bytes C takes."""
    if isinstance(s, str):
        b = s.encode("utf-8", "surrogateescape")
    elif isinstance(s, (bytes, bytearray)):
        b = bytes(s)
    elif isinstance(s, os.PathLike):
        b = os.fsencode(s)
    else:
        raise TypeError(f"a {what} is str or bytes, not {type(s).__name__}")
    if b"\0" in b:
        raise InvalidArgument(f"invalid {what} {b!r}: holds a NUL byte", _lib.E_INVALID)
    return b


def dec(b: Optional[bytes]) -> str:
    """A C string as str (bytes that are not UTF-8 kept as surrogates)."""
    return b.decode("utf-8", "surrogateescape") if b is not None else ""


def take_buf(buf: Buf) -> bytes:
    """The bytes of a gkv_buf handed to us, which is then disposed of."""
    try:
        return string_at(buf.ptr, buf.size) if buf.size else b""
    finally:
        lib.gkv_buf_dispose(byref(buf))


def take_strarray(arr: StrArray) -> List[str]:
    try:
        return [dec(arr.strings[i]) for i in range(arr.count)]
    finally:
        lib.gkv_strarray_dispose(byref(arr))


def value_bytes(value: Any) -> bytes:
    """A value to store: bytes-like, or str (stored as UTF-8)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a value is bytes (or str), not {type(value).__name__}")


# ------------------------------------------- exceptions raised in callbacks

_tls = threading.local()


def stash(exc: BaseException) -> None:
    """Keep an exception a callback raised, to raise after the C call."""
    pending = getattr(_tls, "pending", None)
    if pending is None:
        _tls.pending = [exc]
    else:
        pending.append(exc)


def reraise() -> None:
    """Raise the first exception a callback raised during the last C call
    on this thread (the others are attached as its __context__ chain)."""
    pending = getattr(_tls, "pending", None)
    if pending:
        _tls.pending = None
        first = pending[0]
        raise first


def has_pending() -> bool:
    return bool(getattr(_tls, "pending", None))


def fail(rc: int) -> None:
    """After a C call that returned rc < 0: raise what a callback raised
    (the original exception) if any, else the error of rc."""
    reraise()
    raise make(rc)


# ------------------------------------------------------------ owned handles


class ClosedError(ValueError):
    """An operation on a closed object."""


def _free(fn: Callable[[Any], None], ptr: int, *keep: Any) -> None:
    fn(ptr)


class Handle:
    """A C object this Python object owns: freed by close(), by the end of a
    ``with`` block, or by a finalizer when the object is collected. A child
    (a store of a repo, a transaction of a store) keeps its parent alive and
    is closed first when the parent is closed, as the C API requires."""

    _free_fn: Callable[[Any], None]
    _what = "object"

    def _own(self, ptr: int, parent: Optional["Handle"] = None) -> None:
        self._ptr = ptr
        self._children: "weakref.WeakSet[Handle]" = weakref.WeakSet()
        self._parent = parent
        if parent is not None:
            parent._children.add(self)
        self._finalizer = weakref.finalize(self, _free, type(self)._free_fn, ptr, parent)

    def close(self) -> None:
        """Free the C object (and every object made from it) now. Safe to
        call twice."""
        fin = getattr(self, "_finalizer", None)
        if fin is None or not fin.alive:
            self._ptr = None
            return
        for child in list(self._children):
            child.close()
        self._ptr = None
        fin()

    @property
    def closed(self) -> bool:
        return not getattr(self, "_ptr", None)

    def _p(self) -> int:
        p = self._ptr
        if not p:
            raise ClosedError(f"{self._what} is closed")
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def new_ptr() -> c_void_p:
    return c_void_p()
