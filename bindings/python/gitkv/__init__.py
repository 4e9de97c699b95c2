"""gitkv from Python: a content-addressed, branchable, versioned key-value
store whose objects are git's, over the gitkv C library (ctypes).

    import gitkv

    with gitkv.Repo.open("lmdb:/tmp/blog", create=True) as repo:
        main = repo.branch("main")
        main["posts/hello.md"] = b"# Hello"          # one commit
        print(main["posts/hello.md"])                # b'# Hello'
        with main.transaction(message="two posts\\n") as tx:
            tx["posts/a.md"] = b"A"
            tx["posts/b.md"] = b"B"                  # one commit on exit

The library is $GITKV_LIBRARY (a path to libgitkv.so) when set, else the
installed libgitkv.so. See bindings/python/README.md.
"""

from __future__ import annotations

from ctypes import byref, c_int

from ._lib import lib
from ._util import ClosedError, Oid
from .commit import Commit, ReflogEntry, Signature
from .diff import Change, Op
from .errors import (Ambiguous, AuthError, Conflict, Corrupt, Error, Exists, Full, InvalidArgument,
                     IOError_, NetworkError, NoMemory, NonFastForward, NotFound, ReadOnly,
                     StorageIOError, TooLarge, Unsupported, UserAbort)
from .merge import CONFLICT, PASS, MergeFn, MergeOptions
from .repo import Branches, Config, Durability, Remotes, Repo
from .store import CommitInfo, Store, Strategy, Transaction
from .sync import FetchResult, Progress, PullStrategy, Stage
from .tree import Entry, Kind, Tree, check_object
from .watch import Watch


def version() -> str:
    """The C library's version string ("0.1.0")."""
    return lib.gkv_version_string().decode()


def version_info() -> tuple:
    """The C library's version as (major, minor, patch)."""
    a, b, c = c_int(), c_int(), c_int()
    lib.gkv_version(byref(a), byref(b), byref(c))
    return (a.value, b.value, c.value)


def hash_object(kind: int, data: bytes) -> Oid:
    """The id git gives an object of kind (1 commit, 2 tree, 3 blob, 4 tag)."""
    from ._lib import Oid as _COid
    from ._util import oid_of
    from .errors import make

    o = _COid()
    rc = lib.gkv_hash(byref(o), kind, data, len(data))
    if rc:
        raise make(rc)
    return oid_of(o)


def use_fast_hash(enable: bool = True) -> None:
    """Hash with plain SHA-1 from libcrypto (faster, no collision
    detection) instead of sha1dc, for the whole process; call it before
    opening stores."""
    from .errors import make

    rc = lib.gkv_hash_use(1 if enable else 0)
    if rc:
        raise make(rc)


def validate_path(path: str) -> None:
    """Raise InvalidArgument, saying why, unless path is a valid path."""
    from ._util import enc
    from .errors import make

    rc = lib.gkv_path_validate(enc(path))
    if rc:
        raise make(rc)


def validate_branch_name(name: str) -> None:
    """Raise InvalidArgument, saying why, unless name is a valid branch name."""
    from ._util import enc
    from .errors import make

    rc = lib.gkv_branch_name_validate(enc(name, "branch name"))
    if rc:
        raise make(rc)


__version__ = "0.1.0"

__all__ = [
    "Repo", "Store", "Transaction", "CommitInfo", "Tree", "Watch", "Branches", "Config", "Remotes",
    "Strategy", "Durability", "Kind", "Entry", "Op", "Change", "Commit", "Signature", "ReflogEntry",
    "MergeFn", "MergeOptions", "PASS", "CONFLICT", "PullStrategy", "Stage", "Progress",
    "FetchResult", "Oid", "ClosedError",
    "Error", "NotFound", "Exists", "InvalidArgument", "Conflict", "Corrupt", "IOError_",
    "StorageIOError", "NoMemory", "Full", "ReadOnly", "Ambiguous", "Unsupported",
    "NonFastForward", "UserAbort", "TooLarge", "NetworkError", "AuthError",
    "version", "version_info", "hash_object", "use_fast_hash", "validate_path",
    "validate_branch_name", "check_object",
]
