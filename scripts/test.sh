#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run them.
#   - LibreOffice Calc (and Writer, for the drafted report) and Gnumeric (the two real spreadsheet engines), CJK fonts and Carlito, poppler (PDF text),
#     s-nail (a mail program other than Python's email package, for fixtures)
#   - PostgreSQL's server (the tests start their own cluster in a temporary folder: qtables/devtools/pgcluster.py)
#   - Chromium (the office page is driven in a real browser: tests/test_web.py)
#   - the package with its test extras, in the active virtual environment or .venv
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v ssconvert >/dev/null 2>&1 || need+=(gnumeric)
# Writer too: the drafted 分析报告 (.docx) is printed to PDF in the report tests.
dpkg -s libreoffice-writer-nogui >/dev/null 2>&1 || dpkg -s libreoffice-writer >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v s-nail >/dev/null 2>&1 || need+=(s-nail)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
# Headless Chromium for the office page's browser tests (driven by Playwright with executable_path; no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
if ! (command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .); then need+=(fonts-noto-cjk); fi
# Carlito is metric-compatible with Calibri, the workbooks' default font: LibreOffice then measures column widths
# as Excel and WPS do, so the page tests see the widths a clerk's printout has.
if ! (command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi carlito); then need+=(fonts-crosextra-carlito); fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

. scripts/env.sh
"$PY" -m pip install -q --disable-pip-version-check -e ".[test]"
# Two workers (the machine has two cores); a module's tests stay on one worker so each engine's
# set-up runs once.  The slowest 15 tests are listed at the end.
exec "$PY" -m pytest -q -rs -p no:cacheprovider -n 2 --dist loadfile --durations=15 "$@"
