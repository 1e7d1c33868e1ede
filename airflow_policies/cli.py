"""The ``airflow-policies`` command line.

Exit codes: 0 nothing rejected, 1 something rejected / errored / failed to import, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from airflow_policies.exceptions import ConfigurationError, PolicyError

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-policies", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="parse a DAG folder and decide on every DAG")
    check.add_argument("path", type=Path, help="bundle root (or one DAG file)")
    check.add_argument("--bundle", required=True, help="bundle name the folder is deployed as")
    check.add_argument("--team", help="team owning the bundle (default: from Airflow / the configuration)")
    check.add_argument("--config", type=Path, help="airflow-policies YAML config file")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--opa-url", help="use this OPA instead of starting a local one")
    check.add_argument("--registry", type=Path, help="team registry for the local OPA")
    check.add_argument("--rego", type=Path, help="rule directory for the local OPA (default: shipped library)")

    schema = commands.add_parser("schema", help="write the JSON schemas of the input document and decision")
    schema.add_argument("--output", type=Path, default=Path("schemas"))

    rules = commands.add_parser("rules", help="write the rule index generated from the rules' METADATA")
    rules.add_argument("--rego", type=Path, help="rule directory (default: shipped library)")
    rules.add_argument("--output", type=Path, help="file to write (default: stdout)")

    demo = commands.add_parser("demo", help="run the two-team demo on a local OPA and a real Airflow parse")
    demo.add_argument("--workdir", type=Path, help="keep the demo's AIRFLOW_HOME here (default: a temp dir)")
    return parser


@contextlib.contextmanager
def _opa_for_check(args: argparse.Namespace, settings_url: str | None, registry: Path | None) -> Iterator[str]:
    if args.opa_url or settings_url:
        yield args.opa_url or settings_url
        return
    from airflow_policies.opa_server import local_opa

    if registry is None:
        raise ConfigurationError(
            "no OPA to ask: pass --opa-url (or set AIRFLOW_POLICIES_OPA_URL) to use a running OPA, "
            "or --registry FILE to start a local one with the shipped rules"
        )
    with local_opa(registry, args.rego) as url:
        yield url


def _text_report(report: object) -> str:
    from airflow_policies.report import CheckReport

    assert isinstance(report, CheckReport)
    lines = []
    for file in report.files:
        if file.import_error:
            lines.append(f"IMPORT ERROR  {file.file}")
            lines.extend(f"    {line}" for line in file.import_error.strip().splitlines()[-6:])
        for dag in file.dags:
            lines.append(f"{dag.outcome.upper():<13} {file.file}  {dag.dag_id}  (team: {dag.team or '-'})")
            for v in dag.violations:
                lines.append(f"    [{v.rule}] {v.message}")
                if v.remediation:
                    lines.append(f"        fix: {v.remediation}")
            if dag.error:
                lines.append(f"    error: {dag.error}")
            for m in dag.mutations:
                where = f"task '{m.task_id}'" if m.task_id else "DAG"
                lines.append(f"    ~ {where} {m.field}: {m.before!r} -> {m.after!r}  [{m.rule}]")
    counts = report.counts()
    lines.append(
        f"{sum(counts[k] for k in ('admitted', 'mutated', 'rejected', 'error'))} DAGs: "
        + ", ".join(f"{counts[k]} {k}" for k in ("admitted", "mutated", "rejected", "error"))
        + f"; {counts['import_errors']} files failed to import"
    )
    return "\n".join(lines)


def _check(args: argparse.Namespace) -> int:
    from airflow_policies._check import check_folder
    from airflow_policies._config import load_settings
    from airflow_policies._opa import OpaEvaluator
    from airflow_policies._team import read_bundle_teams
    from airflow_policies.document import BundleInfo

    if not args.path.exists():
        raise ConfigurationError(f"{args.path} does not exist")
    settings = load_settings(args.config)
    team = args.team or read_bundle_teams(settings).get(args.bundle)
    bundle = BundleInfo(name=args.bundle, team=team)
    explicit_url = str(settings.opa_url).rstrip("/") if "opa_url" in settings.model_fields_set else None

    def progress(index: int, total: int, path: Path) -> None:
        if sys.stderr.isatty():
            print(f"\r[{index}/{total}] {path.name[:60]:<60}", end="", file=sys.stderr, flush=True)

    with _opa_for_check(args, explicit_url, args.registry or settings.registry) as url:
        evaluator = OpaEvaluator(type(settings).model_validate(settings.model_dump() | {"opa_url": url}))
        report = check_folder(args.path.resolve(), bundle, evaluator.evaluate, on_file=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    else:
        print(_text_report(report))
    return EXIT_REJECTED if report.failed else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from airflow_policies.decision import Decision
    from airflow_policies.document import InputDocument
    from airflow_policies.report import CheckReport

    args.output.mkdir(parents=True, exist_ok=True)
    for name, model in (("input-document", InputDocument), ("decision", Decision), ("check-report", CheckReport)):
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


def _demo(args: argparse.Namespace) -> int:
    from airflow_policies.demo import run_demo

    return run_demo(args.workdir)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``airflow-policies`` command."""
    args = _parser().parse_args(argv)
    handler = {"check": _check, "schema": _schema, "rules": _rules, "demo": _demo}[args.command]
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
