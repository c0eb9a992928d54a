# floodcast: everything a fresh machine needs is set up by these targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# pip on this machine resolves torch 2.14.1 + torchvision 0.29.1 from local disk
TORCH := torch==2.14.1 torchvision==0.29.1
EXTRAS ?= dev,ml,social,serve,gis
DEMO_OUT ?= outputs/demo

SHARED ?= $(or $(FLOODCAST_SHARED_DATA),../shared/data)
RADAR := $(SHARED)/radar/pysteps-data/radar
DEV_EVENTS ?= 240

.PHONY: install demo test test-slow bench lint docs docs-serve clean clean-numba data data-heldout data-more data-more-heldout

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH) || $(BIN)/pip install -q 'torch>=2.4'
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/floodcast demo --out $(DEMO_OUT)

test: install
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=2 $(BIN)/python -m pytest -q -p no:cacheprovider tests

test-slow: install
	$(BIN)/python -m pytest -q -m slow tests

bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_simulate.py

# The real development dataset (needs ../shared/data): FMI, MeteoSwiss and BoM radar over
# three real DEMs, with state and autoregressive channels stored too.
DEV_SOURCES = --dem sample --dem $(SHARED)/dem/pysheds/dem.tif \
	  --dem $(SHARED)/dem/topotoolbox/greenriver.tif --dem-cell-size 4 \
	  --radar fmi:$(RADAR)/fmi/pgm/20160928 --radar mch:$(RADAR)/mch/20150515 \
	  --radar bom:$(RADAR)/bom/prcp-cscn/2/2018/06/16
DEV_OPTS = --event-frames 24 --min-rain 1.0 --extra rain_accum,time_since_start,prev_depth --seed 0
DEV_BUILD = --events $(DEV_EVENTS) $(DEV_SOURCES) $(DEV_OPTS)
HELDOUT_DEM ?= jacksboro

data: install
	$(BIN)/floodcast build-dataset --out data/dev.zarr $(DEV_BUILD)

# More terrain: the three DEMs plus two with closed depressions (landlab's zSW3, 2 m
# block-meaned to 4 m, and an SRTM tile near Boulder, ~81 m), for held-out-DEM training.
MORE_EVENTS ?= 400
MORE_BUILD = --events $(MORE_EVENTS) $(DEV_SOURCES) --dem $(SHARED)/dem/landlab/zSW3.asc \
	  --dem $(SHARED)/dem/landlab/SRTMGL3_boulder_40.09_-105.55_40.21_-105.35.asc $(DEV_OPTS)
data-more: install
	$(BIN)/floodcast build-dataset --out data/dev-more.zarr $(MORE_BUILD)

# The same events split by terrain: every event on $(HELDOUT_DEM) is test, the other DEMs'
# events train/val. $(call resplit,STORE,COPY,BUILD) copies STORE when it exists (so no
# simulation runs again) and re-indexes the copy with the build options it was made with.
define resplit
	test -d $(2) || ! test -d $(1) || cp -r $(1) $(2)
	$(BIN)/floodcast build-dataset --out $(2) $(3) --test-dem $(HELDOUT_DEM)
endef
data-heldout: install
	$(call resplit,data/dev.zarr,data/dev-heldout.zarr,$(DEV_BUILD))
data-more-heldout: install
	$(call resplit,data/dev-more.zarr,data/dev-more-heldout.zarr,$(MORE_BUILD))

# The documentation site (docs/ -> site/): fails on a broken link or a missing reference.
docs: install
	$(BIN)/pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict

docs-serve: docs
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs serve

# ruff (rules in pyproject.toml), ruff's formatter, and the layer contracts (import-linter)
lint: install
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/lint-imports

clean: clean-numba
	rm -rf $(VENV) outputs .pytest_cache site

# numba's compiled caches (the ones that copy kernels.py's code are keyed on it too:
# physics/jit_cache.py), e.g. to time a first, compiling run
clean-numba:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
