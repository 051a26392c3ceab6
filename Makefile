# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test catalogues port-free

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The package (pip install -e .) with what it needs, then what its tests need on top;
# constraints.txt pins everything.
$(VENV)/.installed-app: $(BIN)/activate pyproject.toml requirements.txt constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-tests: $(VENV)/.installed-app requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

# Server (gunicorn) and push dispatcher (see Procfile), on the database in
# DATABASE_URL (default: embedded SQLite), with the conference loaded as a rehearsal:
# its first panel starts 12 to 13 minutes from now, and the demo attendee's reminder
# leaves the worker 2 to 3 minutes after the seed (SEED_ARGS= for the real 2020 dates).
SEED_ARGS ?= --rehearsal
run: port-free $(VENV)/.installed-app
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed $(SEED_ARGS)
	@echo "Console: http://127.0.0.1:$${PORT:-8000}/console/  (API docs: /api/v1/docs)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $${PORT:-8000}

# Before anything is installed or seeded: a port in use stops `make run`, naming the
# variable that picks another (gunicorn would otherwise retry, then fail among the
# worker's lines).
port-free:
	@$(PYTHON) -c 'import os, socket, sys; \
	host, port = os.environ.get("HOST") or "127.0.0.1", int(os.environ.get("PORT") or 8000); \
	probe = socket.socket(); probe.settimeout(2); busy = probe.connect_ex((host, port)) == 0; \
	sys.exit(f"Port {port} is in use on {host}: pick another with PORT, " \
	         f"e.g. PORT={port + 1} make run" if busy else 0)'

test: $(VENV)/.installed-tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The push texts: extract what the code marks (notifications/kinds.py) into the template,
# then bring every language's catalogue in step (new texts appear untranslated there;
# tests/test_push_notify.py fails until a translator fills them in). The app reads the
# .po files with Babel, so there is nothing to compile.
LOCALE := notifications/locale
catalogues: $(VENV)/.installed-app
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
		--project "Alliance companion" -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-fuzzy-matching \
		--ignore-obsolete --width 100
