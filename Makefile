# GAN Losses, Derived and Measured. Every target sets up what it needs.
#   make book       build the HTML book from the notebooks' stored outputs
#   make test       lint, unit tests, every chapter executed in the quick profile, and the
#                   built book checked in a headless browser
#   make reproduce  re-run every chapter in place (PROFILE=full by default), then build
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= full
# the chapters, in book order, read from the table of contents
NOTEBOOKS := $(shell sed -n 's|^ *- file: \(notebooks/[^ ]*\)|\1.ipynb|p' _toc.yml)

.PHONY: venv book test lint unit slow notebooks browser reproduce evaluator clean

venv: $(VENV)/.installed

# Pins live here, not in pyproject: torch is installed first only when absent, so an
# existing (e.g. CUDA or Colab) torch is never replaced.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[book,test]'
	touch $@

book: venv
	$(BIN)/jupyter-book build . -W -n --keep-going

lint: venv
	$(BIN)/ruff check .

# tests marked slow (retraining the evaluator, ~10 min on 2 cores) run with `make slow`
unit: venv
	$(BIN)/pytest -q -m "not slow" tests

# Chapters run in two halves side by side, one thread and no worker processes each: on a
# 2-core machine that halves the wall time, since most of a quick run is Python overhead,
# not arithmetic.
NB_HALF = $(shell printf '%s\n' $(NOTEBOOKS) | awk 'NR % 2 == $(1)')
NBVAL := GANLIB_PROFILE=quick GANLIB_PROGRESS=0 GANLIB_WORKERS=1 MPLBACKEND=agg OMP_NUM_THREADS=1 \
	$(BIN)/pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider

notebooks: venv
	@mkdir -p _build; \
	$(NBVAL) $(call NB_HALF,1) > _build/nbval-1.log 2>&1 & a=$$!; \
	$(NBVAL) $(call NB_HALF,0) > _build/nbval-2.log 2>&1 & b=$$!; \
	status=0; wait $$a || status=1; wait $$b || status=1; \
	cat _build/nbval-1.log _build/nbval-2.log; exit $$status

# the built book opened page by page in headless Chromium (skipped when it is absent)
browser: book
	GANLIB_BOOK_DIR=_build/html $(BIN)/pytest -q -p no:cacheprovider tests/test_browser.py

test: lint unit notebooks browser

slow: venv
	$(BIN)/pytest -q -m slow tests

reproduce: venv
	for nb in $(NOTEBOOKS); do \
	  GANLIB_PROGRESS=0 $(BIN)/papermill -k python3 --cwd notebooks --execution-timeout 3600 \
	    -p profile $(PROFILE) $$nb $$nb || exit 1; \
	done
	$(MAKE) book

evaluator: venv
	$(BIN)/python -m ganlib.evaluator train

clean:
	rm -rf _build
