#!/usr/bin/env bash
# Every test: Rego formatting, strict checks, Regal lint, opa test with the coverage gate; ruff, ruff format
# and mypy --strict; then pytest (unit and integration, on the real OPA binary, a real Airflow and a real
# PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
bash scripts/install-postgres.sh
bash scripts/install-chromium.sh
bash scripts/install-redis.sh
bash scripts/check-rego.sh
bash scripts/check-python.sh
exec .venv/bin/python -m pytest "$@"
