"""The Airflow plugin of the policy report (entry point ``airflow.plugins``): the Policies page in the UI.

It mounts the report's app (:data:`airflow_policies.ui.app.app`) at ``/airflow-policies`` in the API server
and adds "Policies" to the navigation of Airflow's UI, which opens the page inside the UI.

Airflow imports every plugin wherever it loads plugins, every task start on a worker included; the app
(FastAPI, Jinja, Airflow's API security) is imported only when the API server first routes a request to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow.plugins_manager import AirflowPlugin

__all__ = ["URL_PREFIX", "PolicyReportApp", "PolicyReportPlugin"]

URL_PREFIX = "/airflow-policies"

_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class PolicyReportApp:
    """An ASGI app that hands every request (and the lifespan) to the report's FastAPI app, imported on first use."""

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        from airflow_policies.ui.app import app

        await app(scope, receive, send)


class PolicyReportPlugin(AirflowPlugin):
    """The Policies page and ``/airflow-policies/report.json``."""

    name = "airflow_policies_report"
    fastapi_apps = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"app": PolicyReportApp(), "url_prefix": URL_PREFIX, "name": "airflow-policies report"}
    ]
    external_views = [  # noqa: RUF012 - Airflow's plugin interface is a class attribute
        {"name": "Policies", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "airflow-policies"}
    ]
