#!/usr/bin/env bash
# The Python habits in CI: ruff lint, ruff's formatter (check only) and mypy --strict over the package and
# the drop-in, with the versions pinned in requirements/lock.txt (the "lint" extra).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

.venv/bin/ruff check .
.venv/bin/ruff format --check . || {
  echo "check-python: not formatted (run: .venv/bin/ruff format .)" >&2
  exit 1
}
# Files and strictness come from [tool.mypy] in pyproject.toml.
.venv/bin/mypy
