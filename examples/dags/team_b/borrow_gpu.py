"""A team B author running a task on team A's GPU queue, while that guardrail is still rolling out.

examples/rollout.yaml puts queues.foreign_queue in warn for team B (deny in `check`, i.e. in CI): the DAG
is admitted and its authors see the warning on the DAG's page in the Airflow UI.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="team_b__borrow_gpu",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
):
    BashOperator(task_id="train", bash_command="echo training", queue="team_a_gpu", pool="team_b_pool")
