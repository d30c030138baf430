#!/usr/bin/env bash
# Refreshes requirements.lock: every dependency of pyproject.toml and its `test` extra, the whole
# tree pinned with the SHA-256 of each of PyPI's files, one lock for Python 3.11+ on every
# platform (uv's universal resolution). scripts/setup.sh installs from it.
#
# Versions already locked are kept unless asked: `bash scripts/lock.sh --upgrade` moves all of
# them to the newest allowed, `--upgrade-package NAME` one of them. Run it after changing the
# dependencies in pyproject.toml, then run the tests and commit both files.
# Needs uv: `pip install uv` (or set UV=/path/to/uv).
set -euo pipefail
cd "$(dirname "$0")/.."

uv=${UV:-uv}
if ! command -v "$uv" >/dev/null 2>&1; then
  echo "scripts/lock.sh needs uv: pip install uv (or set UV=/path/to/uv)" >&2
  exit 1
fi

# No index URL is written into the lock: the hashes are of the files, wherever they come from.
exec "$uv" pip compile pyproject.toml --extra test \
  --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command "bash scripts/lock.sh" \
  --output-file requirements.lock "$@"
