# Every target bootstraps .venv on a fresh machine: torch is installed first, pinned to the
# local CPU build (any other torch request pulls gigabytes of CUDA packages), then the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.geoatlas-installed
PYTEST_WORKERS ?= 2

.PHONY: venv run test reproduce bench docs lint clean

$(STAMP): pyproject.toml examples/third_party_plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[all,dev]"
	$(BIN)/pip install --quiet -e examples/third_party_plugin
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/geoatlas run examples/pipelines/quickstart.yaml

test: venv
	$(BIN)/geoatlas doctor --pins
	$(BIN)/python -m pytest -q -m "not slow" -n $(PYTEST_WORKERS) -p no:cacheprovider

reproduce: venv
	@for f in reproduce/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

bench: venv
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

docs: venv
	$(BIN)/geoatlas registry
	$(BIN)/geoatlas docs
	$(BIN)/mkdocs build --strict --quiet

lint: venv
	$(BIN)/ruff check framework plugins tests benchmarks examples

clean:
	rm -rf $(VENV) site runs docs/plugins docs/reference/yaml.md
