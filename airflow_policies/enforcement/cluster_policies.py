"""The Airflow cluster-policy hooks (pluggy project ``airflow.policy``).

Registered by the ``airflow.policy`` entry point of this package, or by the drop-in
``cluster_policies/airflow_local_settings.py``. ``dag_policy`` makes at most one OPA request per DAG and
applies the decision to every task; no task-level hook is needed, so none makes a network call. In the DAG
processor it makes none: the manager decides (``manager_recheck``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import settings as _airflow_settings
from airflow.policies import hookimpl

from airflow_policies._config import settings
from airflow_policies.decision.decide import decide, warm
from airflow_policies.decision.teams import bundle_info
from airflow_policies.document.builder import build_input
from airflow_policies.document.pods import is_pod_operator
from airflow_policies.enforcement import (
    channels,
    dag_warnings,
    kubernetes_executor,
    manager_recheck,
    posture_at_startup,
    scheduler_recheck,
)
from airflow_policies.enforcement.enforce import enforce
from airflow_policies.enforcement.parse_context import calling_dagbag, enforcement_point, runs_callbacks

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import DAG

__all__ = ["dag_policy", "pod_mutation_hook", "task_instance_mutation_hook"]

# Read everything the decision trusts now, when Airflow loads the policy: before any DAG file runs (the
# DAG processor forks its children, and a worker imports Airflow, before parsing).
# An invalid configuration stops Airflow here, with a message naming the field.
warm()
dag_warnings.install()
manager_recheck.install()
channels.install()
posture_at_startup.install()
kubernetes_executor.install()
# Airflow skips the hook for new task instances unless an airflow_local_settings module cleared this flag
# (airflow.models.dagrun.DagRun.verify_integrity); an entry-point plugin alone must clear it itself.
_airflow_settings.task_instance_mutation_hook.is_noop = False  # type: ignore[attr-defined]  # Airflow's own function attribute


@hookimpl
def dag_policy(dag: DAG) -> None:
    """Ask OPA once about ``dag``: reject it, or apply the mutations and show the warnings in the UI.

    In a DAG-processor parse child whose manager decides the parse result (``manager_recheck.in_force``), no
    decision is made here: the manager decides each DAG version once, from its serialized form, where no DAG
    code runs. A parse that runs DAG callbacks produces no result for the manager, so it decides here; so does
    a DAG with a KubernetesPodOperator, whose serialized form keeps only the operator's templated arguments (its
    service account, Secrets, host access and security context are seen by this parse alone).
    """
    point = enforcement_point()
    if not settings().enabled(point):
        return
    if point == "dag_processor" and manager_recheck.in_force() and not runs_callbacks() and not _launches_pods(dag):
        return
    bag = calling_dagbag()
    bundle = bundle_info(bag.bundle_name if bag is not None else None)
    record = decide(build_input(dag, bundle=bundle, enforcement_point=point))
    # Raises AirflowClusterPolicyViolation (Airflow's import error) when the DAG is not admitted.
    warning = enforce(dag, record)
    if warning is not None:
        dag_warnings.record(dag.dag_id, warning)


def _launches_pods(dag: DAG) -> bool:
    return any(is_pod_operator(task, getattr(task, "template_fields", ())) for task in dag.tasks)


@hookimpl
def task_instance_mutation_hook(task_instance: TaskInstance, dag_run: DagRun | None) -> None:
    """Quarantine a task instance whose DAG the policy rejects, or route it as the policy says (no DAG code
    runs here: the scheduler and the API server see only serialized DAGs)."""
    scheduler_recheck.recheck(task_instance, dag_run)


@hookimpl
def pod_mutation_hook(pod: Any) -> None:  # noqa: ANN401 - a kubernetes V1Pod
    """Decide the final pod the KubernetesExecutor creates for a task instance: refuse it (the task instance
    fails with the message) or apply the policy's namespace, service account, node pool and team label."""
    kubernetes_executor.decide_pod(pod)
