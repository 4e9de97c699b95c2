"""Commits, signatures and branch logs."""

from __future__ import annotations

import time as _time
from ctypes import c_void_p
from typing import NamedTuple, Optional, Tuple, Union

from ._lib import lib
from ._util import Handle, Oid, dec, enc, oid_ptr
from .errors import make


class Signature(NamedTuple):
    """Who made a commit and when: name, email, seconds since the epoch,
    zone offset in minutes."""

    name: str
    email: str
    time: int = 0
    offset: int = 0


SignatureLike = Union[Signature, Tuple[str, str], Tuple[str, str, int], Tuple[str, str, int, int]]


def read_signature(p: int) -> Signature:
    return Signature(dec(lib.gkv_signature_name(p)), dec(lib.gkv_signature_email(p)),
                     lib.gkv_signature_time(p), lib.gkv_signature_offset(p))


class CSignature(Handle):
    """A gkv_signature made from a Signature or (name, email[, time[, offset]])
    (time unset or 0: now)."""

    _free_fn = lib.gkv_signature_free
    _what = "signature"

    def __init__(self, sig: SignatureLike) -> None:
        name, email = sig[0], sig[1]
        t = sig[2] if len(sig) > 2 else 0
        off = sig[3] if len(sig) > 3 else 0
        out = c_void_p()
        if not t:
            t = int(_time.time())
        rc = lib.gkv_signature_new(out, enc(name, "name"), enc(email, "email"), int(t), int(off))
        if rc:
            raise make(rc)
        self._own(out.value)


class Commit(NamedTuple):
    """A commit, read whole: its id, root tree id, parents, author,
    committer and message."""

    id: Oid
    tree_id: Oid
    parents: Tuple[Oid, ...]
    author: Signature
    committer: Signature
    message: str

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


def read_commit(c: int) -> Commit:
    """A Commit from a gkv_commit (not freed here)."""
    n = lib.gkv_commit_parentcount(c)
    return Commit(
        oid_ptr(lib.gkv_commit_id(c)),  # type: ignore[arg-type]
        oid_ptr(lib.gkv_commit_tree_id(c)),  # type: ignore[arg-type]
        tuple(oid_ptr(lib.gkv_commit_parent_id(c, i)) for i in range(n)),  # type: ignore[misc]
        read_signature(lib.gkv_commit_author(c)),
        read_signature(lib.gkv_commit_committer(c)),
        dec(lib.gkv_commit_message(c)),
    )


class ReflogEntry(NamedTuple):
    """One move of a branch: the head before and after (None: absent), who
    moved it and when, and why."""

    old: Optional[Oid]
    new: Optional[Oid]
    signature: Signature
    message: str
