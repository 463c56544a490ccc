# The few verbs a newcomer needs. Everything runs from a local virtual environment that the
# first target creates, so a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install-check parity bench-setup clean

# The install compiles the encoder core (jsonvec/encoding/_core.pyx) when a C compiler is there, and
# goes on without it when none is (same vectors, slower; `jsonvec --version` says which).
$(STAMP): pyproject.toml setup.py jsonvec/*/_*.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,pandas,sklearn]'
	$(BIN)/python -m compileall -q jsonvec  # as an install does (an editable one does not)
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p build
	$(BIN)/jsonvec encode samples/people.jsonl --id-field id --keep-records -o build/people.parquet
	@echo; echo '# the records most like record p01 (itself left out):'
	$(BIN)/jsonvec similar build/people.parquet --id p01 -n 3 --plain --records
	@echo; echo '# a partial record as the query:'
	$(BIN)/jsonvec similar build/people.parquet '{"name": "Maria Garcia", "city": "Madrid"}' -n 3 --plain --records

lint: $(STAMP)
	$(BIN)/ruff check jsonvec tests bench examples
	$(BIN)/ruff format --check jsonvec tests bench examples
	$(BIN)/lint-imports  # the layers of docs/architecture.md (pyproject.toml)

typecheck: $(STAMP)
	$(BIN)/mypy

# the tests on both cores (tests/<layer>/ mirrors jsonvec/<layer>/; a test module is one unit
# of work, shared out as workers free up)
unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist worksteal

# A binary wheel from `python -m build` installs and runs with no compiler, and a source
# install with no compiler falls back to the pure-Python encoder.
install-check: $(STAMP)
	sh tests/install_check.sh $(BIN)/python

# The core against the reference, and the same bits, on every Python from 3.11 installed
# (`pyenv root`/versions): one small environment per Python in .venv-parity/.
parity: $(STAMP)
	sh tests/parity.sh $(BIN)/python

test: lint typecheck unit install-check parity

# The benchmarks' extra dependencies (scikit-learn, sentence-transformers). torch is pinned
# first: that CPU build is on local disk here, an unpinned one pulls a CUDA build of GBs.
bench-setup: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ann,bench]'

clean:
	rm -rf $(VENV) .venv-parity build .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		jsonvec/*/_*.c jsonvec/*/_*.so
