"""Parse-time enforcement through Airflow's DagBag, with the installed ``airflow.policy`` entry point
and the real OPA. Most tests are written as a team A author trying to escape team A."""

from __future__ import annotations

import re

import pytest
import requests
from airflow import settings

from airflow_policies.enforcement import cluster_policies
from airflow_policies.local.opa_server import local_opa
from tests.conftest import EXAMPLE_REGISTRY


def _rules(message: str) -> set[str]:
    return set(re.findall(r"^\s+- \[([a-z_.]+)\]", message, re.MULTILINE))


def test_the_entry_point_plugin_is_what_airflow_calls():
    """Installing the package registers dag_policy under the unique name 'airflow_policies'."""
    manager = settings.get_policy_plugin_manager()
    assert manager.get_plugin("airflow_policies") is cluster_policies
    assert "dag_policy" in {impl.function.__name__ for impl in manager.hook.dag_policy.get_hookimpls()}
    # Everything is decided once per DAG in dag_policy; no per-task hook exists to make a network call.
    assert "airflow_policies" not in {impl.plugin_name for impl in manager.hook.task_policy.get_hookimpls()}


def test_compliant_dag_is_admitted_and_routed_to_its_team(parse):
    """A DAG using only its team's resources is bagged, with default queue/pool routed and the team tag stamped."""
    bag = parse(
        {
            "etl.py": """
        with DAG("team_a__etl", schedule=None, start_date=START, tags=["etl"]):
            SQLExecuteQueryOperator(task_id="load", conn_id="team_a_postgres", sql="select 1")
            BashOperator(task_id="gpu", bash_command="true", queue="team_a_gpu")
    """
        }
    )
    assert bag.import_errors == {}
    dag = bag.dags["team_a__etl"]
    assert (dag.task_dict["load"].queue, dag.task_dict["load"].pool) == ("team_a", "team_a_pool")
    assert dag.task_dict["gpu"].queue == "team_a_gpu"
    assert dag.tags == {"etl", "team:team_a"}


@pytest.mark.parametrize(
    ("body", "rule", "fragment"),
    [
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START, default_args={"conn_id": "team_b_warehouse"}):
                SQLExecuteQueryOperator(task_id="q", sql="select 1")
        """,
            "connections.foreign_connection",
            "team_b_warehouse",
            id="conn-via-default-args",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                BashOperator(task_id="b", bash_command="echo {{ conn.team_b_warehouse.password }}")
        """,
            "connections.foreign_connection",
            "team_b_warehouse",
            id="conn-via-template",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                SQLExecuteQueryOperator.partial(task_id="m", sql="select 1").expand(
                    conn_id=["team_a_postgres", "team_b_warehouse"])
        """,
            "connections.foreign_connection",
            "team_b_warehouse",
            id="conn-via-mapped-expand",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START,
                     on_failure_callback=SmtpNotifier(to="x@example.com", smtp_conn_id="team_b_warehouse")):
                EmptyOperator(task_id="e")
        """,
            "connections.foreign_connection",
            "team_b_warehouse",
            id="conn-via-notifier",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                SQLExecuteQueryOperator(task_id="q", sql="select 1", conn_id="{{ var.value.which }}")
        """,
            "connections.unverifiable_conn_id",
            "{{ var.value.which }}",
            id="templated-conn-id",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                with TaskGroup("outer"), TaskGroup("inner"):
                    EmptyOperator(task_id="e", pool="team_b_pool")
        """,
            "pools.foreign_pool",
            "team_b_pool",
            id="pool-in-nested-group",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                EmptyOperator(task_id="e", queue="team_b")
        """,
            "queues.foreign_queue",
            "team_b",
            id="foreign-queue",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                BashOperator(task_id="b", bash_command="echo {{ var.value.team_b_api_base }}")
        """,
            "variables.foreign_variable",
            "team_b_api_base",
            id="variable-via-template",
        ),
        pytest.param(
            """
            with DAG("team_b__publish", schedule=None, start_date=START):
                EmptyOperator(task_id="e")
        """,
            "dag_ids.namespace",
            "team_b__publish",
            id="dag-id-takeover",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START, tags=["team:team_b"]):
                EmptyOperator(task_id="e")
        """,
            "tags.spoofed_team_tag",
            "team:team_b",
            id="spoofed-team-tag",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=None, start_date=START):
                EmptyOperator(task_id="e", outlets=[Asset("s3://team-b/orders")])
        """,
            "assets.produce_outside_namespace",
            "s3://team-b/orders",
            id="produce-into-team-b",
        ),
        pytest.param(
            """
            with DAG("team_a__x", schedule=[Asset("s3://team-b/private")], start_date=START):
                EmptyOperator(task_id="e")
        """,
            "assets.foreign_consume",
            "s3://team-b/private",
            id="consume-team-b-private",
        ),
    ],
)
def test_escape_attempts_are_import_errors(parse, body, rule, fragment):
    """Each attempt to use team B's resources from team A's bundle is one clear import error."""
    bag = parse({"attempt.py": body})
    assert bag.dags == {}
    message = bag.import_errors["attempt.py"]
    assert message.startswith("AirflowClusterPolicyViolation: DAG ")
    assert "team 'team_a'" in message
    assert rule in _rules(message)
    assert fragment in message


