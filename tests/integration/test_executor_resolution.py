"""The executor the policy says a task gets is the one Airflow's scheduler gives it.

For a deployment with global and team executors sharing class names and aliases, every (team, executor=)
pair is resolved twice: by the scheduler's own ``SchedulerJobRunner._try_to_load_executor`` (on the executors
``ExecutorLoader`` builds from ``[core] executor``, in a fresh Airflow process) and by the policy's
``team.executor_for`` in the real OPA, on the ``airflow.executors`` the document builder reads from the same
configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from airflow_policies._paths import opa_binary
from tests.conftest import REPO

CORE_EXECUTOR = (
    "LocalExecutor,CeleryExecutor;team_a=team_a_celery:CeleryExecutor,KubernetesExecutor;team_b=CeleryExecutor"
)
TEAMS = ["team_a", "team_b", "team_c", None]  # team_c: a team with no executor of its own; None: no team
NAMES = [
    None,
    "LocalExecutor",
    "CeleryExecutor",
    "team_a_celery",
    "KubernetesExecutor",
    "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
    "airflow.executors.local_executor.LocalExecutor",
    "NoSuchExecutor",
]

_SCHEDULER = """
import json, sys
from types import SimpleNamespace
from unittest import mock

from airflow.executors.executor_loader import ExecutorLoader
from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

from airflow_policies.document.builder import configured_executors

teams, names = json.loads(sys.argv[1])
loaded = [
    SimpleNamespace(name=name, team_name=name.team_name)
    for name in ExecutorLoader.get_executor_names(validate_teams=False)
]
scheduler = SimpleNamespace(_multi_team=True, executors=loaded, executor=loaded[0], log=mock.Mock())
chosen = {}
for team in teams:
    for name in names:
        workload = SimpleNamespace(get_executor_name=lambda name=name: name)
        executor = SchedulerJobRunner._try_to_load_executor(scheduler, workload, None, team_name=team)
        chosen[json.dumps([team, name], separators=(",", ":"))] = None if executor is None else loaded.index(executor)
print(json.dumps({"executors": [e.model_dump(mode="json") for e in configured_executors()], "chosen": chosen}))
"""

_POLICY = """
package resolution

import data.airflow_policies.lib.team

chosen[key] := index if {
	some case in input.cases
	key := json.marshal([case.team, case.name])
	executor := team.executor_for(case.name) with input as {
		"airflow": {"executors": input.executors}, "bundle": {"team": case.team},
	}
	some index, configured in input.executors
	configured == executor
}
"""


def test_the_policy_resolves_every_executor_as_the_scheduler_does(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__CORE__EXECUTOR": CORE_EXECUTOR,
    }
    scheduler = subprocess.run(
        [sys.executable, "-c", _SCHEDULER, json.dumps([TEAMS, NAMES])],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert scheduler.returncode == 0, scheduler.stderr[-3000:]
    airflow = json.loads(scheduler.stdout.strip().splitlines()[-1])
    cases = [{"team": team, "name": name} for team in TEAMS for name in NAMES]
    (tmp_path / "input.json").write_text(json.dumps({"executors": airflow["executors"], "cases": cases}))
    (tmp_path / "resolution.rego").write_text(_POLICY)
    command = [
        str(opa_binary()), "eval", "--format", "json", "--input", str(tmp_path / "input.json"),
        "--data", str(REPO / "rego" / "airflow_policies" / "lib"), "--data", str(tmp_path / "resolution.rego"),
        "data.resolution.chosen",
    ]  # fmt: skip
    evaluated = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    policy = json.loads(evaluated.stdout)["result"][0]["expressions"][0]["value"]
    scheduler_chosen = {key: index for key, index in airflow["chosen"].items() if index is not None}
    assert policy == scheduler_chosen
    # The cases that matter are in the matrix: a class shadowed by a global executor, an alias, no executor.
    assert scheduler_chosen[_key("team_b", "CeleryExecutor")] == 1  # the global one, not team_b's
    assert scheduler_chosen[_key("team_a", "team_a_celery")] == 2
    assert scheduler_chosen[_key("team_c", None)] == 0  # the global default


def _key(team: str | None, name: str | None) -> str:
    return json.dumps([team, name], separators=(",", ":"))  # as Rego's json.marshal writes it
