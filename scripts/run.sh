#!/usr/bin/env bash
# Sets up and runs the whole product on embedded defaults (no PostgreSQL, RabbitMQ or Docker
# needed). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/callbacks run "$@"
