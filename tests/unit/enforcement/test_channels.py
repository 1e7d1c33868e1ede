"""The in-process channels' guard: which requests it decides, how, what the supervisor's client sends and
refuses, and how a changed Airflow internal closes the channel instead of opening it."""

from __future__ import annotations

import asyncio
import json
import logging
import types
import uuid

import httpx
import pytest
from airflow.api_fastapi.execution_api import security
from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI
from airflow.dag_processing.processor import DagFileProcessorProcess
from airflow.jobs.triggerer_job_runner import TriggerRunnerSupervisor

from airflow_policies.decision.models import Violation
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.document.models import BundleInfo
from airflow_policies.enforcement import channels, import_hooks
from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.enforcement.channels import (
    CALLER_HEADER,
    DECIDED_HEADER,
    Caller,
    ChannelGuard,
    ChannelUnguardedError,
)
from airflow_policies.enforcement.execution_api import CallVerdict
from airflow_policies.enforcement.runtime_calls import Call

TRIGGERER_A = Caller(point="triggerer", bundle=BundleInfo(name=None, team="team_a"))
DAG_FILE_A = Caller(point="dag_processor_channel", bundle=BundleInfo(name="team_a_dags", team="team_a"), file="etl.py")
IN_PROCESS = types.SimpleNamespace(dependency_overrides={security._jwt_bearer: object()})
API_SERVER = types.SimpleNamespace(dependency_overrides={})


