"""Cost of the scheduler re-check in ``task_instance_mutation_hook``, per task instance.

One run, three numbers, each the median of several rounds over every task instance of a 50-task DAG:
- ``refresh``: Airflow's own ``TaskInstance.refresh_from_task`` with the hook a no-op (the baseline: the
  call site that runs the hook);
- ``hit``: our hook on a task instance whose verdict is cached (the scheduler's steady state);
- ``miss``: one whole decision (serialized DAG -> document -> real OPA), paid once per DAG version and
  routing, amortised over the DAG's 50 task instances.
Target: ``hit`` <= 20 µs. The ratio hit/refresh says what the hook adds to Airflow's own work.

Run: .venv/bin/python benchmarks/scheduler_hook.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-policies-bench-"))
os.environ["AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG"] = "none"

TASKS = 50
ROUNDS = 7
CALLS_PER_ROUND = 20_000
TARGET_HIT_US = 20.0


def _dag():  # noqa: ANN202 - a SerializedDAG
    import pendulum
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("team_a__bench", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for index in range(TASKS):
            EmptyOperator(task_id=f"t{index}", queue="team_a", pool="team_a_pool")
    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def _per_call_us(call, items: list, calls: int) -> float:  # noqa: ANN001
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for index in range(calls):
            call(items[index % len(items)])
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def main() -> int:
    from airflow import settings as airflow_settings
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from airflow_policies.document.models import BundleInfo
    from airflow_policies.enforcement import scheduler_recheck
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.testing import reload_configuration

    registry = Path(__file__).resolve().parent.parent / "examples" / "registry.yaml"
    with local_opa(registry) as url:
        os.environ["AIRFLOW__AIRFLOW_POLICIES__OPA_URL"] = url
        reload_configuration()
        dag = _dag()
        session = Session(bind=create_engine("sqlite://"))  # only so the hook finds the TIs' session
        version = uuid.uuid4()
        hook = airflow_settings.task_instance_mutation_hook
        airflow_settings.task_instance_mutation_hook = lambda task_instance, dag_run=None: None
        import airflow.models.taskinstance as ti_module

        ti_module.task_instance_mutation_hook = airflow_settings.task_instance_mutation_hook
        tis = []
        for task in dag.tasks:
            ti = TaskInstance(task, run_id="bench", dag_version_id=version)
            session.add(ti)
            tis.append(ti)
        refresh = _per_call_us(lambda ti: ti.refresh_from_task(ti.task), tis, CALLS_PER_ROUND)
        ti_module.task_instance_mutation_hook = airflow_settings.task_instance_mutation_hook = hook

        scheduler_recheck.BUNDLES.put("team_a__bench", BundleInfo(name="team_a_dags", team="team_a"))
        misses = []
        for _ in range(ROUNDS):
            scheduler_recheck.VERDICTS.clear()
            started = time.perf_counter()
            scheduler_recheck.recheck(tis[0], None)
            misses.append((time.perf_counter() - started) * 1e6)
        miss = statistics.median(misses)
        assert len(scheduler_recheck.VERDICTS) == TASKS, "one decision must cache every task of the DAG"
        hit = _per_call_us(lambda ti: scheduler_recheck.recheck(ti, None), tis, CALLS_PER_ROUND)
        assert all(ti.pool == "team_a_pool" for ti in tis), "the benchmark DAG must be admitted"
    amortised = hit + miss / TASKS
    print(f"{TASKS}-task DAG, medians of {ROUNDS} rounds of {CALLS_PER_ROUND:,} calls")
    print(f"refresh_from_task, hook a no-op : {refresh:8.2f} µs per task instance (baseline)")
    print(f"our hook, cache hit             : {hit:8.2f} µs per task instance (target <= {TARGET_HIT_US:.0f})")
    print(f"one decision, cache miss        : {miss / 1000:8.2f} ms per DAG version ({miss / TASKS:.1f} µs per TI)")
    print(f"first run of the DAG, amortised : {amortised:8.2f} µs per task instance")
    print(f"ratios: hit/target {hit / TARGET_HIT_US:.2f}, hit/refresh {hit / refresh:.2f}")
    return 0 if hit <= TARGET_HIT_US else 1


if __name__ == "__main__":
    sys.exit(main())
