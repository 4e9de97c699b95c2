"""Differences between trees and commits."""

from __future__ import annotations

import enum
from ctypes import byref, c_size_t, string_at
from typing import List, NamedTuple, Optional

from ._lib import lib
from ._util import dec


class Op(enum.IntEnum):
    """What happened to a path (gkv_diff_op)."""

    ADDED = 1
    REMOVED = 2
    CHANGED = 3


class Change(NamedTuple):
    """One entry of a diff: a value path, what happened to it, and its old
    and new value (None when added, resp. removed) and kinds."""

    path: str
    op: Op
    old: Optional[bytes]
    new: Optional[bytes]
    old_kind: int
    new_kind: int


def read_diff(d: int) -> List[Change]:
    """The entries of a gkv_diff (not freed here)."""
    from .tree import Kind

    out: List[Change] = []
    n = lib.gkv_diff_count(d)
    size = c_size_t()
    for i in range(n):
        p = lib.gkv_diff_old_value(d, i, byref(size))
        old = string_at(p, size.value) if p is not None else None
        p = lib.gkv_diff_new_value(d, i, byref(size))
        new = string_at(p, size.value) if p is not None else None
        out.append(Change(dec(lib.gkv_diff_path(d, i)), Op(lib.gkv_diff_op_at(d, i)),
                          old, new, Kind(lib.gkv_diff_old_kind(d, i)),
                          Kind(lib.gkv_diff_new_kind(d, i))))
    return out
