"""For policy authors: ``airflow-policies test`` (Rego tests with a coverage gate, sample suites, golden
inputs) and ``airflow-policies new-rule`` (a rule folder that passes all of them from the start)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from airflow_policies._paths import opa_binary
from airflow_policies.exceptions import ConfigurationError

__all__ = ["coverage_report", "scaffold_rule"]

_RULE_ID = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")


def coverage_report(rego: Path, minimum: float) -> tuple[bool, list[str]]:
    """Run ``opa test --coverage`` over ``rego``: whether every test passed and every policy file (not the
    tests) is covered at least ``minimum`` percent, and the lines to print."""
    run = subprocess.run(
        [str(opa_binary()), "test", "--coverage", "--format", "json", str(rego)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        failures = subprocess.run([str(opa_binary()), "test", str(rego)], capture_output=True, text=True, check=False)
        return False, ["opa test failed:", *(failures.stdout + failures.stderr).strip().splitlines()[-40:]]
    lines, low = [], []
    for path, entry in sorted(json.loads(run.stdout)["files"].items()):
        if path.endswith("_test.rego"):
            continue
        coverage = float(entry.get("coverage", 0.0))
        lines.append(f"  {coverage:6.1f}%  {path}")
        if coverage < minimum:
            low.append(path)
    lines.append(
        f"coverage below {minimum}% in: {', '.join(low)}" if low else f"every policy file covered >= {minimum}%"
    )
    return not low, lines


_POLICY = """\
# METADATA
# title: {title}
# description: |
#   TODO: what this rule forbids, and why (the example caps the pool slots one task may take). New rules
#   start in dryrun; roll them out with the rollout file.
# custom:
#   id: {rule_id}
#   action: dryrun
#   severity: medium
#   remediation: Say here what the DAG author should change (TODO).
package airflow_policies.rules.{family}.{rule}

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {{"slots": task.pool_slots}}) if {{
	some task in input.tasks
	task.pool_slots > 8
	message := sprintf("task '%s' takes %d pool slots; the limit is 8", [task.task_id, task.pool_slots])
}}
"""
_TEST = """\
package airflow_policies.rules.{family}.{rule}_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.{family}.{rule} as rule

test_deny_more_than_eight_slots if {{
	count(rule.violation) == 1 with input as fixtures.dag({{}}, [fixtures.task({{"pool_slots": 9}})])
		with data.airflow_policies.registry as fixtures.registry
}}

test_allow_eight_slots if {{
	rule.violation == set() with input as fixtures.dag({{}}, [fixtures.task({{"pool_slots": 8}})])
		with data.airflow_policies.registry as fixtures.registry
}}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_few_slots if {{
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_few_slots
		with data.airflow_policies.registry as fixtures.registry
}}

test_golden_denied_many_slots if {{
	count(rule.violation) == 1 with input as rule.samples.golden.denied_many_slots
		with data.airflow_policies.registry as fixtures.registry
}}
"""
_SAMPLE = '''\
"""{doc}"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("team_a__etl", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="noop", pool="team_a_pool", pool_slots={slots})
'''
_SUITE = """\
# Samples of {rule_id}: parsed by Airflow and decided by OPA (airflow-policies test).
# outcome is the whole decision's (a new rule is in dryrun, so it rejects nothing); violations / mutations
# count this rule's findings only; message is a substring of one of this rule's violations.
cases:
  - sample: samples/allowed/few_slots.py
    outcome: mutated
    team: team_a
    violations: 0
  - sample: samples/denied/many_slots.py
    outcome: mutated
    team: team_a
    violations: 1
    message: "takes 16 pool slots; the limit is 8"
"""


def scaffold_rule(rego: Path, rule_id: str) -> list[Path]:
    """Write a new rule folder ``rules/<family>/<rule>/`` under ``rego`` and return the files written.

    The rule is a working example (a cap on the pool slots of one task), in ``dryrun``, with its tests, an
    allowed and a denied sample and a suite; edit all of them, then run ``airflow-policies golden``.

    Raises:
        ConfigurationError: the id is not ``family.rule`` (lower case, digits, _) or the folder exists.
    """
    match = _RULE_ID.match(rule_id)
    if match is None:
        raise ConfigurationError(f"rule id {rule_id!r} must look like family.rule (lower case letters, digits, _)")
    family, rule = match.groups()
    folder = rego / "airflow_policies" / "rules" / family / rule
    if folder.exists():
        raise ConfigurationError(f"{folder} already exists")
    title = rule.replace("_", " ").capitalize()
    files = {
        folder / "policy.rego": _POLICY.format(title=title, rule_id=rule_id, family=family, rule=rule),
        folder / "policy_test.rego": _TEST.format(family=family, rule=rule),
        folder / "samples" / "allowed" / "few_slots.py": _SAMPLE.format(doc="A task within the limit.", slots=2),
        folder / "samples" / "denied" / "many_slots.py": _SAMPLE.format(doc="A task over the limit.", slots=16),
        folder / "suite.yaml": _SUITE.format(rule_id=rule_id),
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return list(files)
