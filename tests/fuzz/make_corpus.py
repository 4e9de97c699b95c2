#!/usr/bin/env python3
"""make_corpus.py -- write the fuzz seed corpora (tests/fuzz/corpus/<target>/).

Seeds are small, valid or nearly valid inputs that lead the mutator into
every branch of the parsers: git's five modes and its tree order, commits
with every kind of header git writes, paths and branch names near each rule.
The files are committed; rerun this script after changing it.
"""
import hashlib
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def oid(n):
    return bytes((n * 37 + i) & 0xFF for i in range(20))


def tree(*entries):
    return b"".join(m + b" " + name + b"\0" + oid(i) for i, (m, name) in enumerate(entries))


HEX1 = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
HEX2 = "1111111111111111111111111111111111111111"
AUTHOR = "author A U Thor <a@example.com> 1112911993 -0700\n"
COMMITTER = "committer C O Mitter <c@example.com> 1112912053 +0530\n"

TREES = {
    "empty": b"",
    "one-blob": tree((b"100644", b"a")),
    "five-modes": tree((b"100644", b"a"), (b"100755", b"b"), (b"120000", b"c"),
                       (b"160000", b"d"), (b"40000", b"e")),
    "git-order": tree((b"100644", b"a.txt"), (b"40000", b"a"), (b"100644", b"a0")),
    "dotfiles": tree((b"100644", b".gitignore"), (b"100644", b"..a")),
    "old-mode": tree((b"100664", b"a")),
    "padded-mode": tree((b"040000", b"a")),
    "duplicate": tree((b"100644", b"a"), (b"100644", b"a.txt"), (b"40000", b"a")),
    "dot-git": tree((b"40000", b".GIT")),
    "truncated": tree((b"100644", b"a"))[:-3],
}

COMMITS = {
    "root": f"tree {HEX1}\n{AUTHOR}{COMMITTER}\nroot\n",
    "parent": f"tree {HEX1}\nparent {HEX2}\n{AUTHOR}{COMMITTER}\nsubject\n\nbody\n",
    "merge": f"tree {HEX1}\nparent {HEX2}\nparent {HEX1}\n{AUTHOR}{COMMITTER}\nMerge\n",
    "no-body": f"tree {HEX1}\n{AUTHOR}{COMMITTER}",
    "zones": f"tree {HEX1}\nauthor A <a> 0 +0000\ncommitter  <> 4102444800 -9959\n\n",
    "signed": (f"tree {HEX1}\n{AUTHOR}{COMMITTER}encoding ISO-8859-1\n"
               "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n"
               "\nsigned"),
    "mergetag": (f"tree {HEX1}\nparent {HEX2}\n{AUTHOR}{COMMITTER}mergetag object {HEX2}\n"
                 " type commit\n tag v1\n tagger T <t> 1 +0000\n \n msg\n\nMerge tag\n"),
    "misordered": f"tree {HEX1}\n{COMMITTER}{AUTHOR}\n",
    "bad-zone": f"tree {HEX1}\nauthor A <a> 1 +0060\n{COMMITTER}\n",
}

PATHS = ["a", "a/b/c", "", ".git", "a/.GIT/b", "a//b", "/a", "a/", ".", "a/../b",
         "posts/2016/marrakech.md", "feature/x", "a..b", "x.lock", "a@{b", "HEAD", "-x",
         "@", "a b", "caf\u00e9", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "4b82"]


BRANCHES = ["main", "feature/x", "a.b", "v1.0", "HEAD", "-x", "@", "a..b", "a/.b", ".a",
            "x.lock", "a/x.lock/b", "a@{1}", "a@b", "a//b", "/a", "a/", "a.", "a b", "a~1",
            "a^", "a:b", "a?", "a*", "a[b", "a\\b", "a\x7fb", "a\tb", "caf\u00e9", "x.lockx",
            "refs/heads/x", "HEADS", "@x", "a/-b", "."]

