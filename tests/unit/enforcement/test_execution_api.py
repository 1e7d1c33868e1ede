"""The Execution API guard as ASGI middleware: which requests it judges, what a refusal looks like, how a
refused state update fails the task instance, and how verdicts are reused."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import contextmanager

import jwt
import pytest
from fastapi import FastAPI, Request
from starlette.testclient import TestClient

from airflow_policies.decision.models import Violation
from airflow_policies.document.models import BundleInfo
from airflow_policies.enforcement import execution_api
from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.enforcement.execution_api import (
    DOCUMENTS,
    IDENTITIES,
    VERDICTS,
    CallVerdict,
    ExecutionApiGuard,
    TaskIdentity,
    judge_call,
)
from airflow_policies.enforcement.runtime_calls import Call
from airflow_policies.local.testing import reload_configuration
from tests.unit.enforcement.documents import document

TI_ID = uuid.UUID("01a21175-87f4-7654-ab05-3aa85adddcf5")
OTHER_TI = uuid.UUID("01a21175-87f4-7654-ab05-000000000000")


def _token(claims: dict) -> str:
    return f"Bearer {jwt.encode(claims, 'not-the-deployment-secret-' + '0' * 40, algorithm='HS512')}"


TOKEN = _token({"sub": str(TI_ID)})


class Reached:
    """What the app behind the guard was asked: path, method, body, as it read them."""

    def __init__(self, status: int = 204) -> None:
        self.requests: list[tuple[str, bytes, dict]] = []
        self.status = status

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests.append((scope["path"], body, dict(scope["headers"])))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(path, authorization=TOKEN, method="GET", query=b"", body=b"", split=False, extra_headers=(), root_path=""):
    app = Reached()
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    parts = [body[: len(body) // 2], body[len(body) // 2 :]] if split else [body]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    headers = [(b"authorization", authorization.encode())] if authorization else []
    headers.append((b"content-length", str(len(body)).encode()))
    headers.extend(extra_headers)
    scope = {
        "type": "http", "path": path, "root_path": root_path, "headers": headers, "method": method,
        "query_string": query,
    }  # fmt: skip
    asyncio.run(ExecutionApiGuard(app)(scope, receive, send))
    return sent, app.requests


def _refusal(sent: list[dict]) -> str:
    assert sent[0]["status"] == 403
    body = json.loads(sent[1]["body"])
    assert body["detail"]["reason"] == "airflow_policies"
    return body["detail"]["message"]


@pytest.fixture
def judged(monkeypatch):
    """judge_call replaced: refuses anything naming team B, records each call."""
    calls: list[tuple[uuid.UUID, Call]] = []

    def judge(task_instance_id, call):
        calls.append((task_instance_id, call))
        foreign = any("team_b" in value or "team-b" in value for target in call.targets for value in target)
        return CallVerdict(not foreign, f"task 't' may not {call.describe()}: denied")

    monkeypatch.setattr(execution_api, "judge_call", judge)
    yield calls
    for cache in (IDENTITIES, DOCUMENTS, VERDICTS):
        cache.clear()


def test_a_refused_read_is_a_403_with_the_policy_message(judged):
    sent, reached = _call("/execution/connections/team_b_warehouse")
    assert not reached
    assert _refusal(sent) == "task 't' may not read connection 'team_b_warehouse': denied"
    assert [(ti, c.kind, c.targets) for ti, c in judged] == [
        (TI_ID, "connection_read", (("conn_id", "team_b_warehouse"),))
    ]


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/execution/dag-runs/team_b__ledger/manual__1", b""),
        ("GET", "/execution/dag-runs/count", b"dag_id=team_a__etl&dag_id=team_b__ledger"),
        ("GET", "/execution/asset-events/by-asset", b"uri=s3%3A%2F%2Fteam-b%2Fledger"),
        ("PUT", "/execution/store/asset/by-uri/value", b"uri=s3://team-b/x&key=k"),
        ("DELETE", "/execution/variables/team_b_token", b""),
    ],
)
def test_every_decided_family_is_refused_when_it_reaches_team_b(judged, method, path, query):
    sent, reached = _call(path, method=method, query=query)
    assert not reached and sent[0]["status"] == 403


def test_an_allowed_call_reaches_airflow(judged):
    sent, reached = _call("/execution/variables/team_a/threshold")
    assert [path for path, _, _ in reached] == ["/execution/variables/team_a/threshold"] and sent[0]["status"] == 204
    assert judged[0][1].targets == (("variable", "team_a/threshold"),)


@pytest.mark.parametrize(
    ("path", "authorization", "method"),
    [
        ("/execution/variables/keys", TOKEN, "GET"),  # a listing Airflow scopes to the team itself
        ("/execution/xcoms/team_b__x/r/t/return_value", TOKEN, "GET"),  # Airflow's own team check
        ("/execution/health", TOKEN, "GET"),
        ("/execution/connection-tests/0190/connection", TOKEN, "GET"),  # a connection test's token
        (f"/execution/task-instances/{TI_ID}/heartbeat", TOKEN, "PUT"),  # its own task instance
        ("/api/v2/connections/team_b_warehouse", TOKEN, "GET"),  # the UI/REST API, the auth manager's
        ("/health", None, "GET"),
        ("//execution/connections/team_b_warehouse", TOKEN, "GET"),  # Starlette routes it to no mount
    ],
)
def test_what_the_guard_leaves_to_airflow(judged, path, authorization, method):
    sent, reached = _call(path, authorization, method)
    assert reached and sent[0]["status"] == 204 and judged == []


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/execution/connections/team_b_warehouse", None),
        ("/execution/connections/team_b_warehouse", "Bearer not-a-jwt"),
        ("/execution/connections/team_b_warehouse", "Basic " + TOKEN.split()[1]),
        ("/execution/connections/team_b_warehouse", _token({"sub": "not-a-uuid"})),
        ("/execution/connections/team_b_warehouse", _token({"sub": 7})),
        ("/execution/connections/team_b_warehouse", _token({"scope": "execution"})),
        ("/execution/variables/keys", None),  # even a route Airflow checks itself needs a task
    ],
)
def test_a_request_the_guard_cannot_attribute_to_a_task_is_refused(judged, path, authorization):
    """Refused, not passed on: Airflow may read a credential the guard cannot, so its own refusal is not relied on."""
    sent, reached = _call(path, authorization)
    assert not reached and "names no task instance" in _refusal(sent) and judged == []


@pytest.mark.parametrize(
    "authorization",
    [
        "bearer  " + TOKEN.split()[1],  # scheme in any case, credentials stripped, as FastAPI's HTTPBearer reads them
        TOKEN + "  ",
        _token({"sub": str(TI_ID).upper()}),  # every spelling pydantic reads as this UUID
        _token({"sub": str(TI_ID).replace("-", "")}),
        _token({"sub": "urn:uuid:" + str(TI_ID)}),
        _token({"sub": "{" + str(TI_ID) + "}"}),
    ],
)
def test_the_credential_is_read_as_airflow_reads_it(judged, authorization):
    sent, reached = _call("/execution/connections/team_b_warehouse", authorization)
    assert not reached and _refusal(sent).startswith("task 't' may not read")
    assert [ti for ti, _ in judged] == [TI_ID]


@pytest.mark.parametrize("header", ["authorization", "airflow-api-version", "content-type", "content-encoding"])
@pytest.mark.parametrize("junk_first", [True, False])
def test_a_request_repeating_a_header_either_reader_uses_is_refused(judged, header, junk_first):
    """A junk copy before or after the real one: Starlette hands Airflow the first, so no copy is ever chosen."""
    value = {"authorization": TOKEN, "airflow-api-version": "2025-04-28"}.get(header, "application/json")
    copies = [(header.encode(), b"junk"), (header.encode(), value.encode())]
    sent, reached = _call("/execution/connections/team_a_postgres", extra_headers=copies[:: -1 if junk_first else 1])
    assert not reached and _refusal(sent) == f"airflow-policies refuses an Execution API request that repeats {header}"
    assert judged == []


@pytest.mark.parametrize(
    ("root_path", "path"),
    [
        ("/airflow", "/airflow/execution/connections/team_b_warehouse"),  # [api] base_url http://host/airflow
        ("/a/b", "/a/b/execution/connections/team_b_warehouse"),
        ("", "/execution/connections/team_b_warehouse"),
    ],
)
def test_the_execution_api_is_guarded_however_the_api_server_is_mounted(judged, root_path, path):
    sent, reached = _call(path, root_path=root_path)
    assert not reached and _refusal(sent).startswith("task 't' may not read connection 'team_b_warehouse'")


def test_the_guard_reads_each_path_as_starlette_routes_it():
    """Against a real FastAPI app mounted as Airflow mounts the Execution API: for every path and base path, the
    guard finds the Execution API path exactly when the mounted app is reached, and the same path it routes."""
    paths = [
        "/execution/connections/c", "/airflow/execution/connections/c", "/airflow/execution", "/airflow/execution/",
        "/airflowexecution/connections/c", "/airflow/airflow/execution/x", "/execution//connections/c",
        "//execution/connections/c", "/execution/%2e%2e/connections/c", "/x/../execution/connections/c",
        "/execution/task-instances/1/run", "/EXECUTION/connections/c", "/airflow/x/execution/connections/c",
    ]  # fmt: skip
    seen: list[str | None] = []
    routed: list[str] = []
    for root_path in ("", "/airflow", "/airflow/x"):
        execution = FastAPI()

        @execution.api_route("/{rest:path}", methods=["GET"])
        def inner(rest: str) -> dict[str, str]:
            routed.append("/" + rest)
            return {}

        app = FastAPI(root_path=root_path)
        app.mount("/execution", execution)

        @app.middleware("http")
        async def guard_view(request: Request, call_next):
            seen.append(execution_api._execution_path(request.scope))
            return await call_next(request)

        client = TestClient(app, root_path="", follow_redirects=False)
        for path in paths:
            seen.clear(), routed.clear()
            client.get(path)
            assert seen == [routed[0] if routed else None], (root_path, path, seen, routed)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/execution/hitlDetails/{OTHER_TI}"),
        ("PUT", f"/execution/store/ti/{OTHER_TI}/cursor"),
        ("PATCH", f"/execution/task-instances/{OTHER_TI}/state"),
        ("GET", f"/execution/task-reschedules/{OTHER_TI}/start_date"),
    ],
)
def test_a_route_keyed_by_another_task_instance_is_refused_without_a_decision(judged, method, path):
    sent, reached = _call(path, method=method)
    assert not reached and judged == []
    assert _refusal(sent) == f"airflow-policies: task instance {TI_ID} may only act on itself, not on {OTHER_TI}"


def test_an_unknown_route_is_refused_fail_closed(judged):
    sent, reached = _call("/execution/task-instances/count/new-thing")
    assert not reached and judged == []
    assert "does not know the Execution API route GET /execution/task-instances/count/new-thing" in _refusal(sent)


@contextmanager
def _configured(monkeypatch, name: str, value: str):
    """Settings with one variable set, read afresh, and restored afterwards."""
    monkeypatch.setenv(name, value)
    reload_configuration()
    try:
        yield
    finally:
        monkeypatch.delenv(name)
        reload_configuration()


def test_an_unknown_route_passes_when_the_point_fails_open(judged, monkeypatch):
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE", '{"execution_api": "open"}'):
        sent, reached = _call("/execution/task-instances/count/new-thing")
    assert reached and sent[0]["status"] == 204


def test_a_disabled_point_decides_nothing(judged, monkeypatch):
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS", '["execution_api"]'):
        _, reached = _call("/execution/connections/team_b_warehouse")
    assert reached and judged == []


def test_an_error_while_deciding_fails_closed_not_500(monkeypatch):
    def broken(*_):
        raise RuntimeError("DB gone")

    monkeypatch.setattr(execution_api, "judge_call", broken)
    sent, reached = _call("/execution/connections/team_a_postgres")
    assert not reached
    assert "could not decide on this call (fail closed): RuntimeError: DB gone" in _refusal(sent)


def _state(**payload) -> bytes:
    return json.dumps({"end_date": "2026-01-01T00:00:00Z", **payload}).encode()


STATE_PATH = f"/execution/task-instances/{TI_ID}/state"


@pytest.mark.parametrize("split", [False, True])
def test_an_allowed_state_update_reaches_airflow_byte_for_byte(judged, split):
    body = _state(state="success", task_outlets=[{"name": "a", "uri": "s3://team-a/a", "type": "Asset"}])
    sent, reached = _call(STATE_PATH, method="PATCH", body=body, split=split)
    assert [(path, seen) for path, seen, _ in reached] == [(STATE_PATH, body)]
    assert sent[0]["status"] == 204 and judged[0][1].kind == "asset_produce"


def test_a_refused_success_fails_the_task_instance_instead_and_answers_403(judged):
    """Airflow is asked to fail the task instance (no asset event is recorded), the worker is told why."""
    body = _state(
        state="success",
        task_outlets=[{"name": "l", "uri": "s3://team-b/ledger", "type": "Asset"}],
        rendered_map_index="3",
    )
    sent, reached = _call(STATE_PATH, method="PATCH", body=body)
    ((path, forwarded, headers),) = reached
    assert path == STATE_PATH
    assert json.loads(forwarded) == {"state": "failed", "end_date": "2026-01-01T00:00:00Z", "rendered_map_index": "3"}
    assert headers[b"content-length"] == str(len(forwarded)).encode()
    assert _refusal(sent).startswith("task 't' may not report asset events for asset 's3://team-b/ledger'")


def test_a_refused_deferral_fails_the_task_instance_with_a_fresh_end_date(judged):
    body = json.dumps(
        {
            "state": "deferred",
            "classpath": "probe.T",
            "trigger_kwargs": {"conn_id": "team_b_api"},
            "next_method": "done",
        }
    ).encode()
    sent, reached = _call(STATE_PATH, method="PATCH", body=body)
    ((_, forwarded, _),) = reached
    failure = json.loads(forwarded)
    assert failure["state"] == "failed" and failure["end_date"] and set(failure) == {"state", "end_date"}
    assert "defer to trigger 'probe.T', trigger 'probe.T' with connection 'team_b_api' (conn_id)" in _refusal(sent)


def test_a_state_update_that_names_nothing_is_not_decided(judged):
    body = _state(state="failed")
    _, reached = _call(STATE_PATH, method="PATCH", body=body)
    assert [seen for _, seen, _ in reached] == [body] and judged == []


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_an_oversized_state_update_fails_the_task_even_failing_open(judged, monkeypatch, mode):
    """The task sizes its own body: failure_mode open never admits one unchecked."""
    monkeypatch.setattr(execution_api, "MAX_BODY_BYTES", 10)
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE", f'{{"execution_api": "{mode}"}}'):
        sent, reached = _call(STATE_PATH, method="PATCH", body=_state(state="success"))
    assert _refusal(sent) == "airflow-policies refuses a state update of more than 10 bytes"
    assert [json.loads(body)["state"] for _, body, _ in reached] == ["failed"]


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_a_call_naming_too_many_things_is_refused_undecided(judged, monkeypatch, mode):
    monkeypatch.setattr(execution_api, "MAX_CALL_TARGETS", 3)
    outlets = [{"name": f"a{n}", "uri": f"s3://team-a/{n}", "type": "Asset"} for n in range(4)]
    with _configured(monkeypatch, "AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE", f'{{"execution_api": "{mode}"}}'):
        sent, reached = _call(STATE_PATH, method="PATCH", body=_state(state="success", task_outlets=outlets))
        query = b"&".join(b"dag_id=team_a__%d" % n for n in range(4))
        read_sent, read_reached = _call("/execution/dag-runs/count", query=query)
    assert "names 4 things, over the limit of 3" in _refusal(sent)
    assert [json.loads(body)["state"] for _, body, _ in reached] == ["failed"]
    assert "names 4 things" in _refusal(read_sent) and not read_reached
    assert judged == []


# judge_call itself, on a fake metadata DB: identity, document and decision are each computed once.


class FakeRecord:
    def __init__(self, admitted: bool, decided: bool = True) -> None:
        self.admitted, self.decided = admitted, decided
        rule = Violation(rule="connections.foreign_connection", message="m", action="deny")
        self.violations = [] if admitted else [rule]


@pytest.fixture
def refusals(monkeypatch) -> list[RuntimeRefusal]:
    """What judge_call writes to Airflow's audit log."""
    recorded: list[RuntimeRefusal] = []
    monkeypatch.setattr(execution_api, "record_refusal", recorded.append)
    return recorded


