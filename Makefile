# Course "Deep Learning in der Biomedizintechnik": the two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard source/*))

.PHONY: setup demo test bench lint format release clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(STAMP)

## demo: set up, release, autograde the example submissions, export and print the scores
demo: setup
	rm -rf submitted autograded feedback gradebook.db grades.csv
	$(BIN)/dlbmt release
	cp -r examples/submissions submitted
	$(BIN)/dlbmt autograde --workers 2
	@for a in $(ASSIGNMENTS); do $(BIN)/dlbmt feedback $$a --provisional || exit 1; done
	$(BIN)/dlbmt export --to grades.csv
	$(BIN)/dlbmt report

## test: the whole test suite (CI runs exactly this)
test: setup
	$(BIN)/python -m pytest

## bench: runtime figures of the reference solutions and the grading pipeline
bench: setup
	$(BIN)/dlbmt bench

lint: setup
	$(BIN)/ruff check src tests graders nbgrader_config.py
	$(BIN)/ruff format --check src tests graders nbgrader_config.py

format: setup
	$(BIN)/ruff format src tests graders
	$(BIN)/ruff check --fix src tests graders

release: setup
	$(BIN)/dlbmt release

clean:
	rm -rf submitted autograded feedback gradebook.db grades.csv .grading
