"""``airflow-policies audit`` over 5,000 serialized DAGs in a real PostgreSQL metadata DB.

One run: a private PostgreSQL and a local OPA with the shipped rules and example registry; 5,000 DAGs of
10 tasks each (every 50th on team B's queue) written to the DB through Airflow's own
``update_dag_parsing_results_in_db``; then, timed as whole commands:
- ``baseline``: Airflow's own ``SerializedDagModel.read_all_dags()`` (read and deserialize every DAG);
- ``audit``: ``airflow-policies audit --format json`` (read, deserialize, describe, decide every DAG).
Target: audit <= 60 s for >= 5,000 DAGs. The ratio audit/baseline says what deciding adds to reading.

Run: .venv/bin/python benchmarks/audit.py [--dags N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
TASKS = 10

_POPULATE = """
import sys
import pendulum
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.collection import update_dag_parsing_results_in_db
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import LazyDeserializedDAG
from airflow.models.dag import DagModel
from airflow.utils.session import create_session
from sqlalchemy import update

count, tasks = int(sys.argv[1]), int(sys.argv[2])
DagBundlesManager().sync_bundles_to_db()
start = pendulum.datetime(2026, 1, 1, tz="UTC")
for first in range(0, count, 500):
    dags = []
    for index in range(first, min(first + 500, count)):
        queue = "team_b" if index % 50 == 0 else "team_a"
        with DAG(f"team_a__bench_{index:05d}", schedule=None, start_date=start) as dag:
            for number in range(tasks):
                EmptyOperator(task_id=f"t{number}", queue=queue, pool="team_a_pool")
        dag.fileloc = f"/bench/team_a/dag_{index:05d}.py"
        dag.relative_fileloc = f"dag_{index:05d}.py"
        dags.append(LazyDeserializedDAG.from_dag(dag))
    with create_session() as session:
        update_dag_parsing_results_in_db(
            bundle_name="team_a_dags", bundle_version=None, dags=dags, import_errors={}, parse_duration=None,
            warnings=set(), session=session,
        )
# Without a parse pass (files_parsed) the rows stay marked stale; the dag-processor would clear that.
with create_session() as session:
    session.execute(update(DagModel).values(is_stale=False))
"""

_BASELINE = """
from airflow.models.serialized_dag import SerializedDagModel
print(len(SerializedDagModel.read_all_dags()))
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags", type=int, default=5000)
    args = parser.parse_args()

    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.local.postgres_server import local_postgres
    from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec

    with local_postgres() as database_url, local_opa(REPO / "examples" / "registry.yaml") as opa_url:
        home = Path(tempfile.mkdtemp(prefix="airflow-policies-audit-bench-"))
        sandbox = AirflowSandbox(
            home=home,
            bundles=[BundleSpec("team_a_dags", home / "dags", "team_a")],
            opa_url=opa_url,
            database_url=database_url,
            install_drop_in=False,
        )
        (home / "dags").mkdir()
        sandbox.initialise()
        env = sandbox.env | {"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": "none"}
        seconds, result = _timed([sys.executable, "-c", _POPULATE, str(args.dags), str(TASKS)], env)
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
            return 2
        print(f"wrote {args.dags} DAGs of {TASKS} tasks into PostgreSQL in {seconds:.1f} s")
        baseline, result = _timed([sys.executable, "-c", _BASELINE], env)
        assert int(result.stdout.strip().splitlines()[-1]) == args.dags, result.stderr[-2000:]
        audit, result = _timed([sys.executable, "-m", "airflow_policies.cli", "audit", "--format", "json"], env)
        if not result.stdout.strip() or not json.loads(result.stdout)["files"]:
            print(result.stderr[-3000:], file=sys.stderr)
            return 2
        report = json.loads(result.stdout)
        outcomes: dict[str, int] = {}
        for file in report["files"]:
            for dag in file["dags"]:
                outcomes[dag["outcome"]] = outcomes.get(dag["outcome"], 0) + 1
    decided = sum(outcomes.values())
    print(f"baseline, Airflow reads and deserializes every DAG : {baseline:6.1f} s")
    print(f"airflow-policies audit                              : {audit:6.1f} s for {decided} DAGs {outcomes}")
    per_dag = audit / decided * 1000
    print(f"  {decided / audit:.0f} DAGs/s, {per_dag:.1f} ms per DAG (whole command, process start included)")
    print(f"ratios: audit/target {audit / TARGET_SECONDS:.2f}, audit/baseline {audit / baseline:.2f}")
    ok = decided == args.dags and outcomes.get("rejected") == (args.dags + 49) // 50 and audit <= TARGET_SECONDS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
