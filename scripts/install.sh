#!/usr/bin/env bash
# Install Embedding Lens on a fresh Debian/Ubuntu machine with Python 3.11:
#   1. Debian's chromium (browser tests; Playwright's own browser download does not work
#      offline),
#   2. a virtual environment .venv with the pinned requirements (torch is the 2.13.0 CPU wheel)
#      and datamapplot (requirements-nodeps.txt),
#   3. the UMAP warm-up: numba kernels compiled and the default map precomputed into the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# datamapplot & co. without their declared dependencies (see requirements-nodeps.txt)
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
# this checkout itself, editable: the `embedding-lens` command in .venv/bin
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
.venv/bin/python -m viz_app.warmup
