#!/usr/bin/env python3
"""make_corpus.py -- write the fuzz seed corpora (tests/fuzz/corpus/<target>/).

Seeds are small, valid or nearly valid inputs that lead the mutator into
every branch of the parsers: git's five modes and its tree order, commits
with every kind of header git writes, paths and branch names near each rule.
The files are committed; rerun this script after changing it.
"""
import os
import sys

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
