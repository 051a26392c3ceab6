# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Server (gunicorn) and push dispatcher (see Procfile), on the database in
# DATABASE_URL (default: embedded SQLite), with the conference loaded.
run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $${PORT:-8000}

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)
