# Every target creates the virtual environment from nothing when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 10k
DURATION ?= 180

.PHONY: demo demo-pg test lint types docs unit plain soak bench rehearse clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,examples]'
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

demo-pg: $(STAMP)
	bash scripts/demo-pg.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

# --strict: a link or anchor that points nowhere fails the build (not with --quiet, which hides
# the warnings strict counts). The site goes to site/ (ignored).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# pytest-xdist: a worker per core (each with its own PostgreSQL server, tests/pg_server.py);
# worksteal lets an idle worker take tests queued on a busy one, so no core waits at the end.
JOBS ?= auto
unit: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist worksteal

# The install README and the CI examples show, in a clean venv with no extras (pip's cache
# keeps it quick), then README's quick start verbatim, `pip install .` line included.
PLAIN := .venv-plain
plain:
	rm -rf $(PLAIN)
	$(PYTHON) -m venv $(PLAIN)
	$(PLAIN)/bin/python tests/shell_blocks.py README.md 'Quick start'

test: lint types docs unit plain

# The heavy variants: the tests marked `soak` (which `make test` skips), then the longer runs of
# the tests that read --soak (more kill points, a 200 MB string, a longer state machine, every
# property's full examples through tests.soak.examples): found by grep, so a new one is not missed.
SOAK_SCALED := $(shell grep -rlE --include='test_*.py' 'tests\.soak import|soak: bool|getoption\("--soak"\)' tests | sort)
soak: $(STAMP)
	$(BIN)/pytest --soak -m soak
	$(BIN)/pytest --soak -m 'not soak' $(SOAK_SCALED)

bench: $(STAMP)
	$(BIN)/python bench/run.py --scale $(SCALE)

# The live migration rehearsal (docs/rehearsal.md): report and chart in ./rehearsal.
# DURATION=600 for a longer one; REHEARSE_ARGS="--db postgresql://..." for PostgreSQL.
rehearse: $(STAMP)
	$(BIN)/python -m examples.rehearsal --duration $(DURATION) --out rehearsal $(REHEARSE_ARGS)

clean:
	rm -rf $(VENV) $(PLAIN) demo site rehearsal .pytest_cache .mypy_cache .ruff_cache
