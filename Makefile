# make run: set up and serve on SQLite.  make test: set up and run the whole suite, on SQLite
# and on MariaDB (tests/run_all.sh).
PYTHON ?= python3
VENV ?= .venv
HOST ?= 0.0.0.0
PORT ?= 5000
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: run test clean

# The stamp files make the venv rebuild only when a requirements file changes.
$(VENV)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py db upgrade
	$(BIN)/python manage.py runserver -h $(HOST) -p $(PORT)

test: $(VENV)/.dev-installed
	tests/system_packages.sh
	PYTHON=$(BIN)/python tests/run_all.sh $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
