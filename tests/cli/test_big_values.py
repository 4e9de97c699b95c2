"""Large values in bounded memory: `get` streams a value to stdout, and
`--json get` writes it as a JSON string or base64 piece by piece, so a
value that inflates to far more than its stored size (a zlib bomb) costs
kvctl a few buffers, not its size."""

import json
import subprocess
import sys

import pytest

from conftest import KVCTL

SIZE = 96 << 20  # 96 MiB, stored as about 100 KiB
ALLOWANCE_KB = 40 << 10  # what a read may take at its peak

# Runs kvctl once and prints its peak memory (KiB): a process of its own,
# so that the peak is the read's alone.
PEAK = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_of(kv, out, *args):
    p = subprocess.run(
        [sys.executable, "-c", PEAK, str(out), KVCTL, *args],
        capture_output=True, cwd=kv.cwd, env=kv.env, timeout=300, check=True,
    )
    rc, kb = p.stdout.split()
    return int(rc), int(kb)


@pytest.mark.parametrize("scheme", ["lmdb", "git"])
def test_bomb_streams_in_bounded_memory(kv, tmp_path, scheme):
    store = ["--store", f"{scheme}:{tmp_path}/s"]
    kv.ok(*store, "set", "bomb", "-", input=b"a" * SIZE)
    kv.ok(*store, "set", "bin", "-", input=b"\xff" * (SIZE // 4))

    out = tmp_path / "out"
    rc, kb = peak_of(kv, out, *store, "get", "bomb")
    assert rc == 0
    assert out.stat().st_size == SIZE
    with open(out, "rb") as f:
        assert f.read(1 << 20) == b"a" * (1 << 20)
    assert kb < ALLOWANCE_KB, f"get took {kb} KiB at its peak"

    rc, kb = peak_of(kv, out, *store, "--json", "get", "bomb")
    assert rc == 0
    doc = json.loads(out.read_bytes())
    assert doc["encoding"] == "utf-8" and len(doc["value"]) == SIZE
    del doc
    assert kb < ALLOWANCE_KB, f"--json get took {kb} KiB at its peak"

    rc, kb = peak_of(kv, out, *store, "--json", "get", "bin")
    assert rc == 0
    doc = json.loads(out.read_bytes())
    assert doc["encoding"] == "base64"
    assert doc["value"][:8] == "////////" and len(doc["value"]) == (SIZE // 4 + 2) // 3 * 4
    assert kb < ALLOWANCE_KB, f"--json get (base64) took {kb} KiB at its peak"


def test_json_value_pieces_keep_utf8_whole(kv, tmp_path):
    # multi-byte sequences across every 64 KiB boundary read back intact
    value = ("é€😀" * 40000).encode()
    store = ["--store", f"lmdb:{tmp_path}/s"]
    kv.ok(*store, "set", "u", "-", input=value)
    doc = kv.ok(*store, "--json", "get", "u").json()
    assert doc["encoding"] == "utf-8"
    assert doc["value"].encode() == value
    # one invalid byte anywhere makes it base64, still exact
    bad = value[:100000] + b"\xc3" + value[100000:]
    kv.ok(*store, "set", "b", "-", input=bad)
    doc = kv.ok(*store, "--json", "get", "b").json()
    assert doc["encoding"] == "base64"
    import base64
    assert base64.b64decode(doc["value"]) == bad
