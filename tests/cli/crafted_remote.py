"""A git:// server on 127.0.0.1 that serves packs the test builds byte by
byte, so that a fetch meets what no honest git server sends: a corrupt
zlib stream, a cut or mis-summed pack, a delta on a base nobody has, an
object that hashes but breaks git's rules, a commit whose tree is absent.

It speaks protocol v0 of git-upload-pack without multi_ack or side-band:
the ref advertisement, then "NAK" for each round of "have" lines, then
after "done" a "NAK" and the pack, raw. One connection at a time, on a
thread the test stops (close()); nothing outside loopback.
"""

import hashlib
import socket
import struct
import threading
import zlib

OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_REF_DELTA = 1, 2, 3, 7
TYPE_NAME = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree", OBJ_BLOB: b"blob"}


def object_id(kind, data):
    """The git id (raw 20 bytes) of an object of kind with data."""
    return hashlib.sha1(TYPE_NAME[kind] + b" %d\0" % len(data) + data).digest()


def tree(*entries):
    """A tree from (mode, name, raw id) triples, written as given."""
    return b"".join(b"%s %s\0" % (mode, name) + oid for mode, name, oid in entries)


def commit(tree_id, message=b"crafted\n", parents=()):
    who = b"Crafted <crafted@example.com> 1700000000 +0000"
    lines = [b"tree " + tree_id.hex().encode()]
    lines += [b"parent " + p.hex().encode() for p in parents]
    lines += [b"author " + who, b"committer " + who]
    return b"\n".join(lines) + b"\n\n" + message


def entry(kind, data, size=None, packed=None, base=None):
    """One pack entry: its header (size defaults to len(data)), the base id
    of a REF_DELTA, then data deflated (or packed, as given)."""
    n = len(data) if size is None else size
    head = bytearray([(kind << 4) | (n & 0x0F)])
    n >>= 4
    while n:
        head[-1] |= 0x80
        head.append(n & 0x7F)
        n >>= 7
    return bytes(head) + (base or b"") + (zlib.compress(data) if packed is None else packed)


def pack(entries, count=None, good_sum=True):
    """A version 2 pack of the given entries and its SHA-1 trailer."""
    body = b"PACK" + struct.pack(">II", 2, len(entries) if count is None else count)
    body += b"".join(entries)
    digest = hashlib.sha1(body).digest()
    return body + (digest if good_sum else bytes(20))


def pkt(line):
    return b"%04x" % (len(line) + 4) + line


class CraftedRemote:
    """Serves refs (name -> raw id) and pack (bytes) at git://HOST:PORT/x;
    cut: send only that many bytes of the pack, then close."""

    def __init__(self):
        self.refs = {}
        self.pack = b""
        self.cut = None
        self.served = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = "git://127.0.0.1:%d/crafted.git" % self.port
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def serve(self, refs, pack_bytes, cut=None):
        self.refs, self.pack, self.cut = dict(refs), pack_bytes, cut

    def close(self):
        self.stopping = True
        self.thread.join(timeout=10)
        self.sock.close()

    def loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    self.session(conn)
                except (OSError, ValueError):
                    pass  # the client went away or spoke nonsense: next one

    def read_pkt(self, f):
        size = f.read(4)
        if len(size) < 4:
            raise ValueError("connection closed")
        n = int(size, 16)
        return b"" if n == 0 else f.read(n - 4)

    def session(self, conn):
        f = conn.makefile("rb")
        request = self.read_pkt(f)
        if not request.startswith(b"git-upload-pack "):
            return
        out = []
        refs = sorted(self.refs.items())
        head = self.refs.get("refs/heads/main") or (refs[0][1] if refs else None)
        caps = b"symref=HEAD:refs/heads/main agent=crafted"
        first = True
        if head:
            out.append(pkt(head.hex().encode() + b" HEAD\0" + caps + b"\n"))
            first = False
        for name, oid in refs:
            line = oid.hex().encode() + b" " + name.encode()
            out.append(pkt(line + (b"\0" + caps if first else b"") + b"\n"))
            first = False
        out.append(b"0000")
        conn.sendall(b"".join(out))
        wants = False
        while True:
            line = self.read_pkt(f)
            if line.startswith(b"want "):
                wants = True
            elif line == b"":
                if not wants:
                    return  # nothing wanted: the client only listed refs
                # the end of the wants, or of a round of haves: no common
                if getattr(self, "_after_wants", False):
                    conn.sendall(pkt(b"NAK\n"))
                self._after_wants = True
            elif line.startswith(b"done"):
                break
        self._after_wants = False
        conn.sendall(pkt(b"NAK\n"))
        data = self.pack if self.cut is None else self.pack[:self.cut]
        conn.sendall(data)
        self.served += 1
