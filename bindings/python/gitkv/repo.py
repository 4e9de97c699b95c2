"""Repos: one open store (mem, lmdb or git) shared by the whole process."""

from __future__ import annotations

import enum
import re
from collections.abc import MutableMapping
from ctypes import byref, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import Buf, GcResult, Oid as _COid, OidArray, RepoStats, StrArray, lib
from ._util import (Handle, Oid, Path, c_oid, dec, enc, fail, has_pending, oid_of,
                    oid_ptr, reraise, stash, take_buf, take_strarray)
from .commit import Commit, CSignature, ReflogEntry, SignatureLike, read_commit, read_signature
from .diff import Change, read_diff
from .errors import NotFound, make
from .merge import MergeCallback, MergeFn, MergeOptions, as_options, conflict_error
from .store import Store, make_info
from .sync import FetchResult, ProgressCallback, PullStrategy, read_fetch_result, sync_options
from .tree import Tree
from .watch import Watch, branch_trampoline, path_trampoline


class Durability(enum.IntEnum):
    """Durability of commits (gkv_durability)."""

    FULL = 0
    NOSYNC = 1
    NOSYNC_MAPPED = 2


CommitSpec = Union[str, bytes, Oid]
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")


class _Options(Handle):
    _free_fn = lib.gkv_options_free
    _what = "options"

    def __init__(self, create: bool, readonly: bool, durability: Optional[Durability],
                 author: Optional[Tuple[str, str]], cache_size: Optional[int],
                 max_value: Optional[int]) -> None:
        out = c_void_p()
        rc = lib.gkv_options_new(out)
        if rc:
            raise make(rc)
        self._own(out.value)
        p = out.value
        steps = []
        if create:
            steps.append(lambda: lib.gkv_options_set_create(p, 1))
        if readonly:
            steps.append(lambda: lib.gkv_options_set_readonly(p, 1))
        if durability is not None:
            steps.append(lambda: lib.gkv_options_set_durability(p, int(durability)))
        if author is not None:
            steps.append(lambda: lib.gkv_options_set_author(p, enc(author[0], "name"),
                                                            enc(author[1], "email")))
        if cache_size is not None:
            steps.append(lambda: lib.gkv_options_set_cache_size(p, cache_size))
        if max_value is not None:
            steps.append(lambda: lib.gkv_options_set_max_value(p, max_value))
        for step in steps:
            rc = step()
            if rc:
                err = make(rc)
                self.close()
                raise err


class Branches(MutableMapping):
    """The branches of a repo as a mapping of name to head id, sorted by
    name. ``del branches[name]`` deletes one; ``branches[name] = id``
    creates one or moves it (a compare-and-swap from the head just read);
    create, cas and fast_forward are the single-attempt operations."""

    def __init__(self, repo: "Repo") -> None:
        self._repo = repo

    def __getitem__(self, name: str) -> Oid:
        o = _COid()
        rc = lib.gkv_branch_head(byref(o), self._repo._p(), enc(name, "branch name"))
        if rc:
            raise make(rc)
        return oid_of(o)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, (str, bytes)):
            return False
        try:
            self[name]  # type: ignore[index]
            return True
        except NotFound:
            return False

    def names(self) -> List[str]:
        arr = StrArray()
        rc = lib.gkv_branch_list(byref(arr), self._repo._p())
        if rc:
            raise make(rc)
        return take_strarray(arr)

    def __setitem__(self, name: str, target: CommitSpec) -> None:
        cur = self.get(name)
        self.cas(name, cur, target)

    def __delitem__(self, name: str) -> None:
        rc = lib.gkv_branch_delete(self._repo._p(), enc(name, "branch name"))
        self._repo._after(rc)

    def create(self, name: str, target: CommitSpec) -> None:
        """Create branch name at target (Exists if it exists)."""
        t = self._repo._oid(target)
        rc = lib.gkv_branch_create(self._repo._p(), enc(name, "branch name"), byref(t))
        self._repo._after(rc)

    def cas(self, name: str, expected: Optional[CommitSpec], new: Optional[CommitSpec]) -> None:
        """Set name to new (None deletes it) only if it is at expected (None:
        absent); Conflict otherwise."""
        e = self._repo._oid(expected) if expected is not None else None
        n = self._repo._oid(new) if new is not None else None
        rc = lib.gkv_branch_cas(self._repo._p(), enc(name, "branch name"),
                                byref(e) if e is not None else None,
                                byref(n) if n is not None else None)
        self._repo._after(rc)

    def fast_forward(self, name: str, target: CommitSpec) -> None:
        """Move name forward to target; NonFastForward if that loses commits."""
        t = self._repo._oid(target)
        rc = lib.gkv_branch_fast_forward(self._repo._p(), enc(name, "branch name"), byref(t))
        self._repo._after(rc)

    def reflog(self, name: str) -> List[ReflogEntry]:
        """Every move of branch name made through gitkv, newest first."""
        return self._repo.reflog(name)

    def __repr__(self) -> str:
        return f"<gitkv.Branches {dict(self.items())!r}>"


