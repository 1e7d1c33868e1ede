#!/usr/bin/env bash
# Set up everything the demo and the tests need: .venv with the locked dependencies and this package,
# and the pinned OPA and Regal binaries in .tools/bin. Idempotent and quick when already done.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "bootstrap: Python >= 3.10 is required (set PYTHON=/path/to/python3)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.9.*"
fi

# Reinstall only when the lock or the package metadata changed since the last successful install.
stamp=.venv/.airflow-policies-installed
wanted="$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "bootstrap: installing Python dependencies (apache-airflow 3.3.2, ...) into .venv" >&2
  .venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements/lock.txt
  .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
  echo "$wanted" > "$stamp"
fi

bash scripts/install-tools.sh
