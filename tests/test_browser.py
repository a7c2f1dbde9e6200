"""Every built page, opened in headless Chromium as a reader would see it: images present,
equations typeset by the book's own MathJax, no tracebacks, internal links resolving, every
table rendered as a table, no TeX left unrendered, chapters opening with their title, and no
output wider than the text column. A screenshot of every page is kept in
``_build/screenshots``.

The page checks run when ``GANLIB_BOOK_DIR`` names a built book (``make test`` builds it and
sets it); the tests that make each check fail on a page built to regress need only the
``chromium`` browser (Debian: apt-get install chromium chromium-driver).
"""

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

BOOK = Path(os.environ.get("GANLIB_BOOK_DIR", "_build/html")).resolve()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="needs chromium (apt-get install chromium)")
needs_book = pytest.mark.skipif("GANLIB_BOOK_DIR" not in os.environ,
                                reason="set GANLIB_BOOK_DIR to a built book (make test does)")
PAGES = sorted(p for p in BOOK.rglob("*.html")
               if "_static" not in p.parts and p.name not in {"genindex.html", "search.html"}
               and ".check." not in p.name)
WIDTH = 1280  # the window the pages are laid out in (a laptop screen)

# Runs in the page once MathJax has typeset it; leaves its findings on <html data-checks>.
MEASURE = """
<script>
window.addEventListener("load", function () {
  function measure() {
    var column = document.querySelector("article.bd-article") || document.body;
    var right = column.getBoundingClientRect().right;
    var wide = [];
    column.querySelectorAll(".cell_output pre, .cell_output table, .cell_output img, "
                            + ".cell_output .output, .cell_output > div").forEach(function (el) {
      var box = el.getBoundingClientRect();
      if (box.width === 0) return;  // inside a collapsed cell
      var past = Math.round(box.right - right), hidden = el.scrollWidth - el.clientWidth;
      if (past > 1 || hidden > 1)
        wide.push(el.tagName.toLowerCase() + ": " + (el.textContent || el.src || "")
                  .trim().slice(0, 60) + " (" + Math.max(past, hidden) + " px too wide)");
    });
    document.documentElement.setAttribute("data-checks", JSON.stringify({wide: wide}));
  }
  if (window.MathJax && MathJax.Hub) MathJax.Hub.Queue(measure); else measure();
});
</script>
"""


