"""Bounds, through Airflow's DagBag and the real OPA: a DAG of 10,000 tasks is decided; one over the
configured bound on the input document is rejected with its size and the setting to change."""

from __future__ import annotations

from tests.integration.conftest import Parse

BIG_DAG = """
with DAG("team_a__big", schedule=None, start_date=START):
    for n in range(10_000):
        EmptyOperator(task_id=f"t{n}")
"""


def test_a_dag_of_ten_thousand_tasks_is_decided_and_routed(parse: Parse):
    """10,000 tasks left on the default queue and pool: one decision routes all of them."""
    bag = parse({"big.py": BIG_DAG}, env={"AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS": "30"})
    assert set(bag.dags) == {"team_a__big"}, bag.import_errors
    tasks = bag.dags["team_a__big"].tasks
    assert len(tasks) == 10_000
    assert {(t.queue, t.pool) for t in tasks} == {("team_a", "team_a_pool")}


def test_a_dag_over_the_input_bound_is_rejected_with_its_size(parse: Parse):
    """Over max_input_bytes the document is not sent; the import error says how big it was and what to set."""
    bag = parse({"big.py": BIG_DAG}, env={"AIRFLOW__AIRFLOW_POLICIES__MAX_INPUT_BYTES": str(1024 * 1024)})
    assert bag.dags == {}
    error = bag.import_errors["big.py"]
    assert "the input document of DAG 'team_a__big' is 4.4 MB (10000 tasks), over the limit of 1.0 MB" in error
    assert "AIRFLOW__AIRFLOW_POLICIES__MAX_INPUT_BYTES" in error
