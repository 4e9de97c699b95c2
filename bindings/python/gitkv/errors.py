"""Exceptions: one class per gitkv error code, all under gitkv.Error.

Every failing call raises the class of its code, with the library's
one-line message (gkv_error_last) as the text and the code in ``.code``.
NotFound is also a KeyError and InvalidArgument also a ValueError, so that
``except KeyError`` around ``store[path]`` reads as Python expects.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Type

from . import _lib
from ._lib import lib


class Error(Exception):
    """A gitkv call failed. ``code`` is the GKV_E_* value (negative) and
    ``message`` the library's message, naming the input concerned."""

    code: int = _lib.E_ERROR

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(Error, KeyError):
    """GKV_E_NOTFOUND: a path, branch, commit, object or store is absent."""

    code = _lib.E_NOTFOUND

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class Exists(Error):
    """GKV_E_EXISTS: creating what already exists."""

    code = _lib.E_EXISTS


class InvalidArgument(Error, ValueError):
    """GKV_E_INVALID: a bad argument (path, branch name, URI, object type)."""

    code = _lib.E_INVALID


class Conflict(Error):
    """GKV_E_CONFLICT: a compare-and-swap lost, the head moved, or a merge
    conflicted. ``conflicts`` lists (path, reason) pairs when a merge
    reported them."""

    code = _lib.E_CONFLICT

    def __init__(self, message: str, code: Optional[int] = None,
                 conflicts: Optional[List[Tuple[str, str]]] = None) -> None:
        super().__init__(message, code)
        self.conflicts: List[Tuple[str, str]] = conflicts or []


class Corrupt(Error):
    """GKV_E_CORRUPT: a stored object or ref is malformed."""

    code = _lib.E_CORRUPT


class IOError_(Error, OSError):
    """GKV_E_IO: the operating system or the storage failed."""

    code = _lib.E_IO


class NoMemory(Error, MemoryError):
    """GKV_E_NOMEM: out of memory."""

    code = _lib.E_NOMEM


class Full(Error):
    """GKV_E_FULL: the disk, a quota or LMDB's map is full."""

    code = _lib.E_FULL


class ReadOnly(Error):
    """GKV_E_READONLY: the repo was opened read-only."""

    code = _lib.E_READONLY


class Ambiguous(Error):
    """GKV_E_AMBIGUOUS: a short commit id matches several commits."""

    code = _lib.E_AMBIGUOUS


class Unsupported(Error):
    """GKV_E_UNSUPPORTED: not available on this backend or build."""

    code = _lib.E_UNSUPPORTED


class NonFastForward(Error):
    """GKV_E_NONFASTFORWARD: the update would lose commits."""

    code = _lib.E_NONFASTFORWARD


class UserAbort(Error):
    """GKV_E_USER: a callback stopped the operation (returned non-zero)."""

    code = _lib.E_USER


class TooLarge(Error):
    """GKV_E_TOOLARGE: a value is larger than the repo's max_value cap."""

    code = _lib.E_TOOLARGE


class NetworkError(Error):
    """GKV_E_NETWORK: a remote is unreachable or the transfer broke off."""

    code = _lib.E_NETWORK


class AuthError(Error):
    """GKV_E_AUTH: a remote refused the credentials (or none were given)."""

    code = _lib.E_AUTH


# GKV_E_IO is exported as gitkv.IOError_ and gitkv.StorageIOError (not
# shadowing the builtin IOError).
StorageIOError = IOError_

BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (Error, NotFound, Exists, InvalidArgument, Conflict, Corrupt, IOError_,
                NoMemory, Full, ReadOnly, Ambiguous, Unsupported, NonFastForward,
                UserAbort, TooLarge, NetworkError, AuthError)
}


def last_message() -> str:
    """The library's last error message on this thread."""
    m = lib.gkv_error_last()
    return m.decode("utf-8", "replace") if m else ""


def make(code: int, message: Optional[str] = None) -> Error:
    """The exception for code with the library's last message (or message)."""
    if message is None:
        message = last_message()
    cls = BY_CODE.get(code, Error)
    return cls(message, code)


def check(rc: int) -> int:
    """Raise the exception of rc when it is negative; return rc otherwise."""
    if rc < 0:
        raise make(rc)
    return rc
