# Two commands do all the set-up on a fresh machine:  make lab  and  make test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_STAMP := $(VENV)/.lab-installed
TEST_STAMP := $(VENV)/.test-installed
PORT ?= 8888
FIRST_NOTEBOOK := notebooks/00_the_whole_picture.ipynb
# make lab LANG=zh (or zh_CN, zh-CN) opens the Chinese edition. LANG is also the locale's
# variable, so the lab is then started with a real locale.
ZH := $(filter zh zh_CN zh-CN,$(LANG))
LAB_NOTEBOOK := $(if $(ZH),notebooks/zh/00_the_whole_picture.ipynb,$(FIRST_NOTEBOOK))
# The course's Jupyter settings (also Binder's, see binder/start): no news prompt, and the
# notebooks' .py text twins hidden from the file browser (they stay paired).
export JUPYTER_CONFIG_PATH := $(CURDIR)/jupyter-config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))
# PyTorch's CPU threads spin while they wait for work; on a shared 2-core machine (Binder, a
# laptop running JupyterLab and a browser) that spinning turned a 0.1 s widget update into
# seconds. Passive waiting keeps both threads; the notebooks train on one thread, where the
# policy does not matter (notebook 14 measures a 2-thread benchmark under both policies).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: lab lab-zh test notebooks readme zh lint clean help

help:
	@echo "make lab        set up .venv (first time only) and open the course in JupyterLab"
	@echo "make lab LANG=zh  the same, on the Chinese edition (also: make lab-zh)"
	@echo "make test       set up .venv (first time only) and run every test, notebooks included"
	@echo "make notebooks  re-execute every notebook in order, each in a fresh kernel (stored outputs)"
	@echo "make readme     regenerate the README's notebook table from the registry and timings"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when a requirements file or pyproject.toml changes.
$(LAB_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(TEST_STAMP): $(LAB_STAMP) requirements-test.txt
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

lab: $(LAB_STAMP)
	@echo "Starting JupyterLab on $(LAB_NOTEBOOK) (the URL with its token follows)"
	$(if $(ZH),LANG=C.UTF-8 )$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) \
		--LabApp.default_url=/lab/tree/$(LAB_NOTEBOOK)

lab-zh:
	$(MAKE) lab LANG=zh

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

notebooks: $(LAB_STAMP)
	$(BIN)/python tools/run_notebooks.py
	$(BIN)/python tools/navigation.py
	$(BIN)/python tools/zh.py build
	$(BIN)/python tools/readme.py

zh: $(LAB_STAMP)
	$(BIN)/python tools/zh.py build

readme: $(LAB_STAMP)
	$(BIN)/python tools/readme.py

lint: $(TEST_STAMP)
	$(BIN)/ruff check utils tests tools notebooks

clean:
	rm -rf $(VENV) test-artifacts
