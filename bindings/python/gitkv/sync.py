"""Clone, fetch, pull and push (include/gitkv/sync.h) with progress."""

from __future__ import annotations

import enum
from ctypes import c_void_p
from typing import Callable, Dict, NamedTuple, Optional, Tuple

from . import _lib
from ._lib import lib
from ._util import Handle, Oid, dec, enc, oid_ptr, stash
from .errors import make


class Stage(enum.IntEnum):
    """What a transfer is doing (gkv_sync_stage)."""

    CONNECTING = 1
    RECEIVING = 2
    STORING = 3
    SENDING = 4
    UPDATING = 5
    DONE = 6


class Progress(NamedTuple):
    """Where a transfer stands; counts that do not apply are 0."""

    stage: Stage
    total_objects: int
    received_objects: int
    indexed_objects: int
    stored_objects: int
    received_bytes: int
    total_deltas: int
    indexed_deltas: int


class PullStrategy(enum.IntEnum):
    """How pull joins the remote's branch to the local one."""

    MERGE = 0  #: three-way merge (fast-forward when possible)
    FF = 1     #: fast-forward only; NonFastForward otherwise
    RESET = 2  #: replace the local branch with the remote's


class FetchResult(NamedTuple):
    """What a fetch found: the remote's branches and heads, the branch its
    HEAD names (or None), and how many objects were stored."""

    branches: Dict[str, Oid]
    default_branch: Optional[str]
    objects: int


def read_fetch_result(r: int) -> FetchResult:
    try:
        n = lib.gkv_fetch_result_count(r)
        branches = {dec(lib.gkv_fetch_result_branch(r, i)): oid_ptr(lib.gkv_fetch_result_id(r, i))
                    for i in range(n)}
        d = lib.gkv_fetch_result_default_branch(r)
        return FetchResult(branches, dec(d) if d is not None else None,  # type: ignore[arg-type]
                           lib.gkv_fetch_result_objects(r))
    finally:
        lib.gkv_fetch_result_free(r)


ProgressCallback = Callable[[Progress], object]
CertCallback = Callable[[bool, str, Optional[str]], bool]


class SyncOptions(Handle):
    """Options of a transfer, from the keywords of clone/fetch/pull/push:

    - ``progress(p: Progress)``: called as the transfer advances; raising
      stops it (the store is left as it was) and the exception propagates;
      returning False stops it too (UserAbort);
    - ``userpass=(user, password)``: http(s) basic auth;
    - ``ssh_key=(user, public_key, private_key, passphrase)`` (user,
      public_key, passphrase may be None), ``ssh_agent=user`` (or True);
    - ``ca_file``: a PEM file of CAs to trust for https (process-wide);
    - ``known_hosts``: the OpenSSH known_hosts file SSH hosts are checked
      against (default: ~/.ssh/known_hosts, then /etc/ssh/ssh_known_hosts);
    - ``cert_check(valid, host, fingerprint) -> bool``: accept a host;
    - ``force``: let push replace a branch that is not an ancestor.
    """

    _free_fn = lib.gkv_sync_options_free
    _what = "sync options"

    def __init__(self, progress: Optional[ProgressCallback] = None,
                 userpass: Optional[Tuple[str, str]] = None,
                 ssh_key: Optional[Tuple[Optional[str], Optional[str], str, Optional[str]]] = None,
                 ssh_agent: object = None, ca_file: Optional[str] = None,
                 known_hosts: Optional[str] = None,
                 cert_check: Optional[CertCallback] = None, force: bool = False) -> None:
        out = c_void_p()
        rc = lib.gkv_sync_options_new(out)
        if rc:
            raise make(rc)
        self._own(out.value)
        p = out.value
        self._keep = []
        try:
            if progress is not None:
                self._set(lib.gkv_sync_options_set_progress(p, self._progress(progress), None))
            if userpass is not None:
                self._set(lib.gkv_sync_options_set_userpass(
                    p, enc(userpass[0], "user"), enc(userpass[1], "password")))
            if ssh_key is not None:
                user, pub, priv, phrase = ssh_key
                self._set(lib.gkv_sync_options_set_ssh_key(
                    p, enc(user, "user") if user else None, enc(pub, "key") if pub else None,
                    enc(priv, "key"), enc(phrase, "passphrase") if phrase else None))
            if ssh_agent:
                user = ssh_agent if isinstance(ssh_agent, str) else None
                self._set(lib.gkv_sync_options_set_ssh_agent(p, enc(user, "user") if user else None))
            if ca_file is not None:
                self._set(lib.gkv_sync_options_set_ca_file(p, enc(ca_file, "file name")))
            if known_hosts is not None:
                self._set(lib.gkv_sync_options_set_known_hosts(p, enc(known_hosts, "file name")))
            if cert_check is not None:
                self._set(lib.gkv_sync_options_set_cert_check(p, self._cert(cert_check), None))
            if force:
                self._set(lib.gkv_sync_options_set_force(p, 1))
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _set(rc: int) -> None:
        if rc:
            raise make(rc)

    def _progress(self, fn: ProgressCallback):
        def cb(p, _payload):
            try:
                s = p[0]
                r = fn(Progress(Stage(s.stage), s.total_objects, s.received_objects,
                                s.indexed_objects, s.stored_objects, s.received_bytes,
                                s.total_deltas, s.indexed_deltas))
                return 1 if r is False else 0
            except BaseException as e:  # noqa: B036 - raised again by the sync call
                stash(e)
                return _lib.E_USER

        c = _lib.SYNC_PROGRESS_CB(cb)
        self._keep.append(c)
        return c

    def _cert(self, fn: CertCallback):
        def cb(valid, host, fingerprint, _payload):
            try:
                return 0 if fn(bool(valid), dec(host), dec(fingerprint) if fingerprint else None) else 1
            except BaseException as e:  # noqa: B036
                stash(e)
                return _lib.E_USER

        c = _lib.SYNC_CERT_CB(cb)
        self._keep.append(c)
        return c


def sync_options(**kw: object) -> Optional[SyncOptions]:
    """SyncOptions from keywords, or None when none is set."""
    if all(v is None or v is False for v in kw.values()):
        return None
    return SyncOptions(**kw)  # type: ignore[arg-type]
