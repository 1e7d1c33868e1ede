"""The Execution API read guard as ASGI middleware: which requests it judges, and what a refusal looks like."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest

from airflow_policies.enforcement import execution_api
from airflow_policies.enforcement.execution_api import ReadGuardMiddleware, ReadVerdict

TI_ID = uuid.UUID("01a21175-87f4-7654-ab05-3aa85adddcf5")


def _token(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"Bearer {part({'alg': 'HS512'})}.{part(claims)}.signature"


def _call(path: str, authorization: str | None) -> tuple[list[dict], bool]:
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    headers = [(b"authorization", authorization.encode())] if authorization else []
    scope = {"type": "http", "path": path, "headers": headers, "method": "GET"}
    asyncio.run(ReadGuardMiddleware(app)(scope, receive, send))
    return sent, bool(reached)


@pytest.fixture
def judged(monkeypatch):
    calls = []

    def judge(task_instance_id, kind, key):
        calls.append((task_instance_id, kind, key))
        return ReadVerdict(key != "team_b_warehouse", f"task 't' may not read connection '{key}': denied")

    monkeypatch.setattr(execution_api, "judge_read", judge)
    return calls


def test_a_refused_read_is_a_403_with_the_policy_message(judged):
    sent, reached = _call("/execution/connections/team_b_warehouse", _token({"sub": str(TI_ID)}))
    assert not reached
    assert sent[0]["status"] == 403
    body = json.loads(sent[1]["body"])
    assert body == {"detail": {"reason": "airflow_policies", "message": "task 't' may not read connection "
                                                                       "'team_b_warehouse': denied"}}  # fmt: skip
    assert judged == [(TI_ID, "connections", "team_b_warehouse")]


def test_an_allowed_read_reaches_airflow(judged):
    sent, reached = _call("/execution/variables/team_a/threshold", _token({"sub": str(TI_ID)}))
    assert reached and not sent
    assert judged == [(TI_ID, "variables", "team_a/threshold")]


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/execution/task-instances/x/run", "token"),  # not a read
        ("/execution/variables/keys", "token"),  # listing keys, not a value
        ("/api/v2/connections/team_b_warehouse", "token"),  # the UI/REST API, governed by the auth manager
        ("/execution/connections/team_b_warehouse", None),  # no identity: Airflow's own auth refuses it
        ("/execution/connections/team_b_warehouse", "Bearer not-a-jwt"),
    ],
)
def test_what_the_guard_leaves_to_airflow(judged, path, authorization):
    token = _token({"sub": str(TI_ID)}) if authorization == "token" else authorization
    sent, reached = _call(path, token)
    assert reached and not sent and judged == []


def test_an_error_while_deciding_fails_closed_not_500(monkeypatch):
    def broken(*_):
        raise RuntimeError("DB gone")

    monkeypatch.setattr(execution_api, "judge_read", broken)
    sent, reached = _call("/execution/connections/team_a_postgres", _token({"sub": str(TI_ID)}))
    assert not reached and sent[0]["status"] == 403
    assert "could not decide on this read (fail closed): RuntimeError: DB gone" in sent[1]["body"].decode()
