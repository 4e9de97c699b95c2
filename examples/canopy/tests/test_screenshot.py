"""What a reader sees: headless Chromium takes a screenshot of the index
and of an article served by canopy, and the picture is not blank (many
colours; the header's green band at the top, dark text below it)."""

import os
import struct
import subprocess
import zlib

from conftest import base_site, article

CHROMIUM = "/usr/bin/chromium"
HEADER_GREEN = (0x1F, 0x4E, 0x3D)


def png_pixels(data):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG,
    decoded with zlib and the five PNG row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def screenshot(tmp_path, url, name):
    out = tmp_path / f"{name}.png"
    profile = tmp_path / f"chromium-{name}"
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--screenshot={out}",
                        "--window-size=1024,768", url],
                       capture_output=True, timeout=120, env=env)
    assert p.returncode == 0 and out.exists(), p.stderr.decode(errors="replace")[-2000:]
    return png_pixels(out.read_bytes())


def check_not_blank(width, height, rows):
    assert (width, height) == (1024, 768)
    colours = {px for row in rows[::4] for px in row[::4]}
    assert len(colours) > 20, f"only {len(colours)} colours"
    top = rows[10]
    assert sum(1 for px in top if px == HEADER_GREEN) > width // 2
    dark = sum(1 for row in rows[100:] for px in row[::2] if sum(px) < 200)
    assert dark > 200, "no text below the header"


def test_index_and_article_render(content, canopy, tmp_path):
    site = base_site()
    site["posts/second.md"] = article("A second article", abstract="With an abstract.",
                                      body="Plenty of **words** here.\n" * 20)
    content.commit(site, "2020-01-01T10:00:00Z")
    c = canopy("--remote", content.url)
    base = f"http://127.0.0.1:{c.port}"
    check_not_blank(*screenshot(tmp_path, base + "/", "index"))
    check_not_blank(*screenshot(tmp_path, base + "/posts/first", "article"))