def chromium(*args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-background-networking", "--no-first-run", "--disable-sync",
           "--disable-component-update", f"--window-size={WIDTH},2000",
           "--virtual-time-budget=30000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def rendered(page: Path, screenshot: Path | None = None) -> BeautifulSoup:
    """The page's DOM after its scripts (MathJax) ran, with the layout measurements; with
    ``screenshot``, the same browser run also saves the page as a PNG there."""
    probe = page.with_name(page.stem + ".check.html")  # beside it, so relative links work
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    shot = [f"--screenshot={screenshot}"] if screenshot else []
    try:
        return BeautifulSoup(chromium(*shot, "--dump-dom", probe.as_uri()), "html.parser")
    finally:
        probe.unlink()


def reader_text(dom: BeautifulSoup) -> str:
    """The article's prose as a reader sees it: no code, no outputs' raw text, no typeset math."""
    article = dom.select_one("article.bd-article") or dom.body
    article = BeautifulSoup(str(article), "html.parser")  # a copy to prune
    for el in article.select("pre, code, script, style, .MathJax, .MathJax_Preview, "
                             ".MathJax_Display, .cell_input, .footnote, .citation"):
        el.decompose()
    return article.get_text(" ")


RAW_TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\||\|\s*—\s*\|")
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$|\\begin\{|"
                     r"\\(?:frac|mathbb|mathcal|sum|int|log|sigma|theta|nabla)\b")


def problems(dom: BeautifulSoup, chapter: bool) -> list[str]:
    """What a reader would see wrong on a rendered page (empty when it reads right)."""
    found = []
    text = reader_text(dom)
    if m := RAW_TABLE.search(text):
        found.append(f"Markdown table shown as text: ...{text[max(0, m.start() - 40):m.end()]}")
    if m := RAW_TEX.search(text):
        found.append(f"TeX left unrendered: ...{text[max(0, m.start() - 40):m.end() + 20]}")
    if dom.select(".MathJax_Error, .merror") or "Math Processing Error" in str(dom):
        found.append("MathJax failed on an equation")
    if chapter:
        first = first_visible(dom)
        if first is None or first.name != "h1":
            found.append(f"the chapter opens with <{first and first.name} class="
                         f"{first and first.get('class')}>, not its title")
    checks = json.loads(dom.html.get("data-checks", "{}") if dom.html else "{}")
    if "wide" not in checks:
        found.append("the layout was not measured (the page's scripts did not finish)")
    found += [f"output wider than the column: {w}" for w in checks.get("wide", [])]
    return found


def first_visible(dom: BeautifulSoup):
    """The first element a reader meets in the article (sections descended into)."""
    node = dom.select_one("article.bd-article")
    while node is not None:
        kids = [k for k in node.find_all(recursive=False)
                if k.name not in ("script", "style", "span", "a") and not k.has_attr("hidden")]
        if not kids:
            return None
        node = kids[0]
        if node.name != "section":
            return node
    return None


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


def _ids(path: Path) -> set[str]:
    p = Links()
    p.feed(path.read_text())
    return p.ids


@needs_book
@needs_chromium
def test_book_was_built():
    assert (BOOK / "index.html").exists() and len(PAGES) >= 4, f"no built book in {BOOK}"


@needs_book
@needs_chromium
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
    if 'class="bd-article"' not in html:  # index.html only redirects to the first page
        return
    shots = BOOK.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    dom = rendered(page, screenshot=shots / rel.replace("/", "_").replace(".html", ".png"))
    assert not (found := problems(dom, chapter=rel.startswith("notebooks/"))), \
        "\n".join(found)
    n_math = html.count('class="math notranslate nohighlight"')
    typeset = len(dom.find_all(class_="MathJax"))  # one per equation, inline or display
    assert typeset >= n_math, f"{typeset} of {n_math} equations typeset (MathJax offline?)"


# --- each check fails on a page made to regress ----------------------------------------------

GOOD_CHAPTER = """<article class="bd-article"><section id="t"><h1>A chapter</h1>
<p>Prose with a typeset equation.</p>
<div class="cell"><div class="cell_output"><table><tr><td>1</td></tr></table>
<pre>short output</pre></div></div></section></article>"""

REGRESSIONS = {
    "Markdown table shown as text": GOOD_CHAPTER.replace(
        "<p>Prose", "<p>| | modes | w2 | |---|---|---| | ns | 8 | 0.4 |</p><p>Prose"),
    "TeX left unrendered": GOOD_CHAPTER.replace(
        "a typeset equation", r"an equation \(\frac{p_r}{p_r + p_g}\) left as TeX"),
    "not its title": GOOD_CHAPTER.replace(
        '<section id="t">', '<div class="cell tag_parameters"><pre>profile = "auto"</pre>'
        '</div><section id="t">'),
    "output wider than the column": GOOD_CHAPTER.replace(
        "<pre>short output</pre>",
        '<pre style="white-space: pre; overflow: auto">Profile(' + "name='cpu', " * 60 + ")</pre>"),
}


def _page(tmp_path: Path, body: str) -> BeautifulSoup:
    page = tmp_path / "page.html"
    page.write_text('<html><head><style>article { width: 600px; }</style></head>'
                    f"<body>{body}</body></html>")
    return rendered(page)


@needs_chromium
def test_a_page_that_reads_right_passes(tmp_path):
    assert problems(_page(tmp_path, GOOD_CHAPTER), chapter=True) == []


@needs_chromium
@pytest.mark.parametrize("defect", REGRESSIONS)
def test_each_check_catches_its_regression(tmp_path, defect):
    found = problems(_page(tmp_path, REGRESSIONS[defect]), chapter=True)
    assert any(defect in f for f in found), f"{defect!r} not caught; found {found}"
