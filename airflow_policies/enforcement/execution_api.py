"""Check each connection and variable a running task reads through the Execution API.

A running task reads a connection or variable with ``GET /execution/connections/{id}`` or
``/execution/variables/{key}`` on the API server, authenticated by a token whose subject is its task
instance. :class:`ReadGuardMiddleware`, installed in front of the API server's root app by the plugin
(:mod:`airflow_policies.enforcement.plugin`), asks for a decision at enforcement point ``execution_api`` before
Airflow serves the read. The document is the task's DAG as serialized for that task instance's DAG
version, with the read added to the task as a ``runtime`` reference; the read is refused (HTTP 403, with
the decision's message) when the decision rejects, so a rule sees which team, DAG and task is asking.

The token is not verified here: the guard only ever refuses, and Airflow's own route still verifies the
token of every request the guard lets through. Reads a task makes without the API server (a
``[workers] secrets_backend``, ``AIRFLOW_CONN_*`` in the worker's environment) and lookups by the triggerer
and DAG-processor (in-process Execution API) never reach it (``docs/enforcement-points.md``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

import anyio.to_thread

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import decide
from airflow_policies.decision.teams import bundle_info_from_db
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import ConnectionReference, EnforcementPoint, InputDocument, VariableReference
from airflow_policies.enforcement.enforce import rejection_message

__all__ = ["VERDICTS", "ReadGuardMiddleware", "judge_read"]

log = logging.getLogger(__name__)

_POINT: EnforcementPoint = "execution_api"
_READS = re.compile(r"^/execution/(?P<kind>connections|variables)/(?P<key>.+)$")
_LOCATION = "Execution API read"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ReadVerdict(NamedTuple):
    """Whether a read may go on, and if not, why."""

    allowed: bool
    message: str


#: (task instance id, connections|variables, key) -> the verdict on that read.
VERDICTS: TtlCache[tuple[uuid.UUID, str, str], ReadVerdict] = TtlCache(lambda: settings().decision_cache_seconds)


def _subject(authorization: str) -> uuid.UUID | None:
    """The unverified ``sub`` claim of a bearer JWT (the task instance id), or ``None``."""
    scheme, _, token = authorization.partition(" ")
    parts = token.split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    try:
        return uuid.UUID(subject) if isinstance(subject, str) else None
    except ValueError:
        return None


def _with_read(document: InputDocument, task_id: str, kind: str, key: str) -> InputDocument:
    def add(task: Any) -> Any:  # noqa: ANN401 - a TaskInfo
        if kind == "connections":
            connection = ConnectionReference(
                conn_id=key, verifiable=True, raw=key, source="runtime", location=_LOCATION
            )
            return task.model_copy(update={"connections": [*task.connections, connection]})
        variable = VariableReference(key=key, verifiable=True, raw=key, source="runtime", location=_LOCATION)
        return task.model_copy(update={"variables": [*task.variables, variable]})

    return document.model_copy(update={"tasks": [add(t) if t.task_id == task_id else t for t in document.tasks]})


def judge_read(task_instance_id: uuid.UUID, kind: str, key: str) -> ReadVerdict:
    """Decide whether the task instance may read connection/variable ``key`` (``kind``: connections|variables)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    cached = VERDICTS.get((task_instance_id, kind, key))
    if cached is not None:
        return cached
    with create_session() as session:
        task_instance = session.scalar(select(TaskInstance).where(TaskInstance.id == task_instance_id))
        if task_instance is None:
            return ReadVerdict(False, f"airflow-policies: unknown task instance {task_instance_id}")
        bundle_name = session.scalar(select(DagModel.bundle_name).where(DagModel.dag_id == task_instance.dag_id))
        dag = DBDagBag().get_dag(task_instance.dag_version_id, session=session)
        if dag is None:
            return ReadVerdict(False, f"airflow-policies: no serialized DAG for task instance {task_instance_id}")
        bundle = bundle_info_from_db(bundle_name, session)
    document = build_input(dag, bundle=bundle, enforcement_point=_POINT)
    record = decide(_with_read(document, task_instance.task_id, kind, key))
    what = "connection" if kind == "connections" else "variable"
    verdict = ReadVerdict(
        record.admitted,
        f"task '{task_instance.task_id}' may not read {what} '{key}': {rejection_message(record)}",
    )
    if record.decided:
        VERDICTS.put((task_instance_id, kind, key), verdict)
    return verdict


class ReadGuardMiddleware:
    """ASGI middleware: refuse (403) the Execution API reads the policy rejects; pass everything else on."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = _READS.match(scope.get("path", "")) if scope["type"] == "http" else None
        if read is None or (read["kind"] == "variables" and read["key"] == "keys") or not settings().enabled(_POINT):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        subject = _subject(headers.get("authorization", ""))
        if subject is None:  # no task identity: Airflow's own authentication refuses the request
            await self.app(scope, receive, send)
            return
        try:
            verdict = await anyio.to_thread.run_sync(judge_read, subject, read["kind"], read["key"])
        except Exception as exc:
            # An error here would be an HTTP 500, which the task's client retries and then reads as "not found".
            log.exception("airflow-policies could not decide on an Execution API read")
            mode = settings().failure_mode_at(_POINT)
            verdict = ReadVerdict(
                mode == "open",
                f"airflow-policies could not decide on this read (fail {mode}): {type(exc).__name__}: {exc}",
            )
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": {"reason": "airflow_policies", "message": verdict.message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
