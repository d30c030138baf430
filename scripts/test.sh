#!/usr/bin/env bash
# Sets up and runs the test suite. Tests use PostgreSQL on 127.0.0.1:5432 when it answers (or
# TEST_DATABASE_URL), else an embedded server; each run creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Browser tests drive Debian's Chromium; install it when we may (root with apt-get), else they
# are skipped with the reason.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium for the browser tests..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium fonts-noto-color-emoji >/dev/null; } ||
    echo "could not install Chromium; the browser tests will be skipped" >&2
fi

# Four worker processes (pytest-xdist) share the tests: most of them wait on servers, worker
# processes and browsers, so four keep two cores busy. Each worker has a database of its own.
# CALLBACKS_TEST_WORKERS=0 runs everything in this one process.
workers=${CALLBACKS_TEST_WORKERS:-4}
exec .venv/bin/python -m pytest -n "$workers" --dist worksteal "$@"
