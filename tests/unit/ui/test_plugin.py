"""The report plugin is imported by every Airflow process that loads plugins (each task start on a worker):
it must not import the web app until the API server routes a request to it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_plugin_leaves_the_app_unimported():
    probe = (
        "import sys, airflow\n"
        "from airflow_policies.ui.plugin import PolicyReportPlugin\n"
        "assert PolicyReportPlugin.fastapi_apps[0]['url_prefix'] == '/airflow-policies'\n"
        "heavy = ('airflow_policies.ui.app', 'airflow.api_fastapi.core_api.security')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