class Config(MutableMapping):
    """A store's settings under git-config keys ("section.name")."""

    def __init__(self, repo: "Repo") -> None:
        self._repo = repo

    def __getitem__(self, key: str) -> str:
        buf = Buf()
        rc = lib.gkv_config_get(byref(buf), self._repo._p(), enc(key, "key"))
        if rc:
            raise make(rc)
        return dec(take_buf(buf).rstrip(b"\0"))

    def __setitem__(self, key: str, value: str) -> None:
        rc = lib.gkv_config_set(self._repo._p(), enc(key, "key"), enc(value, "value"))
        if rc:
            raise make(rc)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        rc = lib.gkv_config_set(self._repo._p(), enc(key, "key"), None)
        if rc:
            raise make(rc)

    def items_under(self, prefix: str = "") -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []

        def cb(k, v, _payload):
            out.append((dec(k), dec(v)))
            return 0

        fn = _lib.CONFIG_CB(cb)
        rc = lib.gkv_config_foreach(self._repo._p(), enc(prefix, "prefix"), fn, None)
        if rc:
            fail(rc)
        return out

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _v in self.items_under("")])

    def __len__(self) -> int:
        return len(self.items_under(""))


class Remotes(MutableMapping):
    """The recorded remotes: name -> URL. ``remotes[name] = url`` records
    one (Exists if recorded), ``del remotes[name]`` forgets it and its
    remote-tracking refs."""

    def __init__(self, repo: "Repo") -> None:
        self._repo = repo

    def __getitem__(self, name: str) -> str:
        buf = Buf()
        rc = lib.gkv_remote_url(byref(buf), self._repo._p(), enc(name, "remote"))
        if rc:
            raise make(rc)
        return dec(take_buf(buf).rstrip(b"\0"))

    def __setitem__(self, name: str, url: str) -> None:
        rc = lib.gkv_remote_add(self._repo._p(), enc(name, "remote"), enc(url, "url"))
        if rc:
            raise make(rc)

    def __delitem__(self, name: str) -> None:
        rc = lib.gkv_remote_remove(self._repo._p(), enc(name, "remote"))
        if rc:
            raise make(rc)

    def __iter__(self) -> Iterator[str]:
        arr = StrArray()
        rc = lib.gkv_remote_list(byref(arr), self._repo._p())
        if rc:
            raise make(rc)
        return iter(take_strarray(arr))

    def __len__(self) -> int:
        return len(list(iter(self)))


