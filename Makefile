# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# What the app needs, then what its tests need on top; constraints.txt pins everything.
$(VENV)/.installed-app: $(BIN)/activate requirements.txt constraints.txt
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-tests: $(VENV)/.installed-app requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

# Server (gunicorn) and push dispatcher (see Procfile), on the database in
# DATABASE_URL (default: embedded SQLite), with the conference loaded as a rehearsal:
# its first panel starts 12 minutes from now, and the demo attendee's reminder leaves
# the worker about 2 minutes from now (SEED_ARGS= for the real 2020 dates).
SEED_ARGS ?= --rehearsal
run: $(VENV)/.installed-app
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed $(SEED_ARGS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $${PORT:-8000}

test: $(VENV)/.installed-tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)
