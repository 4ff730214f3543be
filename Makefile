# Rapport: `make run` to try it, `make test` to check it. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENDOR := rapport/web/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgres test-e2e lint assets clean lock

install: $(STAMP) $(VENDOR)/htmx.min.js

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

# Front-end assets come from the npm registry at set-up, never from a CDN at run time.
$(VENDOR)/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/vega/build/vega.min.js node_modules/vega-lite/build/vega-lite.min.js \
	   node_modules/vega-embed/build/vega-embed.min.js $(VENDOR)/

assets: $(VENDOR)/htmx.min.js

# Migrates, loads demo data on the first start only, makes sure an admin exists, prints how
# to log in, then serves on http://$(HOST):$(PORT) with a background worker beside it.
run: install
	RAPPORT_DEBUG=$${RAPPORT_DEBUG:-true} $(BIN)/rapport serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check .

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
