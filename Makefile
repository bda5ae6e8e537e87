# Every target bootstraps .venv on a fresh machine: torch is installed first, pinned to the
# local CPU build (any other torch request pulls gigabytes of CUDA packages), then the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.geoatlas-installed
PYTEST_WORKERS ?= 2

.PHONY: venv run test reproduce bench echo docs lint clean

$(STAMP): pyproject.toml examples/third_party_plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[all,dev,test]"
	$(BIN)/pip install --quiet --no-deps mup==1.0.0
	$(BIN)/pip install --quiet -e examples/third_party_plugin
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/geoatlas run examples/pipelines/quickstart.yaml

test: venv
	$(BIN)/geoatlas doctor --pins
	$(BIN)/python -m pytest -q -m "not slow" -n $(PYTEST_WORKERS) -p no:cacheprovider

# `make reproduce` runs every plugin's reproduce.py (each rewrites its results.json);
# `make reproduce PLUGIN=ponita` runs one. `make bench [PLUGIN=id]` likewise for benchmark.py
# (plus the core benchmarks in benchmarks/ when no PLUGIN is given).
PLUGIN ?=
PLUGINS_DIR := plugins/geoatlas_plugins

reproduce: venv
	@set -e; files="$(if $(PLUGIN),$(PLUGINS_DIR)/$(PLUGIN)/reproduce.py,$(wildcard $(PLUGINS_DIR)/*/reproduce.py))"; \
	test -n "$$files" || { echo "no reproduce.py found$(if $(PLUGIN), for plugin $(PLUGIN))"; exit 1; }; \
	for f in $$files; do test -f $$f || { echo "no such file: $$f"; exit 1; }; echo "== $$f"; $(BIN)/python $$f; done

bench: venv
	@set -e; files="$(if $(PLUGIN),$(PLUGINS_DIR)/$(PLUGIN)/benchmark.py,$(wildcard benchmarks/*.py $(PLUGINS_DIR)/*/benchmark.py))"; \
	for f in $$files; do test -f $$f || { echo "no such file: $$f"; exit 1; }; echo "== $$f"; $(BIN)/python $$f; done

echo: venv
	$(BIN)/geoatlas echo

# the gallery runs every example pipeline; docscheck fails on raw TeX, broken links and (when
# Chromium is installed) layout overflow of the key pages rendered headless
docs: venv
	$(BIN)/geoatlas registry
	$(BIN)/geoatlas docs --gallery
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m geoatlas.docscheck site

lint: venv
	$(BIN)/ruff check framework plugins tests benchmarks examples

clean:
	rm -rf $(VENV) site runs docs/plugins docs/reference/yaml.md docs/echo.md