def test_all_violations_of_a_dag_are_reported_at_once(parse):
    """One import error lists every broken rule of the DAG."""
    bag = parse(
        {
            "many.py": """
        with DAG("team_b__x", schedule=None, start_date=START, tags=["team:team_b"]):
            EmptyOperator(task_id="e", pool="team_b_pool", queue="team_b")
    """
        }
    )
    assert {"dag_ids.namespace", "tags.spoofed_team_tag", "pools.foreign_pool", "queues.foreign_queue"} <= _rules(
        bag.import_errors["many.py"]
    )


def test_shared_connection_and_asset_are_allowed(parse):
    """What team B explicitly shares with team A in the registry is usable by team A."""
    bag = parse(
        {
            "shared.py": """
        with DAG("team_a__x", schedule=[Asset("s3://team-b/public/prices")], start_date=START):
            BashOperator(task_id="b", bash_command="echo {{ conn.team_b_api.host }}")
    """
        }
    )
    assert bag.import_errors == {}


def test_teamless_bundle_is_rejected_naming_the_bundle(parse):
    """A bundle mapped to no team is rejected by default, and the message names the bundle."""
    bag = parse(
        {
            "other.py": """
        with DAG("team_a__x", schedule=None, start_date=START):
            BashOperator(task_id="b", bash_command="echo {{ conn.team_b_api.host }}")
    """
        },
        bundle="shared_dags",
        team=None,
    )
    message = bag.import_errors["other.py"]
    assert "bundles.teamless_bundle" in _rules(message)
    assert "shared_dags" in message


def test_bundle_team_cannot_be_claimed_through_tags_or_owner(parse):
    """Tags and owner naming team B do not make a team A DAG team B's."""
    bag = parse(
        {
            "claim.py": """
        with DAG("team_a__x", schedule=None, start_date=START, tags=["team:team_b"],
                 default_args={"owner": "team_b"}):
            EmptyOperator(task_id="e", pool="team_b_pool")
    """
        }
    )
    message = bag.import_errors["claim.py"]
    assert "(bundle 'team_a_dags', team 'team_a')" in message
    assert "pools.foreign_pool" in _rules(message)


def test_rewriting_the_environment_does_not_change_the_team(parse, monkeypatch):
    """DAG code that remaps its bundle to team B in os.environ (which Airflow's conf follows) is still
    judged as team A: the mapping was read before any DAG file ran."""
    # Set through monkeypatch (to their defaults) so what the DAG file writes is undone after the test.
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS", "{}")
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_QUEUE", "default")
    bag = parse(
        {
            "remap.py": """
        import json, os
        os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([{
            "name": "team_a_dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": "/tmp"}, "team_name": "team_b"}])
        os.environ["AIRFLOW__AIRFLOW_POLICIES__BUNDLE_TEAMS"] = '{"team_a_dags": "team_b"}'
        os.environ["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] = "team_b"
        with DAG("team_a__x", schedule=None, start_date=START):
            SQLExecuteQueryOperator(task_id="q", conn_id="team_b_warehouse", sql="select 1")
    """
        }
    )
    message = bag.import_errors["remap.py"]
    assert "(bundle 'team_a_dags', team 'team_a')" in message
    assert "connections.foreign_connection" in _rules(message)


def test_compliant_sibling_in_another_file_is_unaffected(parse):
    """A violating file does not stop the next file from being admitted."""
    bag = parse(
        {
            "a_bad.py": 'with DAG("team_b__x", schedule=None, start_date=START):\n    EmptyOperator(task_id="e")\n',
            "b_good.py": 'with DAG("team_a__ok", schedule=None, start_date=START):\n    EmptyOperator(task_id="e")\n',
        }
    )
    assert set(bag.import_errors) == {"a_bad.py"}
    assert set(bag.dags) == {"team_a__ok"}


def test_one_opa_request_per_dag_whatever_the_task_count(parse, opa_url):
    """Fifty tasks, one decision: OPA's own request counter goes up by exactly one."""

    def decisions() -> float:
        metrics = requests.get(f"{opa_url}/metrics", timeout=5).text
        pattern = r'http_request_duration_seconds_count\{code="200",handler="v1/data",method="post"\} (\S+)'
        return sum(float(v) for v in re.findall(pattern, metrics))

    before = decisions()
    bag = parse(
        {
            "wide.py": """
        with DAG("team_a__wide", schedule=None, start_date=START):
            for i in range(50):
                EmptyOperator(task_id=f"t{i}")
    """
        }
    )
    assert len(bag.dags["team_a__wide"].tasks) == 50
    assert decisions() - before == 1


def test_unreachable_opa_rejects_with_the_url(parse):
    """OPA down: the DAG is rejected (fail closed) with the URL and the fix in the import error."""
    dag_file = 'with DAG("team_a__etl", schedule=None, start_date=START):\n    EmptyOperator(task_id="e")\n'
    bag = parse({"etl.py": dag_file}, url="http://127.0.0.1:9")
    message = bag.import_errors["etl.py"]
    assert bag.dags == {}
    assert "could not decide" in message
    assert "http://127.0.0.1:9/v1/data/airflow_policies/main/decision is unreachable" in message


def test_opa_without_the_library_rejects(parse, tmp_path):
    """A real OPA that answers but has no decision (rules not loaded) rejects the DAG: undefined is never an allow."""
    empty = tmp_path / "no-rules"
    empty.mkdir()
    dag_file = 'with DAG("team_a__etl", schedule=None, start_date=START):\n    EmptyOperator(task_id="e")\n'
    with local_opa(EXAMPLE_REGISTRY, empty) as url:
        bag = parse({"etl.py": dag_file}, url=url)
    assert bag.dags == {}
    assert "returned no decision" in bag.import_errors["etl.py"]
