#!/usr/bin/env bash
# The policy library's CI: opa fmt, opa check --strict, regal lint, and opa test with a per-file coverage
# gate (every non-test .rego file >= 95%). Uses the pinned binaries from scripts/install-tools.sh.
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

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
if ! "$opa" test --coverage --format json rego > "$report"; then
  "$opa" test rego >&2 || true
  echo "check-rego: opa test failed" >&2
  exit 1
fi
"$opa" test rego | tail -n 1
python3 - "$report" "$min_coverage" <<'PY'
import json
import sys

report, minimum = json.load(open(sys.argv[1])), float(sys.argv[2])
low = []
for path, entry in sorted(report["files"].items()):
    if path.endswith("_test.rego"):
        continue
    coverage = entry.get("coverage", 0.0)
    print(f"  {coverage:6.1f}%  {path}")
    if coverage < minimum:
        low.append(path)
if low:
    sys.exit(f"check-rego: coverage below {minimum}% in: {', '.join(low)}")
print(f"check-rego: every policy file is covered >= {minimum}%")
PY