class Repo(Handle):
    """An open store: ``gitkv.Repo.open("lmdb:/path", create=True)``,
    ``"git:/path"``, ``"mem:"`` or an existing store's plain path. Use it
    as a context manager, or close() it; everything made from it (stores,
    trees, transactions, watches) is closed with it. A Repo may be shared
    by threads."""

    _free_fn = lib.gkv_repo_free
    _what = "repo"

    def __init__(self, ptr: int, uri: str) -> None:
        self._own(ptr)
        self.uri = uri

    @classmethod
    def open(cls, uri: str, *, create: bool = False, readonly: bool = False,
             durability: Optional[Durability] = None, author: Optional[Tuple[str, str]] = None,
             cache_size: Optional[int] = None, max_value: Optional[int] = None) -> "Repo":
        """Open the store named uri. create: make it if absent (lmdb: and
        git: only); readonly: every write raises ReadOnly; durability;
        author=(name, email) of commits; cache_size: decoded trees kept;
        max_value: the largest value a whole read hands over (TooLarge)."""
        u = enc(uri, "store name")
        with _Options(create, readonly, durability, author, cache_size, max_value) as opts:
            out = c_void_p()
            rc = lib.gkv_repo_open(byref(out), u, opts._p())
            if rc:
                raise make(rc)
        return cls(out.value, uri)

    @classmethod
    def clone(cls, remote: str, uri: str, *, progress: Optional[ProgressCallback] = None,
              durability: Optional[Durability] = None, author: Optional[Tuple[str, str]] = None,
              **sync_kw: Any) -> "Repo":
        """Clone remote (a URL, a store name or path) into the new store
        uri; every branch of the remote becomes a branch, the remote is
        recorded as "origin". Keywords as SyncOptions (progress, userpass,
        ssh_key, ...)."""
        sopts = sync_options(progress=progress, **sync_kw)
        with _Options(True, False, durability, author, None, None) as opts:
            out = c_void_p()
            try:
                rc = lib.gkv_clone(byref(out), enc(remote, "remote"), enc(uri, "store name"),
                                   opts._p(), sopts._p() if sopts else None)
            finally:
                if sopts is not None:
                    sopts.close()
            if rc:
                fail(rc)
        reraise()
        return cls(out.value, uri)

    # -- after calls that may run watches
    def _after(self, rc: int) -> None:
        if rc:
            fail(rc)
        if has_pending():
            reraise()

    def _oid(self, spec: CommitSpec) -> _COid:
        """A gkv_oid from an Oid / 40 hex digits / 20 raw bytes, or any
        commit spec (branch name, unique hex prefix) resolved here."""
        if isinstance(spec, bytes) and len(spec) == 20:
            return c_oid(spec)
        s = spec.decode() if isinstance(spec, bytes) else spec
        if isinstance(s, str) and _HEX40.match(s):
            return c_oid(s)
        o = _COid()
        rc = lib.gkv_repo_resolve(byref(o), self._p(), enc(s, "commit"))
        if rc:
            raise make(rc)
        return o

    # -- properties
    @property
    def backend(self) -> str:
        """"mem", "lmdb", "git" or a custom backend's name."""
        return dec(lib.gkv_repo_backend_name(self._p()))

    @property
    def default_branch(self) -> str:
        return dec(lib.gkv_repo_default_branch(self._p()))

    @default_branch.setter
    def default_branch(self, name: str) -> None:
        rc = lib.gkv_repo_set_default_branch(self._p(), enc(name, "branch name"))
        if rc:
            raise make(rc)

    @property
    def branches(self) -> Branches:
        return Branches(self)

    @property
    def config(self) -> Config:
        return Config(self)

    @property
    def remotes(self) -> Remotes:
        return Remotes(self)

    # -- stores
    def branch(self, name: Optional[str] = None) -> Store:
        """A store on branch name (default: the default branch), which need
        not exist yet: it reads as empty and its first write creates it."""
        if name is None:
            name = self.default_branch
        out = c_void_p()
        rc = lib.gkv_store_open_branch(byref(out), self._p(), enc(name, "branch name"))
        if rc:
            raise make(rc)
        return Store(out.value, self)

    def commit(self, spec: CommitSpec) -> Store:
        """A read view of a fixed commit (an id, hex prefix or branch name);
        its writes move only the view."""
        o = self._oid(spec)
        out = c_void_p()
        rc = lib.gkv_store_open_commit(byref(out), self._p(), byref(o))
        if rc:
            raise make(rc)
        return Store(out.value, self)

    def resolve(self, spec: CommitSpec) -> Oid:
        """The commit id a spec names (branch first, then hex or prefix)."""
        return oid_of(self._oid(spec))

    def lookup(self, spec: CommitSpec) -> Commit:
        """The commit a spec names, read whole."""
        o = self._oid(spec)
        out = c_void_p()
        rc = lib.gkv_commit_lookup(byref(out), self._p(), byref(o))
        if rc:
            raise make(rc)
        try:
            return read_commit(out.value)
        finally:
            lib.gkv_commit_free(out.value)

    def create_commit(self, tree: Union[Tree, CommitSpec], parents: Sequence[CommitSpec] = (),
                      message: str = "", author: Optional[SignatureLike] = None,
                      committer: Optional[SignatureLike] = None) -> Oid:
        """Write a commit of tree (a Tree, written first, or a tree id) with
        parents; moves no branch."""
        if isinstance(tree, Tree):
            t = c_oid(tree.write())
        else:
            t = c_oid(tree)
        ps = [self._oid(p) for p in parents]
        arr = (_COid * max(len(ps), 1))(*ps)
        a = CSignature(author) if author is not None else None
        c = CSignature(committer) if committer is not None else None
        try:
            o = _COid()
            rc = lib.gkv_commit_create(byref(o), self._p(), byref(t), arr if ps else None, len(ps),
                                       a._p() if a else None, c._p() if c else None,
                                       enc(message, "message"))
        finally:
            for s in (a, c):
                if s is not None:
                    s.close()
        if rc:
            raise make(rc)
        return oid_of(o)

    # -- trees and objects
    def empty_tree(self) -> Tree:
        out = c_void_p()
        rc = lib.gkv_tree_empty(byref(out), self._p())
        if rc:
            raise make(rc)
        return Tree(out.value, self)

    def tree(self, spec: CommitSpec) -> Tree:
        """A stored tree by id, or the root tree of a commit (id, spec)."""
        out = c_void_p()
        s = spec.decode() if isinstance(spec, bytes) and len(spec) != 20 else spec
        if isinstance(s, str) and _HEX40.match(s):
            o = c_oid(s)
            rc = lib.gkv_tree_lookup(byref(out), self._p(), byref(o))
            if rc == 0:
                return Tree(out.value, self)
            if rc != _lib.E_INVALID:
                raise make(rc)
        t = c_oid(self.lookup(spec).tree_id)
        rc = lib.gkv_tree_lookup(byref(out), self._p(), byref(t))
        if rc:
            raise make(rc)
        return Tree(out.value, self)

    def object_exists(self, oid: CommitSpec) -> bool:
        out = c_int()
        o = c_oid(oid)  # type: ignore[arg-type]
        rc = lib.gkv_repo_object_exists(byref(out), self._p(), byref(o))
        if rc:
            raise make(rc)
        return bool(out.value)

    def read_object(self, oid: CommitSpec) -> Tuple[int, bytes]:
        """(type, payload) of a raw object: type 1 commit, 2 tree, 3 blob, 4 tag."""
        buf = Buf()
        t = c_int()
        o = c_oid(oid)  # type: ignore[arg-type]
        rc = lib.gkv_repo_object_read(byref(buf), byref(t), self._p(), byref(o))
        if rc:
            raise make(rc)
        return t.value, take_buf(buf)

    # -- refs
    def refs(self, prefix: str = "") -> Dict[str, Oid]:
        """Every ref whose full name starts with prefix, with its target."""
        arr = StrArray()
        rc = lib.gkv_ref_list(byref(arr), self._p(), enc(prefix, "prefix"))
        if rc:
            raise make(rc)
        return {name: self.ref(name) for name in take_strarray(arr)}

    def ref(self, name: str) -> Oid:
        """Any ref by full name ("refs/remotes/origin/main")."""
        o = _COid()
        rc = lib.gkv_ref_read(byref(o), self._p(), enc(name, "ref"))
        if rc:
            raise make(rc)
        return oid_of(o)

    def reflog(self, branch: str) -> List[ReflogEntry]:
        out = c_void_p()
        rc = lib.gkv_branch_reflog(byref(out), self._p(), enc(branch, "branch name"))
        if rc:
            raise make(rc)
        log = out.value
        try:
            entries = []
            for i in range(lib.gkv_reflog_count(log)):
                old = oid_ptr(lib.gkv_reflog_old_id(log, i))
                new = oid_ptr(lib.gkv_reflog_new_id(log, i))
                entries.append(ReflogEntry(
                    None if old == "0" * 40 else old, None if new == "0" * 40 else new,
                    read_signature(lib.gkv_reflog_signature(log, i)),
                    dec(lib.gkv_reflog_message(log, i))))
            return entries
        finally:
            lib.gkv_reflog_free(log)

    # -- history
    def log(self, start: Union[CommitSpec, Sequence[CommitSpec]], *, path: Optional[Path] = None,
            hide: Sequence[CommitSpec] = (), limit: Optional[int] = None) -> Iterator[Commit]:
        """Commits reachable from start (one spec or several), newest
        first, without those reachable from hide; with path, only the
        commits that changed what path holds compared with their first
        parent (or added it)."""
        starts = [start] if isinstance(start, (str, bytes)) else list(start)
        return _log(self, [self._oid(s) for s in starts], [self._oid(h) for h in hide],
                    enc(path) if path is not None else None, limit)

    def is_ancestor(self, ancestor: CommitSpec, descendant: CommitSpec) -> bool:
        out = c_int()
        a, d = self._oid(ancestor), self._oid(descendant)
        rc = lib.gkv_is_ancestor(byref(out), self._p(), byref(a), byref(d))
        if rc:
            raise make(rc)
        return bool(out.value)

    def merge_bases(self, a: CommitSpec, b: CommitSpec) -> List[Oid]:
        arr = OidArray()
        x, y = self._oid(a), self._oid(b)
        rc = lib.gkv_merge_bases(byref(arr), self._p(), byref(x), byref(y))
        if rc:
            raise make(rc)
        try:
            return [oid_of(arr.ids[i]) for i in range(arr.count)]
        finally:
            lib.gkv_oidarray_dispose(byref(arr))

    def last_change(self, start: CommitSpec, path: Path) -> Oid:
        """The newest commit from start that changed path."""
        o = _COid()
        s = self._oid(start)
        rc = lib.gkv_history_last_change(byref(o), self._p(), byref(s), enc(path))
        if rc:
            raise make(rc)
        return oid_of(o)

    def first_change(self, start: CommitSpec, path: Path) -> Oid:
        """The oldest commit along the first-parent chain that changed path."""
        o = _COid()
        s = self._oid(start)
        rc = lib.gkv_history_first_change(byref(o), self._p(), byref(s), enc(path))
        if rc:
            raise make(rc)
        return oid_of(o)

    def diff(self, old: CommitSpec, new: CommitSpec) -> List[Change]:
        """What changed from commit old to commit new, one entry per value path."""
        out = c_void_p()
        a, b = self._oid(old), self._oid(new)
        rc = lib.gkv_diff_commits(byref(out), self._p(), byref(a), byref(b))
        if rc:
            raise make(rc)
        try:
            return read_diff(out.value)
        finally:
            lib.gkv_diff_free(out.value)

    # -- merges
    def merge(self, branch: str, source: CommitSpec, *,
              merge: Union[MergeOptions, MergeFn, MergeCallback, None] = None,
              message: Optional[str] = None, author: Optional[SignatureLike] = None,
              committer: Optional[SignatureLike] = None) -> Oid:
        """Merge source (a commit spec or another branch) into branch and
        move it; returns its new head. Conflict (with ``.conflicts``) when
        paths conflict: nothing moves then."""
        src = self._oid(source)
        opts = as_options(merge)
        info = make_info(message, author, committer)
        out = _COid()
        conflicts = c_void_p()
        try:
            rc = lib.gkv_merge_into_branch(byref(out), byref(conflicts), self._p(),
                                           enc(branch, "branch name"), byref(src),
                                           opts._p() if opts else None,
                                           info._p() if info else None)
        finally:
            if info is not None:
                info.close()
            _close_made(opts, merge)
        if rc:
            reraise()
            raise conflict_error(rc, conflicts.value)
        reraise()
        return oid_of(out)

    def merge_commits(self, ours: CommitSpec, theirs: CommitSpec, *,
                      merge: Union[MergeOptions, MergeFn, MergeCallback, None] = None,
                      message: Optional[str] = None, author: Optional[SignatureLike] = None,
                      committer: Optional[SignatureLike] = None) -> Oid:
        """Merge commit theirs into ours without moving a branch: ours,
        theirs (fast-forward) or a new merge commit."""
        a, b = self._oid(ours), self._oid(theirs)
        opts = as_options(merge)
        info = make_info(message, author, committer)
        out = _COid()
        conflicts = c_void_p()
        try:
            rc = lib.gkv_merge_commits(byref(out), byref(conflicts), self._p(), byref(a), byref(b),
                                       opts._p() if opts else None, info._p() if info else None)
        finally:
            if info is not None:
                info.close()
            _close_made(opts, merge)
        if rc:
            reraise()
            raise conflict_error(rc, conflicts.value)
        return oid_of(out)

    def merge_trees(self, base: Optional[Tree], ours: Tree, theirs: Tree, *,
                    merge: Union[MergeOptions, MergeFn, MergeCallback, None] = None) -> Tree:
        """Three-way merge of trees (base None: the empty tree); writes nothing."""
        opts = as_options(merge)
        out = c_void_p()
        conflicts = c_void_p()
        try:
            rc = lib.gkv_merge_trees(byref(out), byref(conflicts), base._p() if base else None,
                                     ours._p(), theirs._p(), opts._p() if opts else None)
        finally:
            _close_made(opts, merge)
        if rc:
            reraise()
            raise conflict_error(rc, conflicts.value)
        return Tree(out.value, self)

    # -- watches
    def watch(self, callback: Callable[..., None], *, branch: Optional[str] = None,
              prefix: Optional[Path] = None) -> Watch:
        """Call callback(branch, old, new) after a branch (None: any) moves
        (old None: created; new None: deleted); with prefix (branch then
        required), callback(branch, old, new, changes) only when something
        under prefix changed, changes being the diff's entries."""
        out = c_void_p()
        if prefix is None:
            cfn = branch_trampoline(callback)
            rc = lib.gkv_watch_branch(byref(out), self._p(),
                                      enc(branch, "branch name") if branch is not None else None,
                                      cfn, None)
        else:
            if branch is None:
                raise TypeError("a path watch needs a branch")
            cfn = path_trampoline(callback)
            rc = lib.gkv_watch_path(byref(out), self._p(), enc(branch, "branch name"),
                                    enc(prefix), cfn, None)
        if rc:
            raise make(rc)
        return Watch(out.value, self, cfn, branch,
                     dec(enc(prefix)) if prefix is not None else None)

    def poll(self) -> int:
        """Look for heads moved by other processes and handles, call the
        matching watches; the number of branches that moved."""
        n = c_size_t()
        rc = lib.gkv_repo_watch_poll(byref(n), self._p())
        self._after(rc)
        return n.value

    # -- checking and reclaiming
    def fsck(self, progress: Optional[Callable[[int, int], object]] = None) -> List[Tuple[Optional[Oid], Optional[str], str]]:
        """Check every object and ref; the problems found, each (object id
        or None, ref or None, text). An empty list: the store is sound."""
        problems: List[Tuple[Optional[Oid], Optional[str], str]] = []

        def cb(oid, ref, text, _payload):
            try:
                problems.append((oid_ptr(oid), dec(ref) if ref is not None else None, dec(text)))
                return 0
            except BaseException as e:  # noqa: B036
                stash(e)
                return _lib.E_USER

        fcb = _lib.FSCK_CB(cb)
        wcb = _work_cb(progress)
        n = c_size_t()
        rc = lib.gkv_repo_fsck(byref(n), self._p(), fcb, None, wcb, None)
        if rc:
            fail(rc)
        return problems

    def gc(self, progress: Optional[Callable[[int, int], object]] = None) -> Dict[str, int]:
        """Remove every object no ref reaches (lmdb and mem; Unsupported on
        git, whose own gc does it); what was done."""
        r = GcResult()
        rc = lib.gkv_repo_gc(byref(r), self._p(), _work_cb(progress), None)
        if rc:
            fail(rc)
        return {f: getattr(r, f) for f, _t in GcResult._fields_}

    def stats(self) -> Dict[str, Any]:
        """Objects by type (count and bytes), refs and branches."""
        s = RepoStats()
        rc = lib.gkv_repo_stats_read(byref(s), self._p())
        if rc:
            raise make(rc)
        names = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
        return {"count": {n: s.count[i] for i, n in names.items()},
                "bytes": {n: s.bytes[i] for i, n in names.items()},
                "refs": s.refs, "branches": s.branches}

    def backend_stats(self) -> Dict[str, int]:
        """The backend's own figures (lmdb: map_size, ...; git: packs, ...)."""
        out: Dict[str, int] = {}

        def cb(name, value, _payload):
            out[dec(name)] = value
            return 0

        fn = _lib.STAT_CB(cb)
        rc = lib.gkv_repo_backend_stats(self._p(), fn, None)
        if rc:
            fail(rc)
        return out

    # -- sync
    def fetch(self, remote: str, branch: Optional[str] = None, *,
              progress: Optional[ProgressCallback] = None, **sync_kw: Any) -> FetchResult:
        """Fetch branch (None: every branch) of remote: store the objects
        this store lacks and, for a recorded remote, move its
        remote-tracking refs. No local branch moves."""
        sopts = sync_options(progress=progress, **sync_kw)
        out = c_void_p()
        try:
            rc = lib.gkv_fetch(byref(out), self._p(), enc(remote, "remote"),
                               enc(branch, "branch name") if branch is not None else None,
                               sopts._p() if sopts else None)
        finally:
            if sopts is not None:
                sopts.close()
        if rc:
            fail(rc)
        reraise()
        return read_fetch_result(out.value)

    def pull(self, remote: str, branch: Optional[str] = None, *,
             remote_branch: Optional[str] = None, strategy: PullStrategy = PullStrategy.MERGE,
             merge: Union[MergeOptions, MergeFn, MergeCallback, None] = None,
             progress: Optional[ProgressCallback] = None, **sync_kw: Any) -> Oid:
        """Fetch remote_branch (default: branch) of remote and bring local
        branch (default: the default branch) to it by strategy; the
        branch's new head. Conflict (with ``.conflicts``) stores nothing."""
        if branch is None:
            branch = self.default_branch
        sopts = sync_options(progress=progress, **sync_kw)
        mopts = as_options(merge)
        out = _COid()
        conflicts = c_void_p()
        try:
            rc = lib.gkv_pull(byref(out), byref(conflicts), self._p(), enc(remote, "remote"),
                              enc(remote_branch, "branch name") if remote_branch else None,
                              enc(branch, "branch name"), int(strategy),
                              mopts._p() if mopts else None, sopts._p() if sopts else None)
        finally:
            if sopts is not None:
                sopts.close()
            _close_made(mopts, merge)
        if rc:
            reraise()
            raise conflict_error(rc, conflicts.value)
        reraise()
        return oid_of(out)

    def push(self, remote: str, branch: Optional[str] = None, *,
             remote_branch: Optional[str] = None, force: bool = False,
             progress: Optional[ProgressCallback] = None, **sync_kw: Any) -> None:
        """Push local branch (default: the default branch) to remote_branch
        (default: the same name) of remote, sending only what it lacks.
        NonFastForward, nothing changed on either side, unless force."""
        if branch is None:
            branch = self.default_branch
        sopts = sync_options(progress=progress, force=force, **sync_kw)
        try:
            rc = lib.gkv_push(self._p(), enc(remote, "remote"), enc(branch, "branch name"),
                              enc(remote_branch, "branch name") if remote_branch else None,
                              sopts._p() if sopts else None)
        finally:
            if sopts is not None:
                sopts.close()
        if rc:
            fail(rc)
        reraise()

    def copy_from(self, src: "Repo", heads: Sequence[CommitSpec]) -> int:
        """Copy into this store every object reachable from heads of src
        that it lacks; moves no ref. The number of objects written."""
        ids = [src._oid(h) for h in heads]
        arr = (_COid * max(len(ids), 1))(*ids)
        n = c_uint64()
        rc = lib.gkv_sync_copy(byref(n), self._p(), src._p(), arr, len(ids), None)
        if rc:
            fail(rc)
        return n.value

    def __repr__(self) -> str:
        if self.closed:
            return f"<gitkv.Repo {self.uri!r} closed>"
        return f"<gitkv.Repo {self.uri!r} backend={self.backend}>"


