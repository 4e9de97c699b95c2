"""The progress bar of long work: drawn on stderr when kvctl runs on a
terminal (a pseudo-terminal here), never when its output is captured,
and not with -q."""

import os
import pty
import select
import subprocess
import time

from conftest import KVCTL


def run_on_tty(kv, *args, timeout=30):
    """Run kvctl with stdout and stderr on a new pseudo-terminal; return
    its exit status and everything the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([KVCTL, *args], cwd=kv.cwd, env=kv.env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out, end = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=max(1, end - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return rc, out


def make_files(top, n):
    for i in range(n):
        d = top / f"d{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}").write_bytes(b"x" * 1000)


def test_import_and_export_draw_a_bar_on_a_terminal(kv, tmp_path):
    src = tmp_path / "src"
    make_files(src, 200)
    store = ["--store", f"lmdb:{tmp_path / 'st'}"]
    rc, out = run_on_tty(kv, *store, "import", str(src))
    assert rc == 0, out
    assert b"import: 100% (200/200)" in out, out
    assert b"\r" in out
    rc, out = run_on_tty(kv, *store, "export", str(tmp_path / "dst"))
    assert rc == 0, out
    assert b"export: 100% (200/200)" in out, out


def test_no_bar_without_a_terminal_or_with_q(kv, tmp_path):
    src = tmp_path / "src"
    make_files(src, 50)
    store = ["--store", f"lmdb:{tmp_path / 'st'}"]
    r = kv.ok(*store, "import", str(src))  # stdout and stderr captured
    assert r.out == b"" and r.err == ""
    r = kv.ok(*store, "export", str(tmp_path / "dst"))
    assert r.out == b"" and r.err == ""
    (src / "new").write_bytes(b"n")
    rc, out = run_on_tty(kv, "-q", *store, "import", str(src))
    assert rc == 0 and out == b"", out


def test_fsck_draws_a_bar_on_a_terminal_only(kv, tmp_path):
    src = tmp_path / "src"
    make_files(src, 100)
    store = ["--store", f"lmdb:{tmp_path / 'st'}"]
    kv.ok(*store, "import", str(src))
    rc, out = run_on_tty(kv, *store, "fsck")
    assert rc == 0, out
    assert b"fsck: " in out and b"\r" in out, out
    r = kv.ok(*store, "fsck")
    assert r.out == b"" and r.err == ""
