"""Merge options: built-in contents merge functions, rules by pattern, and
a Python callback."""

from __future__ import annotations

import enum
from ctypes import c_void_p, memmove, string_at
from typing import Callable, List, Mapping, Optional, Tuple, Union

from . import _lib
from ._lib import lib
from ._util import Handle, dec, enc, stash, value_bytes
from .errors import Conflict, make


class MergeFn(enum.IntEnum):
    """Built-in contents merge functions (gkv_merge_fn); see docs/merges.md."""

    CONFLICT = 0
    LWW = 1
    COUNTER = 2
    LINES = 3


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"gitkv.{self._name}"


#: A merge callback's answer: leave this path to the rules, the
#: .gitattributes file and the default function.
PASS = _Sentinel("PASS")
#: A merge callback's answer: this path is a conflict.
CONFLICT = _Sentinel("CONFLICT")

MergeCallback = Callable[[str, Optional[bytes], Optional[bytes], Optional[bytes]], object]


def _trampoline(fn: MergeCallback):
    def cb(out, out_present, path, base, base_len, base_present, ours, ours_len,
           ours_present, theirs, theirs_len, theirs_present, _payload):
        try:
            b = (string_at(base, base_len) if base_len else b"") if base_present else None
            o = (string_at(ours, ours_len) if ours_len else b"") if ours_present else None
            t = (string_at(theirs, theirs_len) if theirs_len else b"") if theirs_present else None
            r = fn(dec(path), b, o, t)
            if r is PASS:
                return _lib.MERGE_PASS
            if r is CONFLICT:
                return _lib.E_CONFLICT
            if r is None:
                out_present[0] = 0
                return 0
            v = value_bytes(r)
            p = _lib.malloc(max(len(v), 1))
            if not p:
                raise MemoryError("malloc failed for a merge result")
            memmove(p, v, len(v))
            out[0].ptr = p
            out[0].size = len(v)
            out_present[0] = 1
            return 0
        except BaseException as e:  # noqa: B036 - raised again after the merge
            stash(e)
            return _lib.E_USER

    return _lib.MERGE_CB(cb)


class MergeOptions(Handle):
    """How merges decide paths both sides changed:

    - ``default``: the function of paths nothing else decides (MergeFn);
    - ``rules``: {pattern: MergeFn}, patterns as in .gitattributes
      ("*.count", "logs/**"); added in order, the last added is tried first;
    - ``callback(path, base, ours, theirs)``: tried first on each
      conflicting path; each side is bytes or None (absent). Return bytes
      (the result), None (remove the path), gitkv.PASS (leave it to the
      rules) or gitkv.CONFLICT. An exception it raises aborts the merge
      and propagates from the merging call;
    - ``attributes``: read the root .gitattributes (default True);
    - ``no_ff``: always make a merge commit (default False).
    """

    _free_fn = lib.gkv_merge_options_free
    _what = "merge options"

    def __init__(self, default: MergeFn = MergeFn.CONFLICT,
                 rules: Union[Mapping[str, MergeFn], List[Tuple[str, MergeFn]], None] = None,
                 callback: Optional[MergeCallback] = None, attributes: bool = True,
                 no_ff: bool = False) -> None:
        out = c_void_p()
        rc = lib.gkv_merge_options_new(out)
        if rc:
            raise make(rc)
        self._own(out.value)
        p = out.value
        self._cb = None
        rc = lib.gkv_merge_options_set_default(p, int(default))
        if not rc and rules:
            items = rules.items() if isinstance(rules, Mapping) else rules
            for pattern, fn in items:
                rc = lib.gkv_merge_options_add_rule(p, enc(pattern, "pattern"), int(fn))
                if rc:
                    break
        if not rc and callback is not None:
            self._cb = _trampoline(callback)  # kept alive as long as the options
            rc = lib.gkv_merge_options_set_callback(p, self._cb, None)
        if not rc:
            rc = lib.gkv_merge_options_use_attributes(p, 1 if attributes else 0)
        if not rc:
            rc = lib.gkv_merge_options_set_no_ff(p, 1 if no_ff else 0)
        if rc:
            err = make(rc)
            self.close()
            raise err


def as_options(merge: Union[MergeOptions, MergeFn, MergeCallback, None]) -> Optional[MergeOptions]:
    """MergeOptions from what a merging call accepts: options, a default
    MergeFn, or a callback."""
    if merge is None or isinstance(merge, MergeOptions):
        return merge
    if isinstance(merge, MergeFn):
        return MergeOptions(default=merge)
    if callable(merge):
        return MergeOptions(callback=merge)
    raise TypeError("merge is MergeOptions, a MergeFn or a callback")


def read_conflicts(c: Optional[int]) -> List[Tuple[str, str]]:
    """(path, reason) of each conflict of a gkv_conflicts (not freed)."""
    if not c:
        return []
    n = lib.gkv_conflicts_count(c)
    return [(dec(lib.gkv_conflicts_path(c, i)), dec(lib.gkv_conflicts_reason(c, i)))
            for i in range(n)]


def conflict_error(rc: int, conflicts: Optional[int]) -> Exception:
    """The exception of a failed merge, with its conflicts; frees them."""
    try:
        err = make(rc)
        if isinstance(err, Conflict):
            err.conflicts = read_conflicts(conflicts)
        return err
    finally:
        lib.gkv_conflicts_free(conflicts)


__all__ = ["MergeFn", "MergeOptions", "PASS", "CONFLICT"]
