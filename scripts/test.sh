#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run them.
#   - LibreOffice Calc (the real spreadsheet client), CJK fonts, poppler (PDF text),
#     s-nail (a mail program other than Python's email package, for fixtures)
#   - the package with its test extras
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v s-nail >/dev/null 2>&1 || need+=(s-nail)
if ! (command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .); then need+=(fonts-noto-cjk); fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test]"
exec python3 -m pytest -q -p no:cacheprovider "$@"
