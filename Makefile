# Two commands on a fresh machine:  `make lab` (JupyterLab on the lessons)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip
LESSON ?= 01_activation_functions
LESSONS := $(notdir $(patsubst %/,%,$(wildcard solutions/*/)))
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The environment's scripts first on PATH (nbgrader runs `alembic` and kernels from PATH).
export PATH := $(abspath $(BIN)):$(PATH)

# One thread everywhere: reproducible floats for nbval and no oversubscription under xdist.
export OMP_NUM_THREADS=1
export MKL_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
export TQDM_DISABLE=1
export PYDEVD_DISABLE_FILE_VALIDATION=1
export MPLBACKEND=module://matplotlib_inline.backend_inline

PYTEST_NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: lab lint test test-quick release execute grade bench mutants gpu-check constraints clean help

help:
	@echo "make lab         JupyterLab on the lessons (creates .venv on first use)"
	@echo "make test        the full test suite (what CI runs), after make lint"
	@echo "make lint        ruff: undefined names, unused imports and variables, syntax errors"
	@echo "make test-quick  unit tests and one lesson's nbval (LESSON=$(LESSON))"
	@echo "make release     regenerate notebooks/ (student versions) from solutions/"
	@echo "make execute     re-execute solutions/ in place (nbval reference outputs)"
	@echo "make grade       autograde the sample class in examples/sample_class"
	@echo "make bench       time each lesson, and serial vs parallel grading of a class (BENCH_ARGS=\"--submissions 8\")"
	@echo "make mutants     mutation testing: each exercise's check against every mutant of its solution (LESSON=…)"
	@echo "make gpu-check   run the lessons on this machine's device (CUDA if present) and compare with the CPU outputs"

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c requirements/constraints.txt "torch==2.13.0" -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=notebooks

lint: $(STAMP)
	$(BIN)/ruff check .

# loadgroup: tests that share an expensive fixture (a graded class) or a notebook's kernel run on one
# worker together; all others spread over both, longest first (tests/conftest.py groups and orders them).
PYTEST_XDIST := -n 2 --dist loadgroup --no-loadscope-reorder

test: lint
	$(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_NBVAL) $(PYTEST_EXTRA) tests solutions

test-quick: lint
	$(BIN)/python -m pytest $(PYTEST_XDIST) -m "not slow" $(PYTEST_NBVAL) tests solutions/$(LESSON)

release: $(STAMP)
	$(BIN)/python -m nb_helpers.authoring sync
	for lesson in $(LESSONS); do $(BIN)/nbgrader generate_assignment $$lesson --force --log-level=WARN || exit 1; done

execute: $(STAMP)
	$(BIN)/python -m nb_helpers.authoring sync
	$(BIN)/python -m nb_helpers.authoring execute $(if $(filter command line,$(origin LESSON)),solutions/$(LESSON)/$(LESSON).ipynb,solutions/*/*.ipynb)

grade: $(STAMP)
	cd examples/sample_class && ../../$(BIN)/python run_class.py

bench: $(STAMP)
	$(BIN)/python -m tools.bench $(BENCH_ARGS)

mutants: $(STAMP)
	$(BIN)/python -m tools.mutants $(if $(filter command line,$(origin LESSON)),$(LESSON),)

gpu-check: $(STAMP)
	$(BIN)/python -m tools.gpu_check $(if $(filter command line,$(origin LESSON)),$(LESSON),)

constraints: $(STAMP)
	$(PIP) freeze --exclude-editable | grep -v "^nn-training-course" | sed 's/^torch==.*/torch==2.13.0/' > requirements/constraints.txt

clean:
	rm -rf submitted autograded feedback gradebook.db examples/sample_class/{submitted,autograded,feedback,release,reports,gradebook.db,grades.csv} artifacts
