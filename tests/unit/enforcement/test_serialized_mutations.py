"""The manager writes the policy's routing into the serialized DAG: what Airflow stores deserializes to what the
mutation of the live DAG (the parse-time path) would have produced, field by field, for plain and mapped tasks."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pendulum
import pytest
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import DagSerialization

from airflow_policies.decision.record import MutationChange
from airflow_policies.enforcement.enforce import apply_mutations
from airflow_policies.enforcement.serialized_mutations import apply_to_serialized

START = pendulum.datetime(2026, 1, 1, tz="UTC")
TASKS = ["plain", "routed", "mapped", "mapped_routed"]
TASK_FIELDS = ("queue", "pool", "executor", "owner", "retries", "execution_timeout")


def _dag() -> DAG:
    with DAG("team_a__routing", schedule=None, start_date=START, tags=["etl"]) as dag:
        EmptyOperator(task_id="plain")
        BashOperator(
            task_id="routed",
            bash_command="echo",
            queue="team_b",
            pool="team_b_pool",
            owner="bob",
            retries=7,
            execution_timeout=datetime.timedelta(hours=5),
            executor="LocalExecutor",
        )
        BashOperator.partial(task_id="mapped").expand(bash_command=["a", "b"])
        BashOperator.partial(
            task_id="mapped_routed", queue="team_b", retries=1, execution_timeout=datetime.timedelta(minutes=1)
        ).expand(bash_command=["a"])
    return dag


def _change(field: str, after: Any, task_ids: list[str | None], action: str = "deny") -> MutationChange:
    return MutationChange(
        rule="routing.team_defaults",
        task_ids=task_ids,
        field=field,
        before=None,
        after=after,
        action=action,  # type: ignore[arg-type]
        applied=action != "dryrun",
    )


def _seen(data: dict[str, Any]) -> dict[str, Any]:
    """What a scheduler reads back: each field of each deserialized task, the DAG's tags."""
    dag = DagSerialization.from_dict(json.loads(json.dumps(data)))
    tasks = {
        t.task_id: {f: getattr(t, f) for f in TASK_FIELDS} | {"partial_kwargs": getattr(t, "partial_kwargs", None)}
        for t in dag.tasks
    }
    return {"tags": set(dag.tags), "tasks": tasks}


CASES = {
    "queue and pool": [_change("queue", "team_a", TASKS), _change("pool", "team_a_pool", TASKS)],
    "executor and owner": [_change("executor", "LocalExecutor", TASKS), _change("owner", "team_a", TASKS)],
    "retries, to a default value and not": [
        _change("retries", 0, ["routed", "mapped_routed"]),
        _change("retries", 2, ["plain", "mapped"]),
    ],
    "execution_timeout": [_change("execution_timeout", 3600, TASKS)],
    "fractional execution_timeout": [_change("execution_timeout", 90.5, ["plain", "mapped"])],
    "tags": [_change("tags", ["etl", "team:team_a"], [None])],
    "everything at once": [
        _change("queue", "team_a", TASKS),
        _change("pool", "team_a_pool", ["plain"]),
        _change("execution_timeout", 60, ["mapped_routed"]),
        _change("tags", ["team:team_a", "etl"], [None]),
    ],
}


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_the_stored_dag_is_what_the_live_mutation_serializes_to(changes):
    """Mutating the serialized DAG and mutating the live DAG, then serializing it, deserialize alike."""
    live = _dag()
    apply_mutations(live, changes)
    written = apply_to_serialized(DagSerialization.to_dict(_dag()), changes)
    assert _seen(written) == _seen(DagSerialization.to_dict(live))


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_the_stored_json_is_what_airflow_writes_for_the_live_mutation(changes):
    """Byte for byte (keys sorted, the live DAG's tag set in order): defaults omitted as Airflow omits them, so the
    DAG hash is the one the parse-time mutation gave."""
    live = _dag()
    apply_mutations(live, changes)
    expected = json.loads(json.dumps(DagSerialization.to_dict(live)))
    expected["dag"]["tags"] = sorted(expected["dag"]["tags"])
    written = apply_to_serialized(DagSerialization.to_dict(_dag()), changes)
    assert json.dumps(written, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_the_serialized_dag_it_was_given_is_left_alone():
    """The child's serialized DAG (the verdict cache's key) is not changed: the mutations go into a copy."""
    data = DagSerialization.to_dict(_dag())
    before = json.dumps(data, sort_keys=True)
    apply_to_serialized(data, CASES["everything at once"])
    assert json.dumps(data, sort_keys=True) == before


def test_the_same_decision_writes_the_same_bytes():
    """An unchanged DAG is written identically on every pass, so Airflow keeps its DAG version."""
    changes = CASES["everything at once"]
    first = apply_to_serialized(DagSerialization.to_dict(_dag()), changes)
    second = apply_to_serialized(DagSerialization.to_dict(_dag()), list(reversed(changes)))
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_dryrun_and_pod_fields_are_not_written():
    """A dryrun mutation is only reported; pod fields are mutated where the pod is built, at run time."""
    data = DagSerialization.to_dict(_dag())
    changes = [
        _change("queue", "team_a", ["plain"], action="dryrun"),
        _change("pod_namespace", "team-a", ["plain"]),
        _change("pod_labels", {"team": "team_a"}, ["plain"]),
    ]
    assert apply_to_serialized(data, changes) is data


def test_a_task_the_serialized_dag_lacks_is_an_error():
    """A decision naming a task this serialized DAG does not have is refused, not skipped."""
    with pytest.raises(KeyError):
        apply_to_serialized(DagSerialization.to_dict(_dag()), [_change("queue", "team_a", ["nowhere"])])


def _example_dags() -> list[DAG]:
    import pathlib

    import airflow.example_dags
    import airflow.providers.standard.example_dags
    from airflow.dag_processing.dagbag import DagBag

    dags = []
    for package in (airflow.example_dags, airflow.providers.standard.example_dags):
        folder = pathlib.Path(package.__file__).parent
        dags += DagBag(dag_folder=folder, safe_mode=False).dags.values()
    return dags


def test_every_example_dag_of_airflow_is_written_as_its_live_mutation_serializes():
    """Every task of every example DAG of Airflow and its standard provider (task groups, mapped and decorated tasks,
    setup and teardown, sensors) routed in every field at once: the same JSON as the live mutation serializes to."""
    checked, different = 0, []
    for dag in _example_dags():
        try:
            unmutated = json.loads(json.dumps(DagSerialization.to_dict(dag)))
        except Exception:
            continue
        tasks: list[str | None] = list(dag.task_dict)
        changes = [
            _change("queue", "team_a", tasks),
            _change("pool", "team_a_pool", tasks),
            _change("owner", "team_a", tasks),
            _change("retries", 2, tasks),
            _change("execution_timeout", 600, tasks),
            _change("tags", ["team:team_a", *sorted(dag.tags)], [None]),
        ]
        apply_mutations(dag, changes)
        expected = json.loads(json.dumps(DagSerialization.to_dict(dag)))
        expected["dag"]["tags"] = sorted(expected["dag"]["tags"])
        written = apply_to_serialized(unmutated, changes)
        checked += 1
        if json.dumps(written, sort_keys=True) != json.dumps(expected, sort_keys=True):
            different.append(dag.dag_id)
    assert checked > 80 and different == []
