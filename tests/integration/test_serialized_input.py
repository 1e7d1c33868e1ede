"""The input builder on serialized DAGs (what the DAG-processor manager, the scheduler, the Execution API
and `audit` see) gives the same document as on the live DAG of the parse, except what serialization drops:
callables (so callbacks and the connections of notifiers) and operator attributes that are not templated
fields. Checked over every rule sample, the example DAGs and every example DAG of Airflow and its providers."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from airflow_policies.document.models import BundleInfo, InputDocument, PodSettings
from tests.conftest import EXAMPLE_DAGS, REPO
from tests.integration.test_corpora import CORPORA

BUNDLE = BundleInfo(name="any_dags", team="team_a")
FILES = sorted(
    [
        *(REPO / "rego").glob("airflow_policies/rules/*/*/samples/*/*.py"),
        *EXAMPLE_DAGS.glob("*/*.py"),
        *(p for root in CORPORA for p in root.rglob("*.py") if p.name != "__init__.py"),
    ]
)


def _templated_operator_pods(dag) -> dict[str, list[str]]:
    """Each pod operator's pods as read from what a serialized DAG keeps of its arguments: the templated ones."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from airflow_policies.document.builder import _operator_attributes, build_input
    from airflow_policies.document.pods import is_pod_operator, task_pods

    operators = {t.task_id: t.operator for t in build_input(dag, bundle=BUNDLE, enforcement_point="audit").tasks}
    pods = {}
    for task in dag.tasks:
        if is_pod_operator(task, task.template_fields):
            mapped = isinstance(task, MappedOperator)
            attributes, expand = _operator_attributes(task, mapped)
            # A mapped operator's serialized partial() arguments are all kept (objects as their to_dict() text).
            templated = {name: value for name, value in attributes.items() if mapped or name in task.template_fields}
            pods[task.task_id] = [
                p.model_dump_json() for p in task_pods(operators[task.task_id], True, None, templated, expand)
            ]
    return pods


def _both_documents(path: str, conn) -> None:
    os.dup2(2, 1)
    try:
        from airflow import settings
        from airflow.dag_processing.dagbag import DagBag
        from airflow.serialization.serialized_objects import DagSerialization

        from airflow_policies.document.builder import build_input

        settings.dag_policy = lambda dag: None
        bag = DagBag(dag_folder=path, bundle_path=str(Path(path).parent), safe_mode=False)
        pairs = []
        for dag in bag.dags.values():
            serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
            live_json, serialized_json = (
                build_input(d, bundle=BUNDLE, enforcement_point="audit").model_dump_json() for d in (dag, serialized)
            )
            template_fields = {t.task_id: list(t.template_fields) for t in dag.tasks}
            pairs.append((live_json, serialized_json, template_fields, _templated_operator_pods(dag)))
        conn.send(pairs)
    finally:
        os._exit(0)


def _documents(path: Path) -> list[tuple[InputDocument, InputDocument, dict[str, list[str]], dict[str, list[str]]]]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_both_documents, args=(str(path), sender))
    child.start()
    sender.close()
    try:
        pairs = receiver.recv() if receiver.poll(120) else []
    except EOFError:
        pairs = []
    child.join()
    return [
        (InputDocument.model_validate_json(live), InputDocument.model_validate_json(serialized), fields, pods)
        for live, serialized, fields, pods in pairs
    ]


_SDK_BASE = {
    "asset": "airflow.sdk.definitions.asset.Asset",
    "alias": "airflow.sdk.definitions.asset.AssetAlias",
    "name_ref": "airflow.sdk.definitions.asset.AssetNameRef",
    "uri_ref": "airflow.sdk.definitions.asset.AssetUriRef",
}


def _without_what_serialization_drops(
    document: InputDocument, template_fields: dict[str, list[str]], operator_pods: dict[str, list[str]]
) -> InputDocument:
    def kept(refs, fields):
        return [r for r in refs if r.source != "callback" and (r.source != "attribute" or r.location in fields)]

    def as_base(assets):  # an Asset subclass (e.g. @asset's AssetDefinition) serializes as its base class
        return [a.model_copy(update={"type": _SDK_BASE.get(a.kind, a.type)}) for a in assets]

    tasks = [
        task.model_copy(
            update={
                "callbacks": [],
                "connections": kept(task.connections, template_fields.get(task.task_id, ())),
                "inlets": as_base(task.inlets),
                "outlets": as_base(task.outlets),
                # An operator's pod keeps only its templated arguments.
                "pods": [p for p in task.pods if p.source != "operator"]
                + [PodSettings.model_validate_json(p) for p in operator_pods.get(task.task_id, [])],
            }
        )
        for task in document.tasks
    ]
    dag = document.dag.model_copy(
        update={
            "callbacks": [],
            "connections": kept(document.dag.connections, ()),
            "schedule_assets": as_base(document.dag.schedule_assets),
        }
    )
    return document.model_copy(update={"dag": dag, "tasks": tasks})


def test_the_corpus_is_there():
    """Samples of every rule family, the examples and the Airflow corpora: well over a hundred files."""
    assert len(FILES) >= 120


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_serialized_document_matches_the_live_one(path):
    """Equal documents, up to callbacks and non-templated connection attributes (which serialization drops)."""
    for live, serialized, template_fields, operator_pods in _documents(path):
        expected = _without_what_serialization_drops(live, template_fields, operator_pods)
        assert _unknown_settings_named(serialized) == _unknown_settings_named(expected)


def _unknown_settings_named(document: InputDocument) -> InputDocument:
    """A pod's unknown settings by name only: an XComArg's repr differs between a live and a serialized DAG."""

    def named(pod: PodSettings) -> PodSettings:
        return pod.model_copy(update={"unverifiable": [entry.split(": ", 1)[0] for entry in pod.unverifiable]})

    tasks = [task.model_copy(update={"pods": [named(p) for p in task.pods]}) for task in document.tasks]
    return document.model_copy(update={"tasks": tasks})
