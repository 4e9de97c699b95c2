"""The example of bindings/python/README.md runs as it is written."""

import os
import re
import subprocess
import sys

from conftest import HERE


def readme_example():
    text = (HERE.parent / "README.md").read_text()
    m = re.search(r"<!-- example:[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert m, "the README has no example block"
    return m.group(1)


def test_readme_example_runs_verbatim(tmp_path):
    code = readme_example()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent)
    env["HOME"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "b'# Marrakech'"
    assert lines[1] == "['2016', '2017']"
    assert lines[2] == ("['drafts/a.md', 'drafts/b.md', 'posts/2016/marrakech.md', "
                        "'posts/2017/kyoto.md']")
    assert lines[3].startswith("absent: ") and "posts/none.md" in lines[3]
    assert len(lines) == 6
    assert lines[4].endswith(" set posts/2016/marrakech.md")
    assert lines[5].endswith(" set posts/2016/marrakech.md")
    assert list(tmp_path.iterdir()) == []  # nothing left behind (HOME is untouched)
