"""For policy authors: ``airflow-policies test`` (Rego tests with a coverage gate, sample suites, golden
inputs) and ``airflow-policies new-rule`` (a rule folder that passes all of them from the start)."""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from airflow_policies._config import load_settings
from airflow_policies._paths import opa_binary
from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    days,
)
from airflow_policies.decision.models import Decision
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.document.models import InputDocument
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.local.opa_server import local_opa
from airflow_policies.policy.repository import PolicySources, as_sources, find_repository, policy_sources
from airflow_policies.policy.rollout import expiring, load_rollout
from airflow_policies.policy.samples import (
    RuleSamples,
    fixture_registry,
    golden_file,
    is_stale,
    sample_document,
    suites,
    verify_case,
)

__all__ = ["coverage_report", "run_policy_tests", "scaffold_rule", "wasm_test_report"]

#: The rule directory of test, golden and new-rule outside a policy repository.
_DEFAULT_REGO = Path("rego")
_REGO_HELP = "rule directory (default: the policy repository's, with the library on the load path; else ./rego)"
_RULE_ID = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")


def _authored(path: str, sources: PolicySources) -> bool:
    return any(Path(path).resolve().is_relative_to(folder.resolve()) for folder in sources.authored)


def coverage_report(rego: Path | PolicySources, minimum: float) -> tuple[bool, list[str]]:
    """Run ``opa test --coverage`` over a rule directory or a policy repository's sources: whether every test
    passed and every policy file (not the tests) the author is responsible for (the repository's own, not the
    library's) is covered at least ``minimum`` percent, and the lines to print."""
    sources = as_sources(rego)
    paths = [str(folder) for folder in sources.dirs]
    run = subprocess.run(
        [str(opa_binary()), "test", "--coverage", "--format", "json", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        failures = subprocess.run([str(opa_binary()), "test", *paths], capture_output=True, text=True, check=False)
        return False, ["opa test failed:", *(failures.stdout + failures.stderr).strip().splitlines()[-40:]]
    lines, low = [], []
    for path, entry in sorted(json.loads(run.stdout)["files"].items()):
        if path.endswith("_test.rego") or not _authored(path, sources):
            continue
        coverage = float(entry.get("coverage", 0.0))
        lines.append(f"  {coverage:6.1f}%  {path}")
        if coverage < minimum:
            low.append(path)
    lines.append(
        f"coverage below {minimum}% in: {', '.join(low)}" if low else f"every policy file covered >= {minimum}%"
    )
    return not low, lines


def wasm_test_report(rego: Path | PolicySources) -> tuple[bool, list[str]]:
    """Run the same Rego tests on OPA's Wasm target (``opa test --target wasm``): the rules as ``engine: wasm``
    runs them, compiled by the same OPA. Whether every test passed, and the lines to print.

    The two targets can disagree where a rule does arithmetic (they round differently: ``x := 10 / 3; x * 3 ==
    10`` holds on the server only) or relies on how a built-in formats its answer (``json.marshal``'s key
    order), so a rule library for ``engine: wasm`` is tested on both.
    """
    binary = opa_binary()
    version = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=False).stdout
    if "WebAssembly: available" not in version:
        raise ConfigurationError(
            f"{binary} has no Wasm engine ('opa version' does not say WebAssembly: available), so the Rego tests "
            "cannot run on the Wasm target: build OPA with it (go install -tags opa_wasm "
            "github.com/open-policy-agent/opa@<version>), or pass --no-wasm if no deployment runs engine: wasm"
        )
    paths = [str(folder) for folder in as_sources(rego).dirs]
    run = subprocess.run([str(binary), "test", "--target", "wasm", *paths], capture_output=True, text=True, check=False)
    output = (run.stdout + run.stderr).strip().splitlines()
    if run.returncode != 0:
        return False, ["opa test --target wasm failed (the rules as engine: wasm runs them):", *output[-40:]]
    return True, [f"on the Wasm target (engine: wasm): {output[-1] if output else 'no tests'}"]


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


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    test = commands.add_parser(
        "test",
        help="policy CI: opa test with a coverage gate, on the server and the Wasm target; every rule's sample suite; "
        "golden inputs current",
    )
    test.add_argument("--rego", type=Path, help=_REGO_HELP)
    test.add_argument("--registry", type=Path, help="registry for the samples (default: the Rego tests' fixture)")
    test.add_argument("--min-coverage", type=float, default=95.0, help="per policy file, in percent (default: 95)")
    test.add_argument("--no-samples", action="store_true", help="only the Rego tests and the coverage gate")
    test.add_argument(
        "--no-wasm", action="store_true", help="skip running the Rego tests on the Wasm target (engine: wasm) too"
    )
    test.add_argument("--rule", help="run the samples of this rule only (FAMILY.RULE)")
    test.set_defaults(handler=_run_test)

    new_rule = commands.add_parser("new-rule", help="scaffold a rule folder: policy, tests, samples, suite")
    new_rule.add_argument("rule_id", metavar="FAMILY.RULE")
    new_rule.add_argument("--rego", type=Path, help=_REGO_HELP)
    new_rule.set_defaults(handler=_run_new_rule)

    golden = commands.add_parser("golden", help="write each rule sample's input document next to it (golden inputs)")
    golden.add_argument("--rego", type=Path, help=_REGO_HELP)
    golden.add_argument("--check", action="store_true", help="write nothing; exit 1 if any golden file is stale")
    golden.add_argument("--rule", help="this rule only (FAMILY.RULE)")
    golden.set_defaults(handler=_run_golden)

    rollout = commands.add_parser(
        "validate-rollout", help="validate a rollout file against the rules before loading it into OPA"
    )
    rollout.add_argument("file", type=Path, help="rollout file (YAML or JSON)")
    rollout.add_argument(
        "--rego", type=Path, help="rule directory (default: the policy repository's, with the library; else shipped)"
    )
    rollout.add_argument("--expiring-within", metavar="DAYS", type=days, default=14, help="default: 14d")
    rollout.set_defaults(handler=_run_validate_rollout)


def _run_test(args: argparse.Namespace) -> int:
    """opa test with the coverage gate, the same tests on the Wasm target, then every sample suite and the
    golden check."""
    sources = policy_sources(args.rego, fallback=_DEFAULT_REGO)
    passed = run_policy_tests(
        sources,
        min_coverage=args.min_coverage,
        wasm=not args.no_wasm,
        samples=not args.no_samples,
        registry=args.registry,
        rule=args.rule,
    )
    return EXIT_OK if passed else EXIT_REJECTED


def run_policy_tests(
    sources: PolicySources,
    *,
    min_coverage: float,
    wasm: bool = True,
    samples: bool = True,
    registry: Path | None = None,
    rule: str | None = None,
) -> bool:
    """Everything ``airflow-policies test`` runs, printing as it goes; whether all of it passed.

    The Rego tests run over every source (the library on the load path); coverage is gated, and sample suites
    run, for the author's own rules only (:attr:`PolicySources.authored`).
    """
    passed, lines = coverage_report(sources, min_coverage)
    print("\n".join(lines))
    if wasm:
        passed_on_wasm, lines = wasm_test_report(sources)
        print("\n".join(lines))
        passed = passed and passed_on_wasm
    if not samples:
        return passed
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="airflow-policies-test-") as scratch:
        if registry is None:
            registry = Path(scratch, "registry.json")
            registry.write_text(json.dumps(fixture_registry(sources)))
        with local_opa(registry, sources) as url:
            evaluate = OpaEvaluator(load_settings(environ={}, opa_url=url)).evaluate
            for samples_of_rule in _suites(sources):
                if rule and samples_of_rule.rule_id != rule:
                    continue
                failures += _run_suite(samples_of_rule, evaluate)
    print("\n".join(failures) if failures else "every sample suite passes; golden inputs are current")
    return passed and not failures