SIGNATURES = {
    "plain": b"A U Thor <a@example.com> 1112911993 -0700",
    "empty-name": b" <> 0 +0000",
    "zone-max": b"N <e> 4102444800 +9959",
    "minus-zero": b"N <e> 1 -0000",
    "leading-zero": b"N <e> 0001 +0100",
    "bad-minutes": b"N <e> 1 +0060",
    "no-space": b"N<e> 1 +0000",
    "two-emails": b"N <e> <f> 1 +0000",
    "gt-in-name": b"N> <e> 1 +0000",
    "big-time": b"N <e> 9223372036854775807 +0000",
    "huge-time": b"N <e> 9223372036854775808 +0000",
    "no-zone": b"N <e> 1",
    "spaces": b"  N  M  <e f> 12 -1130",
    # API side: 0x01, time (8 bytes LE), offset (2 bytes LE), name NUL email
    "api-plain": b"\x01" + struct.pack("<qh", 1112911993, -420) + b"A U Thor\0a@example.com",
    "api-negative": b"\x01" + struct.pack("<qh", -1, 0) + b"N\0e",
    "api-zone": b"\x01" + struct.pack("<qh", 0, 6000) + b"N\0e",
    "api-lt": b"\x01" + struct.pack("<qh", 5, 5999) + b"N<\0e",
    "api-empty": b"\x01" + struct.pack("<qh", 5, -5999) + b"\0e",
    "api-trailing": b"\x01" + struct.pack("<qh", 5, 1) + b"N \0 e ",
}

VALUES = {
    "modules": b'[submodule "a"]\n\tpath = a\n\turl = https://example.com/a.git\n',
    "dotdot-name": b'[submodule "../../x"]\n\tpath = x\n',
    "dash-url": b'[submodule "a"]\n\turl = --upload-pack=x\n',
    "dash-path": b'[submodule "a"]\n\tpath = -x\n',
    "bang-update": b'[submodule "a"]\n\tupdate = !rm -rf /\n',
    "relative": b'[submodule "a"]\n\turl = ../../:x\n',
    "newline-url": b'[submodule "a"]\n\turl = ./a%0a\n',
    "quoted": b'[submodule "a"]\n\turl = "-x" ; comment\n\tpath = "a\\"b"\n',
    "continued": b'[submodule "a"]\n\turl = \\\n-x\n',
    "bad-port": b'[submodule "a"]\n\turl = http://h:99999/x\n',
    "escapes": b'[submodule "a"]\n\turl = http://h/%zz\n',
    "crlf": b'[submodule "a"]\r\n\tpath = a\r\n',
    "bom": b'\xef\xbb\xbf[submodule "a"]\n\tpath = -a\n',
    "subsection-escape": b'[submodule "\\.\\."]\n\tpath = a\n',
    "attributes": b"*.txt text\n*.bin -diff\n",
    "long-line": b"*.x " + b"a" * 2050 + b"\n",
    "nul-then-long": b"a\0" + b"b" * 2100,
    "empty": b"",
}

ATTRS = {
    "counter": b"*.count merge=counter\n",
    "all": b"*.count merge=counter\nconfig/** merge=lww\n*.tags merge=lines\n"
           b"/README.md -merge\nz merge=lww\n",
    "everything": b"* merge=lines\n",
    "last-wins": b"* merge=lww\n*.count merge=counter\n* merge=lines\n",
    "comment": b"# * merge=lww\n   \t# x\n\n",
    "unset": b"* merge=lww\nz -merge\nt.tags !merge\nREADME.md merge\n",
    "deep": b"config/*/y merge=lww\n**/b.count merge=counter\ndir/* merge=lines\n",
    "anchored": b"/z merge=lww\n/config/x merge=lww\n/a.count merge=counter\n",
    "unknown": b"* merge=union\n*.count merge=binary\n",
    "several": b"* text merge=lww diff merge=lines\n",
    "tabs": b"*\tmerge=lww\n\t*.count\tmerge=counter\t\n",
    "crlf": b"* merge=lww\r\n",
    "nul": b"*\0x merge=lww\n",
    "empty": b"",
    "classes": b"[a-c]* merge=lww\n?.count merge=counter\n*.[ct]* merge=lines\n",
}


