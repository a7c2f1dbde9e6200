"""Freshness of the committed chapters: what the book shows must come from a clean run of
the current library. (Executing them is `make notebooks`; this checks what is stored.)"""

import json
import re
from pathlib import Path

import pytest

import ganlib

ROOT = Path(__file__).resolve().parents[1]
TOC = (ROOT / "_toc.yml").read_text()
CHAPTERS = [ROOT / f"{m}.ipynb" for m in re.findall(r"file: (notebooks/\S+)", TOC)]
REPO_URL = re.search(r"^repository:\n\s+url: (\S+)", (ROOT / "_config.yml").read_text(),
                     re.M).group(1)


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_every_notebook_is_in_the_table_of_contents():
    on_disk = set((ROOT / "notebooks").glob("*.ipynb"))
    assert on_disk == set(CHAPTERS), "add new chapters to _toc.yml (or delete stray notebooks)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_fresh(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), \
        "the first code cell must be the papermill 'parameters' cell"
    outputs = [o for c in code for o in c.get("outputs", [])]
    errors = [o.get("ename") for o in outputs if o["output_type"] == "error"]
    assert not errors, f"stored error outputs {errors}: re-run the chapter (make reproduce)"
    counts = [c["execution_count"] for c in code if c.get("execution_count") is not None]
    assert counts, "stored without outputs: run it (make reproduce)"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), \
        "execution counts out of order (cells run by hand): re-run top to bottom"
    cards = ["".join(o["data"]["text/markdown"]) for o in outputs
             if "text/markdown" in o.get("data", {})
             and "".join(o["data"]["text/markdown"]).startswith("| run card |")]
    assert cards, "no run card stored: end the chapter with card.finish()"
    version = re.search(r"\| ganlib \| (\S+) \|", cards[-1]).group(1)
    assert version == ganlib.__version__, \
        f"outputs come from ganlib {version}, the package is {ganlib.__version__}: re-run it"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_installs_from_the_configured_repository(path):
    sources = ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "code"]
    install = [s for s in sources if "google.colab" in s]
    assert install, "chapters start with the Colab install cell (see 01_minimax)"
    assert f"git+{REPO_URL}" in install[0], "the install cell must use _config.yml's repository"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_its_title_and_hides_its_setup(path):
    nb = cells(path)
    assert nb[0]["cell_type"] == "markdown" and "".join(nb[0]["source"]).startswith("# "), \
        "a chapter opens with its title and introduction (a markdown cell starting '# ')"
    for cell in nb:
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell["source"])
        if "parameters" in tags or "google.colab" in source:
            assert "hide-cell" in tags, "collapse the parameters and Colab cells (hide-cell)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_named_profile_is_read_from_the_table(path):
    # GANLIB_PROFILE wins over get_profile's argument, so get_profile("cpu") is the quick
    # profile in CI: a chapter that means one profile's numbers reads config.PROFILES[name]
    sources = "\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "code")
    named = re.findall(r"get_profile\(\s*[\"'](\w+)[\"']", sources)
    assert not named, f"get_profile({named[0]!r}) follows GANLIB_PROFILE; use " \
        f"config.PROFILES[{named[0]!r}] for that profile's own settings"


DRAWS = re.compile(r"\bplt\.(subplots|figure)\(|\bplots\.(?!table\b)\w+\(")
WIDGET = re.compile(r"\binteract(ive)?\(")  # a widget's figure is not a cell output


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_the_code_draws_is_stored(path):
    # a chapter executed with a non-interactive matplotlib backend (MPLBACKEND=agg) keeps its
    # numbers but stores no figure: the book would show none
    missing = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code"
               and DRAWS.search("".join(c["source"])) and not WIDGET.search("".join(c["source"]))
               and not any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert not missing, f"cells {missing} draw a figure but store none: re-run the chapter " \
        "with matplotlib's inline backend (unset MPLBACKEND), e.g. make reproduce"
