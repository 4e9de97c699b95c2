"""Fetches from a remote that serves crafted packs (crafted_remote.py):
a corrupt zlib stream, a pack cut halfway, a wrong checksum, a wrong
object count, a delta on a base nobody has, a tree git's fsck refuses, a
commit whose tree is absent, and a large pack whose last object is bad.
Each is refused with exit 4 and a `kvctl: ` line naming the remote, and
the store keeps exactly the objects and branches it had. The same
server, given an honest pack, is fetched from: the failures are the
packs', not the server's.
"""

import os
import random
import zlib

import pytest

from crafted_remote import (OBJ_BLOB, OBJ_COMMIT, OBJ_REF_DELTA, OBJ_TREE, CraftedRemote, commit,
                            entry, object_id, pack, tree)


@pytest.fixture(scope="module")
def remote():
    r = CraftedRemote()
    yield r
    r.close()


def objects(kv, st):
    doc = kv.ok(*st, "--json", "stats").json()
    return {k: v["count"] for k, v in doc["objects"].items()}


def honest(blobs):
    """A pack of a commit, its tree and the given blobs (name -> bytes)."""
    ents = sorted((name.encode(), object_id(OBJ_BLOB, data), data) for name, data in blobs.items())
    t = tree(*[(b"100644", n, oid) for n, oid, _ in ents])
    c = commit(object_id(OBJ_TREE, t))
    parts = [entry(OBJ_COMMIT, c), entry(OBJ_TREE, t)] + [entry(OBJ_BLOB, d) for _, _, d in ents]
    return object_id(OBJ_COMMIT, c), parts


def refused(kv, st, remote, refs, data, cut=None, why=()):
    before_objects, before_state = objects(kv, st), kv.state(*st)
    remote.serve(refs, data, cut)
    r = kv.run(*st, "fetch", remote.url)
    assert r.rc == 4, r
    lines = r.err.splitlines()
    assert lines and lines[-1].startswith("kvctl: ") and remote.url in lines[-1], r.err
    for w in why:
        assert w in r.err, r.err
    assert objects(kv, st) == before_objects
    assert kv.state(*st) == before_state


@pytest.fixture(params=["lmdb", "git"])
def st(request, kv, tmp_path):
    spec = (f"lmdb:{tmp_path / 'store'}" if request.param == "lmdb"
            else f"git:{tmp_path / 'store.git'}")
    kv.ok("--store", spec, "set", "mine", "1")
    return ["--store", spec]


def test_honest_pack_is_fetched(kv, st, remote):
    head, parts = honest({"a": b"one\n", "b": b"two\n"})
    remote.serve({"refs/heads/main": head}, pack(parts))
    before = objects(kv, st)
    kv.ok(*st, "fetch", remote.url)
    after = objects(kv, st)
    assert after["blob"] == before["blob"] + 2 and after["commit"] == before["commit"] + 1
    assert remote.served >= 1


def test_large_honest_pack_is_pulled(kv, st, remote):
    """A pack past 16 MiB of objects lands whole (lmdb: through its
    staging file), every value as sent, and fsck finds nothing wrong."""
    rng = random.Random(11)
    blobs = {"c%03d" % i: rng.randbytes(64 << 10) for i in range(320)}  # 20 MiB
    head, parts = honest(blobs)
    remote.serve({"refs/heads/main": head}, pack(parts))
    before = objects(kv, st)
    kv.ok(*st, "pull", remote.url, "main", "--strategy", "reset")
    assert objects(kv, st)["blob"] == before["blob"] + 320
    assert kv.ok(*st, "snapshot").text.strip() == head.hex()
    for name in ("c000", "c137", "c319"):
        assert kv.ok(*st, "get", name).out == blobs[name]
    kv.ok(*st, "fsck")


def test_corrupt_zlib_stream(kv, st, remote):
    head, parts = honest({"a": b"corrupt me please\n" * 20})
    blob = b"corrupt me please\n" * 20
    z = bytearray(zlib.compress(blob))
    z[len(z) // 2] ^= 0xFF
    parts[2] = entry(OBJ_BLOB, blob, packed=bytes(z))
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts))


def test_pack_cut_halfway(kv, st, remote):
    head, parts = honest({"a": os.urandom(20000), "b": b"b\n"})
    data = pack(parts)
    refused(kv, st, remote, {"refs/heads/main": head}, data, cut=len(data) // 2)


def test_wrong_checksum(kv, st, remote):
    head, parts = honest({"a": b"a\n"})
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts, good_sum=False))


def test_wrong_object_count(kv, st, remote):
    head, parts = honest({"a": b"a\n"})
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts, count=len(parts) + 2))


def test_wrong_size_in_header(kv, st, remote):
    head, parts = honest({"a": b"twelve bytes"})
    parts[2] = entry(OBJ_BLOB, b"twelve bytes", size=11)
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts))


def test_delta_on_a_missing_base(kv, st, remote):
    head, parts = honest({"a": b"a\n"})
    # a REF_DELTA on an id neither the pack nor the store has
    delta = bytes([0x02, 0x03, 0x02 | 0x80 | 0x10, 0x00, 0x01]) + b"x"
    parts.append(entry(OBJ_REF_DELTA, delta, base=bytes(range(20))))
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts))


@pytest.mark.parametrize("name", [b"..", b".git", b"a/b", b""])
def test_tree_git_refuses(kv, st, remote, name):
    blob = b"x\n"
    t = tree((b"100644", name, object_id(OBJ_BLOB, blob)))
    c = commit(object_id(OBJ_TREE, t))
    parts = [entry(OBJ_COMMIT, c), entry(OBJ_TREE, t), entry(OBJ_BLOB, blob)]
    refused(kv, st, remote, {"refs/heads/main": object_id(OBJ_COMMIT, c)}, pack(parts),
            why=[object_id(OBJ_TREE, t).hex()])


def test_tree_with_duplicate_entries(kv, st, remote):
    blob = b"x\n"
    oid = object_id(OBJ_BLOB, blob)
    t = tree((b"100644", b"same", oid), (b"100644", b"same", oid))
    c = commit(object_id(OBJ_TREE, t))
    parts = [entry(OBJ_COMMIT, c), entry(OBJ_TREE, t), entry(OBJ_BLOB, blob)]
    refused(kv, st, remote, {"refs/heads/main": object_id(OBJ_COMMIT, c)}, pack(parts),
            why=[object_id(OBJ_TREE, t).hex(), "duplicate"])


def test_commit_whose_tree_is_absent(kv, st, remote):
    c = commit(object_id(OBJ_TREE, b"100644 gone\0" + bytes(20)))
    refused(kv, st, remote, {"refs/heads/main": object_id(OBJ_COMMIT, c)},
            pack([entry(OBJ_COMMIT, c)]), why=["incomplete pack"])


def test_large_pack_with_a_bad_object_last(kv, st, remote):
    """Past the size where an lmdb batch keeps its objects in a staging
    file (16 MiB) and the git store is checked in a first pass, a bad
    tree at the very end still leaves nothing behind, not even a file."""
    rng = random.Random(7)
    blobs = {"b%03d" % i: rng.randbytes(64 << 10) for i in range(320)}  # 20 MiB
    head, parts = honest(blobs)
    bad = tree((b"100644", b"..", object_id(OBJ_BLOB, blobs["b000"])))
    parts.append(entry(OBJ_TREE, bad))
    store = st[1].split(":", 1)[1]
    files = sorted(os.listdir(store))
    refused(kv, st, remote, {"refs/heads/main": head}, pack(parts),
            why=[object_id(OBJ_TREE, bad).hex()])
    assert sorted(os.listdir(store)) == files
