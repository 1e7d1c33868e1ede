#!/usr/bin/env bash
# The demo: a local OPA on loopback with rego/ and examples/registry.yaml, and a real multi-team
# Airflow parse of examples/dags through the drop-in cluster policy. Prints a table of outcomes.
# --executor celery also runs the admitted DAGs on a Celery worker per team (Redis brokers, PostgreSQL).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
case " $* " in
  *" --executor celery "* | *" --executor=celery "*)
    bash "$root/scripts/install-postgres.sh"
    bash "$root/scripts/install-redis.sh"
    ;;
esac
exec "$root/.venv/bin/airflow-policies" demo "$@"
