"""``airflow-policies audit``: decide on every DAG already in Airflow's metadata DB.

Reads, through Airflow's own models and whichever metadata DB Airflow is configured with (SQLite,
PostgreSQL, ...), the latest serialized version of every active DAG, with its bundle and that bundle's team,
and decides on each at enforcement point ``audit`` with the same input builder and rules as everywhere
else. Pointed at a candidate rule directory (``--rego``), it shows which DAGs a rule change would break
before it is rolled out. No DAG code runs: only serialized DAGs are read.

Building documents (Python) and deciding (OPA, another process) overlap: decisions are asked from a small
thread pool while the next DAGs are read and described.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from airflow.configuration import conf

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode, load_settings
from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
    opa_for_command,
    print_report,
    progress,
)
from airflow_policies.commands.report import CheckReport, FileResult
from airflow_policies.decision.models import Decision
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.teams import read_bundle_teams
from airflow_policies.decision.verdict import judge
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.exceptions import ConfigurationError

__all__ = ["AuditedDag", "audit_dags", "pause_dags"]

_BATCH = 500
_WORKERS = 4


class AuditedDag:
    """One active DAG of the metadata DB: where it comes from and its serialized form."""

    __slots__ = ("bundle", "dag_id", "data", "fileloc")

    def __init__(self, dag_id: str, bundle: BundleInfo, fileloc: str, data: dict[str, Any]) -> None:
        self.dag_id, self.bundle, self.fileloc, self.data = dag_id, bundle, fileloc, data


def _bundle_teams(bundle_names: set[str], session: Any) -> dict[str, str | None]:  # noqa: ANN401 - a session
    from airflow.models.dagbundle import DagBundleModel

    from airflow_policies._config import settings

    if conf.getboolean("core", "multi_team", fallback=False):
        teams = DagBundleModel.get_team_names(bundle_names, session=session)
        return {name: teams.get(name) for name in bundle_names}
    mapping = read_bundle_teams(settings())
    return {name: mapping.get(name) for name in bundle_names}


def read_dags(bundles: set[str] | None = None) -> Iterator[AuditedDag]:
    """Every active (not stale) DAG's latest serialized version, with its bundle and team."""
    from airflow.models.dag import DagModel
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagModel.dag_id, DagModel.bundle_name, DagModel.fileloc).where(DagModel.is_stale.is_(False))
        if bundles:
            query = query.where(DagModel.bundle_name.in_(sorted(bundles)))
        rows = {
            dag_id: (bundle, fileloc) for dag_id, bundle, fileloc in session.execute(query.order_by(DagModel.dag_id))
        }
        teams = _bundle_teams({bundle for bundle, _ in rows.values() if bundle}, session)
        dag_ids = list(rows)
        for start in range(0, len(dag_ids), _BATCH):
            for row in SerializedDagModel.get_latest_serialized_dags(
                dag_ids=dag_ids[start : start + _BATCH], session=session
            ):
                bundle_name, fileloc = rows[row.dag_id]
                bundle = BundleInfo(name=bundle_name, team=teams.get(bundle_name) if bundle_name else None)
                yield AuditedDag(row.dag_id, bundle, fileloc or row.dag_id, row.data or {})


def _document(dag: AuditedDag) -> InputDocument:
    from airflow.serialization.serialized_objects import DagSerialization

    return build_input(DagSerialization.from_dict(dag.data), bundle=dag.bundle, enforcement_point="audit")


