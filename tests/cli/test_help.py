"""Help on every command, the version, and the man page."""

import pathlib
import shutil
import subprocess

import pytest

COMMANDS = ["init", "get", "set", "remove", "list", "tree", "log", "branch", "snapshot", "help"]
MAN = pathlib.Path(__file__).resolve().parents[2] / "cli" / "kvctl.1"


def test_help_lists_every_command(kv):
    for args in (["help"], ["--help"], ["-h"]):
        out = kv.ok(*args).text
        assert out.startswith("usage: kvctl")
        for cmd in COMMANDS:
            assert f"\n  {cmd} " in out, cmd
    assert not (kv.cwd / ".gitkv").exists()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(kv, cmd):
    by_help = kv.ok("help", cmd).text
    assert by_help.startswith(f"usage: kvctl [GLOBAL OPTIONS] {cmd}")
    assert "--store" in by_help and "Exit status" in by_help
    assert kv.ok(cmd, "--help").text == by_help
    assert kv.ok(cmd, "-h").text == by_help
    # Help wins over missing arguments and never touches a store.
    assert kv.ok("--store", "lmdb:nowhere", cmd, "--help").text == by_help
    assert not (kv.cwd / "nowhere").exists()


def test_command_help_names_its_options(kv):
    assert "--message" in kv.ok("set", "--help").text
    assert "--author" in kv.ok("set", "--help").text
    assert "--max-count" in kv.ok("log", "--help").text
    assert "create NAME [FROM]" in kv.ok("branch", "--help").text


def test_version(kv):
    out = kv.ok("--version").text
    assert out.startswith("kvctl ") and "0." in out and out.endswith("\n")


def test_no_command_is_exit_2(kv):
    r = kv.fails(2)
    assert "kvctl help" in r.err


def test_man_page_renders_without_warnings():
    groff = shutil.which("groff")
    if not groff:
        pytest.skip("groff not installed")
    p = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww", "-P-cbou", str(MAN)], capture_output=True, check=True)
    assert p.stderr == b"", p.stderr.decode()
    text = p.stdout.decode()
    for section in ["SYNOPSIS", "COMMANDS", "STORES", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES"]:
        assert section in text
    for cmd in COMMANDS:
        assert cmd in text
    assert "GITKV_STORE" in text