def _serve(path, caller=TRIGGERER_A, method="GET", query=b"", headers=(), app=IN_PROCESS):
    reached: list[str] = []
    sent: list[dict] = []

    async def inner(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    all_headers = [(CALLER_HEADER.encode(), caller.header())] if caller else []
    all_headers.extend(headers)
    scope = {"type": "http", "path": path, "root_path": "", "headers": all_headers, "method": method,
             "query_string": query}  # fmt: skip
    asyncio.run(ChannelGuard(inner, execution_app=app)(scope, receive, send))
    return sent, reached


def _marked(sent: list[dict]) -> bool:
    return (DECIDED_HEADER.encode(), b"1") in sent[0]["headers"]


def _refusal(sent: list[dict]) -> str:
    assert sent[0]["status"] == 403 and _marked(sent)
    return json.loads(sent[1]["body"])["detail"]["message"]


@pytest.fixture
def judged(monkeypatch):
    """Refuses every call naming team B; task instance ids starting with 'b' are team B's."""
    calls: list[tuple[Caller, Call]] = []

    def judge(caller, call):
        calls.append((caller, call))
        foreign = any("team_b" in value for target in call.targets for value in target)
        return CallVerdict(not foreign, f"{caller.describe()} may not {call.describe()}: denied")

    def task_instance(task_instance_id, location):
        dag_id = "team_b__ledger" if task_instance_id.startswith("b") else "team_a__etl"
        return None if task_instance_id == "missing" else Call("task_instance", (("dag_id", dag_id),), location)

    monkeypatch.setattr(channels, "judge_channel_call", judge)
    monkeypatch.setattr(channels, "task_instance_call", task_instance)
    return calls


@pytest.mark.parametrize(
    ("method", "path", "query", "kind"),
    [
        ("GET", "/connections/team_b_warehouse", b"", "connection_read"),
        ("PUT", "/variables/team_b_secret", b"", "variable_write"),
        ("GET", "/xcoms/team_b__ledger/r/publish/return_value", b"", "dag_xcom"),
        ("POST", "/xcoms/team_b__ledger/r/publish/return_value", b"", "dag_xcom"),
        ("GET", "/task-instances/count", b"dag_id=team_a__etl&dag_id=team_b__ledger", "dag_state"),
        ("PATCH", "/hitlDetails/b0000000-0000-0000-0000-000000000000", b"", "task_instance"),
        ("GET", "/store/asset/by-uri/value", b"uri=s3://team_b/x&key=k", "asset_state"),
    ],
)
def test_each_call_reaching_team_b_is_decided_and_refused(judged, method, path, query, kind):
    sent, reached = _serve(path, method=method, query=query)
    assert not reached and "may not" in _refusal(sent)
    assert [(caller, call.kind) for caller, call in judged] == [(TRIGGERER_A, kind)]


def test_an_allowed_call_is_served_and_marked_decided(judged):
    sent, reached = _serve("/connections/team_a_postgres", caller=DAG_FILE_A)
    assert reached == ["/connections/team_a_postgres"] and sent[0]["status"] == 200 and _marked(sent)
    assert judged[0][0] == DAG_FILE_A


@pytest.mark.parametrize(
    ("path", "method", "fragment"),
    [
        ("/variables/keys", "GET", "refuses GET /variables/keys to team code"),  # every team's keys, here
        ("/connection-tests/x/connection", "GET", "refuses GET /connection-tests"),
        ("/nowhere", "GET", "does not know the Execution API route GET /nowhere"),
    ],
)
def test_what_the_channel_cannot_scope_to_a_team_is_refused(judged, path, method, fragment):
    sent, reached = _serve(path, method=method)
    assert not reached and fragment in _refusal(sent)


@pytest.mark.parametrize("path", ["/health", "/task-instances/missing/previous-successful-dagrun"])
def test_a_route_naming_nothing_is_served_undecided(judged, path):
    """Health, and a task instance the DB does not hold (the DAG processor asks with its own process id)."""
    sent, reached = _serve(path)
    assert reached and _marked(sent) and judged == []


@pytest.mark.parametrize(
    "headers",
    [
        [(CALLER_HEADER.encode(), b"not json")],
        [(CALLER_HEADER.encode(), DAG_FILE_A.header())],  # a second caller
        [(CALLER_HEADER.encode(), b'{"point": "execution_api", "bundle": {"name": null, "team": "team_b"}}')],
        [(CALLER_HEADER.encode(), b'{"point": "triggerer", "bundle": {"name": null, "team": "team_b"}, "x": 1}')],
    ],
)
def test_a_missing_repeated_or_foreign_caller_is_refused(judged, headers):
    caller = TRIGGERER_A if len(headers) == 1 and headers[0][1] == DAG_FILE_A.header() else None
    sent, reached = _serve("/connections/team_a_postgres", caller=caller, headers=headers)
    assert not reached and "malformed airflow-policies-caller" in _refusal(sent)


def test_a_repeated_header_either_reader_uses_is_refused(judged):
    version = [(b"airflow-api-version", b"2025-04-28"), (b"airflow-api-version", b"2026-06-30")]
    sent, reached = _serve("/connections/team_a_postgres", headers=version)
    assert not reached and "repeats airflow-api-version" in _refusal(sent)


def test_the_supervisors_own_call_and_the_api_server_are_left_alone(judged):
    """No caller: the supervisor's own request. On the API server's app the root guard decides (it reads the
    token), and a caller header from the network means nothing there."""
    for caller, app in ((None, IN_PROCESS), (TRIGGERER_A, API_SERVER)):
        sent, reached = _serve("/connections/team_b_warehouse", caller=caller, app=app)
        assert reached and not _marked(sent)
    assert judged == []


def test_a_channel_whose_internal_changed_refuses_everything(judged, monkeypatch):
    monkeypatch.setitem(channels._BROKEN, "triggerer", "cannot guard this channel")
    for caller in (TRIGGERER_A, None):
        sent, reached = _serve("/connections/team_a_postgres", caller=caller)
        assert not reached and _refusal(sent) == "cannot guard this channel"


def test_a_disabled_point_serves_its_channel_undecided(judged, monkeypatch):
    from airflow_policies.local.testing import reload_configuration

    monkeypatch.setenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS", '["triggerer"]')
    reload_configuration()
    try:
        sent, reached = _serve("/connections/team_b_warehouse")
    finally:
        monkeypatch.delenv("AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS")
        reload_configuration()
    assert reached and _marked(sent) and judged == []


# The supervisor's client: sends the caller bound while it serves a request, refuses an undecided answer.


def _client(handler) -> httpx.Client:
    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://in-process.invalid./")
    channels._guard_client(client)
    channels._guard_client(client)  # once only
    return client


def test_the_client_sends_the_bound_caller_and_requires_the_decision():
    seen: list[str | None] = []

    def handler(request):
        seen.append(request.headers.get(CALLER_HEADER))
        decided = {DECIDED_HEADER: "1"} if request.url.path == "/marked" else {}
        return httpx.Response(200, headers=decided)

    client = _client(handler)
    client.get("/own")  # nothing bound: the supervisor's own call
    with channels.serving(DAG_FILE_A):
        client.get("/marked")
        with pytest.raises(ChannelUnguardedError, match="answer to GET /bare: its guard did not decide it"):
            client.get("/bare")
    assert seen == [None, DAG_FILE_A.header().decode(), DAG_FILE_A.header().decode()]
    assert len(client.event_hooks["request"]) == 1


# judge_channel_call: the call is refused for what it adds to the channel's own document.


def _record(*violations: tuple[str, str], decided: bool = True) -> DecisionRecord:
    return DecisionRecord.model_validate(
        {
            "decision_id": str(uuid.uuid4()), "timestamp": "2026-12-04T00:00:00Z",
            "enforcement_point": "triggerer", "bundle": None, "team": "team_a", "dag_id": "airflow_policies.triggerer",
            "fileloc": None, "input_hash": "sha256:x", "policy_revision": None,
            "outcome": ("rejected" if violations else "admitted") if decided else "failed_closed",
            "violations": [
                Violation.model_validate(
                    {"rule": rule, "title": rule, "task_id": None, "message": message, "remediation": "r",
                     "details": {}, "action": "deny", "exception": None}
                ) for rule, message in violations
            ],
            "exceptions_applied": [], "mutations": [], "error": None if decided else "OPA down", "latency_ms": 1.0,
        }
    )  # fmt: skip


#: What judge_channel_call wrote to Airflow's audit log in the test.
recorded_refusals: list[RuntimeRefusal] = []


@pytest.fixture
def decisions(monkeypatch):
    """decide() answered by the test: the baseline gets the team layer's denial, calls get what they name."""
    documents = []

    def decide(document):
        documents.append(document)
        refs = [r.conn_id for t in document.tasks for r in t.connections]
        denials = [("team_a.every_task", "every task needs an owner")]
        denials += [("connections.foreign_connection", f"uses {ref}") for ref in refs if "team_b" in ref]
        return _record(*denials)

    monkeypatch.setattr(channels, "decide", decide)
    monkeypatch.setattr(channels, "DbAssets", lambda session: None)
    monkeypatch.setattr(channels, "record_refusal", recorded_refusals.append)
    channels.BASELINES.clear()
    channels.VERDICTS.clear()
    recorded_refusals.clear()
    yield documents
    channels.BASELINES.clear()
    channels.VERDICTS.clear()


def test_a_call_is_refused_for_what_it_adds_not_for_the_baseline(decisions):
    own = Call("connection_read", (("conn_id", "team_a_postgres"),), "Execution API GET /connections/{connection_id}")
    foreign = Call("connection_read", (("conn_id", "team_b_warehouse"),), own.location)
    assert channels.judge_channel_call(TRIGGERER_A, own).allowed
    verdict = channels.judge_channel_call(TRIGGERER_A, foreign)
    assert not verdict.allowed and verdict.message == (
        "a trigger run by the triggerer of team 'team_a' may not read connection 'team_b_warehouse': "
        "[connections.foreign_connection] uses team_b_warehouse"
    )
    assert channels.judge_channel_call(TRIGGERER_A, foreign) == verdict
    baseline, *calls = decisions
    assert (baseline.dag.dag_id, [t.task_id for t in baseline.tasks], baseline.enforcement_point) == (
        "airflow_policies.triggerer",
        ["team_code"],
        "triggerer",
    )
    assert len(calls) == 2  # one decision per distinct call; the baseline once
    # Recorded once (the repeat was the cached verdict), with the call's rule only: not the baseline's.
    assert recorded_refusals == [
        RuntimeRefusal(
            enforcement_point="triggerer",
            team="team_a",
            dag_id=None,
            task_id=None,
            rules=["connections.foreign_connection"],
            message=verdict.message,
        )
    ]


def test_an_undecided_baseline_refuses_the_call(monkeypatch):
    monkeypatch.setattr(channels, "decide", lambda document: _record(decided=False))
    channels.BASELINES.clear()
    call = Call("variable_read", (("variable", "team_a_threshold"),), "x")
    verdict = channels.judge_channel_call(DAG_FILE_A, call)
    assert not verdict.allowed and "could not decide on code of DAG file 'etl.py'" in verdict.message


# The wraps on the installed Airflow, and on a changed one.


def test_the_pinned_airflow_is_wrapped():
    assert TriggerRunnerSupervisor._handle_request.__wrapped__ is not None
    assert TriggerRunnerSupervisor.build_trigger_workloads.__wrapped__ is not None
    assert DagFileProcessorProcess._handle_request.__wrapped__ is not None
    assert any(m.cls is ChannelGuard for m in InProcessExecutionAPI().app.user_middleware)
    assert channels._BROKEN == {}


def test_a_changed_supervisor_closes_its_channel(caplog, monkeypatch):
    class ChangedSupervisor:
        team_name = None

        def _handle_request(self, msg, req_id):
            return msg

    changed = types.ModuleType("airflow.jobs.triggerer_job_runner")
    changed.TriggerRunnerSupervisor = ChangedSupervisor
    monkeypatch.setattr(channels, "_BROKEN", {})
    with caplog.at_level(logging.ERROR, logger="airflow_policies.enforcement.channels"):
        import_hooks._apply(changed, channels._wrap_triggerer, channels._skipped(("triggerer",)))
    assert "TriggerRunnerSupervisor(team_name, failed_triggers, client, build_trigger_workloads" in caplog.text
    assert "refuses every call of team code here" in channels._BROKEN["triggerer"]


# The triggerer decides every trigger before its runner imports it, whoever created it.


def test_the_triggerer_runs_only_the_triggers_it_may_and_fails_the_others(judged, monkeypatch):
    from airflow.executors.workloads import RunTrigger
    from airflow.models.trigger import Trigger

    def workload(trigger_id, classpath, kwargs):
        return RunTrigger(id=trigger_id, classpath=classpath, encrypted_kwargs=Trigger.encrypt_kwargs(kwargs))

    own = workload(1, "team_a_triggers.Poll", {"conn_id": "team_a_postgres"})
    foreign_conn = workload(2, "team_a_triggers.Poll", {"conn_id": "team_b_warehouse"})
    callback = workload(3, "airflow.triggers.callback.CallbackTrigger", {"callback_path": "team_b_callbacks.x"})
    unreadable = RunTrigger(id=4, classpath="team_a_triggers.Poll", encrypted_kwargs="not fernet")
    supervisor = types.SimpleNamespace(team_name="team_a", failed_triggers=[])
    admitted = channels.admitted_workloads(supervisor, [own, foreign_conn, callback, unreadable])
    assert [w.id for w in admitted] == [1]
    assert [trigger_id for trigger_id, _ in supervisor.failed_triggers] == [2, 3, 4]
    assert "could not decide (fail closed)" in supervisor.failed_triggers[2][1][0]
    assert {(caller, call.location) for caller, call in judged} == {
        (TRIGGERER_A, "trigger 1"), (TRIGGERER_A, "trigger 2"), (TRIGGERER_A, "trigger 3"),
    }  # fmt: skip
    (callback_call,) = [call for _, call in judged if call.location == "trigger 3"]
    assert ("trigger_callable", "airflow.triggers.callback.CallbackTrigger", "callback_path", "team_b_callbacks.x") in (
        callback_call.targets
    )
