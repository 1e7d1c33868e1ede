"""The ``airflow-policies`` command line.

Exit codes: 0 nothing rejected (warnings, dry runs and exceptions do not count), 1 something rejected /
undecidable (fail closed) / failed to import, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_policies.exceptions import ConfigurationError, PolicyError

if TYPE_CHECKING:
    from airflow_policies.report import CheckReport
    from airflow_policies.verdict import MutationChange

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
_PROGRESS_MIN_FILES = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-policies", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="parse a DAG folder and decide on every DAG")
    check.add_argument("path", type=Path, help="bundle root (or one DAG file)")
    check.add_argument("--bundle", required=True, help="bundle name the folder is deployed as")
    check.add_argument("--team", help="team owning the bundle (default: from Airflow / the configuration)")
    check.add_argument("--config", type=Path, help="airflow-policies YAML config file")
    check.add_argument("--format", choices=("text", "json", "junit", "sarif", "github"), default="text")
    check.add_argument("--opa-url", help="use this OPA instead of starting a local one")
    check.add_argument("--registry", type=Path, help="team registry for the local OPA")
    check.add_argument("--rego", type=Path, help="rule directory for the local OPA (default: shipped library)")
    check.add_argument("--rollout", type=Path, help="rollout file (action overrides, exceptions) for the local OPA")
    check.add_argument("--team-rules", type=Path, help="directory of team layers (<team>/*.rego) for the local OPA")
    check.add_argument("--diff", action="store_true", help="print only before -> after of every mutated field")
    check.add_argument(
        "--expiring-within",
        metavar="DAYS",
        type=_days,
        help="also list the rollout file's exceptions expiring within this many days (14d, 2w)",
    )
    check.add_argument("--decision-log", help="write one decision-log line per DAG here (a file, or stderr)")

    audit = commands.add_parser(
        "audit", help="decide on every DAG in Airflow's metadata DB (current rules, or a candidate rule directory)"
    )
    audit.add_argument("--bundle", action="append", help="only this bundle (repeatable; default: every bundle)")
    audit.add_argument("--config", type=Path, help="airflow-policies YAML config file")
    audit.add_argument("--format", choices=("text", "json", "junit", "sarif", "github"), default="text")
    audit.add_argument("--opa-url", help="ask this OPA (default: the configured one, i.e. the current rules)")
    audit.add_argument(
        "--rego", type=Path, help="candidate rule directory: start a local OPA with it to preview its impact"
    )
    audit.add_argument("--registry", type=Path, help="team registry for the local OPA (with --rego)")
    audit.add_argument("--rollout", type=Path, help="rollout file for the local OPA (with --rego)")
    audit.add_argument("--team-rules", type=Path, help="directory of team layers for the local OPA (with --rego)")
    audit.add_argument(
        "--pause-violating", action="store_true", help="pause every rejected DAG (not those OPA could not decide)"
    )
    audit.add_argument("--decision-log", help="write one decision-log line per DAG here (a file, or stderr)")

    sync = commands.add_parser(
        "sync", help="merge ownership from Airflow (connections, variables, pools, executors) into the registry"
    )
    sync.add_argument("--registry", type=Path, required=True, help="the hand-written registry")
    sync.add_argument("--output", type=Path, help="write the merged registry here (default: stdout)")
    sync.add_argument("--dry-run", action="store_true", help="write nothing; print the diff against what OPA holds")
    sync.add_argument("--opa-url", help="the OPA the dry run compares with (default: the configured one)")
    sync.add_argument("--config", type=Path, help="airflow-policies YAML config file")

    bundle = commands.add_parser("bundle", help="OPA bundles: build (optionally signed), replica config and status")
    bundle_commands = bundle.add_subparsers(dest="bundle_command", required=True)
    build = bundle_commands.add_parser("build", help="build a standard OPA bundle with `opa build`")
    build.add_argument("--registry", type=Path, required=True, help="team registry (e.g. the output of sync)")
    build.add_argument("--rego", type=Path, help="rule directory (default: shipped library)")
    build.add_argument("--rollout", type=Path, help="rollout file (action overrides, exceptions)")
    build.add_argument("--team-rules", type=Path, help="directory of team layers (<team>/*.rego)")
    build.add_argument("--output", type=Path, default=Path("bundle.tar.gz"))
    build.add_argument("--revision", help="the bundle revision (default: a hash of its rules and data)")
    build.add_argument("--signing-key", type=Path, help="PEM private key (RSA/ECDSA) to sign the bundle with")
    build.add_argument("--signing-alg", default="RS256", help="JWT algorithm of the signature (default: RS256)")
    build.add_argument("--key-id", default="airflow_policies", help="key id the replicas verify with")
    config = bundle_commands.add_parser("opa-config", help="print the OPA config of a replica polling a bundle server")
    config.add_argument("server_url", help="base URL of the bundle server")
    config.add_argument("--public-key", type=Path, help="PEM public key: activate only bundles signed with its pair")
    config.add_argument("--key-id", default="airflow_policies")
    config.add_argument(
        "--resource", default="bundles/airflow_policies.tar.gz", help="path of the bundle on the server"
    )
    status = bundle_commands.add_parser("status", help="the bundle revision each OPA replica serves")
    status.add_argument("opa_urls", nargs="+", metavar="OPA_URL")
    status.add_argument("--expect", help="exit 1 unless every replica serves this revision")

    schema = commands.add_parser("schema", help="write the JSON schemas of every document that crosses a boundary")
    schema.add_argument("--output", type=Path, default=Path("schemas"))

    rules = commands.add_parser("rules", help="write the rule index generated from the rules' METADATA")
    rules.add_argument("--rego", type=Path, help="rule directory (default: shipped library)")
    rules.add_argument("--output", type=Path, help="file to write (default: stdout)")

    test = commands.add_parser(
        "test", help="policy CI: opa test with a coverage gate, every rule's sample suite, golden inputs current"
    )
    test.add_argument("--rego", type=Path, default=Path("rego"), help="rule directory (default: ./rego)")
    test.add_argument("--registry", type=Path, help="registry for the samples (default: the Rego tests' fixture)")
    test.add_argument("--min-coverage", type=float, default=95.0, help="per policy file, in percent (default: 95)")
    test.add_argument("--no-samples", action="store_true", help="only opa test and the coverage gate")
    test.add_argument("--rule", help="run the samples of this rule only (FAMILY.RULE)")

    new_rule = commands.add_parser("new-rule", help="scaffold a rule folder: policy, tests, samples, suite")
    new_rule.add_argument("rule_id", metavar="FAMILY.RULE")
    new_rule.add_argument("--rego", type=Path, default=Path("rego"), help="rule directory (default: ./rego)")

    golden = commands.add_parser("golden", help="write each rule sample's input document next to it (golden inputs)")
    golden.add_argument("--rego", type=Path, default=Path("rego"), help="rule directory (default: ./rego)")
    golden.add_argument("--check", action="store_true", help="write nothing; exit 1 if any golden file is stale")
    golden.add_argument("--rule", help="this rule only (FAMILY.RULE)")

    rollout = commands.add_parser(
        "validate-rollout", help="validate a rollout file against the rules before loading it into OPA"
    )
    rollout.add_argument("file", type=Path, help="rollout file (YAML or JSON)")
    rollout.add_argument("--rego", type=Path, help="rule directory (default: shipped library)")
    rollout.add_argument("--expiring-within", metavar="DAYS", type=_days, default=14, help="default: 14d")

    demo = commands.add_parser("demo", help="run the two-team demo on a local OPA and a real Airflow parse")
    demo.add_argument("--workdir", type=Path, help="keep the demo's AIRFLOW_HOME here (default: a temp dir)")
    demo.add_argument("--opa-decision-log", type=Path, help="switch on OPA's own decision log, into this file")
    demo.add_argument(
        "--bundle-mode", action="store_true", help="OPA pulls the policy as a signed bundle from a local bundle server"
    )
    return parser


def _days(text: str) -> int:
    from airflow_policies.rollout import parse_days

    try:
        return parse_days(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@contextlib.contextmanager
def _opa_for_check(
    args: argparse.Namespace,
    settings_url: str | None,
    registry: Path | None,
    rollout: Path | None,
    team_rules: Path | None,
) -> Iterator[str]:
    if args.opa_url or settings_url:
        yield args.opa_url or settings_url
        return
    from airflow_policies.opa_server import local_opa

    if registry is None:
        raise ConfigurationError(
            "no OPA to ask: pass --opa-url (or set AIRFLOW_POLICIES_OPA_URL) to use a running OPA, "
            "or --registry FILE to start a local one with the shipped rules"
        )
    with local_opa(registry, args.rego, rollout=rollout, team_rules=team_rules) as url:
        yield url


_EFFECT_MARK = {"deny": "x", "warn": "!", "dryrun": "?", "excepted": "="}


def _text_report(report: CheckReport) -> str:
    lines = []
    for file in report.files:
        if file.import_error:
            lines.append(f"IMPORT ERROR  {file.file}")
            lines.extend(f"    {line}" for line in file.import_error.strip().splitlines()[-6:])
        for dag in file.dags:
            lines.append(f"{dag.outcome.upper():<13} {file.file}  {dag.dag_id}  (team: {dag.team or '-'})")
            for v in dag.violations:
                lines.append(f"    {_EFFECT_MARK[v.effect]} {v.effect:<8} [{v.rule}] {v.message}")
                if v.exception is not None:
                    e = v.exception
                    lines.append(f"        excepted by {e.id} ({e.owner}, until {e.expires}, {e.ticket}): {e.reason}")
                elif v.remediation and v.effect != "dryrun":
                    lines.append(f"        fix: {v.remediation}")
            if dag.error:
                lines.append(f"    error: {dag.error}")
            lines.extend(f"    {line}" for line in _mutation_lines(dag.mutations))
    lines.extend(_expiring_lines(report))
    counts = report.counts()
    outcomes = [k for k in counts if k != "import_errors"]
    lines.append(
        f"{sum(counts[k] for k in outcomes)} DAGs: "
        + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in outcomes)
        + f"; {counts['import_errors']} files failed to import"
    )
    return "\n".join(lines)


def _mutation_lines(mutations: Sequence[MutationChange]) -> list[str]:
    return [
        f"~ {f'task {m.task_id!r}' if m.task_id else 'the DAG'} {m.field}: {m.before!r} -> {m.after!r}  "
        f"[{m.rule}]{'' if m.applied else '  (dryrun: not applied)'}"
        for m in mutations
    ]


def _diff_report(report: CheckReport) -> str:
    lines = []
    for file in report.files:
        for dag in file.dags:
            if dag.mutations:
                lines.append(f"{file.file}  {dag.dag_id}")
                lines.extend(f"    {line}" for line in _mutation_lines(dag.mutations))
    changed = sum(1 for f in report.files for d in f.dags for m in d.mutations if m.applied)
    lines.append(f"{changed} fields changed")
    return "\n".join(lines)


def _expiring_lines(report: CheckReport) -> list[str]:
    if not report.expiring_exceptions:
        return []
    lines = [f"{len(report.expiring_exceptions)} exceptions expire soon:"]
    for e in report.expiring_exceptions:
        lines.append(f"    {e.expires}  {e.id}  {e.rule}  team {e.team}, dag_id {e.dag_id}  ({e.owner}, {e.ticket})")
    return lines


def _progress(index: int, total: int, name: str, noun: str) -> None:
    if sys.stderr.isatty():
        print(f"\r[{index}/{total}] {name[:60]:<60}", end="", file=sys.stderr, flush=True)
    elif total >= _PROGRESS_MIN_FILES and index % max(1, total // 10) == 0:
        # CI logs are not terminals: one line per tenth of the work.
        print(f"airflow-policies: checked {index}/{total} {noun}", file=sys.stderr, flush=True)


def _print_report(args: argparse.Namespace, report: CheckReport, root: Path) -> None:
    from airflow_policies._paths import rego_library
    from airflow_policies.formats import FORMATS, render
    from airflow_policies.rule_index import declared_rules

    if args.format == "json":
        print(report.model_dump_json(indent=2))
    elif args.format in FORMATS:
        declared = {d.id: d for d in declared_rules((args.rego or rego_library()).resolve())}
        print(render(args.format, report, root, declared))
    elif getattr(args, "diff", False):
        print(_diff_report(report))
    else:
        print(_text_report(report))


def _audit(args: argparse.Namespace) -> int:
    from airflow_policies._config import load_settings
    from airflow_policies._opa import OpaEvaluator
    from airflow_policies.audit import audit_dags, pause_dags

    if args.rego is not None and args.opa_url:
        raise ConfigurationError("--rego starts a local OPA with the candidate rules; it cannot go with --opa-url")
    settings = load_settings(args.config)
    # Without a candidate rule directory, the current rules are those of the OPA this deployment asks.
    current_url = None if args.rego is not None else str(settings.opa_url).rstrip("/")
    explicit_log = settings.decision_log if "decision_log" in settings.model_fields_set else None
    registry = args.registry or settings.registry
    with _opa_for_check(args, current_url, registry, args.rollout or settings.rollout, args.team_rules) as url:
        evaluator = OpaEvaluator(type(settings).model_validate(settings.model_dump() | {"opa_url": url}))
        report = audit_dags(
            evaluator.evaluate,
            bundles=set(args.bundle) if args.bundle else None,
            failure_mode=settings.failure_mode_at("audit"),
            decision_log=args.decision_log or explicit_log or "none",
            max_input_bytes=settings.max_input_bytes,
            on_dag=lambda index, total, dag_id: _progress(index, total, dag_id, "DAGs"),
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _print_report(args, report, Path("/"))
    if args.pause_violating:
        rejected = sorted({d.dag_id for f in report.files for d in f.dags if d.outcome == "rejected"})
        paused = pause_dags(rejected)
        print(f"airflow-policies: paused {len(paused)} rejected DAGs: {', '.join(paused) or '-'}", file=sys.stderr)
    return EXIT_REJECTED if report.failed else EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    import requests
    import yaml

    from airflow_policies._config import load_settings
    from airflow_policies.registry import load_registry
    from airflow_policies.sync import merge, read_airflow_ownership, registry_diff

    result = merge(load_registry(args.registry), read_airflow_ownership())
    for note in result.notes:
        print(f"airflow-policies sync: note: {note}", file=sys.stderr)
    if result.conflicts:
        print(f"airflow-policies sync: {len(result.conflicts)} conflicts, nothing written:", file=sys.stderr)
        for conflict in result.conflicts:
            print(f"  {conflict.message}", file=sys.stderr)
        return EXIT_REJECTED
    merged = yaml.safe_dump(result.registry.as_data(), sort_keys=False)
    if args.dry_run:
        url = (args.opa_url or str(load_settings(args.config).opa_url)).rstrip("/")
        try:
            response = requests.get(f"{url}/v1/data/airflow_policies/registry", timeout=5)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ConfigurationError(f"cannot read the registry OPA at {url} holds: {exc}") from None
        diff = registry_diff(response.json().get("result"), result.registry)
        print("\n".join(diff) if diff else f"OPA at {url} already holds this registry")
        return EXIT_OK
    if args.output:
        args.output.write_text(merged)
        print(f"airflow-policies sync: wrote {args.output} ({len(result.added)} additions)", file=sys.stderr)
    else:
        print(merged, end="")
    return EXIT_OK


def _bundle(args: argparse.Namespace) -> int:
    import yaml

    from airflow_policies.bundle import build_bundle, replica_config, replica_status

    if args.bundle_command == "build":
        revision = build_bundle(
            args.registry,
            args.output,
            rego=args.rego,
            rollout=args.rollout,
            team_rules=args.team_rules,
            revision=args.revision,
            signing_key=args.signing_key,
            signing_alg=args.signing_alg,
            key_id=args.key_id,
        )
        print(f"{args.output}: revision {revision}{' (signed)' if args.signing_key else ''}")
        return EXIT_OK
    if args.bundle_command == "opa-config":
        config = replica_config(args.server_url, resource=args.resource, public_key=args.public_key, key_id=args.key_id)
        print(yaml.safe_dump(config, sort_keys=False), end="")
        return EXIT_OK
    behind = 0
    for url in args.opa_urls:
        try:
            state = replica_status(url)
        except PolicyError as exc:
            print(f"{url}  UNREACHABLE  {exc}")
            behind += 1
            continue
        current = args.expect is None or state.revision == args.expect
        behind += 0 if current and state.bundle_active else 1
        label = "active" if state.bundle_active else "NOT ACTIVE"
        print(f"{url}  {label}  revision {state.revision or '-'}{'' if current else '  (BEHIND)'}")
    return EXIT_REJECTED if behind else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from airflow_policies._check import check_folder
    from airflow_policies._config import load_settings
    from airflow_policies._opa import OpaEvaluator
    from airflow_policies._paths import rego_library
    from airflow_policies._team import read_bundle_teams
    from airflow_policies.document import BundleInfo
    from airflow_policies.rollout import expiring, load_rollout
    from airflow_policies.rule_index import declared_rules

    if not args.path.exists():
        raise ConfigurationError(f"{args.path} does not exist")
    settings = load_settings(args.config)
    rollout = args.rollout or settings.rollout
    if args.expiring_within is not None and rollout is None:
        raise ConfigurationError("--expiring-within needs the rollout file: pass --rollout FILE")
    team = args.team or read_bundle_teams(settings).get(args.bundle)
    bundle = BundleInfo(name=args.bundle, team=team)
    explicit_url = str(settings.opa_url).rstrip("/") if "opa_url" in settings.model_fields_set else None

    explicit_log = settings.decision_log if "decision_log" in settings.model_fields_set else None
    team_rules = args.team_rules or settings.team_rules
    with _opa_for_check(args, explicit_url, args.registry or settings.registry, rollout, team_rules) as url:
        evaluator = OpaEvaluator(type(settings).model_validate(settings.model_dump() | {"opa_url": url}))
        report = check_folder(
            args.path.resolve(),
            bundle,
            evaluator.evaluate,
            failure_mode=settings.failure_mode_at("check"),
            decision_log=args.decision_log or explicit_log or "none",
            max_input_bytes=settings.max_input_bytes,
            on_file=lambda index, total, path: _progress(index, total, path.name, "files"),
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.expiring_within is not None and rollout is not None:
        known = {d.id for d in declared_rules((args.rego or rego_library()).resolve())}
        soon = expiring(load_rollout(rollout, known), args.expiring_within, datetime.datetime.now(datetime.UTC).date())
        report = report.model_copy(update={"expiring_exceptions": soon})
    _print_report(args, report, args.path if args.path.is_dir() else args.path.parent)
    return EXIT_REJECTED if report.failed else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from airflow_policies.decision import Decision
    from airflow_policies.document import InputDocument
    from airflow_policies.report import CheckReport
    from airflow_policies.rollout import Rollout
    from airflow_policies.verdict import DecisionRecord

    args.output.mkdir(parents=True, exist_ok=True)
    models = (
        ("input-document", InputDocument),
        ("decision", Decision),
        ("check-report", CheckReport),
        ("decision-log", DecisionRecord),
        ("rollout", Rollout),
    )
    for name, model in models:
        target = args.output / f"{name}.schema.json"
        target.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        print(target)
    return EXIT_OK


def _rules(args: argparse.Namespace) -> int:
    from airflow_policies._paths import rego_library
    from airflow_policies.rule_index import render_rule_index

    index = render_rule_index(args.rego or rego_library())
    if args.output:
        args.output.write_text(index)
    else:
        print(index, end="")
    return EXIT_OK


def _test(args: argparse.Namespace) -> int:
    import tempfile

    from airflow_policies._config import load_settings
    from airflow_policies._opa import OpaEvaluator
    from airflow_policies.authoring import coverage_report
    from airflow_policies.opa_server import local_opa
    from airflow_policies.samples import fixture_registry, golden_file, is_stale, sample_document, suites, verify_case

    passed, lines = coverage_report(args.rego, args.min_coverage)
    print("\n".join(lines))
    if args.no_samples:
        return EXIT_OK if passed else EXIT_REJECTED
    failures = []
    with tempfile.TemporaryDirectory(prefix="airflow-policies-test-") as scratch:
        registry = args.registry
        if registry is None:
            registry = Path(scratch, "registry.json")
            registry.write_text(json.dumps(fixture_registry(args.rego)))
        with local_opa(registry, args.rego) as url:
            evaluate = OpaEvaluator(load_settings(environ={}, opa_url=url)).evaluate
            for samples in suites(args.rego / "airflow_policies" / "rules"):
                if args.rule and samples.rule_id != args.rule:
                    continue
                before = len(failures)
                for case in samples.suite.cases:
                    # One parse per sample serves both the suite and the golden check.
                    document = sample_document(samples.folder, case)
                    problems = verify_case(samples.rule_id, case, document, evaluate)
                    failures += [f"{samples.rule_id} {case.sample}: {problem}" for problem in problems]
                    path, content = golden_file(samples.folder, case, document)
                    if is_stale(path, content):
                        failures.append(
                            f"{samples.rule_id}: golden input {path} is stale (run: airflow-policies golden)"
                        )
                verdict = "FAIL" if len(failures) > before else "ok  "
                print(f"{verdict}  {samples.rule_id}: {len(samples.suite.cases)} samples", flush=True)
    print("\n".join(failures) if failures else "every sample suite passes; golden inputs are current")
    return EXIT_OK if passed and not failures else EXIT_REJECTED


def _new_rule(args: argparse.Namespace) -> int:
    from airflow_policies.authoring import scaffold_rule

    for path in scaffold_rule(args.rego, args.rule_id):
        print(path)
    print(
        f"next: edit the rule, its tests, samples and suite; then airflow-policies golden --rego {args.rego} "
        f"and airflow-policies test --rego {args.rego}"
    )
    return EXIT_OK


def _golden(args: argparse.Namespace) -> int:
    from airflow_policies.samples import golden_file, is_stale, sample_document, suites

    rules = args.rego / "airflow_policies" / "rules"
    stale = []
    for samples in suites(rules):
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


def _validate_rollout(args: argparse.Namespace) -> int:
    from airflow_policies._paths import rego_library
    from airflow_policies.rollout import expiring, load_rollout
    from airflow_policies.rule_index import declared_rules

    known = {d.id for d in declared_rules((args.rego or rego_library()).resolve())}
    rollout = load_rollout(args.file, known)
    today = datetime.datetime.now(datetime.UTC).date()
    print(f"{args.file}: valid ({len(rollout.actions)} action overrides, {len(rollout.exceptions)} exceptions)")
    for e in expiring(rollout, args.expiring_within, today):
        state = "EXPIRED" if e.expires < today else "expires"
        print(f"  {state} {e.expires}  {e.id}  {e.rule}  team {e.team}  ({e.owner}, {e.ticket})")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from airflow_policies.demo import run_demo

    if args.bundle_mode and args.opa_decision_log:
        raise ConfigurationError(
            "--opa-decision-log is for the default mode; in bundle mode OPA's log is in the workdir"
        )
    return run_demo(args.workdir, opa_decision_log=args.opa_decision_log, bundle_mode=args.bundle_mode)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``airflow-policies`` command."""
    args = _parser().parse_args(argv)
    handler = {
        "check": _check,
        "audit": _audit,
        "sync": _sync,
        "bundle": _bundle,
        "schema": _schema,
        "rules": _rules,
        "validate-rollout": _validate_rollout,
        "golden": _golden,
        "test": _test,
        "new-rule": _new_rule,
        "demo": _demo,
    }[args.command]
    try:
        return handler(args)
    except ConfigurationError as exc:
        print(f"airflow-policies: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        print(f"airflow-policies: {exc}", file=sys.stderr)
        return EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())
