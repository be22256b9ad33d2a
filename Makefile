# The two front-door commands (`make demo`, `make test`) build the environment when missing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
export PYTHONUNBUFFERED := 1

.PHONY: env demo test test-fast lint lock ui

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -c "import torch, torchvision, mlflow, optuna, dadapy, dvc; print('environment ready: torch', torch.__version__, 'torchvision', torchvision.__version__, 'mlflow', mlflow.__version__)"
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH dvc repro
	@echo
	@echo "Results: results/default/ (metrics.json, loss_curves.csv, loss_curves.png); runs in $(MLFLOW_TRACKING_URI)"
	@echo "  dvc metrics show results/default/*.json && dvc plots show"
	@echo "See them in MLflow: $(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI)"

test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

test-fast: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -m "not slow and not services"

lint: $(STAMP)
	$(BIN)/ruff check .

lock:
	rm -rf /tmp/vae-lock && $(PYTHON) -m venv /tmp/vae-lock && /tmp/vae-lock/bin/pip install -q . pytest ruff psycopg2-binary
	/tmp/vae-lock/bin/pip freeze | grep -v '^vae-core' > requirements.lock

ui: $(STAMP)
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI)
