"""``airflow-policies check``: parse a DAG folder with Airflow's DagBag and decide on every DAG.

Each file is parsed in its own forked child, with Airflow's policy hooks neutralised there: a file that
rebinds ``airflow.settings.dag_policy`` or unregisters plugins changes nothing, because the decision is
made in this (parent) process from the documents the child sends back, and the next file gets a fresh
child forked from an untouched parent.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode, load_settings
from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    command_sources,
    days,
    opa_for_command,
    print_report,
    progress,
    repository_files,
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

__all__ = ["check_files", "dag_files"]


def _ignore_rules() -> Any:  # noqa: ANN401 - Airflow's private rule class
    """Airflow's own ``.airflowignore`` rule class for ``[core] dag_ignore_file_syntax``.

    Raises:
        ConfigurationError: Airflow's file discovery changed shape (the files would not be read as Airflow reads them).
    """
    from airflow._shared.module_loading import file_discovery
    from airflow.configuration import conf

    syntax = conf.get("core", "dag_ignore_file_syntax", fallback="glob") or "glob"
    rule = {"glob": "_GlobIgnoreRule", "regexp": "_RegexpIgnoreRule"}.get(syntax)
    rule_type = getattr(file_discovery, rule, None) if rule else None
    if rule_type is None or not (hasattr(rule_type, "compile") and hasattr(rule_type, "match")):
        raise ConfigurationError(
            f"cannot read .airflowignore files as this Airflow does ([core] dag_ignore_file_syntax = {syntax!r}, "
            "airflow._shared.module_loading.file_discovery changed); upgrade airflow-policies"
        )
    return rule_type


def _ignored(path: Path, root: Path, rules: Any, cache: dict[Path, list[Any]]) -> bool:  # noqa: ANN401
    """Whether the DAG processor's walk of the bundle ``root`` skips ``path``: each directory from the root down
    adds its ``.airflowignore`` patterns (relative to the root) to its parent's, and a directory or file matching
    the patterns in force above it is skipped, as Airflow's ``find_path_from_directory`` walks."""

    def patterns(directory: Path) -> list[Any]:
        if directory not in cache:
            inherited = patterns(directory.parent) if directory != root else []
            own = directory / ".airflowignore"
            lines = [re.sub(r"\s*#.*", "", line) for line in own.read_text().split("\n")] if own.is_file() else []
            with warnings.catch_warnings():  # pathspec's deprecation of a name Airflow uses, on stdout otherwise
                warnings.simplefilter("ignore", DeprecationWarning)
                compiled = [rules.compile(line, root, own) for line in lines if line]
            cache[directory] = [*inherited, *(rule for rule in compiled if rule is not None)]
        return cache[directory]

    above = path.parent
    chain = [above, *above.parents]
    steps = list(reversed(chain[: chain.index(root) + 1]))  # root, ..., path's directory
    return any(rules.match(child, patterns(parent)) for parent, child in zip(steps, [*steps[1:], path], strict=True))


def dag_files(paths: list[Path], root: Path) -> list[Path]:
    """The DAG files to parse, as the DAG processor finds them in the bundle deployed from ``root``: the Python
    and zip files under each directory named, and each file named, that its walk of the bundle does not skip
    (``.airflowignore`` at any level, in ``[core] dag_ignore_file_syntax``) and that ``[core]
    dag_discovery_safe_mode`` takes for a DAG file.

    Raises:
        ConfigurationError: a path does not exist or lies outside the bundle root.
    """
    import zipfile

    from airflow.configuration import conf
    from airflow.utils.file import might_contain_dag

    safe_mode = conf.getboolean("core", "dag_discovery_safe_mode", fallback=True)
    candidates: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise ConfigurationError(f"{path} does not exist")
        if not path.resolve().is_relative_to(root):
            raise ConfigurationError(f"{path} is outside the bundle root {root}; pass --bundle-root DIR")
        if path.is_dir():
            # Following links, as the DAG processor's walk does.
            walked = os.walk(path.resolve(), followlinks=True)
            candidates.update(Path(directory, name) for directory, _, names in walked for name in names)
        else:
            candidates.add(path.resolve())
    rules, cache = _ignore_rules(), dict[Path, list[Any]]()
    return sorted(
        path
        for path in candidates
        if (path.suffix == ".py" or zipfile.is_zipfile(path))
        and not _ignored(path, root, rules, cache)
        and might_contain_dag(str(path), safe_mode)
    )


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
    check.add_argument(
        "--rego",
        type=Path,
        help="rule directory for the local OPA (default: the policy repository's, with the library; else shipped)",
    )
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
    # In a policy repository its registry, rollout and team layers come after the flags and Airflow's settings.
    defaults = repository_files(args)
    registry = args.registry or settings.registry or defaults.registry
    rollout = args.rollout or settings.rollout or defaults.rollout
    if args.expiring_within is not None and rollout is None:
        raise ConfigurationError("--expiring-within needs the rollout file: pass --rollout FILE")
    team = args.team or read_bundle_teams(settings).get(args.bundle)
    bundle = BundleInfo(name=args.bundle, team=team)
    explicit_url = str(settings.opa_url).rstrip("/") if "opa_url" in settings.model_fields_set else None

    explicit_log = settings.decision_log if "decision_log" in settings.model_fields_set else None
    team_rules = args.team_rules or settings.team_rules or defaults.team_rules
    with opa_for_command(args, explicit_url, registry, rollout, team_rules) as url:
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
        known = {d.id for d in command_sources(args, on_drift="warn").rule_declarations()}
        soon = expiring(
            load_rollout(rollout, known), args.expiring_within, datetime.datetime.now(datetime.timezone.utc).date()
        )
        report = report.model_copy(update={"expiring_exceptions": soon})
    print_report(args, report, shown_root)
    return EXIT_REJECTED if report.failed else EXIT_OK