@pytest.fixture
def fake_db(monkeypatch, refusals):
    """A task instance of team A's task 'caller'; decide() refuses documents that reach team B."""
    identity = TaskIdentity("team_a__etl", "caller", uuid.uuid4(), BundleInfo(name="team_a_dags", team="team_a"))
    lookups, decided = [], []

    @contextmanager
    def session():
        yield object()

    def identity_of(task_instance_id, _session):
        lookups.append(task_instance_id)
        return identity if task_instance_id == TI_ID else None

    def decide(document):
        decided.append(document)
        refs = [r.conn_id for t in document.tasks for r in t.connections]
        return FakeRecord("team_b_warehouse" not in refs)

    monkeypatch.setattr("airflow.utils.session.create_session", session)
    monkeypatch.setattr(execution_api, "_identity", identity_of)
    monkeypatch.setattr(execution_api, "decide", decide)
    monkeypatch.setattr(execution_api, "rejection_message", lambda record: "broken rule")
    DOCUMENTS.put((identity.dag_version_id, identity.bundle), document("caller"))
    yield lookups, decided
    for cache in (IDENTITIES, DOCUMENTS, VERDICTS):
        cache.clear()


def test_judge_call_decides_the_dag_with_the_call_added_once_per_task_and_call(fake_db):
    _, decided = fake_db
    read = Call("connection_read", (("conn_id", "team_b_warehouse"),), "Execution API GET /connections/{connection_id}")
    first, second = judge_call(TI_ID, read), judge_call(TI_ID, read)
    assert (
        first == second == CallVerdict(False, "task 'caller' may not read connection 'team_b_warehouse': broken rule")
    )
    (document,) = decided
    assert [(r.conn_id, r.source) for r in document.tasks[0].connections] == [("team_b_warehouse", "runtime")]
    assert judge_call(TI_ID, Call("connection_read", (("conn_id", "team_a_postgres"),), "x")).allowed
    assert len(decided) == 2


