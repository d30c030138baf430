#!/usr/bin/env bash
# Sets up and runs the test suite. Tests use PostgreSQL on 127.0.0.1:5432 when it answers (or
# TEST_DATABASE_URL), else an embedded server; each run creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
