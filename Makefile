# LoopCRM developer tasks. Every target can be run again safely; `make help` lists them.
#
# Needs only python3 (3.11+) and node/npm (20+). uv, the Python packages (uv.lock) and the
# front-end packages (package-lock.json) are installed on first use; later runs skip what is
# already up to date (file targets and a stamp inside .venv).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/loopcrm/web/static/vendor
CHROMIUM := /usr/bin/chromium
# CI passes --locked: fail if uv.lock no longer matches pyproject.toml instead of using it as is.
UV_SYNC_FLAGS ?= --frozen
PYTEST_ARGS ?=
# The demo's port; the demo test serves on a free one.
DEMO_PORT ?= 8000
NPM_CI := npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# A uv on PATH if there is one; otherwise the copy that `make install` puts into $(PYTHON).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

say = @echo "==> $(1)"

.PHONY: help install demo test lint format clean browser

help:
	@echo "make demo     install, create demo data, serve LoopCRM on http://127.0.0.1:8000"
	@echo "make test     install, then run the whole test suite (browser tests use $(CHROMIUM))"
	@echo "make lint     ruff check, ruff format --check, mypy, import-linter contracts"
	@echo "make format   apply ruff's safe fixes and formatting"
	@echo "make install  uv + .venv from uv.lock, npm packages from package-lock.json, vendored assets"
	@echo "make clean    remove everything install and the tools generated (never loopcrm-data/)"
	@echo "Variables: PYTEST_ARGS='-m \"not browser\"', LOOPCRM_TEST_POSTGRES_URL=postgresql+psycopg://..."

install: $(VENV)/.synced $(VENDOR)/htmx.min.js $(VENDOR)/Sortable.min.js $(VENDOR)/echarts.min.js \
	$(VENDOR)/swagger-ui/swagger-ui-bundle.js $(VENDOR)/swagger-ui/swagger-ui.css \
	$(VENDOR)/analytics-next/standalone.js $(VENDOR)/fonts/NotoSansSC-Regular.ttf
	@echo "==> environment ready (.venv, node_modules, $(VENDOR))"

$(VENV)/.synced: pyproject.toml uv.lock
	@if ! $(UV) --version >/dev/null 2>&1; then \
		echo "==> uv (pip install uv)"; \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv \
			|| $(PYTHON) -m pip install --quiet --disable-pip-version-check --user --break-system-packages uv; \
	fi
	$(call say,Python packages into $(VENV) (uv sync $(UV_SYNC_FLAGS)))
	@$(UV) sync $(UV_SYNC_FLAGS) --python $(PYTHON) --quiet
	@touch $@

# npm ci rewrites node_modules/.package-lock.json, so it doubles as the "installed" stamp.
node_modules/.package-lock.json: package.json package-lock.json
	$(call say,front-end packages (npm ci))
	@$(NPM_CI)

$(VENDOR)/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p $(@D) && cp node_modules/htmx.org/dist/htmx.min.js $@
$(VENDOR)/Sortable.min.js: node_modules/.package-lock.json
	@mkdir -p $(@D) && cp node_modules/sortablejs/Sortable.min.js $@
$(VENDOR)/echarts.min.js: node_modules/.package-lock.json
	@mkdir -p $(@D) && cp node_modules/echarts/dist/echarts.min.js $@
# The API docs page (/api/docs) uses Swagger UI from here, not from a CDN.
$(VENDOR)/swagger-ui/%: node_modules/.package-lock.json
	@mkdir -p $(@D) && cp node_modules/swagger-ui-dist/$* $@
# The web tracker websites load from LoopCRM itself (Segment's analytics.js, the standalone build of
# @segment/analytics-next) and the chunks it lazy-loads, served by cdp/api/tracking.py.
$(VENDOR)/analytics-next/standalone.js: node_modules/.package-lock.json
	@rm -rf $(@D) && mkdir -p $(@D) \
		&& cp node_modules/@segment/analytics-next/dist/umd/standalone.js \
			node_modules/@segment/analytics-next/dist/umd/*.bundle.*.js $(@D)/

# The Chinese font quote PDFs embed (Noto Sans SC, SIL Open Font License), so PDFs work on a fresh
# machine without a system font (sales/quotes/service/pdf.py).
$(VENDOR)/fonts/NotoSansSC-Regular.ttf: node_modules/.package-lock.json
	@mkdir -p $(@D) && cp node_modules/@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf $@

demo: install
	$(call say,demo data (loopcrm demo))
	@$(BIN)/loopcrm demo
	$(call say,serving on http://127.0.0.1:$(DEMO_PORT) (Ctrl-C to stop))
	@exec $(BIN)/loopcrm serve --port $(DEMO_PORT)

# Browser tests drive Debian's Chromium through Playwright (Playwright's own download is not used).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "==> Chromium for browser tests (apt-get install chromium)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get -o DPkg::Lock::Timeout=600 update -qq; \
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
				chromium fonts-liberation fonts-wqy-microhei >/dev/null; \
		else \
			echo "Browser tests need Chromium at $(CHROMIUM). On Debian/Ubuntu run:" >&2; \
			echo "    sudo apt-get install chromium" >&2; \
			echo "or run the other tests only: make test PYTEST_ARGS='-m \"not browser\"'" >&2; \
			exit 1; \
		fi; \
	fi

ifeq ($(findstring not browser,$(PYTEST_ARGS)),)
test: browser
endif
test: install
	$(call say,pytest on $(if $(LOOPCRM_TEST_POSTGRES_URL),PostgreSQL,SQLite))
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Runs every gate even when an earlier one fails, then fails if any did.
lint: install
	@failed=""; \
	run() { echo "==> $$*"; "$$@" || failed="$$failed [$$*]"; }; \
	run $(BIN)/ruff check --quiet --output-format concise .; \
	run $(BIN)/ruff format --check --quiet --output-format concise .; \
	run $(BIN)/mypy; \
	run $(BIN)/lint-imports --no-cache --no-logo; \
	if [ -n "$$failed" ]; then echo "==> lint FAILED:$$failed" >&2; exit 1; fi; \
	echo "==> lint passed"

format: install
	@$(BIN)/ruff check --fix-only --quiet .
	@$(BIN)/ruff format --quiet .

clean:
	@rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache \
		dist build test-results .coverage
	@find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	@find . -maxdepth 2 -name '*.egg-info' -type d -prune -exec rm -rf {} +
