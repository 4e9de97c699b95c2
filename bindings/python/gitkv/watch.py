"""Watches: Python callbacks called when branch heads move."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from . import _lib
from ._lib import lib
from ._util import Handle, dec, oid_ptr, stash
from .diff import read_diff

if TYPE_CHECKING:
    from .repo import Repo


def branch_trampoline(fn: Callable[..., None]):
    def cb(branch, old, new, _payload):
        try:
            fn(dec(branch), oid_ptr(old), oid_ptr(new))
        except BaseException as e:  # noqa: B036 - raised by the call that moved the head
            stash(e)

    return _lib.WATCH_BRANCH_CB(cb)


def path_trampoline(fn: Callable[..., None]):
    def cb(branch, old, new, diff, _payload):
        try:
            fn(dec(branch), oid_ptr(old), oid_ptr(new), read_diff(diff))
        except BaseException as e:  # noqa: B036
            stash(e)

    return _lib.WATCH_PATH_CB(cb)


class Watch(Handle):
    """A watch made by Repo.watch or Store.watch; close() (or the end of a
    ``with`` block) stops it. The callback runs on the thread that moved
    the head through this repo, inside that call, or inside Repo.poll()
    for moves made by others. An exception the callback raises is raised
    by the call that moved the head (or by poll()), after the move, which
    has landed: a watch cannot undo a commit. A callback must not close
    its own watch."""

    _free_fn = lib.gkv_watch_free
    _what = "watch"

    def __init__(self, ptr: int, repo: "Repo", cfn: object, branch: Optional[str],
                 prefix: Optional[str]) -> None:
        self._cfn = cfn  # C may call it as long as the watch lives
        self.branch = branch
        self.prefix = prefix
        self._own(ptr, repo)

    def __repr__(self) -> str:
        return f"<gitkv.Watch branch={self.branch!r} prefix={self.prefix!r}>"