def audit_dags(
    evaluate: Callable[[InputDocument], Decision],
    *,
    bundles: set[str] | None = None,
    failure_mode: FailureMode = "closed",
    decision_log: str = "none",
    max_input_bytes: int = MAX_INPUT_BYTES,
    on_dag: Callable[[int, int, str], None] | None = None,
) -> CheckReport:
    """Decide on every active DAG in the metadata DB, grouped by file, in dag_id order.

    Args:
        evaluate: the decision function (an :class:`~airflow_policies.decision.opa_client.OpaEvaluator`'s ``evaluate``).
        bundles: only DAGs of these bundles; every bundle by default.
        failure_mode: the outcome of a DAG no trustworthy decision can be had for.
        decision_log: where each decision's log line goes (``none``, ``stderr`` or a file).
        max_input_bytes: a larger input document is not sent to OPA; the DAG is undecidable.
        on_dag: progress callback ``(index, total, dag_id)``.
    """
    dags = list(read_dags(bundles))
    files: dict[str, list[DecisionRecord]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)

    def decide(document: InputDocument) -> DecisionRecord:
        return judge(
            document, evaluate, failure_mode=failure_mode, decision_log=decision_log, max_input_bytes=max_input_bytes
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        pending: list[tuple[AuditedDag, concurrent.futures.Future[DecisionRecord]]] = []
        for dag in dags:
            try:
                pending.append((dag, pool.submit(decide, _document(dag))))
            except Exception as exc:  # a serialized DAG this Airflow cannot read back
                errors[dag.fileloc].append(f"{dag.dag_id}: cannot read the serialized DAG: {type(exc).__name__}: {exc}")
        for index, (dag, future) in enumerate(pending, start=1):
            files[dag.fileloc].append(future.result())
            if on_dag is not None:
                on_dag(index, len(pending), dag.dag_id)
    results = [
        FileResult(file=fileloc, import_error="\n".join(errors.get(fileloc, [])) or None, dags=files.get(fileloc, []))
        for fileloc in sorted(files.keys() | errors.keys())
    ]
    return CheckReport(bundle=None, team=None, files=results)


def pause_dags(dag_ids: list[str]) -> list[str]:
    """Pause these DAGs through Airflow's ``DagModel``; returns those that were not paused before."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        models = session.scalars(select(DagModel).where(DagModel.dag_id.in_(dag_ids))).all()
        newly = sorted(m.dag_id for m in models if not m.is_paused)
        for model in models:
            model.is_paused = True
    return newly


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    audit = commands.add_parser(
        "audit", help="decide on every DAG in Airflow's metadata DB (current rules, or a candidate rule directory)"
    )
    audit.add_argument("--bundle", action="append", help="only this bundle (repeatable; default: every bundle)")
    audit.add_argument(
        "--config", type=Path, help="deprecated YAML config file (use [airflow_policies] in airflow.cfg)"
    )
    audit.add_argument("--format", choices=("text", "json", "junit", "sarif", "github"), default="text")
    audit.add_argument("--opa-url", help="ask this OPA (default: the configured one, i.e. the current rules)")
    audit.add_argument(
        "--rego",
        type=Path,
        help="candidate rule directory: start a local OPA with it to preview its impact (in a policy repository: "
        "its rules with the installed library)",
    )
    audit.add_argument("--registry", type=Path, help="team registry for the local OPA (with --rego)")
    audit.add_argument("--rollout", type=Path, help="rollout file for the local OPA (with --rego)")
    audit.add_argument("--team-rules", type=Path, help="directory of team layers for the local OPA (with --rego)")
    audit.add_argument(
        "--pause-violating", action="store_true", help="pause every rejected DAG (not those OPA could not decide)"
    )
    audit.add_argument("--decision-log", help="write one decision-log line per DAG here (a file, or stderr)")
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Decide on every DAG in the metadata DB, print the report, pause rejected DAGs if asked."""
    if args.rego is not None and args.opa_url:
        raise ConfigurationError("--rego starts a local OPA with the candidate rules; it cannot go with --opa-url")
    settings = load_settings(args.config)
    # Without a candidate rule directory, the current rules are those of the OPA this deployment asks.
    current_url = None if args.rego is not None else str(settings.opa_url).rstrip("/")
    explicit_log = settings.decision_log if "decision_log" in settings.model_fields_set else None
    registry = args.registry or settings.registry
    # A candidate library is what audit --rego previews (library upgrade): drift is worth a warning, not a refusal.
    with opa_for_command(
        args, current_url, registry, args.rollout or settings.rollout, args.team_rules, on_drift="warn"
    ) as url:
        evaluator = OpaEvaluator(type(settings).model_validate(settings.model_dump() | {"opa_url": url}))
        report = audit_dags(
            evaluator.evaluate,
            bundles=set(args.bundle) if args.bundle else None,
            failure_mode=settings.failure_mode_at("audit"),
            decision_log=args.decision_log or explicit_log or "none",
            max_input_bytes=settings.max_input_bytes,
            on_dag=lambda index, total, dag_id: progress(index, total, dag_id, "DAGs"),
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print_report(args, report, Path("/"))
    if args.pause_violating:
        rejected = sorted({d.dag_id for f in report.files for d in f.dags if d.outcome == "rejected"})
        paused = pause_dags(rejected)
        print(f"airflow-policies: paused {len(paused)} rejected DAGs: {', '.join(paused) or '-'}", file=sys.stderr)
    return EXIT_REJECTED if report.failed else EXIT_OK
