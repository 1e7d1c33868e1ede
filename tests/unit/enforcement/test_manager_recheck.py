"""The manager-side re-check wraps one Airflow internal: wrapped on the pinned Airflow, loud when it changes."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import types
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs
import pendulum
import pytest
from airflow.dag_processing.manager import DagFileProcessorManager
from airflow.dag_processing.processor import DagFileParsingResult, DagFileProcessorProcess
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset
from airflow.serialization.serialized_objects import BaseSerialization, DagSerialization, LazyDeserializedDAG

from airflow_policies.decision.models import parse_decision
from airflow_policies.decision.record import DecisionRecord, MutationChange
from airflow_policies.decision.verdict import judge
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.enforcement import import_hooks, manager_recheck
from airflow_policies.local.testing import reload_configuration

T = TypeVar("T")


def test_the_pinned_airflow_is_wrapped():
    """Loading the policy wrapped persist_parsing_result of this Airflow, which is a version the wrap is tested on."""
    assert DagFileProcessorManager.persist_parsing_result.__wrapped__ is not None
    assert importlib.metadata.version("apache-airflow-core") in manager_recheck.TESTED_AIRFLOW_VERSIONS


def test_a_changed_signature_is_reported_not_wrapped(caplog):
    """A manager whose persist method changed shape gets an error naming it, and stays untouched."""

    class ChangedManager:
        def persist_parsing_result(self, result, session):
            return result

    changed = types.ModuleType("airflow.dag_processing.manager")
    changed.DagFileProcessorManager = ChangedManager
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(changed, manager_recheck._wrap_persist_parsing_result, manager_recheck._log_skipped)
    assert "DagFileProcessorManager.persist_parsing_result" in caplog.text
    assert "is gone or changed" in caplog.text and "checked at parse time only" in caplog.text
    assert not hasattr(ChangedManager.persist_parsing_result, "__wrapped__")


def test_a_missing_manager_class_is_reported(caplog):
    """A module without the manager class is reported the same way."""
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(
            types.ModuleType("airflow.dag_processing.manager"),
            manager_recheck._wrap_persist_parsing_result,
            manager_recheck._log_skipped,
        )
    assert "is gone or changed" in caplog.text


def test_a_lazy_dag_without_its_cached_deserialization_is_reported(caplog, monkeypatch):
    """The re-check reads the DAG through LazyDeserializedDAG._real_dag (deserialized once, shared with Airflow);
    an Airflow without it is reported, and the manager stays untouched."""
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    monkeypatch.delattr(LazyDeserializedDAG, "_real_dag")

    class Manager:
        def persist_parsing_result(
            self, bundle_name, bundle_version, version_data, parsing_result, run_duration, relative_fileloc, session
        ):
            return parsing_result

    manager = types.ModuleType("airflow.dag_processing.manager")
    manager.DagFileProcessorManager = Manager
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
        import_hooks._apply(manager, manager_recheck._wrap_persist_parsing_result, manager_recheck._log_skipped)
    assert "LazyDeserializedDAG._real_dag" in caplog.text and "checked at parse time only" in caplog.text
    assert not hasattr(Manager.persist_parsing_result, "__wrapped__")


# --- One decision per DAG version, in the manager ---------------------------------------------------------------

START = pendulum.datetime(2026, 1, 1, tz="UTC")
ROUTE = {"rule": "routing.team_defaults", "task_ids": ["plain", "mapped"], "field": "queue", "value": "team_a"}
TAG = {"rule": "routing.team_tag", "task_ids": [None], "field": "tags", "value": ["etl", "team:team_a"]}
FOREIGN = {"rule": "connections.foreign_connection", "task_id": "plain", "message": "uses team_b_api", "action": "deny"}


def _lazy(dag_id: str = "team_a__d", command: str = "true") -> LazyDeserializedDAG:
    with DAG(dag_id, schedule=None, start_date=START, tags=["etl"]) as dag:
        BashOperator(task_id="plain", bash_command=command)
        BashOperator.partial(task_id="mapped").expand(bash_command=["true", "false"])
    # As the manager receives it: JSON, from the parse child.
    return LazyDeserializedDAG(data=json.loads(json.dumps(DagSerialization.to_dict(dag))))


def _result(*dags: LazyDeserializedDAG) -> DagFileParsingResult:
    return DagFileParsingResult(fileloc="/bundle/d.py", serialized_dags=list(dags), import_errors={})


class _Opa:
    """Stands in for the decision path: counts the documents it decides, answers with ``answer``."""

    def __init__(self) -> None:
        self.decided: list[InputDocument] = []
        self.answer = {"violations": [], "mutations": [{**ROUTE, "action": "deny"}, {**TAG, "action": "deny"}]}
        self.revision: str | None = "bundle@1;data:x"

    def decide(self, document: InputDocument) -> DecisionRecord:
        self.decided.append(document)
        decision = parse_decision({"result": {**self.answer, "policy_revision": "r1"}}, source="t")
        return judge(document, lambda _: decision, failure_mode="closed", decision_log="none")


@pytest.fixture
def opa(monkeypatch) -> _Opa:
    fake = _Opa()
    monkeypatch.setattr(manager_recheck, "decide", fake.decide)
    monkeypatch.setattr(manager_recheck, "current_revision", lambda: fake.revision)
    manager_recheck.VERDICTS.clear()
    yield fake
    manager_recheck.VERDICTS.clear()


def _recheck(result: DagFileParsingResult) -> DagFileParsingResult:
    return manager_recheck.recheck("team_a_dags", "d.py", result)


class TestOneDecisionPerDagVersion:
    def test_an_unchanged_dag_is_decided_once(self, opa):
        """The same serialized DAG under the same policy revision: one decision, however many passes."""
        for _ in range(5):
            _recheck(_result(_lazy()))
        assert len(opa.decided) == 1

    def test_a_changed_dag_is_decided_again(self, opa):
        """Another serialized form (the file changed) is another version: decided."""
        _recheck(_result(_lazy()))
        _recheck(_result(_lazy(command="false")))
        assert len(opa.decided) == 2

    def test_a_value_of_another_type_is_another_version(self, opa):
        """The key tells 1, 1.0 and True apart (a serialized DAG's retries, say), as the stored JSON does."""
        for value in (1, 1.0, True, "1"):
            sent = _lazy()
            sent.data["dag"]["tasks"][0]["__var"]["retries"] = value
            _recheck(_result(sent))
        assert len(opa.decided) == 4

    def test_a_new_policy_revision_or_registry_is_decided_again(self, opa):
        """The revision (bundle revisions and a digest of the registry, rollout and meta) is in the key."""
        _recheck(_result(_lazy()))
        opa.revision = "bundle@1;data:y"  # the registry changed
        _recheck(_result(_lazy()))
        opa.revision = "bundle@2;data:y"  # the policy changed
        _recheck(_result(_lazy()))
        _recheck(_result(_lazy()))
        assert len(opa.decided) == 3

    def test_an_unknown_revision_reuses_nothing(self, opa):
        """When the revision could not be read (or decision_cache_seconds is 0), every DAG is decided."""
        opa.revision = None
        _recheck(_result(_lazy()))
        _recheck(_result(_lazy()))
        assert len(opa.decided) == 2

    def test_the_verdict_is_per_bundle(self, opa):
        """The same serialized DAG from another bundle (another team) is decided for that bundle."""
        manager_recheck.recheck("team_a_dags", "d.py", _result(_lazy()))
        manager_recheck.recheck("team_b_dags", "d.py", _result(_lazy()))
        assert [d.bundle.name for d in opa.decided] == ["team_a_dags", "team_b_dags"]

    def test_the_routing_is_written_into_the_stored_dag(self, opa):
        """Airflow writes the DAG with the decision's mutations applied; the child's serialized DAG is untouched,
        and a cached verdict is applied the same way."""
        for _ in range(2):
            sent = _lazy()
            (stored,) = _recheck(_result(sent)).serialized_dags
            dag = DagSerialization.from_dict(stored.data)
            assert {t.task_id: t.queue for t in dag.tasks} == {"plain": "team_a", "mapped": "team_a"}
            assert set(dag.tags) == {"etl", "team:team_a"}
            assert {t.queue for t in DagSerialization.from_dict(sent.data).tasks} == {"default"}
        assert len(opa.decided) == 1

    def test_a_rejected_dag_is_not_stored_and_its_file_has_the_import_error(self, opa):
        """Rejected in the manager: out of the result, the file's import error names the rule."""
        opa.answer = {"violations": [FOREIGN], "mutations": []}
        result = _recheck(_result(_lazy(), _lazy("team_a__other")))
        assert result.serialized_dags == []
        assert result.import_errors["d.py"].startswith("AirflowClusterPolicyViolation: DAG 'team_a__d'")
        assert "[connections.foreign_connection]" in result.import_errors["d.py"]

    def test_a_decision_naming_a_task_the_dag_lacks_fails_closed(self, opa, monkeypatch):
        """A verdict the serialized DAG cannot take is never written half-applied: the DAG is not stored."""
        document = build_input(
            _lazy()._real_dag,
            bundle=BundleInfo(name="team_a_dags", team="team_a"),
            enforcement_point="dag_processor_manager",
        )
        gone = MutationChange(
            rule="r", task_ids=["gone"], field="queue", before=None, after="team_a", action="deny", applied=True
        )
        broken = opa.decide(document).model_copy(update={"mutations": [gone]})
        monkeypatch.setattr(manager_recheck, "_verdict", lambda *_: broken)
        result = _recheck(_result(_lazy()))
        assert result.serialized_dags == []
        assert "could not read its serialized form (fail closed)" in result.import_errors["d.py"]


def under_a_manager(function: Callable[[], T], persist: object) -> T:
    """Call ``function`` as a parse child runs: forked from the manager's stack, below a frame of a manager whose
    class holds ``persist`` as its persist_parsing_result."""

    class Manager:
        persist_parsing_result = persist

        def _start_new_processes(self) -> T:
            return function()

    return Manager()._start_new_processes()


WRAP = object()


class TestInForce:
    def test_a_child_forked_by_the_wrapped_manager_leaves_the_decision_to_it(self, monkeypatch):
        """Below a frame of a manager whose persist_parsing_result is the wrap: the deciding manager's parse child."""
        monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
        assert under_a_manager(manager_recheck.in_force, WRAP)

    def test_any_other_process_decides_itself(self, monkeypatch):
        """No manager below (a CLI, a worker), a manager whose method is not the wrap, or no wrap at all."""
        monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
        assert not manager_recheck.in_force()
        assert not under_a_manager(manager_recheck.in_force, lambda *_: None)
        monkeypatch.setattr(manager_recheck, "_wrapper", None)
        assert not under_a_manager(manager_recheck.in_force, None)

    def test_not_with_the_manager_point_disabled(self, monkeypatch):
        """With dag_processor_manager disabled, the child decides, as before this change."""
        monkeypatch.setattr(manager_recheck, "_wrapper", WRAP)
        monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS", '["dag_processor_manager"]')
        reload_configuration()
        try:
            assert not under_a_manager(manager_recheck.in_force, WRAP)
        finally:
            monkeypatch.delenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS")
            reload_configuration()

    def test_the_pinned_airflow_manager_is_found(self):
        """Loading the policy wrapped Airflow's own manager class: a method of it on the stack is found."""
        manager = DagFileProcessorManager.__new__(DagFileProcessorManager)
        assert manager_recheck._wrapper is DagFileProcessorManager.persist_parsing_result

        def child() -> bool:
            return manager_recheck.in_force()

        def _start_new_processes(self: DagFileProcessorManager) -> bool:
            return child()

        assert _start_new_processes(manager)


class TestDoctoredSerializedDags:
    """Serialized forms a lying parse child could send, beyond what the liar's integration test sends."""

    def test_a_doctored_client_default_is_what_the_manager_decides_on_and_overrides(self, opa):
        """Tasks that omit their queue take the DAG's client_defaults: a child setting team B's queue there is
        decided with team B's queue (what Airflow would store), and the routing written overrides it."""
        sent = _lazy()
        sent.data.setdefault("client_defaults", {}).setdefault("tasks", {})["queue"] = "team_b"
        (stored,) = _recheck(_result(sent)).serialized_dags
        (document,) = opa.decided
        assert {t.queue for t in document.tasks} == {"team_b"}
        assert {t.queue for t in DagSerialization.from_dict(stored.data).tasks} == {"team_a"}

    def test_the_same_dag_id_twice_in_one_result_is_decided_twice(self, opa):
        """Two serialized DAGs with one dag_id (a compliant one and a doctored one) are two contents: each is
        decided on its own, the doctored one cannot ride on the other's verdict."""
        doctored = _lazy()
        doctored.data["dag"]["tasks"][0]["__var"]["queue"] = "team_b"
        _recheck(_result(_lazy(), doctored))
        assert [sorted({t.queue for t in d.tasks}) for d in opa.decided] == [["default"], ["default", "team_b"]]

    def test_a_bundle_the_child_claims_in_the_dag_is_ignored(self, opa):
        """The bundle (and so the team) of the decision and of its cache key is the manager's own argument, not
        anything the child writes into the serialized DAG."""
        claimed = _lazy()
        claimed.data["dag"]["bundle_name"] = "team_b_dags"  # not a field Airflow or the manager reads
        manager_recheck.recheck("team_a_dags", "d.py", _result(claimed))
        assert [d.bundle.name for d in opa.decided] == ["team_a_dags"]

    def test_a_task_entry_hidden_behind_another_with_its_id_is_refused(self, opa):
        """Airflow's deserialization keeps the last of two tasks with one id; the first would still be read from the
        stored JSON (its outlets become asset references) without any decision having seen it: refused, fail closed."""
        sent = _lazy()
        ghost = json.loads(json.dumps(sent.data["dag"]["tasks"][0]))
        ghost["__var"]["outlets"] = [json.loads(json.dumps(BaseSerialization.serialize(Asset("s3://team-b/x"))))]
        sent.data["dag"]["tasks"].insert(0, ghost)
        result = _recheck(_result(sent))
        assert result.serialized_dags == [] and opa.decided == []
        assert "holds 3 task entries for 2 task ids" in result.import_errors["d.py"]


@attrs.define
class _Process:
    """The parts of Airflow's DagFileProcessorProcess the receipt reads: the manager's own bundle name for the child,
    and the result Airflow keeps (the last one the child sent)."""

    bundle_name: str
    parsing_result: DagFileParsingResult | None = None

    def _handle_request(self, msg, log, req_id):
        if isinstance(msg, DagFileParsingResult):
            self.parsing_result = msg


class TestStartedWhereTheResultArrives:
    """The manager starts judging a result when its child sends it, and uses that judgement only for that very
    result and bundle when Airflow persists it."""

    @pytest.fixture(autouse=True)
    def wrapped(self, monkeypatch):
        from airflow.dag_processing import processor

        monkeypatch.setattr(processor, "DagFileProcessorProcess", _Process)
        monkeypatch.setattr(_Process, "_handle_request", _Process._handle_request)
        manager_recheck._wrap_receipt()
        assert _Process._handle_request.__wrapped__ is not None
        yield
        manager_recheck._started.clear()

    def test_the_pinned_airflow_receipt_is_wrapped(self):
        """Loading the policy wrapped Airflow's own receipt (under the Execution API guard's wrap of it)."""
        handle, wraps = DagFileProcessorProcess._handle_request, []
        while handle is not None:
            wraps.append(Path(handle.__code__.co_filename).stem)  # functools.wraps copies the names, not the code
            handle = getattr(handle, "__wrapped__", None)
        assert "manager_recheck" in wraps and wraps[-1] == "processor"

    def test_the_judgement_started_at_receipt_is_the_one_persisted(self, opa):
        """Received: decided at once, off the manager's loop; persisted: that judgement, no second decision."""
        result = _result(_lazy())
        _Process("team_a_dags")._handle_request(result, None, 1)
        manager_recheck._started[id(result)][2].result()
        assert len(opa.decided) == 1
        (stored,) = _recheck(result).serialized_dags
        assert {t.queue for t in DagSerialization.from_dict(stored.data).tasks} == {"team_a"}
        assert len(opa.decided) == 1 and id(result) not in manager_recheck._started

    def test_a_judgement_for_another_bundle_is_not_used(self, opa):
        """Persisted under another bundle than the child's process was started for: decided again, for that one."""
        result = _result(_lazy())
        _Process("team_b_dags")._handle_request(result, None, 1)
        _recheck(result)
        assert [d.bundle.name for d in opa.decided] == ["team_b_dags", "team_a_dags"]

    def test_a_child_sending_many_results_starts_one_judgement(self, opa):
        """Only a child's first result is judged at receipt: a child cannot queue decisions ahead of other files'.
        The result Airflow keeps (the last) is decided when persisted."""
        process = _Process("team_a_dags")
        first, last = _result(_lazy()), _result(_lazy(command="false"))
        process._handle_request(first, None, 1)
        process._handle_request(last, None, 2)
        assert id(first) in manager_recheck._started and id(last) not in manager_recheck._started
        manager_recheck._started.pop(id(first))[2].result()
        _recheck(last)
        assert len(opa.decided) == 2

    def test_a_judgement_that_cannot_start_is_made_at_persist(self, opa, caplog, monkeypatch):
        """Starting early failing (a settings error, say) never gets in the way of Airflow's own handling: the
        result is kept, the error logged, and the DAGs are judged when persisted."""

        def broken(bundle_name, parsing_result):
            raise RuntimeError("cannot start")

        monkeypatch.setattr(manager_recheck, "start", broken)
        process, result = _Process("team_a_dags"), _result(_lazy())
        with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.manager_recheck"):
            process._handle_request(result, None, 1)
        assert process.parsing_result is result and "judged when it is persisted" in caplog.text
        (stored,) = _recheck(result).serialized_dags
        assert {t.queue for t in DagSerialization.from_dict(stored.data).tasks} == {"team_a"}
        assert len(opa.decided) == 1

    def test_a_changed_receipt_is_reported_and_left_alone(self, caplog, monkeypatch):
        """An Airflow whose receipt changed shape: nothing wrapped there, a warning, and the judgement starts when
        the result is persisted (as safe, and slower)."""
        from airflow.dag_processing import processor

        class Changed:
            def _handle_request(self, msg):
                return msg

        monkeypatch.setattr(processor, "DagFileProcessorProcess", Changed)
        with caplog.at_level(logging.WARNING, logger="airflow_policies.enforcement.manager_recheck"):
            manager_recheck._wrap_receipt()
        assert "decided when the result is persisted" in caplog.text
        assert not hasattr(Changed._handle_request, "__wrapped__")
