#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with vpt and its test tools.
# Torch is installed first as the CPU wheel (2.13.0); a bare `torch` requirement would pull a
# multi-GB CUDA build. On a GPU machine install the torch build you want before this script.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
