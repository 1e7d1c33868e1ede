"""The Airflow plugin of the policy report (entry point ``airflow.plugins``): the Policies page in the UI.

It mounts :data:`airflow_policies.ui.app.app` at ``/airflow-policies`` in the API server and adds
"Policies" to the navigation of Airflow's UI, which opens the page inside the UI.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_policies.ui.app import app

__all__ = ["URL_PREFIX", "PolicyReportPlugin"]

URL_PREFIX = "/airflow-policies"


class PolicyReportPlugin(AirflowPlugin):
    """The Policies page and ``/airflow-policies/report.json``."""

    name = "airflow_policies_report"
    fastapi_apps = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"app": app, "url_prefix": URL_PREFIX, "name": "airflow-policies report"}
    ]
    external_views = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"name": "Policies", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "airflow-policies"}
    ]
