"""The posture checks at the start of the scheduler, the DAG processor, the triggerer and the API server.

Each component, as it starts, runs :func:`~airflow_policies.posture.checks.inspect` on itself (its configuration,
environment and neighbours) and reports every finding three ways: one log line each (error or warning), the
``airflow_policies.posture.findings`` gauges, and a row in Airflow's audit log that the Policies page reads. A
start-up check never stops the component: it reports what the deployment lets team code do, it decides nothing.
"""

from __future__ import annotations

import functools
import inspect as signatures
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from airflow_policies.decision.metrics import PREFIX
from airflow_policies.enforcement.audit_log import record_posture
from airflow_policies.enforcement.execution_api import ExecutionApiGuard
from airflow_policies.enforcement.import_hooks import ShapeChangedError, wrap_after_import
from airflow_policies.posture.checks import inspect, read_deployment
from airflow_policies.posture.models import CHECKS, Component, PostureReport

__all__ = ["install", "report_posture"]

log = logging.getLogger(__name__)


def _emit(report: PostureReport) -> None:
    from airflow.sdk.observability import stats

    for check in CHECKS:
        for severity in ("error", "warning"):
            count = sum(f.check == check and f.severity == severity for f in report.findings)
            tags = {"component": report.component, "check": check, "severity": severity}
            stats.gauge(f"{PREFIX}.posture.findings", count, tags=tags)
            stats.gauge(f"{PREFIX}.posture.findings.{report.component}.{check}.{severity}", count)


def report_posture(component: Component, *, guard_installed: bool | None = None, **scope: Any) -> None:  # noqa: ANN401
    """Check this component now and report: a log line per finding, the gauges, a row in the audit log."""
    try:
        report = inspect(component, read_deployment(guard_installed=guard_installed), **scope)
    except Exception:
        log.exception("airflow-policies could not check the %s's posture at start-up", component)
        return
    for finding in report.findings:
        level = logging.ERROR if finding.severity == "error" else logging.WARNING
        log.log(level, "airflow-policies posture: %s", finding.line())
    if not report.findings:
        log.info("airflow-policies posture: no finding for the %s (teams: %s)", component, report.teams or "none")
    _emit(report)
    record_posture(report)


def _before(owner: Any, method: str, component: Component, scope: Callable[[Any], dict[str, Any]]) -> None:  # noqa: ANN401
    original = getattr(owner, method, None)
    if original is None or list(signatures.signature(original).parameters)[:1] != ["self"]:
        raise ShapeChangedError(f"{owner.__module__}.{owner.__name__}.{method}(self) is gone or changed")

    @functools.wraps(original)
    def starting(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        report_posture(component, **scope(self))
        return original(self, *args, **kwargs)

    setattr(owner, method, starting)


def _class(module: ModuleType, name: str, attributes: tuple[str, ...] = ()) -> Any:  # noqa: ANN401
    """The class ``name`` of ``module``, which must take each of ``attributes`` (attrs fields or __init__ arguments)."""
    owner = getattr(module, name, None)
    known = {a.name for a in getattr(owner, "__attrs_attrs__", ())}
    if owner is not None and not known:
        known = set(signatures.signature(owner.__init__).parameters)
    if owner is None or not set(attributes) <= known:
        raise ShapeChangedError(f"{module.__name__}.{name}({', '.join(attributes)}) is gone or changed")
    return owner


def _wrap_scheduler(module: ModuleType) -> None:
    _before(_class(module, "SchedulerJobRunner"), "_execute", "scheduler", lambda _: {})


def _wrap_dag_processor(module: ModuleType) -> None:
    manager = _class(module, "DagFileProcessorManager", ("bundle_names_to_parse",))
    _before(manager, "run", "dag-processor", lambda self: {"bundles": self.bundle_names_to_parse or None})


def _wrap_triggerer(module: ModuleType) -> None:
    runner = _class(module, "TriggererJobRunner", ("team_name",))
    _before(runner, "_execute", "triggerer", lambda self: {"team": self.team_name})


def _wrap_api_server(module: ModuleType) -> None:
    create_app = getattr(module, "create_app", None)
    if create_app is None or "apps" not in signatures.signature(create_app).parameters:
        raise ShapeChangedError("airflow.api_fastapi.app.create_app(apps) is gone or changed")

    @functools.wraps(create_app)
    def checked_create_app(apps: str = "all", *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        app = create_app(apps, *args, **kwargs)
        served = (apps or "all").split(",")
        # The guard is a root middleware of the core app: read the app Airflow built, not its arguments.
        guard = (
            any(m.cls is ExecutionApiGuard for m in app.user_middleware) if {"all", "execution"} & set(served) else None
        )
        report_posture("api-server", guard_installed=guard, apps=apps)
        return app

    module.create_app = checked_create_app  # type: ignore[attr-defined]


def _skipped(component: str) -> Callable[[Exception], None]:
    def on_skipped(problem: Exception) -> None:
        log.error(
            "airflow-policies cannot check the %s's posture at start-up on this Airflow version: %s", component, problem
        )

    return on_skipped


def install() -> None:
    """Check each component's posture as it starts (its module is wrapped when the component imports it)."""
    wrap_after_import("airflow.jobs.scheduler_job_runner", _wrap_scheduler, _skipped("scheduler"))
    wrap_after_import("airflow.dag_processing.manager", _wrap_dag_processor, _skipped("DAG processor"))
    wrap_after_import("airflow.jobs.triggerer_job_runner", _wrap_triggerer, _skipped("triggerer"))
    wrap_after_import("airflow.api_fastapi.app", _wrap_api_server, _skipped("API server"))
