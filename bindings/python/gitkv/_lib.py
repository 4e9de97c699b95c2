"""The C library, loaded with ctypes, and the prototype of every function
of include/gitkv.h and include/gitkv/sync.h.

The library is $GITKV_LIBRARY (a path to libgitkv.so) when set, else the
installed one (ctypes.util.find_library("gitkv"), then the usual sonames).
Nothing here is public API: the modules of the package wrap it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_ubyte,
    c_uint64,
    c_void_p,
)

# ----------------------------------------------------------------- codes

OK = 0
E_ERROR = -1
E_NOTFOUND = -2
E_EXISTS = -3
E_INVALID = -4
E_CONFLICT = -5
E_CORRUPT = -6
E_IO = -7
E_NOMEM = -8
E_FULL = -9
E_READONLY = -10
E_AMBIGUOUS = -11
E_UNSUPPORTED = -12
E_NONFASTFORWARD = -13
E_USER = -14
E_TOOLARGE = -15
E_NETWORK = -16
E_AUTH = -17
ITEROVER = -31

OID_RAWSZ = 20
OID_HEXSZ = 40
MERGE_PASS = 1
WALK_SKIP = 1

# ------------------------------------------------------------- structures


class Oid(Structure):
    """gkv_oid"""

    _fields_ = [("id", c_ubyte * OID_RAWSZ)]


class Buf(Structure):
    """gkv_buf"""

    _fields_ = [("ptr", c_void_p), ("size", c_size_t)]


class StrArray(Structure):
    """gkv_strarray"""

    _fields_ = [("strings", POINTER(c_char_p)), ("count", c_size_t)]


class OidArray(Structure):
    """gkv_oidarray"""

    _fields_ = [("ids", POINTER(Oid)), ("count", c_size_t)]


class GcResult(Structure):
    """gkv_gc_result"""

    _fields_ = [
        ("objects_kept", c_uint64),
        ("objects_removed", c_uint64),
        ("bytes_removed", c_uint64),
        ("reflogs_removed", c_uint64),
    ]


class RepoStats(Structure):
    """gkv_repo_stats"""

    _fields_ = [
        ("count", c_uint64 * 5),
        ("bytes", c_uint64 * 5),
        ("refs", c_uint64),
        ("branches", c_uint64),
    ]


class SyncProgress(Structure):
    """gkv_sync_progress"""

    _fields_ = [
        ("stage", c_int),
        ("total_objects", c_uint64),
        ("received_objects", c_uint64),
        ("indexed_objects", c_uint64),
        ("stored_objects", c_uint64),
        ("received_bytes", c_uint64),
        ("total_deltas", c_uint64),
        ("indexed_deltas", c_uint64),
    ]


OidP = POINTER(Oid)
BufP = POINTER(Buf)
VoidPP = POINTER(c_void_p)

# --------------------------------------------------------------- callbacks

READ_CB = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)
MERGE_CB = CFUNCTYPE(
    c_int, BufP, POINTER(c_int), c_char_p,
    c_void_p, c_size_t, c_int,
    c_void_p, c_size_t, c_int,
    c_void_p, c_size_t, c_int,
    c_void_p,
)
FSCK_CB = CFUNCTYPE(c_int, OidP, c_char_p, c_char_p, c_void_p)
WORK_CB = CFUNCTYPE(c_int, c_uint64, c_uint64, c_void_p)
STAT_CB = CFUNCTYPE(c_int, c_char_p, c_uint64, c_void_p)
CONFIG_CB = CFUNCTYPE(c_int, c_char_p, c_char_p, c_void_p)
FOLD_CB = CFUNCTYPE(c_int, c_char_p, c_int, c_void_p, c_size_t, c_void_p)
WALK_CB = CFUNCTYPE(c_int, c_char_p, c_int, OidP, c_void_p)
WATCH_BRANCH_CB = CFUNCTYPE(None, c_char_p, OidP, OidP, c_void_p)
WATCH_PATH_CB = CFUNCTYPE(None, c_char_p, OidP, OidP, c_void_p, c_void_p)
SYNC_PROGRESS_CB = CFUNCTYPE(c_int, POINTER(SyncProgress), c_void_p)
SYNC_CERT_CB = CFUNCTYPE(c_int, c_int, c_char_p, c_char_p, c_void_p)

# ----------------------------------------------------------------- loading

_NAMES = ("libgitkv.so.0", "libgitkv.so")


def _load() -> ctypes.CDLL:
    explicit = os.environ.get("GITKV_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as e:
            raise ImportError(f"GITKV_LIBRARY={explicit!r} cannot be loaded: {e}") from e
    tried = []
    found = ctypes.util.find_library("gitkv")
    for name in ([found] if found else []) + list(_NAMES):
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"{name}: {e}")
    raise ImportError(
        "libgitkv.so not found (install gitkv, or set GITKV_LIBRARY to the "
        "path of libgitkv.so); tried " + "; ".join(tried)
    )


lib = _load()

# The process's malloc (looked up in the global namespace, so that it is the
# one gitkv's free() matches, an ASan runtime's when one is preloaded): a
# merge callback hands gitkv a result that gitkv frees.
_process = ctypes.CDLL(None)
malloc = _process.malloc
malloc.argtypes = [c_size_t]
malloc.restype = c_void_p

_I = c_int
_P = c_void_p
_S = c_char_p


def _proto(name: str, restype, *argtypes) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_PROTOS = [
    # errors and versions
    ("gkv_error_last", _S),
    ("gkv_error_last_code", _I),
    ("gkv_strerror", _S, _I),
    ("gkv_error_clear", None),
    ("gkv_version", None, POINTER(c_int), POINTER(c_int), POINTER(c_int)),
    ("gkv_version_string", _S),
    # ids and buffers
    ("gkv_oid_fmt", None, POINTER(c_char), OidP),
    ("gkv_oid_fromstr", _I, OidP, _S),
    ("gkv_oid_cmp", _I, OidP, OidP),
    ("gkv_oid_equal", _I, OidP, OidP),
    ("gkv_oid_is_zero", _I, OidP),
    ("gkv_hash", _I, OidP, _I, c_char_p, c_size_t),
    ("gkv_hash_use", _I, _I),
    ("gkv_hash_in_use", _I),
    ("gkv_buf_dispose", None, BufP),
    ("gkv_strarray_dispose", None, POINTER(StrArray)),
    ("gkv_path_validate", _I, _S),
    ("gkv_branch_name_validate", _I, _S),
    # signatures
    ("gkv_signature_new", _I, VoidPP, _S, _S, c_int64, _I),
    ("gkv_signature_now", _I, VoidPP, _S, _S),
    ("gkv_signature_name", _S, _P),
    ("gkv_signature_email", _S, _P),
    ("gkv_signature_time", c_int64, _P),
    ("gkv_signature_offset", _I, _P),
    ("gkv_signature_free", None, _P),
    # options and repo
    ("gkv_options_new", _I, VoidPP),
    ("gkv_options_free", None, _P),
    ("gkv_options_set_create", _I, _P, _I),
    ("gkv_options_set_readonly", _I, _P, _I),
    ("gkv_options_set_durability", _I, _P, _I),
    ("gkv_options_set_author", _I, _P, _S, _S),
    ("gkv_options_set_cache_size", _I, _P, c_size_t),
    ("gkv_options_set_max_value", _I, _P, c_uint64),
    ("gkv_repo_open", _I, VoidPP, _S, _P),
    ("gkv_repo_free", None, _P),
    ("gkv_repo_default_branch", _S, _P),
    ("gkv_repo_backend_name", _S, _P),
    ("gkv_repo_object_exists", _I, POINTER(c_int), _P, OidP),
    ("gkv_repo_object_read", _I, BufP, POINTER(c_int), _P, OidP),
    ("gkv_repo_resolve", _I, OidP, _P, _S),
    # branches, refs, config, reflog
    ("gkv_branch_list", _I, POINTER(StrArray), _P),
    ("gkv_branch_head", _I, OidP, _P, _S),
    ("gkv_branch_create", _I, _P, _S, OidP),
    ("gkv_branch_delete", _I, _P, _S),
    ("gkv_branch_cas", _I, _P, _S, OidP, OidP),
    ("gkv_branch_fast_forward", _I, _P, _S, OidP),
    ("gkv_ref_read", _I, OidP, _P, _S),
    ("gkv_ref_list", _I, POINTER(StrArray), _P, _S),
    ("gkv_repo_set_default_branch", _I, _P, _S),
    ("gkv_config_get", _I, BufP, _P, _S),
    ("gkv_config_set", _I, _P, _S, _S),
    ("gkv_config_foreach", _I, _P, _S, CONFIG_CB, _P),
    ("gkv_branch_reflog", _I, VoidPP, _P, _S),
    ("gkv_reflog_count", c_size_t, _P),
    ("gkv_reflog_old_id", OidP, _P, c_size_t),
    ("gkv_reflog_new_id", OidP, _P, c_size_t),
    ("gkv_reflog_signature", _P, _P, c_size_t),
    ("gkv_reflog_message", _S, _P, c_size_t),
    ("gkv_reflog_free", None, _P),
    # commits
    ("gkv_commit_lookup", _I, VoidPP, _P, OidP),
    ("gkv_commit_id", OidP, _P),
    ("gkv_commit_tree_id", OidP, _P),
    ("gkv_commit_parentcount", c_size_t, _P),
    ("gkv_commit_parent_id", OidP, _P, c_size_t),
    ("gkv_commit_author", _P, _P),
    ("gkv_commit_committer", _P, _P),
    ("gkv_commit_message", _S, _P),
    ("gkv_commit_summary", _S, _P),
    ("gkv_commit_free", None, _P),
    ("gkv_commit_create", _I, OidP, _P, OidP, OidP, c_size_t, _P, _P, _S),
    # trees
    ("gkv_tree_empty", _I, VoidPP, _P),
    ("gkv_tree_lookup", _I, VoidPP, _P, OidP),
    ("gkv_tree_dup", _P, _P),
    ("gkv_tree_free", None, _P),
    ("gkv_tree_get", _I, BufP, _P, _S),
    ("gkv_tree_read", _I, _P, _S, READ_CB, _P),
    ("gkv_tree_entry", _I, OidP, POINTER(c_int), POINTER(c_uint64), _P, _S),
    ("gkv_tree_find", _I, BufP, POINTER(c_int), _P, _S),
    ("gkv_tree_kind", _I, POINTER(c_int), _P, _S),
    ("gkv_tree_subtree", _I, VoidPP, _P, _S),
    ("gkv_tree_set", _I, VoidPP, _P, _S, c_char_p, c_size_t),
    ("gkv_tree_remove", _I, VoidPP, _P, _S),
    ("gkv_tree_set_tree", _I, VoidPP, _P, _S, _P),
    ("gkv_tree_id", _I, OidP, _P),
    ("gkv_tree_write", _I, OidP, _P),
    ("gkv_tree_is_empty", _I, _P),
    ("gkv_tree_equal", _I, _P, _P),
    ("gkv_tree_list", _I, VoidPP, _P, _S),
    ("gkv_list_count", c_size_t, _P),
    ("gkv_list_name", _S, _P, c_size_t),
    ("gkv_list_kind", _I, _P, c_size_t),
    ("gkv_list_free", None, _P),
    ("gkv_tree_fold", _I, _P, _S, FOLD_CB, _P),
    ("gkv_tree_walk", _I, _P, _S, _I, WALK_CB, _P),
    # diff
    ("gkv_diff_trees", _I, VoidPP, _P, _P),
    ("gkv_diff_commits", _I, VoidPP, _P, OidP, OidP),
    ("gkv_diff_count", c_size_t, _P),
    ("gkv_diff_path", _S, _P, c_size_t),
    ("gkv_diff_op_at", _I, _P, c_size_t),
    ("gkv_diff_old_value", _P, _P, c_size_t, POINTER(c_size_t)),
    ("gkv_diff_new_value", _P, _P, c_size_t, POINTER(c_size_t)),
    ("gkv_diff_old_kind", _I, _P, c_size_t),
    ("gkv_diff_new_kind", _I, _P, c_size_t),
    ("gkv_diff_free", None, _P),
    # stores
    ("gkv_store_open_branch", _I, VoidPP, _P, _S),
    ("gkv_store_open_commit", _I, VoidPP, _P, OidP),
    ("gkv_store_free", None, _P),
    ("gkv_store_branch", _S, _P),
    ("gkv_store_head", _I, OidP, _P),
    ("gkv_store_tree", _I, VoidPP, _P),
    ("gkv_info_new", _I, VoidPP, _S),
    ("gkv_info_set_author", _I, _P, _P),
    ("gkv_info_set_committer", _I, _P, _P),
    ("gkv_info_free", None, _P),
    ("gkv_store_get", _I, BufP, _P, _S),
    ("gkv_store_find", _I, BufP, POINTER(c_int), _P, _S),
    ("gkv_store_read", _I, _P, _S, READ_CB, _P),
    ("gkv_store_mem", _I, POINTER(c_int), _P, _S),
    ("gkv_store_kind", _I, POINTER(c_int), _P, _S),
    ("gkv_store_list", _I, VoidPP, _P, _S),
    ("gkv_store_get_tree", _I, VoidPP, _P, _S),
    ("gkv_store_set", _I, OidP, _P, _S, c_char_p, c_size_t, _P),
    ("gkv_store_remove", _I, OidP, _P, _S, _P),
    ("gkv_store_set_tree", _I, OidP, _P, _S, _P, _P),
    ("gkv_store_test_and_set", _I, OidP, _P, _S, BufP, BufP, _P),
    # transactions
    ("gkv_txn_begin", _I, VoidPP, _P),
    ("gkv_txn_get", _I, BufP, _P, _S),
    ("gkv_txn_find", _I, BufP, POINTER(c_int), _P, _S),
    ("gkv_txn_list", _I, VoidPP, _P, _S),
    ("gkv_txn_set", _I, _P, _S, c_char_p, c_size_t),
    ("gkv_txn_remove", _I, _P, _S),
    ("gkv_txn_set_tree", _I, _P, _S, _P),
    ("gkv_txn_tree", _I, VoidPP, _P),
    ("gkv_txn_commit", _I, OidP, _P, _I, _P),
    ("gkv_txn_free", None, _P),
    ("gkv_txn_set_merge_options", _I, _P, _P),
    ("gkv_txn_conflicts", _P, _P),
    # history
    ("gkv_revwalk_new", _I, VoidPP, _P),
    ("gkv_revwalk_push", _I, _P, OidP),
    ("gkv_revwalk_hide", _I, _P, OidP),
    ("gkv_revwalk_next", _I, OidP, _P),
    ("gkv_revwalk_free", None, _P),
    ("gkv_is_ancestor", _I, POINTER(c_int), _P, OidP, OidP),
    ("gkv_merge_bases", _I, POINTER(OidArray), _P, OidP, OidP),
    ("gkv_oidarray_dispose", None, POINTER(OidArray)),
    ("gkv_history_last_change", _I, OidP, _P, OidP, _S),
    ("gkv_history_first_change", _I, OidP, _P, OidP, _S),
    # merges
    ("gkv_merge_options_new", _I, VoidPP),
    ("gkv_merge_options_free", None, _P),
    ("gkv_merge_options_set_default", _I, _P, _I),
    ("gkv_merge_options_add_rule", _I, _P, _S, _I),
    ("gkv_merge_options_set_callback", _I, _P, MERGE_CB, _P),
    ("gkv_merge_options_use_attributes", _I, _P, _I),
    ("gkv_merge_options_set_no_ff", _I, _P, _I),
    ("gkv_conflicts_count", c_size_t, _P),
    ("gkv_conflicts_path", _S, _P, c_size_t),
    ("gkv_conflicts_reason", _S, _P, c_size_t),
    ("gkv_conflicts_free", None, _P),
    ("gkv_merge_trees", _I, VoidPP, VoidPP, _P, _P, _P, _P),
    ("gkv_merge_commits", _I, OidP, VoidPP, _P, OidP, OidP, _P, _P),
    ("gkv_merge_into_branch", _I, OidP, VoidPP, _P, _S, OidP, _P, _P),
    # checking and reclaiming
    ("gkv_object_check", _I, _I, c_char_p, c_size_t),
    ("gkv_repo_fsck", _I, POINTER(c_size_t), _P, FSCK_CB, _P, WORK_CB, _P),
    ("gkv_repo_gc", _I, POINTER(GcResult), _P, WORK_CB, _P),
    ("gkv_repo_stats_read", _I, POINTER(RepoStats), _P),
    ("gkv_repo_backend_stats", _I, _P, STAT_CB, _P),
    # watches
    ("gkv_watch_branch", _I, VoidPP, _P, _S, WATCH_BRANCH_CB, _P),
    ("gkv_watch_path", _I, VoidPP, _P, _S, _S, WATCH_PATH_CB, _P),
    ("gkv_watch_free", None, _P),
    ("gkv_repo_watch_poll", _I, POINTER(c_size_t), _P),
    # sync (include/gitkv/sync.h)
    ("gkv_sync_options_new", _I, VoidPP),
    ("gkv_sync_options_free", None, _P),
    ("gkv_sync_options_set_progress", _I, _P, SYNC_PROGRESS_CB, _P),
    ("gkv_sync_options_set_userpass", _I, _P, _S, _S),
    ("gkv_sync_options_set_ssh_key", _I, _P, _S, _S, _S, _S),
    ("gkv_sync_options_set_ssh_agent", _I, _P, _S),
    ("gkv_sync_options_set_ca_file", _I, _P, _S),
    ("gkv_sync_options_set_known_hosts", _I, _P, _S),
    ("gkv_sync_options_set_cert_check", _I, _P, SYNC_CERT_CB, _P),
    ("gkv_sync_options_set_force", _I, _P, _I),
    ("gkv_remote_add", _I, _P, _S, _S),
    ("gkv_remote_remove", _I, _P, _S),
    ("gkv_remote_list", _I, POINTER(StrArray), _P),
    ("gkv_remote_url", _I, BufP, _P, _S),
    ("gkv_fetch_result_count", c_size_t, _P),
    ("gkv_fetch_result_branch", _S, _P, c_size_t),
    ("gkv_fetch_result_id", OidP, _P, c_size_t),
    ("gkv_fetch_result_default_branch", _S, _P),
    ("gkv_fetch_result_objects", c_uint64, _P),
    ("gkv_fetch_result_free", None, _P),
    ("gkv_fetch", _I, VoidPP, _P, _S, _S, _P),
    ("gkv_clone", _I, VoidPP, _S, _S, _P, _P),
    ("gkv_pull", _I, OidP, VoidPP, _P, _S, _S, _S, _I, _P, _P),
    ("gkv_push", _I, _P, _S, _S, _S, _P),
    ("gkv_sync_copy", _I, POINTER(c_uint64), _P, _P, OidP, c_size_t, _P),
]

for _entry in _PROTOS:
    _proto(*_entry)

del _entry
