# Two commands: `make run` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: setup run test lint bench load clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

## AS + RS in the foreground: migrate, register the MCP server, bootstrap its introspection credentials, serve.
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runstack

## The whole suite (SQLite unless DATABASE_URL says otherwise).
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmarks, never part of `make test`: real processes, a table, and docs/benchmarks.md + .png rewritten.
bench: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python -m bench.run

## The full load test (docs/reliability.md): PostgreSQL, 2 AS + 2 RS workers; `make test` runs its short form.
load: setup
	$(BIN)/python -m tests.load.load --clients 48 --seconds 120

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
