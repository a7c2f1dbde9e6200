"""Sphinx extension for the book: MathJax served from the build, the run-card table, the
injected-parameters cell removed and the book's stylesheet.

* MathJax 2 is copied from the ``jupyter-server-mathjax`` package into ``_static/mathjax``
  so the built book renders equations with no network (open ``_build/html`` from disk).
* The page ``book/run_cards`` gets a table of every chapter's run card (device, profile,
  wall time, date, versions), read from the notebooks' stored outputs.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from docutils import nodes

MATHJAX_DIR = "mathjax"


def _mathjax_static() -> Path:
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the book serves MathJax itself: pip install jupyter-server-mathjax "
                           "(it is in the 'book' extra of pyproject.toml)")
    return Path(spec.submodule_search_locations[0]) / "static"


def _use_local_mathjax(app, config) -> None:
    _mathjax_static()  # fail early, with the fix, when the package is missing
    config.mathjax_path = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
    # MathJax 2 reads this configuration. Sphinx writes \( \) and \[ \]; myst-nb marks
    # notebook sections tex2jax_ignore (so a "$" in an output is left alone) and relies on
    # the "math" class to typeset the equations inside them.
    config.mathjax2_config = {"tex2jax": {
        "inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
        "processEscapes": True, "processClass": "tex2jax_process|mathjax_process|math|output_area",
    }}
    config.mathjax3_config = None


def _copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_static(), Path(app.outdir) / "_static" / MATHJAX_DIR,
                        dirs_exist_ok=True)


def run_cards(notebooks: list[Path]) -> list[dict]:
    """The run card (a dict) stored in each notebook's outputs, in the order given."""
    cards = []
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text())
        card = {"chapter": nb_path.stem}
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("data", {}).get("text/markdown", []))
                if text.startswith("| run card |"):
                    rows = [line.strip("|").split("|") for line in text.splitlines()[2:]]
                    card.update({k.strip(): v.strip() for k, v in rows})
        cards.append(card)
    return cards


def _run_card_table(app, docname: str, source: list[str]) -> None:
    if docname != "book/run_cards":
        return
    src = Path(app.srcdir)
    notebooks = sorted(p for p in (src / "notebooks").glob("*.ipynb")
                       if f"notebooks/{p.stem}" in app.env.found_docs)  # chapters in the toc
    cols = ["chapter", "profile", "device", "wall_time_s", "load_at_end", "started", "ganlib",
            "torch"]
    lines = ["", "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    for card in run_cards(notebooks):
        name = card["chapter"]
        cells = [f"[{name}](../notebooks/{name}.ipynb)"] + [card.get(c, "—") for c in cols[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    source[0] += "\n".join(lines) + "\n"


def _drop_injected_parameters(app, doctree) -> None:
    for node in list(doctree.findall(nodes.container)):
        if "tag_injected-parameters" in node.get("classes", []):
            node.parent.remove(node)


def _stylesheet(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(Path(__file__).parent / "static")]


def setup(app):
    app.connect("config-inited", _stylesheet)
    app.connect("doctree-read", _drop_injected_parameters)
    app.add_css_file("book.css")
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    app.connect("source-read", _run_card_table)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
