"""Helpers for tests of deployments that use airflow-policies."""

from __future__ import annotations

__all__ = ["WORKER_STARTUP", "reload_configuration"]


def reload_configuration() -> None:
    """Read the configuration again, as the policy did when Airflow loaded it.

    The policy reads its settings, the bundle-to-team mapping and Airflow's defaults once, before any DAG
    file runs. A test that changes the environment afterwards calls this (before parsing) to apply it.
    """
    from airflow_policies import _config
    from airflow_policies.decision import decide, teams
    from airflow_policies.decision.log import close_decision_logs
    from airflow_policies.document import builder
    from airflow_policies.enforcement import execution_api, manager_recheck, scheduler_recheck

    _config.settings.cache_clear()
    builder.airflow_info.cache_clear()
    builder.forget_loaded_executors()
    decide._evaluator.cache_clear()
    decide._breaker.cache_clear()
    decide._wasm_evaluate.cache_clear()
    decide._probed.clear()  # the policy revision of the OPA now configured is probed anew
    decide._last_read.clear()
    teams.configured_bundle_teams.cache_clear()
    close_decision_logs()  # the decision_log option may name another file now
    decide.warm()
    for cache in (
        manager_recheck.VERDICTS,
        scheduler_recheck.BUNDLES,
        scheduler_recheck.VERDICTS,
        execution_api.VERDICTS,
    ):
        cache.clear()


#: What a worker's task process does at start-up (``python -c WORKER_STARTUP dag_id task_id bundle path``), with
#: the StartupDetails the supervisor would send: re-parse the DAG file, and print the task's routing as JSON.
WORKER_STARTUP = """
import datetime, json, sys, uuid
import structlog
from airflow.sdk.api.datamodels._generated import BundleInfo, TaskInstance, TIRunContext
from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager
from airflow.sdk.execution_time.comms import StartupDetails
from airflow.sdk.execution_time.task_runner import parse

dag_id, task_id, bundle, path = sys.argv[1:5]
details = StartupDetails.model_construct(
    ti=TaskInstance(id=uuid.uuid4(), task_id=task_id, dag_id=dag_id, run_id="manual", try_number=1,
                    dag_version_id=uuid.uuid4()),
    dag_rel_path=path,
    bundle_info=BundleInfo(name=bundle),
    start_date=datetime.datetime.now(datetime.timezone.utc),
    # Past the start-up reschedule limit, so a missing DAG fails the task at once.
    ti_context=TIRunContext.model_construct(max_tries=0, task_reschedule_count=99),
    sentry_integration="",
)
with _airflow_parsing_context_manager(dag_id=dag_id, task_id=task_id):
    try:
        ti = parse(details, structlog.get_logger())
    except SystemExit as exit:
        print(json.dumps({"exit": exit.code}))
    else:
        print(json.dumps({"queue": ti.task.queue, "pool": ti.task.pool}))
"""
