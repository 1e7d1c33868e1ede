"""The two engines give the same decision: the real OPA server, and the same rules compiled to Wasm by the
pinned OPA and run in process by wasmtime. Every golden input of every rule, every example DAG (with the
example rollout's overrides and exceptions) and the benchmark's 50-task documents are decided by both, and
every Rego test passes in the in-process engine as it does on the server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_policies._config import load_settings
from airflow_policies._paths import opa_binary, rego_library
from airflow_policies.decision.decide import decide
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.decision.wasm import WasmEvaluator, WasmPolicy
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.document.parse import parse_documents
from airflow_policies.local.testing import reload_configuration
from airflow_policies.policy.bundle import build_bundle
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.fixture(scope="module")
def wasm_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("wasm") / "policy.tar.gz"
    build_bundle(EXAMPLE_REGISTRY, bundle, rollout=EXAMPLE_ROLLOUT, wasm=True)
    return bundle


def _golden_documents() -> list[tuple[str, InputDocument]]:
    documents = []
    for path in sorted(rego_library().rglob("samples/golden/*.json")):
        for key, document in json.loads(path.read_text()).items():
            documents.append((key, InputDocument.model_validate(document)))
    return documents


def _example_documents() -> list[tuple[str, InputDocument]]:
    documents = []
    for team in ("team_a", "team_b"):
        root = EXAMPLE_DAGS / team
        for path in sorted(root.glob("*.py")):
            parsed, _ = parse_documents(path, root, BundleInfo(name=f"{team}_dags", team=team))
            # At check and at the DAG processor (its manager decides; its parse child only on a callback run or
            # with the manager's point off): the example rollout denies at one and warns at the other.
            for d in parsed:
                documents.append((f"{team}/{d.dag.dag_id}@check", d))
                for point in ("dag_processor_manager", "dag_processor"):
                    documents.append(
                        (f"{team}/{d.dag.dag_id}@{point}", d.model_copy(update={"enforcement_point": point}))
                    )
    return documents


def _decided(decision: object) -> tuple[object, object]:
    # The policy revisions differ (the server's is a hash of its files, the bundle's its own): the rest may not.
    return decision.violations, decision.mutations  # type: ignore[attr-defined]


def test_every_golden_input_and_example_dag_gets_the_same_decision_from_both_engines(opa_url, wasm_bundle, tmp_path):
    """Violations (ids, messages, actions, exceptions) and mutations are equal on both engines."""
    from parse_overhead import _bench_documents

    server = OpaEvaluator(load_settings(environ={}, opa_url=opa_url))
    wasm = WasmEvaluator(wasm_bundle)
    bench = [
        (name, InputDocument.model_validate_json(p.read_text())) for name, p in _bench_documents(50, tmp_path).items()
    ]
    cases = _golden_documents() + _example_documents() + bench
    assert len(cases) > 40
    outcomes = set()
    for name, document in cases:
        on_server, in_process = server.evaluate(document), wasm.evaluate(document)
        assert _decided(in_process) == _decided(on_server), name
        outcomes.add((bool(on_server.violations), bool(on_server.mutations)))
        outcomes.update((v.effect, v.action) for v in on_server.violations)
    # The cases reach every kind of finding: rejected, mutated, warned and excepted.
    assert {(True, True), (False, True), ("excepted", "deny"), ("warn", "warn")} <= outcomes


def test_engine_wasm_decides_parse_time_points_in_process_and_server_points_on_the_server(wasm_bundle, monkeypatch):
    """With engine wasm, a parse-time decision needs no OPA (none runs at this URL); the manager's does."""
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__ENGINE", "wasm")
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__WASM_BUNDLE", str(wasm_bundle))
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__OPA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG", "none")
    reload_configuration()
    try:
        (name, document), *_ = _golden_documents()
        parse_time = decide(document.model_copy(update={"enforcement_point": "dag_processor"}))
        manager = decide(document.model_copy(update={"enforcement_point": "dag_processor_manager"}))
    finally:
        reload_configuration()
    assert parse_time.decided, (name, parse_time.error)
    assert (manager.outcome, "unreachable" in (manager.error or "")) == ("failed_closed", True)


