"""Every built page, opened from disk in headless Chromium: images present, equations
typeset by the book's own MathJax, no tracebacks in outputs, internal links resolving.

Runs when ``GANLIB_BOOK_DIR`` names a built book (``make test`` builds it and sets it);
needs the ``chromium`` browser (Debian: apt-get install chromium chromium-driver).
"""

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

BOOK = Path(os.environ.get("GANLIB_BOOK_DIR", "_build/html")).resolve()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif("GANLIB_BOOK_DIR" not in os.environ,
                       reason="set GANLIB_BOOK_DIR to a built book (make test does)"),
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)"),
]
PAGES = sorted(p for p in BOOK.rglob("*.html")
               if "_static" not in p.parts and p.name not in {"genindex.html", "search.html"})
SCREENSHOTS = {"notebooks/01_minimax.html", "book/intro.html"}


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img" and a.get("src"):
            self.refs.append(("image", a["src"]))
        if tag == "a" and a.get("href"):
            self.refs.append(("link", a["href"]))


def chromium(*args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=30000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def test_book_was_built():
    assert (BOOK / "index.html").exists() and len(PAGES) >= 4, f"no built book in {BOOK}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(BOOK)))
def test_page(page):
    html = page.read_text()
    parser = Links()
    parser.feed(html)
    for kind, ref in parser.refs:
        url = urlparse(ref)
        if url.scheme or ref.startswith("mailto:"):
            continue
        target = (page.parent / unquote(url.path)).resolve() if url.path else page
        assert target.exists(), f"{kind} {ref} points to a missing file"
        if kind == "link" and url.fragment and target.suffix == ".html":
            ids = parser.ids if target == page else _ids(target)
            assert url.fragment in ids, f"link {ref}: no anchor #{url.fragment}"
    assert "Traceback (most recent call last)" not in html, "a Python traceback is shown"

    rel = str(page.relative_to(BOOK))
    if rel in SCREENSHOTS:
        shots = BOOK.parent / "screenshots"
        shots.mkdir(exist_ok=True)
        chromium("--window-size=1280,2000",
                 f"--screenshot={shots / rel.replace('/', '_').replace('.html', '.png')}",
                 page.as_uri())
    n_math = html.count('class="math notranslate nohighlight"')
    if n_math:
        dom = chromium("--dump-dom", page.as_uri())
        assert 'class="MathJax_Error"' not in dom and 'class="merror"' not in dom, "TeX error"
        assert "Math Processing Error" not in dom, "MathJax failed on an equation"
        typeset = dom.count('class="MathJax"')  # one per equation, inline or display
        assert typeset >= n_math, f"{typeset} of {n_math} equations typeset (MathJax offline?)"


def _ids(path: Path) -> set[str]:
    p = Links()
    p.feed(path.read_text())
    return p.ids