def _close_made(opts: Optional[MergeOptions], given: object) -> None:
    """Free merge options made here from a MergeFn or a callback."""
    if opts is not None and opts is not given:
        opts.close()


def _work_cb(fn: Optional[Callable[[int, int], object]]):
    if fn is None:
        return _lib.WORK_CB()

    def cb(done, total, _payload):
        try:
            return 1 if fn(done, total) is False else 0
        except BaseException as e:  # noqa: B036
            stash(e)
            return _lib.E_USER

    return _lib.WORK_CB(cb)


def _entry_id(repo: Repo, tree_id: _COid, path: bytes, cache: Dict[bytes, Optional[bytes]]) -> Optional[bytes]:
    """The id of what path names in the tree tree_id, or None."""
    key = bytes(tree_id)
    if key in cache:
        return cache[key]
    t = c_void_p()
    rc = lib.gkv_tree_lookup(byref(t), repo._p(), byref(tree_id))
    if rc:
        raise make(rc)
    try:
        o = _COid()
        rc = lib.gkv_tree_entry(byref(o), None, None, t.value, path)
        if rc == _lib.E_NOTFOUND:
            res = None
        elif rc:
            raise make(rc)
        else:
            res = bytes(o)
    finally:
        lib.gkv_tree_free(t.value)
    if len(cache) > 4096:
        cache.clear()
    cache[key] = res
    return res


