# Two commands for a newcomer: `make run` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The first Python 3.11+ on PATH; override with `make run PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)

.PHONY: run test install migrate bench lint typecheck clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (none found on PATH)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Web on http://127.0.0.1:8000, a Celery worker and beat; Ctrl-C stops all three.
# Honcho hands each process $PORT counting from 5000 unless told otherwise, hence -p.
run: migrate
	$(BIN)/python manage.py bootstrap
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile -p $${PORT:-8000}

test: install
	@if [ "$$CI" = "true" ]; then \
		export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/care}"; \
		export CELERY_BROKER_URL="$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"; \
		$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(BIN)/mypy . && \
		$(BIN)/python manage.py check --fail-level WARNING && \
		$(BIN)/python manage.py makemigrations --check --dry-run && \
		$(BIN)/pytest && \
		echo "== The whole suite again, its clock started at 03:00 in New York (quiet hours hold letters there)" && \
		CARE_TEST_CLOCK="03:00 America/New_York" $(BIN)/pytest; \
	else \
		$(BIN)/pytest; \
	fi

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

clean:
	rm -rf var/broker var/*.sqlite3*
