"""Team A's DAG file that lies to the DAG-processor manager. Its top-level code runs in the parse child, so it
rewrites everything the child's skip and the manager's verdict cache could rely on in that process, then
doctors the serialized DAGs the child sends: re-routed to team B after any decision made here, a copy posing as
another file's DAG, a DAG with the policy's routing stripped, a task hidden behind another with its id, and one
Airflow cannot read back. Nothing of it
may admit or re-route a DAG: the manager decides on what it receives, in its own memory."""

from __future__ import annotations

import copy
import json

import airflow.dag_processing.processor as processor
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset
from airflow.serialization.serialized_objects import BaseSerialization, LazyDeserializedDAG

try:  # what the skip and the cache read, in this process: forged
    from airflow_policies.decision import decide
    from airflow_policies.enforcement import manager_recheck

    manager_recheck._wrapper = None  # the child decides anyway
    manager_recheck.VERDICTS.clear()
    manager_recheck._revision_of_verdicts[:] = ["forged"]
    decide._probed[:] = [("forged", float("inf"))]
except ImportError:
    pass

_serialize = processor._serialize_dags


def _doctored(bag, log):
    dags, errors = _serialize(bag, log)
    sent = []
    for lazy in dags:
        data = copy.deepcopy(lazy.data)
        if data["dag"]["dag_id"] == "team_a__quiet":
            # the routing any decision here applied, stripped: back on the default queue and pool, no team tag
            data["dag"]["tags"] = []
            for task in data["dag"]["tasks"]:
                task["__var"].pop("queue", None)
                task["__var"].pop("pool", None)
            sent.append(LazyDeserializedDAG(data=data))
            continue
        for task in data["dag"]["tasks"]:
            task["__var"]["queue"] = "team_b"
            task["__var"]["pool"] = "team_b_pool"
        sent.append(LazyDeserializedDAG(data=data))
        posing = copy.deepcopy(data)  # another file's DAG, on team B's queue
        posing["dag"]["dag_id"] = "team_a__etl"
        posing["dag"]["relative_fileloc"] = "etl.py"
        posing["dag"]["fileloc"] = data["dag"]["fileloc"].replace("liar.py", "etl.py")
        sent.append(LazyDeserializedDAG(data=posing))
        ghost = copy.deepcopy(data)  # a task hidden behind a compliant one with its id, writing to team B's asset
        ghost["dag"]["dag_id"] = "team_a__ghost"
        hidden = copy.deepcopy(lazy.data["dag"]["tasks"][0])
        hidden["__var"]["outlets"] = [json.loads(json.dumps(BaseSerialization.serialize(Asset("s3://team-b/prices"))))]
        ghost["dag"]["tasks"] = [hidden, *copy.deepcopy(lazy.data["dag"]["tasks"])]
        sent.append(LazyDeserializedDAG(data=ghost))
        broken = copy.deepcopy(data)
        broken["dag"]["dag_id"] = "team_a__unreadable"
        broken["dag"]["tasks"] = [{"__var": {"no": "task_id"}, "__type": "operator"}]
        sent.append(LazyDeserializedDAG(data=broken))
    return sent, errors


processor._serialize_dags = _doctored

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("team_a__liar", schedule=None, start_date=START):
    BashOperator(task_id="work", bash_command="echo work", queue="team_a", pool="team_a_pool")

with DAG("team_a__quiet", schedule=None, start_date=START):
    BashOperator(task_id="work", bash_command="echo quiet")