def loose_raw(kind, payload):
    return kind + b" " + str(len(payload)).encode() + b"\0" + payload


# fuzz_loose: first byte 0x01 = deflate the rest here; 0x00 = the file as is
LOOSE = {
    "blob": b"\x01" + loose_raw(b"blob", b"hello\n"),
    "empty-blob": b"\x01" + loose_raw(b"blob", b""),
    "tree": b"\x01" + loose_raw(b"tree", b"100644 a\0" + bytes(range(20))),
    "commit": b"\x03" + loose_raw(b"commit", ("tree " + HEX1 + "\n" + AUTHOR + COMMITTER +
                                               "\nm\n").encode()),
    "tag": b"\x01" + loose_raw(b"tag", b"object " + HEX1.encode() + b"\ntype tree\n"),
    "understated": b"\x01" + b"blob 3\0hello",
    "overstated": b"\x01" + b"blob 9\0hello",
    "leading-zero": b"\x01" + b"blob 05\0hello",
    "bad-type": b"\x01" + b"blub 5\0hello",
    "no-nul": b"\x01" + b"blob 5hello",
    "wrong-name": b"\x09" + loose_raw(b"blob", b"hello\n"),
    "garbage-after": b"\x11" + loose_raw(b"blob", b"hello\n"),
    "raw-file": b"\x00" + zlib.compress(loose_raw(b"blob", b"as git writes it\n")),
    "raw-truncated": b"\x00" + zlib.compress(loose_raw(b"blob", b"x" * 300))[:-7],
    "raw-empty": b"\x00",
    "raw-stored": b"\x00" + zlib.compress(loose_raw(b"blob", b"abc"), 0),
}


def pack_entry(kind, payload, extra=b""):
    size, c = len(payload), (kind << 4) | (len(payload) & 15)
    size >>= 4
    head = b""
    while size:
        head += bytes([c | 0x80])
        c, size = size & 0x7F, size >> 7
    head += bytes([c])
    return head + extra + zlib.compress(payload)


