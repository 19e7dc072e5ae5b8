# Course "Deep Learning in der Biomedizintechnik": the two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard source/*))
# The demo grades three students: the solution, the release as handed out, typical mistakes.
DEMO_STUDENTS := reference untouched typical

.PHONY: setup demo test test-fast test-dev bench lint format release clean

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
	mkdir -p submitted
	@for s in $(DEMO_STUDENTS); do cp -r examples/submissions/$$s submitted/$$s; done
	$(BIN)/dlbmt autograde --workers 2
	@for a in $(ASSIGNMENTS); do $(BIN)/dlbmt feedback $$a --provisional || exit 1; done
	$(BIN)/dlbmt export --to grades.csv
	$(BIN)/dlbmt report

## test: the whole test suite, every tier (CI runs exactly this)
test: setup
	$(BIN)/python -m pytest

## test-fast: the unit tier, under two minutes: run it after every change
test-fast: setup
	$(BIN)/python -m pytest tests/unit

## test-dev: every tier but the real notebooks end to end (tests/course)
test-dev: setup
	$(BIN)/python -m pytest -m "not course"

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
