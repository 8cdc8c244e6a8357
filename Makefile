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
# jupyter refuses to run as root without --allow-root
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv exercises sync check-generated lint bench clean help

help:
	@echo "make lab        start JupyterLab on the course (LAB_ARGS=\"--no-browser --port 8888\" for headless)"
	@echo "make test       run the whole test suite (unit tests, notebooks, exercise checks, sync, ruff)"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make sync       regenerate each lesson/solution .ipynb from its .py source"
	@echo "make bench      list the benchmarks (python -m genlearn.bench NAME)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "genlearn needs Python >= 3.10")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lessons $(ROOT_FLAG) $(LAB_ARGS)

# pytest runs everything: unit tests, every lesson and solution notebook (nbval),
# exercise checks in both directions, notebook pair/sync checks and ruff.
test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest $(PYTEST_ARGS)

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

sync: $(STAMP)
	$(BIN)/python tools/sync_notebooks.py

lint: $(STAMP)
	$(BIN)/ruff check genlearn tests tools lessons solutions exercises

bench: $(STAMP)
	$(BIN)/python -m genlearn.bench --help

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
