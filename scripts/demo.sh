#!/usr/bin/env bash
# Install qtables (into the active virtual environment, or .venv) and run the demo on the bundled samples.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
"$PY" -m pip install -q --disable-pip-version-check .
# The installed console script, not "python -m": run from the checkout, -m would import the source tree
# (where the spec is not yet the qtables.schemas package) instead of what was installed.
exec "$(dirname "$PY")/qtables" demo --out "${1:-演示}"
