#!/usr/bin/env bash
# The policy library's CI: opa fmt, opa check --strict, regal lint, and opa test with a per-file coverage
# gate (every non-test .rego file >= 95%), each test run by the OPA server's evaluator and on the Wasm target.
# Uses the pinned binaries from scripts/install-tools.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
opa=.tools/bin/opa
regal=.tools/bin/regal
min_coverage="${MIN_COVERAGE:-95}"

# The example team layer is tested on its own: loaded beside main's tests, it would (rightly) add its
# violations to their team_a fixtures.
layers=examples/team_rules

unformatted="$("$opa" fmt --list rego "$layers")"
if [ -n "$unformatted" ]; then
  echo "check-rego: not formatted (run: $opa fmt -w rego $layers):" >&2
  echo "$unformatted" >&2
  exit 1
fi
"$opa" check --strict rego "$layers"
"$regal" lint rego "$layers"
"$opa" test rego/airflow_policies/lib "$layers" | tail -n 1
"$opa" test --target wasm rego/airflow_policies/lib "$layers" | tail -n 1

# opa test with the per-file coverage gate, and the same tests on the Wasm target that engine: wasm runs
# (the sample suites run in pytest: tests/integration/test_samples.py).
.venv/bin/airflow-policies test --rego rego --min-coverage "$min_coverage" --no-samples