def ofs(distance):
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.insert(0, 0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(out)


def varint(n):
    out = b""
    while True:
        c, n = n & 0x7F, n >> 7
        out += bytes([c | (0x80 if n else 0)])
        if not n:
            return out


def delta(base, result):
    """A delta that copies the base's first half and inserts the rest."""
    half = len(base) // 2
    ops = b""
    if half:
        ops += bytes([0x80 | 0x10]) + bytes([half])
    rest = result[half:] if result[:half] == base[:half] else result
    if rest is result:
        ops = b""
    for i in range(0, len(rest), 127):
        chunk = rest[i:i + 127]
        ops += bytes([len(chunk)]) + chunk
    return varint(len(base)) + varint(len(result)) + ops


def packs():
    blob = b"a value stored in a pack\n" * 3
    other = blob[:len(blob) // 2] + b"and then something else\n"
    tree = b"100644 a\0" + bytes(range(20)) + b"40000 d\0" + bytes(range(20, 40))
    commit = ("tree " + HEX1 + "\n" + AUTHOR + COMMITTER + "\nm\n").encode()
    e_blob = pack_entry(3, blob)
    blob_id = hashlib.sha1(loose_raw(b"blob", blob)).digest()
    out = {
        "blob": e_blob,
        "three": e_blob + pack_entry(2, tree) + pack_entry(1, commit),
        "tag": pack_entry(4, b"object " + HEX1.encode() + b"\ntype tree\ntag v\n"),
        "empty": pack_entry(3, b""),
        "ofs-delta": e_blob + pack_entry(6, delta(blob, other), ofs(len(e_blob))),
        "ref-delta": e_blob + pack_entry(7, delta(blob, other), blob_id),
        "ref-forward": pack_entry(7, delta(blob, other), blob_id) + e_blob,
        "bad-copy": e_blob + pack_entry(6, varint(len(blob)) + varint(5) + b"\x90\xff",
                                        ofs(len(e_blob))),
        "missing-base": pack_entry(7, delta(blob, other), bytes(20)),
        "bad-type": bytes([0x50]) + zlib.compress(b"x"),
        "big-size": bytes([0xbf, 0xff, 0xff, 0x7f]) + zlib.compress(b"x"),
    }
    chain, at, prev = e_blob, 0, blob
    for i in range(4):
        nxt = prev + b"more %d\n" % i
        ent = pack_entry(6, delta(prev, nxt), ofs(len(chain) - at))
        at = len(chain)
        chain += ent
        prev = nxt
    out["chain"] = chain
    seeds = {}
    for name, body in out.items():
        seeds[name] = b"\x00\x00" + body
    seeds["wide"] = b"\x01\x00" + out["three"]
    seeds["count"] = b"\x02\x05" + out["three"]
    seeds["idx-flip"] = b"\x04\x10" + out["three"]
    seeds["idx-flip-wide"] = b"\x05\x80" + out["ofs-delta"]
    return seeds


def lmdb_records():
    text = b"a value long enough to be worth compressing " * 40
    z = zlib.compress(text, 1)
    seeds = {
        "blob": b"\x00" + b"\x03hello",
        "empty": b"\x00" + b"\x03",
        "commit": b"\x00" + b"\x01" + ("tree " + HEX1 + "\n").encode(),
        "tree": b"\x00" + b"\x02100644 a\0" + bytes(20),
        "tag": b"\x00\x04tag",
        "zip": b"\x00" + b"\x83" + struct.pack("<Q", len(text)) + z,
        "zip-empty": b"\x00" + b"\x83" + struct.pack("<Q", 0) + zlib.compress(b""),
        "zip-short": b"\x00" + b"\x83" + struct.pack("<Q", len(text) - 1) + z,
        "zip-long": b"\x00" + b"\x83" + struct.pack("<Q", len(text) + 1) + z,
        "zip-huge": b"\x00" + b"\x83" + struct.pack("<Q", 1 << 40) + z,
        "zip-trailing": b"\x00" + b"\x83" + struct.pack("<Q", len(text)) + z + b"x",
        "zip-truncated": b"\x00" + b"\x83" + struct.pack("<Q", len(text)) + z[:-5],
        "bad-header": b"\x00" + b"\x0b" + b"abc",
        "bad-type": b"\x00" + b"\x05" + b"abc",
        "no-crc": b"\x01" + b"\x03hello" + b"\0\0\0\0",
        "readonly": b"\x02" + b"\x03hello",
        "header-only": b"\x00" + b"\x83" + b"\x01\x02",
    }
    big = bytes((i * 7) & 0xFF for i in range(3000))
    seeds["zip-big"] = b"\x00\x83" + struct.pack("<Q", len(big)) + zlib.compress(big)
    return seeds


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    for name, data in TREES.items():
        write("tree", name, data)
    for name, data in COMMITS.items():
        write("commit", name, data)
    for i, p in enumerate(PATHS):
        write("path", f"p{i:02d}", p)
    for i, b in enumerate(BRANCHES):
        write("branch", f"b{i:02d}", b)
    for name, data in SIGNATURES.items():
        write("signature", name, data)
    for name, data in VALUES.items():
        write("value", name, data)
    for name, data in ATTRS.items():
        write("attrs", name, data)
    for name, data in LOOSE.items():
        write("loose", name, data)
    for name, data in packs().items():
        write("pack", name, data)
    for name, data in lmdb_records().items():
        write("lmdb", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
