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

import concurrent.futures
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from airflow.configuration import conf

from airflow_policies._config import MAX_INPUT_BYTES, FailureMode
from airflow_policies._input import build_input
from airflow_policies._team import read_bundle_teams
from airflow_policies.decision import Decision
from airflow_policies.document import BundleInfo, InputDocument
from airflow_policies.report import CheckReport, FileResult
from airflow_policies.verdict import DecisionRecord, judge

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
                yield AuditedDag(row.dag_id, bundle, fileloc or row.dag_id, row.data)


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
        evaluate: the decision function (an :class:`~airflow_policies._opa.OpaEvaluator`'s ``evaluate``).
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
