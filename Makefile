# Two commands: `make run` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: setup run test test-postgres lint bench clean

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

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