def _suites(sources: PolicySources) -> Iterator[RuleSamples]:
    for folder in sources.authored:
        yield from suites(folder / "airflow_policies" / "rules")


def _run_suite(samples: RuleSamples, evaluate: Callable[[InputDocument], Decision]) -> list[str]:
    """One rule's sample suite and golden check, with its verdict line printed; the failures."""
    failures = []
    for case in samples.suite.cases:
        # One parse per sample serves both the suite and the golden check.
        document = sample_document(samples.folder, case)
        problems = verify_case(samples.rule_id, case, document, evaluate)
        failures += [f"{samples.rule_id} {case.sample}: {problem}" for problem in problems]
        path, content = golden_file(samples.folder, case, document)
        if is_stale(path, content):
            failures.append(f"{samples.rule_id}: golden input {path} is stale (run: airflow-policies golden)")
    print(f"{'FAIL' if failures else 'ok  '}  {samples.rule_id}: {len(samples.suite.cases)} samples", flush=True)
    return failures


def _run_new_rule(args: argparse.Namespace) -> int:
    """Scaffold a rule folder that passes every check from the start."""
    # Only where it goes: in a policy repository, its rule directory. The library is not needed to write it.
    repository = find_repository(args.rego.resolve().parent if args.rego else Path.cwd())
    rego = args.rego or (repository.rego if repository else _DEFAULT_REGO)
    for path in scaffold_rule(rego, args.rule_id):
        print(path)
    option = f" --rego {rego}" if args.rego else ""
    print(
        f"next: edit the rule, its tests, samples and suite; then airflow-policies golden{option} "
        f"and airflow-policies test{option}"
    )
    return EXIT_OK


def _run_golden(args: argparse.Namespace) -> int:
    """Write (or with --check, verify) each sample's golden input document."""
    stale = []
    for samples in _suites(policy_sources(args.rego, fallback=_DEFAULT_REGO)):
        if args.rule and samples.rule_id != args.rule:
            continue
        for case in samples.suite.cases:
            path, content = golden_file(samples.folder, case, sample_document(samples.folder, case))
            if not is_stale(path, content):
                continue
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    if args.check and stale:
        print("stale golden inputs (run: airflow-policies golden):", *stale, sep="\n  ", file=sys.stderr)
        return EXIT_REJECTED
    print(f"{len(stale)} golden inputs {'stale' if args.check else 'written'}")
    return EXIT_OK


def _run_validate_rollout(args: argparse.Namespace) -> int:
    """Validate a rollout file against the rules; list exceptions about to expire."""
    known = {d.id for d in policy_sources(args.rego).rule_declarations()}
    rollout = load_rollout(args.file, known)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    print(f"{args.file}: valid ({len(rollout.actions)} action overrides, {len(rollout.exceptions)} exceptions)")
    for e in expiring(rollout, args.expiring_within, today):
        state = "EXPIRED" if e.expires < today else "expires"
        print(f"  {state} {e.expires}  {e.id}  {e.rule}  team {e.team}  ({e.owner}, {e.ticket})")
    return EXIT_OK
