"""The Airflow plugin of airflow-policies (entry point ``airflow.plugins``): the Execution API read guard.

Airflow installs plugin root middlewares only when the API server runs its ``core`` app (the default,
``airflow api-server``); with ``--apps execution`` alone it does not, and reads are not checked.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_policies.enforcement.execution_api import ReadGuardMiddleware

__all__ = ["AirflowPoliciesPlugin"]


class AirflowPoliciesPlugin(AirflowPlugin):
    """Puts :class:`~airflow_policies.enforcement.execution_api.ReadGuardMiddleware` in front of ``/execution``."""

    name = "airflow_policies"
    fastapi_root_middlewares = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"middleware": ReadGuardMiddleware, "args": [], "kwargs": {}, "name": "airflow-policies read guard"}
    ]
