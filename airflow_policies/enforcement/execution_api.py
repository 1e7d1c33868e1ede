"""Decide every Execution API call a running task makes, with the DAG's own policy, before Airflow serves it.

A running task reaches the API server at ``/execution/...`` with a token whose subject is its task instance.
:class:`ExecutionApiGuard`, installed in front of the API server's root app by the plugin
(:mod:`airflow_policies.enforcement.plugin`), matches each request against the route table
(:mod:`airflow_policies.enforcement.execution_routes`) and decides as the route's row says:

- a call that names something another team may own (a connection, a Variable, a DAG, an asset, an asset's
  state store, the assets a finishing task reports events for, the connections of the trigger it defers to)
  is decided at enforcement point ``execution_api``: the document is the task's DAG as serialized for its task
  instance's DAG version, with the call added to the task as ``runtime`` references
  (:mod:`airflow_policies.enforcement.runtime_calls`), so the same rules judge it;
- a route keyed by a task instance id serves only the token's own task instance;
- a route Airflow checks itself (XComs, the Variable key listing) or that names nothing is left to Airflow;
- a route the table does not know is refused, so an upgrade cannot open a door silently.

A refusal is HTTP 403 with the decision's message. A refused state update (success reporting another team's
assets, or a deferral to a trigger with another team's connection) is turned into the task instance's failure,
so no asset event and no trigger is recorded and the task does not hang in ``running``; its log shows the 403.

The token is not verified here: the guard only ever refuses, and Airflow's own route still verifies the token
of every request the guard lets through. Calls that never reach the API server (a ``[workers]
secrets_backend``, ``AIRFLOW_CONN_*`` in the worker's environment, the triggerer's and DAG processor's
in-process Execution API) are not seen (``docs/enforcement-points.md``).
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import anyio.to_thread
import pydantic
from starlette._utils import get_route_path

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import decide
from airflow_policies.decision.teams import bundle_info_from_db
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, EnforcementPoint, InputDocument
from airflow_policies.enforcement.audit_log import RuntimeRefusal, record_refusal
from airflow_policies.enforcement.enforce import rejection_message
from airflow_policies.enforcement.execution_routes import RouteMatch, match_route
from airflow_policies.enforcement.runtime_calls import Call, call_of, with_call

__all__ = [
    "DOCUMENTS",
    "IDENTITIES",
    "MAX_CALL_TARGETS",
    "SINGLE_HEADERS",
    "VERDICTS",
    "CallVerdict",
    "DbAssets",
    "ExecutionApiGuard",
    "TaskIdentity",
    "cached_verdict",
    "header_values",
    "judge_call",
    "oversized",
    "refuse",
    "repeated_headers",
]

log = logging.getLogger(__name__)

_POINT: EnforcementPoint = "execution_api"
_PREFIX = "/execution"
#: Largest request body the guard reads (a state update's outlet events); a larger one is refused.
MAX_BODY_BYTES = 32 * 1024 * 1024
#: Headers the guard or Airflow reads to decide who calls, which API version serves the call and how its body
#: is read. Starlette hands Airflow the first of repeated values: a request repeating one is refused, so the two
#: can never read different ones.
SINGLE_HEADERS = ("authorization", "airflow-api-version", "content-type", "content-encoding")
#: Most names one call may carry into a decision (assets a success reports, connections a deferral names, values
#: of a repeated query parameter): the task sizes the document, so a larger one is refused rather than sent.
MAX_CALL_TARGETS = 1_000
_UUID: pydantic.TypeAdapter[uuid.UUID] = pydantic.TypeAdapter(uuid.UUID)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class CallVerdict(NamedTuple):
    """Whether a call may go on, and if not, why."""

    allowed: bool
    message: str


class TaskIdentity(NamedTuple):
    """Who is calling, from the metadata DB: the task of a task instance, its DAG version, bundle and team."""

    dag_id: str
    task_id: str
    dag_version_id: uuid.UUID
    bundle: BundleInfo


def _ttl() -> float:
    return settings().decision_cache_seconds


#: task instance id -> the task, DAG version and team it runs as (a task instance keeps them for its try).
IDENTITIES: TtlCache[uuid.UUID, TaskIdentity] = TtlCache(_ttl)
#: (DAG version, bundle and team) -> the DAG's input document, before any call is added: a miss costs a
#: decision, not a deserialization.
DOCUMENTS: TtlCache[tuple[uuid.UUID, BundleInfo], InputDocument] = TtlCache(_ttl, max_entries=2_000)
#: (DAG version, task, bundle and team, call) -> the verdict. A decision depends on nothing else, so every
#: task instance of the task in that DAG version (each run, each map index) reuses it.
VERDICTS: TtlCache[tuple[uuid.UUID, str, BundleInfo, Call], CallVerdict] = TtlCache(_ttl)


def _subject(authorization: str | None) -> uuid.UUID | None:
    """The task instance a request's credential names, read as Airflow reads it: FastAPI's ``HTTPBearer``
    split of the header, PyJWT's parsing of the token (unverified here: Airflow verifies every request the
    guard lets through) and the ``UUID`` field its ``TIToken`` validates ``sub`` into; ``None`` when any of them
    would fail."""
    from fastapi.security.utils import get_authorization_scheme_param

    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return _token_subject(credentials)


@functools.lru_cache(maxsize=4096)
def _token_subject(credentials: str) -> uuid.UUID | None:
    # A pure function of the token, cached: a running task sends the same token with every call until Airflow
    # refreshes it, and parsing it is most of the guard's cost on a cached verdict.
    import jwt

    try:
        claims = jwt.decode(credentials, options={"verify_signature": False})
        return _UUID.validate_python(claims.get("sub"))
    except (jwt.PyJWTError, pydantic.ValidationError, AttributeError):
        return None


def _execution_path(scope: Scope) -> str | None:
    """The path the Execution API's own router matches, when the API server routes the request to it.

    Airflow mounts the Execution API at ``/execution`` of an app whose ``root_path`` is ``[api] base_url``'s
    path; Starlette routes by :func:`starlette._utils.get_route_path`, which strips ``root_path`` only from
    a path that starts with it. Both steps are repeated here with Starlette's own function, so a base path, a
    proxy that strips it, or a path that only looks like ``/execution`` are read as the router reads them.
    """
    route_path = get_route_path(scope)
    if not route_path.startswith(f"{_PREFIX}/"):
        return None
    child = {"path": scope["path"], "root_path": scope.get("root_path", "") + _PREFIX}
    return get_route_path(child)


def repeated_headers(headers: dict[str, list[str]]) -> str | None:
    """The refusal of a request that repeats a header either reader uses (:data:`SINGLE_HEADERS`), or ``None``."""
    repeated = [name for name in SINGLE_HEADERS if len(headers.get(name, ())) > 1]
    return f"airflow-policies refuses an Execution API request that repeats {', '.join(repeated)}" if repeated else None


def oversized(call: Call) -> str | None:
    """The refusal of a call naming more than :data:`MAX_CALL_TARGETS` things, or ``None``."""
    if len(call.targets) <= MAX_CALL_TARGETS:
        return None
    return (
        f"airflow-policies refuses a call that names {len(call.targets)} things, over the limit of "
        f"{MAX_CALL_TARGETS} for one call: split it"
    )


def header_values(scope: Scope) -> dict[str, list[str]]:
    """Every value of each request header, in order, by lower-case name."""
    values: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return values


class DbAssets:
    """:class:`~airflow_policies.enforcement.runtime_calls.AssetCatalog` over a metadata DB session."""

    def __init__(self, session: Any) -> None:  # noqa: ANN401 - a SQLAlchemy session
        self._session = session

    def uri_of(self, name: str) -> str | None:
        from airflow.models.asset import AssetModel
        from sqlalchemy import select

        uri: str | None = self._session.scalar(
            select(AssetModel.uri).where(AssetModel.name == name, AssetModel.active.has())
        )
        return uri

    def assets_of_alias(self, alias: str) -> list[tuple[str, str]]:
        from airflow.models.asset import expand_alias_to_assets

        return [(asset.name, asset.uri) for asset in expand_alias_to_assets(alias, session=self._session)]


def _identity(task_instance_id: uuid.UUID, session: Any) -> TaskIdentity | None:  # noqa: ANN401 - a session
    from airflow.models.dag import DagModel
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    identity = IDENTITIES.get(task_instance_id)
    if identity is not None:
        return identity
    row = session.execute(
        select(TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.dag_version_id, DagModel.bundle_name)
        .join(DagModel, DagModel.dag_id == TaskInstance.dag_id)
        .where(TaskInstance.id == task_instance_id)
    ).one_or_none()
    if row is None or row.dag_version_id is None:
        return None
    identity = TaskIdentity(row.dag_id, row.task_id, row.dag_version_id, bundle_info_from_db(row.bundle_name, session))
    IDENTITIES.put(task_instance_id, identity)
    return identity


def _document(identity: TaskIdentity, session: Any) -> InputDocument | None:  # noqa: ANN401 - a session
    from airflow.models.dagbag import DBDagBag

    key = (identity.dag_version_id, identity.bundle)
    document = DOCUMENTS.get(key)
    if document is None:
        dag = DBDagBag().get_dag(identity.dag_version_id, session=session)
        if dag is None:
            return None
        document = build_input(dag, bundle=identity.bundle, enforcement_point=_POINT)
        DOCUMENTS.put(key, document)
    return document


def cached_verdict(task_instance_id: uuid.UUID, call: Call) -> CallVerdict | None:
    """The verdict on ``call`` if both the caller and the verdict are cached (no DB, no OPA), else ``None``."""
    identity = IDENTITIES.get(task_instance_id)
    if identity is None:
        return None
    return VERDICTS.get((identity.dag_version_id, identity.task_id, identity.bundle, call))


def judge_call(task_instance_id: uuid.UUID, call: Call) -> CallVerdict:
    """Decide whether the task instance may make ``call``: its DAG version's document with the call added."""
    from airflow.utils.session import create_session

    with create_session() as session:
        identity = _identity(task_instance_id, session)
        if identity is None:
            return CallVerdict(False, f"airflow-policies: unknown task instance {task_instance_id}")
        key = (identity.dag_version_id, identity.task_id, identity.bundle, call)
        cached = VERDICTS.get(key)
        if cached is not None:
            return cached
        document = _document(identity, session)
        if document is None:
            return CallVerdict(False, f"airflow-policies: no serialized DAG for task instance {task_instance_id}")
        if not any(task.task_id == identity.task_id for task in document.tasks):
            return CallVerdict(
                False,
                f"airflow-policies: task '{identity.task_id}' is not in its DAG version {identity.dag_version_id}",
            )
        document = with_call(document, identity.task_id, call, DbAssets(session))
    record = decide(document)
    verdict = CallVerdict(
        record.admitted, f"task '{identity.task_id}' may not {call.describe()}: {rejection_message(record)}"
    )
    if not verdict.allowed:
        record_refusal(
            RuntimeRefusal(
                enforcement_point="execution_api",
                team=identity.bundle.team,
                dag_id=identity.dag_id,
                task_id=identity.task_id,
                rules=sorted({v.rule for v in record.violations if v.effect == "deny"}),
                message=verdict.message,
            )
        )
    if record.decided:
        VERDICTS.put(key, verdict)
    return verdict


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` when it exceeds :data:`MAX_BODY_BYTES`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then defers to the client's (disconnects)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def refuse(send: Send, message: str) -> None:
    """Answer 403 with the refusal's message, as Airflow words its own errors."""
    body = json.dumps({"detail": {"reason": "airflow_policies", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _failure_body(body: bytes | None) -> bytes:
    """The state update that fails the task instance instead of the one refused (end date kept)."""
    try:
        refused = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        refused = {}
    refused = refused if isinstance(refused, dict) else {}
    end_date = refused.get("end_date")
    if not isinstance(end_date, str):  # a deferral has none
        end_date = datetime.datetime.now(datetime.timezone.utc).isoformat()
    failure = {"state": "failed", "end_date": end_date}
    if isinstance(refused.get("rendered_map_index"), str):
        failure["rendered_map_index"] = refused["rendered_map_index"]
    return json.dumps(failure).encode()


class ExecutionApiGuard:
    """ASGI middleware: refuse (403) the Execution API calls the policy rejects; pass everything else on."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _execution_path(scope) if scope["type"] == "http" else None
        if path is None or not settings().enabled(_POINT):
            await self.app(scope, receive, send)
            return
        headers = header_values(scope)
        repeated = repeated_headers(headers)
        if repeated is not None:
            await refuse(send, repeated)
            return
        version = headers.get("airflow-api-version", [None])[0]
        match = match_route(scope["method"], path, version)
        if match is None:
            await self._unknown_route(scope, receive, send)
            return
        decision = match.route.decision
        if decision == "not_a_task" or match.route.family == "health":  # Airflow checks a connection test's token
            await self.app(scope, receive, send)
            return
        subject = _subject(headers.get("authorization", [None])[0])
        if subject is None:
            await refuse(send, "airflow-policies refuses an Execution API request that names no task instance")
            return
        if decision == "airflow":
            await self.app(scope, receive, send)
            return
        own = match.path_params.get("task_instance_id")
        if own is not None and own != str(subject):
            await refuse(send, f"airflow-policies: task instance {subject} may only act on itself, not on {own}")
            return
        if decision == "own_task_instance":
            await self.app(scope, receive, send)
            return
        await self._decide(scope, receive, send, subject, match)

    async def _unknown_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        mode = settings().failure_mode_at(_POINT)
        log.error(
            "airflow-policies: Execution API route %s %s is not in its route table", scope["method"], scope["path"]
        )
        if mode == "open":
            await self.app(scope, receive, send)
            return
        await refuse(
            send,
            f"airflow-policies does not know the Execution API route {scope['method']} {scope['path']} (fail closed): "
            "upgrade airflow-policies to a release that lists it, or set failure_mode execution_api: open",
        )

    async def _decide(self, scope: Scope, receive: Receive, send: Send, subject: uuid.UUID, match: RouteMatch) -> None:
        body: bytes | None = None
        if match.route.decision == "state_update":
            body = await _read_body(receive)
            if body is None:
                # The task chose the size: never admitted unchecked, whatever failure_mode says.
                message = f"airflow-policies refuses a state update of more than {MAX_BODY_BYTES} bytes"
                await self._fail_instead(scope, receive, send, message, b"")
                return
            receive = _replaying(body, receive)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        call = call_of(match, query, body)
        if call is None:
            await self.app(scope, receive, send)
            return
        too_many = oversized(call)
        if too_many is not None:
            await (
                self._fail_instead(scope, receive, send, too_many, body) if body is not None else refuse(send, too_many)
            )
            return
        verdict = cached_verdict(subject, call)
        if verdict is None:
            try:
                verdict = await anyio.to_thread.run_sync(judge_call, subject, call)
            except Exception as exc:
                # An error here would be an HTTP 500, which the task's client retries and then reads as "not found".
                log.exception("airflow-policies could not decide on an Execution API call")
                await self._undecidable(scope, receive, send, f"{type(exc).__name__}: {exc}", body)
                return
        if verdict.allowed:
            await self.app(scope, receive, send)
        elif body is not None:  # a refused state update
            await self._fail_instead(scope, receive, send, verdict.message, body)
        else:
            await refuse(send, verdict.message)

    async def _undecidable(
        self, scope: Scope, receive: Receive, send: Send, why: str, body: bytes | None = None
    ) -> None:
        mode = settings().failure_mode_at(_POINT)
        if mode == "open":
            log.warning("airflow-policies admits an Execution API call unchecked (fail open): %s", why)
            await self.app(scope, receive, send)
            return
        message = f"airflow-policies could not decide on this call (fail closed): {why}"
        if body is not None:
            await self._fail_instead(scope, receive, send, message, body)
        else:
            await refuse(send, message)

    async def _fail_instead(self, scope: Scope, receive: Receive, send: Send, message: str, body: bytes) -> None:
        """Have Airflow fail the task instance (its own route, so its own bookkeeping), then answer 403.

        Answering 403 alone would leave the task instance ``running``: the worker retries the refused update
        once, then gives up, and only the scheduler's heartbeat timeout would end it, minutes later.
        """
        failure = _failure_body(body)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        failing = {**scope, "headers": [*headers, (b"content-length", str(len(failure)).encode())]}
        statuses: list[int] = []

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        try:
            await self.app(failing, _replaying(failure, receive), swallow)
        except Exception:
            log.exception("airflow-policies could not fail the task instance of a refused state update")
        if statuses and 200 <= statuses[0] < 300:
            log.warning("airflow-policies refused a state update and failed the task instance: %s", message)
        else:  # the task instance may stay running until the scheduler's heartbeat timeout ends it
            log.error(
                "airflow-policies refused a state update; failing the task instance got %s: %s", statuses, message
            )
        await refuse(send, message)
