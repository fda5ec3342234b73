# Two commands for a newcomer: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
VENDOR := lms/static/vendor/scorm-again

.PHONY: install run test lint bench clean translations modules

install: $(VENV)/.installed $(VENDOR)/scorm-again.min.js

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(VENDOR)/scorm-again.min.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/scorm-again/dist/scorm-again.min.js node_modules/scorm-again/LICENSE $(VENDOR)/

run: modules
	$(FLASK) db upgrade
	$(FLASK) lms bootstrap
	@echo "Open http://$(HOST):$(PORT)/ in a browser."
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	bash scripts/ensure-test-tools.sh
	bash scripts/ensure-build-tools.sh
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

modules: install
	bash scripts/ensure-build-tools.sh
	$(PY) -m lms.coursebuild build --out scorm_packages

# Interface strings: refresh lms/translations/*/LC_MESSAGES/messages.po from the code and
# templates, then fill in the new English msgstr lines (the app compiles .po files at start).
translations: install
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k lazy_gettext --sort-output -o build/messages.pot .
	$(VENV)/bin/pybabel update -i build/messages.pot -d lms/translations --no-fuzzy-matching

bench: install
	$(PY) bench/commit_throughput.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance .pytest_cache
