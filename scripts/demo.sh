#!/usr/bin/env bash
# Install qtables (into the active virtual environment, or .venv) and run the demo on the bundled samples.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
"$PY" -m pip install -q --disable-pip-version-check .
exec "$PY" -m qtables.cli demo --out "${1:-演示}"
