#!/usr/bin/env bash
# Creates .venv with Python 3.11+ and installs Callback Desk into it: its dependencies and test
# tools exactly as requirements.lock pins them (hash-checked; `bash scripts/lock.sh` refreshes
# the lock), then the project itself, editable. Quick when nothing changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "Callback Desk needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || {
    echo "could not create .venv; on Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 1
  }
fi

# Reinstall when the lock, the project's metadata or the set of top-level packages change.
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml <(ls -d */__init__.py) |
  sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "installing Callback Desk and its dependencies into .venv (the first time takes a few minutes)..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock
  .venv/bin/python -m pip install --quiet --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
