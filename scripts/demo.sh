#!/usr/bin/env bash
# The demo: a local OPA on loopback with rego/ and examples/registry.yaml, and a real multi-team
# Airflow parse of examples/dags through the drop-in cluster policy. Prints a table of outcomes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
exec "$root/.venv/bin/airflow-policies" demo "$@"
