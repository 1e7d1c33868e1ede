"""``airflow-policies check``: parse a DAG folder with Airflow's DagBag and decide on every DAG.

Each file is parsed in its own forked child, with Airflow's policy hooks neutralised there: a file that
rebinds ``airflow.settings.dag_policy`` or unregisters plugins changes nothing, because the decision is
made in this (parent) process from the documents the child sends back, and the next file gets a fresh
child forked from an untouched parent.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Callable
from pathlib import Path

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode, load_settings
from airflow_policies._paths import rego_library
from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    days,
    opa_for_command,
    print_report,
    progress,
)
from airflow_policies.commands.report import CheckReport, FileResult
from airflow_policies.decision.models import Decision
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.decision.teams import read_bundle_teams
from airflow_policies.decision.verdict import judge
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.document.parse import parse_documents
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.rollout import expiring, load_rollout
from airflow_policies.policy.rule_index import declared_rules

__all__ = ["check_files", "dag_files"]


def dag_files(paths: list[Path], root: Path) -> list[Path]:
    """The DAG files to parse: every file Airflow would parse under a directory, and each file named.

    Raises:
        ConfigurationError: a path does not exist or lies outside the bundle root.
    """
    from airflow.utils.file import find_dag_file_paths

    files: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise ConfigurationError(f"{path} does not exist")
        if not path.resolve().is_relative_to(root):
            raise ConfigurationError(f"{path} is outside the bundle root {root}; pass --bundle-root DIR")
        if path.is_dir():
            files.update(Path(p).resolve() for p in find_dag_file_paths(path.resolve(), safe_mode=False))
        else:
            files.add(path.resolve())
    return sorted(files)


def check_files(
    files: list[Path],
    root: Path,
    bundle: BundleInfo,
    evaluate: Callable[[InputDocument], Decision],
    *,
    failure_mode: FailureMode = "closed",
    decision_log: str = "none",
    max_input_bytes: int = MAX_INPUT_BYTES,
    on_file: Callable[[int, int, Path], None] | None = None,
) -> CheckReport:
    """Parse each DAG file (as deployed under the bundle root ``root``) and decide on each of its DAGs.

    Args:
        files: DAG files under ``root`` (see :func:`dag_files`).
        root: the bundle root the files are deployed from (their ``relative_fileloc`` is relative to it).
        bundle: bundle name and team, as resolved by the caller.
        evaluate: the decision function (an :class:`~airflow_policies.decision.opa_client.OpaEvaluator`'s
            ``evaluate``).
        failure_mode: the outcome of a DAG no trustworthy decision can be had for.
        decision_log: where each decision's log line goes (``none``, ``stderr`` or a file).
        max_input_bytes: a larger input document is not sent to OPA; the DAG is undecidable.
        on_file: progress callback ``(index, total, path)``.
    """
    results = []
    for index, path in enumerate(files, start=1):
        if on_file is not None:
            on_file(index, len(files), path)
        documents, errors = parse_documents(path, root, bundle)
        records = [
            judge(d, evaluate, failure_mode=failure_mode, decision_log=decision_log, max_input_bytes=max_input_bytes)
            for d in documents
        ]
        results.append(
            FileResult(file=str(path.relative_to(root)), import_error="\n".join(errors) or None, dags=records)
        )
    return CheckReport(bundle=bundle.name or "", team=bundle.team, files=results)


def _bundle_root(paths: list[Path], given: Path | None) -> Path:
    """The bundle root as the user wrote it (reports name files under it, so CI annotations stay relative)."""
    if given is not None:
        if not given.is_dir():
            raise ConfigurationError(f"--bundle-root {given} is not a directory")
        return given
    if len(paths) == 1:
        return paths[0] if paths[0].is_dir() else paths[0].parent
    # Several paths (e.g. the files pre-commit passes, relative to the repository): the working directory.
    return Path()


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    check = commands.add_parser("check", help="parse DAG files and decide on every DAG")
    check.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="bundle root, or DAG files and folders")
    check.add_argument(
        "--bundle-root",
        type=Path,
        help="the folder the bundle is deployed from (default: PATH if it is the only one, else the working directory)",
    )
    check.add_argument("--bundle", required=True, help="bundle name the folder is deployed as")
    check.add_argument("--team", help="team owning the bundle (default: from Airflow / the configuration)")
    check.add_argument(
        "--config", type=Path, help="deprecated YAML config file (use [airflow_policies] in airflow.cfg)"
    )
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
        type=days,
        help="also list the rollout file's exceptions expiring within this many days (14d, 2w)",
    )
    check.add_argument("--decision-log", help="write one decision-log line per DAG here (a file, or stderr)")
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Parse the files, decide on every DAG, print the report; exit 1 if anything is rejected."""
    shown_root = _bundle_root(args.paths, args.bundle_root)
    root = shown_root.resolve()
    files = dag_files(args.paths, root)
    settings = load_settings(args.config)
    rollout = args.rollout or settings.rollout
    if args.expiring_within is not None and rollout is None:
        raise ConfigurationError("--expiring-within needs the rollout file: pass --rollout FILE")
    team = args.team or read_bundle_teams(settings).get(args.bundle)
    bundle = BundleInfo(name=args.bundle, team=team)
    explicit_url = str(settings.opa_url).rstrip("/") if "opa_url" in settings.model_fields_set else None

    explicit_log = settings.decision_log if "decision_log" in settings.model_fields_set else None
    team_rules = args.team_rules or settings.team_rules
    with opa_for_command(args, explicit_url, args.registry or settings.registry, rollout, team_rules) as url:
        evaluator = OpaEvaluator(type(settings).model_validate(settings.model_dump() | {"opa_url": url}))
        report = check_files(
            files,
            root,
            bundle,
            evaluator.evaluate,
            failure_mode=settings.failure_mode_at("check"),
            decision_log=args.decision_log or explicit_log or "none",
            max_input_bytes=settings.max_input_bytes,
            on_file=lambda index, total, path: progress(index, total, path.name, "files"),
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if args.expiring_within is not None and rollout is not None:
        known = {d.id for d in declared_rules((args.rego or rego_library()).resolve())}
        soon = expiring(
            load_rollout(rollout, known), args.expiring_within, datetime.datetime.now(datetime.timezone.utc).date()
        )
        report = report.model_copy(update={"expiring_exceptions": soon})
    print_report(args, report, shown_root)
    return EXIT_REJECTED if report.failed else EXIT_OK