def test_each_decided_refusal_is_recorded_once_for_the_audit_log(fake_db, refusals):
    """The refusal is recorded with the caller's team, DAG, task and rules; its cached repeat is not recorded again,
    and an admitted call is not recorded at all."""
    read = Call("connection_read", (("conn_id", "team_b_warehouse"),), "x")
    judge_call(TI_ID, read), judge_call(TI_ID, read)
    judge_call(TI_ID, Call("connection_read", (("conn_id", "team_a_postgres"),), "x"))
    assert refusals == [
        RuntimeRefusal(
            enforcement_point="execution_api",
            team="team_a",
            dag_id="team_a__etl",
            task_id="caller",
            rules=["connections.foreign_connection"],
            message="task 'caller' may not read connection 'team_b_warehouse': broken rule",
        )
    ]


def test_an_undecided_verdict_is_not_reused(fake_db, monkeypatch):
    _, decided = fake_db
    monkeypatch.setattr(execution_api, "decide", lambda document: decided.append(document) or FakeRecord(False, False))
    read = Call("connection_read", (("conn_id", "team_a_postgres"),), "x")
    assert not judge_call(TI_ID, read).allowed and not judge_call(TI_ID, read).allowed
    assert len(decided) == 2


def test_an_unknown_task_instance_is_refused(fake_db):
    verdict = judge_call(OTHER_TI, Call("dag_state", (("dag_id", "team_a__etl"),), "x"))
    assert verdict == CallVerdict(False, f"airflow-policies: unknown task instance {OTHER_TI}")


def test_a_task_missing_from_its_dag_version_is_refused(fake_db, monkeypatch):
    monkeypatch.setattr(
        execution_api,
        "_identity",
        lambda *_: TaskIdentity("team_a__etl", "gone", uuid.uuid4(), BundleInfo(name="b", team="team_a")),
    )
    monkeypatch.setattr(execution_api, "_document", lambda *_: document("caller"))
    verdict = judge_call(TI_ID, Call("dag_state", (("dag_id", "team_a__etl"),), "x"))
    assert not verdict.allowed and "task 'gone' is not in its DAG version" in verdict.message


def test_a_cached_verdict_is_served_without_a_thread_or_the_db(judged):
    identity = TaskIdentity("team_a__etl", "caller", uuid.uuid4(), BundleInfo(name="team_a_dags", team="team_a"))
    IDENTITIES.put(TI_ID, identity)
    call = Call("connection_read", (("conn_id", "team_b_warehouse"),), "Execution API GET /connections/{connection_id}")
    VERDICTS.put((identity.dag_version_id, "caller", identity.bundle, call), CallVerdict(True, "cached"))
    _, reached = _call("/execution/connections/team_b_warehouse")
    assert reached and judged == []