class _Walk(Handle):
    """A gkv_revwalk, closed with its repo if the walk is not finished."""

    _free_fn = lib.gkv_revwalk_free
    _what = "history walk"

    def __init__(self, repo: Repo) -> None:
        out = c_void_p()
        rc = lib.gkv_revwalk_new(byref(out), repo._p())
        if rc:
            raise make(rc)
        self._own(out.value, repo)


def _log(repo: Repo, starts: List[_COid], hides: List[_COid], path: Optional[bytes],
         limit: Optional[int]) -> Iterator[Commit]:
    if path is not None:
        rc = lib.gkv_path_validate(path)
        if rc:
            raise make(rc)
    walk = _Walk(repo)
    try:
        for s in starts:
            rc = lib.gkv_revwalk_push(walk._p(), byref(s))
            if rc:
                raise make(rc)
        for h in hides:
            rc = lib.gkv_revwalk_hide(walk._p(), byref(h))
            if rc:
                raise make(rc)
    except BaseException:
        walk.close()
        raise
    return _log_iter(repo, walk, path, limit)


def _log_iter(repo: Repo, walk: _Walk, path: Optional[bytes], limit: Optional[int]) -> Iterator[Commit]:
    cache: Dict[bytes, Optional[bytes]] = {}
    n = 0
    try:
        o = _COid()
        while limit is None or n < limit:
            rc = lib.gkv_revwalk_next(byref(o), walk._p())
            if rc == _lib.ITEROVER:
                return
            if rc:
                raise make(rc)
            c = repo.lookup(oid_of(o))
            if path is not None:
                mine = _entry_id(repo, c_oid(c.tree_id), path, cache)
                if c.parents:
                    parent = repo.lookup(c.parents[0])
                    theirs = _entry_id(repo, c_oid(parent.tree_id), path, cache)
                else:
                    theirs = None
                if mine == theirs:
                    continue
            n += 1
            yield c
    finally:
        walk.close()


__all__ = ["Repo", "Branches", "Config", "Remotes", "Durability"]
