"""Applying a decision to a real DAG: one aggregated violation, or allowlisted mutations."""

from __future__ import annotations

import datetime

import pendulum
import pytest
from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from airflow_policies._enforce import enforce
from airflow_policies._input import build_input
from airflow_policies.decision import parse_decision
from airflow_policies.document import BundleInfo
from airflow_policies.exceptions import MalformedDecisionError

START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _dag() -> DAG:
    with DAG("team_a__d", schedule=None, start_date=START, tags=["etl"]) as dag:
        BashOperator(task_id="plain", bash_command="true")
        BashOperator.partial(task_id="mapped").expand(bash_command=["true", "false"])
    return dag


def _decide(dag: DAG, violations: list[dict], mutations: list[dict]) -> None:
    document = build_input(dag, bundle=BundleInfo(name="team_a_dags", team="team_a"), enforcement_point="cli")
    enforce(dag, document, parse_decision({"result": {"violations": violations, "mutations": mutations}}, source="t"))


class TestEnforce:
    def test_all_violations_in_one_message(self):
        """One violation lists every broken rule, the team, the task and the fix."""
        violations = [
            {
                "rule": "connections.foreign_connection",
                "task_id": "plain",
                "message": "uses team_b_api",
                "remediation": "use your own connection",
            },
            {"rule": "dag_ids.namespace", "task_id": None, "message": "dag_id outside team_a__"},
        ]
        with pytest.raises(AirflowClusterPolicyViolation) as error:
            _decide(_dag(), violations, [])
        assert str(error.value) == (
            "DAG 'team_a__d' (bundle 'team_a_dags', team 'team_a') breaks 2 team-boundary rules:\n"
            "  - [connections.foreign_connection] uses team_b_api\n"
            "    fix: use your own connection\n"
            "  - [dag_ids.namespace] dag_id outside team_a__"
        )

    def test_mutations_are_applied_to_plain_and_mapped_tasks_and_the_dag(self):
        """Allowlisted fields are set, with values converted to what Airflow expects."""
        dag = _dag()
        _decide(
            dag,
            [],
            [
                {"rule": "routing.team_queue", "task_id": "plain", "field": "queue", "value": "team_a"},
                {"rule": "routing.team_queue", "task_id": "mapped", "field": "queue", "value": "team_a"},
                {"rule": "routing.team_pool", "task_id": "mapped", "field": "executor", "value": "LocalExecutor"},
                {"rule": "x.timeouts", "task_id": "plain", "field": "execution_timeout", "value": 60},
                {"rule": "x.retries", "task_id": "plain", "field": "retries", "value": 2},
                {"rule": "tags.stamp_team_tag", "task_id": None, "field": "tags", "value": ["etl", "team:team_a"]},
            ],
        )
        plain, mapped = dag.task_dict["plain"], dag.task_dict["mapped"]
        assert (plain.queue, plain.execution_timeout, plain.retries) == ("team_a", datetime.timedelta(seconds=60), 2)
        assert (mapped.queue, mapped.executor) == ("team_a", "LocalExecutor")
        assert dag.tags == {"etl", "team:team_a"}

    def test_mutation_of_an_unknown_task_is_refused(self):
        """A decision naming a task the DAG does not have is malformed."""
        with pytest.raises(MalformedDecisionError, match="does not have"):
            _decide(_dag(), [], [{"rule": "r", "task_id": "ghost", "field": "queue", "value": "q"}])
