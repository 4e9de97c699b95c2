"""pip installs the package offline, with Debian's setuptools and no build
isolation, and the installed package finds the library."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import HERE


def test_library_soname():
    lib = os.environ["GITKV_LIBRARY"]
    p = subprocess.run(["objdump", "-p", lib], capture_output=True, text=True, check=True)
    sonames = [line.split()[1] for line in p.stdout.splitlines() if line.split()[:1] == ["SONAME"]]
    assert sonames == ["libgitkv.so.0"]


def test_pip_install_offline(tmp_path):
    src = tmp_path / "src"
    # a copy, so that the build writes nothing into the checkout
    shutil.copytree(HERE.parent, src, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    target = tmp_path / "site"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["HOME"] = str(tmp_path)
    env["PIP_NO_CACHE_DIR"] = "1"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                        "--no-index", "--no-deps", "--target", str(target), str(src)],
                       capture_output=True, text=True, env=env, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (target / "gitkv" / "py.typed").exists()
    assert (target / "gitkv" / "_lib.py").exists()
    code = ("import gitkv, sys; r = gitkv.Repo.open('mem:'); s = r.branch(); s['a'] = b'1';"
            "print(gitkv.__file__, s['a'], gitkv.version())")
    env["PYTHONPATH"] = str(target)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0].startswith(str(target)) and out[1] == "b'1'" and out[2] == "0.1.0"
    # without GITKV_LIBRARY it looks for the installed library (the
    # dynamic linker's paths), and says what it tried when there is none
    env.pop("GITKV_LIBRARY", None)
    env.pop("LD_LIBRARY_PATH", None)
    p = subprocess.run([sys.executable, "-c", "import gitkv"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    if p.returncode != 0:
        assert "libgitkv.so" in p.stderr and "GITKV_LIBRARY" in p.stderr


@pytest.mark.skipif(not os.environ.get("GKV_BUILD_DIR"), reason="needs the meson build (meson test sets it)")
def test_the_installed_library_is_found(tmp_path):
    dest = tmp_path / "dest"
    p = subprocess.run(["meson", "install", "-C", os.environ["GKV_BUILD_DIR"], "--no-rebuild",
                        "--destdir", str(dest), "--quiet"], capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    libs = list(dest.rglob("libgitkv.so.0"))
    assert len(libs) == 1
    env = dict(os.environ)
    env.pop("GITKV_LIBRARY", None)
    env["LD_LIBRARY_PATH"] = str(libs[0].parent)  # as ldconfig would find it
    env["PYTHONPATH"] = str(HERE.parent)
    code = ("import gitkv; r = gitkv.Repo.open('mem:'); s = r.branch(); s['a'] = b'1';"
            "assert s['a'] == b'1';"
            "print([l.split()[-1] for l in open('/proc/self/maps') if 'libgitkv' in l][0])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith(str(dest))
