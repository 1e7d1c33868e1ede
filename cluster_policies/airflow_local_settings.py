"""airflow-policies drop-in: copy this file to ``$AIRFLOW_HOME/config/airflow_local_settings.py``.

Every DAG is then sent to OPA once at parse time and rejected (import error) or mutated according to
the team of its bundle, and every task instance the scheduler creates is re-checked
(``task_instance_mutation_hook``, see docs/enforcement-points.md). Configure it in Airflow's own
configuration, section ``[airflow_policies]`` of ``airflow.cfg`` or its environment variables, e.g.::

    [airflow_policies]
    opa_url = http://127.0.0.1:8181
    read_timeout_seconds = 2

    AIRFLOW__AIRFLOW_POLICIES__OPA_URL=http://127.0.0.1:8181

The ``airflow-policies`` package must be installed in Airflow's environment. Installing it also
registers the ``airflow.policy`` entry point; this file then registers nothing more, so either way
each DAG is decided exactly once. An invalid configuration stops Airflow at start with a message
naming the bad option and where it was set.
"""

from __future__ import annotations

from airflow import settings as _airflow_settings

from airflow_policies.enforcement.cluster_policies import dag_policy, pod_mutation_hook, task_instance_mutation_hook

# Airflow loads entry-point policy plugins before this module: registering the same hook twice would
# ask OPA twice per DAG.
if _airflow_settings.get_policy_plugin_manager().has_plugin("airflow_policies"):
    __all__: list[str] = []
else:
    __all__ = ["dag_policy", "pod_mutation_hook", "task_instance_mutation_hook"]
