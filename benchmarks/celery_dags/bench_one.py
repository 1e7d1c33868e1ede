"""One task of team A's, alone, so its start latency is not spent waiting for a free worker slot. Its command
prints when the task's own code began (BashOperator pushes the last line as its XCom)."""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("team_a__bench_one", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    BashOperator(task_id="task", bash_command="date +%s.%N")
