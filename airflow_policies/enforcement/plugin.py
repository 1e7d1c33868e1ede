"""The Airflow plugin of airflow-policies (entry point ``airflow.plugins``): the Execution API guard.

Airflow installs plugin root middlewares only when the API server runs its ``core`` app (the default,
``airflow api-server``); with ``--apps execution`` alone it does not, and no call is checked.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_policies.enforcement.execution_api import ExecutionApiGuard

__all__ = ["AirflowPoliciesPlugin"]


class AirflowPoliciesPlugin(AirflowPlugin):
    """Puts :class:`~airflow_policies.enforcement.execution_api.ExecutionApiGuard` in front of ``/execution``."""

    name = "airflow_policies"
    fastapi_root_middlewares = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"middleware": ExecutionApiGuard, "args": [], "kwargs": {}, "name": "airflow-policies Execution API guard"}
    ]
