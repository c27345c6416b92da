# make run   - set up (virtualenv, install, migrations, demo data) and serve on :5000
# make test  - set up and run the whole test suite (SQLite and PostgreSQL)
# make bench - run the benchmarks and print their figures

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
HOST   ?= 127.0.0.1
STAMP  := $(VENV)/.installed
export KARTOTEKA_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test bench install messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The demo's invoices need a seller's name: yours, or this one.
run: export KARTOTEKA_COMPANY_NAME ?= Kartoteka Demo sp. z o.o.
run: install
	$(BIN)/kartoteka init --plugins all --demo --admin-email admin@example.com \
	    --admin-password-file $(KARTOTEKA_INSTANCE_PATH)/admin-login.txt
	$(BIN)/kartoteka places load --if-empty
	@echo ""
	@echo "  Kartoteka: http://$(HOST):$(PORT)/"
	@echo "  Log in as: $$(sed -n 1p $(KARTOTEKA_INSTANCE_PATH)/admin-login.txt)"
	@echo "  Password:  $$(sed -n 2p $(KARTOTEKA_INSTANCE_PATH)/admin-login.txt)"
	@echo ""
	KARTOTEKA_SECURE_COOKIES=$${KARTOTEKA_SECURE_COOKIES:-false} \
	    $(BIN)/kartoteka serve --worker --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check core plugins tests bench docs
	$(BIN)/python -m pytest -n $${PYTEST_WORKERS:-auto} --durations=15 $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py

# Refresh the translation catalogues after changing user-facing strings.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location \
	    -o $(VENV)/messages.pot core plugins
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d core/translations --no-wrap --ignore-obsolete

clean:
	rm -rf $(VENV) instance