def test_wasm_engine_in_forked_children_answers_each_its_own_document(wasm_bundle):
    """The DAG processor forks parse children from a manager that already decided: each child gets its own
    instance of the compiled policy and the decision on its own document."""
    wasm = WasmEvaluator(wasm_bundle)
    (_, template), *_ = _golden_documents()
    task = template.tasks[0] if template.tasks else None
    if task is None:
        pytest.skip("the first golden input has no task")

    def routed(task_id: str) -> set[str | None]:
        document = template.model_copy(
            update={"tasks": [task.model_copy(update={"task_id": task_id, "queue": "default"})]}
        )
        return {t for m in wasm.evaluate(document).mutations if m.field == "queue" for t in m.task_ids}

    assert routed("parent") == {"parent"}
    children = []
    for index in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            wrong = sum(routed(f"child{index}_{n}") != {f"child{index}_{n}"} for n in range(10))
            os._exit(min(wrong, 100))
        children.append(pid)
    parent_wrong = sum(routed(f"parent{n}") != {f"parent{n}"} for n in range(10))
    assert (parent_wrong, [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]) == (0, [0, 0, 0])


def test_an_error_a_host_builtin_did_not_expect_stops_that_decision_only(wasm_bundle, monkeypatch, tmp_path):
    """The error comes out of the evaluation as itself (not as a trap, not swallowed), and the next decision on
    the same instance is whole: json.patch, which the input document is handed to, breaks once."""
    from parse_overhead import _bench_documents

    from airflow_policies.decision import wasm as wasm_engine

    worst = InputDocument.model_validate_json(_bench_documents(50, tmp_path)["worst"].read_text())
    expected = WasmEvaluator(wasm_bundle).evaluate(worst)
    assert expected.mutations, "the worst-case document is routed, so json.patch runs"
    calls = []

    def breaks_once(instance: object, document: object, patches: object) -> object:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the patch broke")
        return wasm_engine._json_patch(instance, document, patches)

    monkeypatch.setitem(wasm_engine._HOST_BUILTINS, "json.patch", breaks_once)
    evaluator = WasmEvaluator(wasm_bundle)
    with pytest.raises(RuntimeError, match="the patch broke"):
        evaluator.evaluate(worst)
    assert _decided(evaluator.evaluate(worst)) == _decided(expected)
    assert calls == [0, 1]


def _rego_test_entrypoints() -> list[str]:
    """Every test rule of the rule library, as an entrypoint path (package/test_name)."""
    entrypoints = []
    for path in sorted(rego_library().rglob("*_test.rego")):
        text = path.read_text()
        package = re.search(r"^package (\S+)", text, re.MULTILINE)
        assert package, path
        names = sorted(set(re.findall(r"^(test_\w+)\b", text, re.MULTILINE)))
        entrypoints += [f"{package.group(1).replace('.', '/')}/{name}" for name in names]
    return entrypoints


def _parse_rfc3339_ns(instance: object, value: str) -> int:
    # The engine's own time.parse_ns, with the layout of the UTC ("Z") timestamps the tests pin the clock to.
    from airflow_policies.decision.wasm import _parse_ns

    return _parse_ns(instance, "2006-01-02T15:04:05Z", value)  # type: ignore[arg-type]


def test_every_rego_test_passes_in_the_in_process_engine(tmp_path, monkeypatch):
    """The Rego tests, compiled by the pinned OPA to its Wasm target with each test as an entrypoint, all pass
    in the engine engine: wasm runs: wasmtime and this package's own host built-ins (sprintf, json.patch, the
    time functions). `opa test --target wasm` (airflow-policies test) runs the same module in OPA's own Wasm
    runtime, whose built-ins are OPA's."""
    from airflow_policies.decision import wasm as wasm_engine

    entrypoints = _rego_test_entrypoints()
    assert len(entrypoints) > 100
    bundle = tmp_path / "tests.tar.gz"
    command = [str(opa_binary()), "build", "--target", "wasm", "--output", str(bundle), str(rego_library())]
    for entrypoint in entrypoints:
        command += ["--entrypoint", entrypoint]
    built = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    # Only the tests call it (to pin the clock); no rule does, so the engine itself does not provide it.
    monkeypatch.setitem(wasm_engine._HOST_BUILTINS, "time.parse_rfc3339_ns", _parse_rfc3339_ns)
    policy = WasmPolicy(*wasm_engine._read_bundle(bundle))

    failed = [e for e in entrypoints if policy.evaluate(b"{}", e) != {"result": True}]
    assert failed == []
