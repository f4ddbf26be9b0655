# AgentDesk: `make run` serves the app on its embedded defaults, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-dev assets translations messages migrate clean

run: install translations
	umask 077 && $(FLASK) db upgrade
	umask 077 && APP_ENV=$${APP_ENV:-development} $(BIN)/gunicorn --config gunicorn.conf.py \
		--bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: install-dev translations assets
	$(BIN)/pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Compile the Japanese (and English) catalogues.
translations: install
	$(BIN)/pybabel compile -d webapp/translations

# Re-extract messages after changing user-facing text, then translate the new entries.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o webapp/translations/messages.pot --no-location --sort-output --width=100 .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching --ignore-obsolete --width=100

# Front-end files from the npm registry (pinned in package-lock.json). The copies in
# webapp/static/vendor are committed (ASSET_MODE=local and the CDN fallback need no npm); this
# refreshes them after a version change, and installs axe-core for the browser tests.
VENDORED := htmx.org/dist/htmx.min.js swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css \
	redoc/bundles/redoc.standalone.js chart.js/dist/chart.umd.min.js \
	socket.io-client/dist/socket.io.min.js @xterm/xterm/lib/xterm.js @xterm/xterm/css/xterm.css \
	@xterm/addon-fit/lib/addon-fit.js

assets: webapp/static/vendor/.stamp

webapp/static/vendor/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --silent --legacy-peer-deps
	cp $(addprefix node_modules/,$(VENDORED)) webapp/static/vendor/
	touch $@

migrate: install
	$(FLASK) db upgrade

clean:
	rm -rf $(VENV) node_modules webapp/static/vendor/.stamp
