# Sourced by scripts/demo.sh and scripts/test.sh: choose the Python to use.
#   - inside an active virtual environment: that one;
#   - otherwise a project environment in .venv (created on first use; on Debian, python3-venv is
#     installed when missing), so Debian's "externally-managed-environment" never stops pip.
if [ -n "${VIRTUAL_ENV:-}" ]; then
  PY="$VIRTUAL_ENV/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      rm -rf .venv
      sudo=""
      [ "$(id -u)" -ne 0 ] && sudo="sudo"
      ver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      echo "installing Debian packages: python3-venv python${ver}-venv"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv "python${ver}-venv" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      python3 -m venv .venv
    fi
  fi
  PY="$PWD/.venv/bin/python"
fi
export PY
