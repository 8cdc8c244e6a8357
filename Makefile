# genlearn: two commands for a newcomer.
#   make lab    create .venv, install the course, start JupyterLab on it
#   make test   create/refresh the same .venv and run the whole test suite
# Headless:  make lab LAB_ARGS="--no-browser --port 8888"

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.genlearn-installed
LAB_ARGS ?=
PYTEST_ARGS ?= -v --durations=20
# make test runs pytest on every core, at most four (pytest-xdist; one thread per process, so two
# workers use a 2-core machine fully). pyproject's --dist loadfile keeps each notebook on one worker.
# PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(); print(max(1, min(4, n or 1)))')

.PHONY: lab test data venv exercises sync check-generated lint bench clean help book slides test-browser dist test-gpu seed-sweep

help:
	@echo "make lab        start JupyterLab on the course (LAB_ARGS=\"--no-browser --port 8888\" for headless)"
	@echo "make test       run the whole test suite (unit tests, notebooks, exercise checks, sync, ruff)"
	@echo "make data       make sure Fashion-MNIST is here (GENLEARN_DATA, the cache, Debian's package, or a download)"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make sync       write the Colab set-up cell, then regenerate each lesson/solution .ipynb from its .py source"
	@echo "make dist       build the sdist and the wheel (the course inside) into dist/ and run twine check"
	@echo "make bench      list the benchmarks (python -m genlearn.bench NAME)"
	@echo "make book       execute every lesson and render the course website into build/book/"
	@echo "make slides     reveal.js lecture slides, one per lesson, into build/slides/"
	@echo "make test-browser  run lessons 03 and 01 in JupyterLab inside Chromium (screenshots in build/browser/)"
	@echo "make test-gpu   every lesson and solution at GENLEARN_SCALE=full on CUDA (fails without a GPU)"
	@echo "make seed-sweep every lesson for GENLEARN_SEED=0..4 (every assert must hold for each)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "genlearn needs Python >= 3.10")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The lessons train on Fashion-MNIST. Found in $GENLEARN_DATA/fashion-mnist, ~/.cache/genlearn or
# Debian's dataset-fashion-mnist folder, else downloaded into the cache; with neither network nor
# the package it stops with the commands to run (apt-get install dataset-fashion-mnist, ...).
data: $(STAMP)
	@$(BIN)/genlearn data ensure fashion-mnist

lab: $(STAMP) data
	$(BIN)/genlearn lessons $(LAB_ARGS)

# pytest runs everything: unit tests, every lesson and solution notebook (nbval),
# exercise checks in both directions, notebook pair/sync checks and ruff.
# One CPU thread per process: the course's networks are tiny, results are bit-identical on every
# machine, and processes running side by side (workers, notebook kernels, subprocess tests) never
# oversubscribe.
test: $(STAMP) data
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

sync: $(STAMP)
	$(BIN)/python tools/setup_cell.py
	$(BIN)/python tools/sync_notebooks.py

# The release files: dist/genlearn-X.Y.Z.tar.gz and the wheel (with the course, without solutions/), checked.
# Publishing is .github/workflows/release.yml's job, on a tag vX.Y.Z equal to genlearn.__version__.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist
	$(BIN)/python -m twine check --strict dist/*

lint: $(STAMP)
	$(BIN)/ruff check genlearn tests tools lessons solutions exercises

bench: $(STAMP)
	$(BIN)/python -m genlearn.bench --help

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache

# The course website: every lesson executed (widgets as static pictures), rendered with
# navigation, the glossary and offline equations. Open build/book/index.html.
book: $(STAMP)
	$(BIN)/python tools/build_book.py --out build/book

# reveal.js slides per lesson (plumbing cells marked "skip" left out); reuses the notebooks
# executed by `make book` when the lessons have not changed since.
slides: $(STAMP)
	$(BIN)/python tools/build_slides.py --out build/slides

# Real browser: needs Debian's chromium (apt-get install chromium); part of `make test` when installed.
test-browser: $(STAMP)
	GENLEARN_BROWSER_REQUIRED=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests/test_browser.py -v -s

# Property-based fuzzing (issue 17): the Hypothesis suites of `make test` with 10 times the examples (FUZZ_FACTOR),
# random instead of derandomised, failures kept in build/hypothesis (replayed first on the next run).
# Prints the number of generated cases Hypothesis ran; the exit status is pytest's.
.PHONY: fuzz
fuzz: $(STAMP)
	@mkdir -p build
	GENLEARN_HYPOTHESIS_PROFILE=fuzz OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 MPLBACKEND=Agg \
	  $(BIN)/python -m pytest tests/test_properties.py tests/test_properties_models.py tests/test_properties_cli.py \
	  -q --hypothesis-show-statistics > build/fuzz.log 2>&1; status=$$?; \
	  grep -E "passed|failed" build/fuzz.log | tail -n 3; \
	  grep -Eo "[0-9]+ passing, [0-9]+ failing, and [0-9]+ invalid" build/fuzz.log | \
	  awk '{p += $$1; f += $$3; i += $$6} END {printf "fuzz: %d generated cases run (%d passing, %d failing; %d invalid draws discarded); log in build/fuzz.log\n", p + f, p, f, i}'; \
	  exit $$status

# The GPU scale: every lesson and solution at GENLEARN_SCALE=full on CUDA (the self-hosted `gpu` job
# of .github/workflows/ci.yml runs this). Fails if CUDA is missing or not used (GENLEARN_REQUIRE_DEVICE).
test-gpu: $(STAMP) data
	$(BIN)/python tools/gpu_check.py
	GENLEARN_SCALE=full GENLEARN_REQUIRE_DEVICE=cuda GENLEARN_SKIP_BROWSER=1 MPLBACKEND=Agg \
		$(BIN)/python -m pytest lessons solutions -v --durations=20 --nbval-cell-timeout=3600

# Every lesson for base seeds 0-4 (GENLEARN_SEED); prints a PASS/FAIL table (about 5x the lessons' time).
seed-sweep: $(STAMP) data
	$(BIN)/python tools/seed_sweep.py
