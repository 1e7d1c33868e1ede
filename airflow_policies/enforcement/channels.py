"""Decide every call team code makes through an in-process Execution API: a triggerer's triggers, and the DAG
processor's parse children and DAG callbacks.

Neither reaches the API server. A trigger (in the triggerer's runner subprocess) and DAG-file code or a DAG
callback (in a parse child) send their requests to their supervisor, which serves them through an
``InProcessExecutionAPI``: Airflow's Execution API app with its token check and its connection, Variable and
XCom access checks replaced by ``always_allow``. Only the supervisor runs there, and it knows who asks: a
triggerer runs one team's triggers (``--team-name``); the DAG-processor manager started each parse child for
one file of one bundle. So:

- every Execution API app Airflow creates gets :class:`ChannelGuard` in front of it; it acts only where
  Airflow's own token check is switched off (the in-process apps), on requests that carry a caller;
- each supervisor's ``_handle_request`` (the one place a child's request is served) binds the caller for the
  duration, and the supervisor's client sends it with each request (``airflow-policies-caller``) and refuses
  any answer the guard did not mark as decided, so a guard that is not in the path fails closed;
- the guard matches the request against the same route table as the API server's guard, reads the call with
  the same reader, and decides it through the same decision path at enforcement point ``triggerer`` or
  ``dag_processor_channel``. What that table leaves to Airflow's checks (XComs) or keys by the token's task
  instance is decided too (:func:`~airflow_policies.enforcement.execution_routes.channel_decision`).

And before a triggerer hands a trigger to its runner (which imports the trigger's module and runs it), the
trigger is decided for the triggerer's team: its class, the callables its kwargs tell it to import and the
connections they name (:func:`admitted_workloads`). That is the one point every trigger passes, whoever created
it: a deferral, an asset watcher, a missed deadline's ``CallbackTrigger``.

The document is the channel's own: an empty DAG of the caller's bundle and team with one task standing for the
code the channel serves, built by the one input builder, with the call added as ``runtime`` references. A call
is refused for what it adds: a denial the same document without the call also gets (a team layer's rule on
every task, say) is not the call's.

Only this module touches these internals; it is tested on :data:`TESTED_AIRFLOW_VERSIONS`. When one of them is
missing or changed, the channel it serves refuses every call of team code (fail closed) and an error naming it
is logged.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette._utils import get_route_path

from airflow_policies._config import settings
from airflow_policies.decision.cache import TtlCache
from airflow_policies.decision.decide import decide
from airflow_policies.decision.models import Violation
from airflow_policies.decision.teams import bundle_info
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.enforcement.audit_log import RuntimeRefusal, record_refusal
from airflow_policies.enforcement.execution_api import (
    CallVerdict,
    DbAssets,
    Receive,
    Scope,
    Send,
    header_values,
    oversized,
    refuse,
    repeated_headers,
)
from airflow_policies.enforcement.execution_routes import channel_decision, match_route
from airflow_policies.enforcement.import_hooks import HANDLE_REQUEST_PARAMETERS, ShapeChangedError, wrap_after_import
from airflow_policies.enforcement.runtime_calls import Call, call_of, trigger_call, with_call

__all__ = [
    "CALLER_HEADER",
    "DECIDED_HEADER",
    "TESTED_AIRFLOW_VERSIONS",
    "Caller",
    "ChannelGuard",
    "ChannelUnguardedError",
    "admitted_workloads",
    "install",
    "judge_channel_call",
    "serving",
    "task_instance_call",
]

log = logging.getLogger(__name__)

#: apache-airflow-core versions whose in-process Execution API and supervisors this module is tested on.
TESTED_AIRFLOW_VERSIONS = ("3.3.2",)
#: Who a channel serves, sent by the supervisor's client with each request it makes for team code.
CALLER_HEADER = "airflow-policies-caller"
#: Set by the guard on every answer it decided; the supervisor's client refuses an answer without it.
DECIDED_HEADER = "airflow-policies-decided"
ChannelPoint = Literal["triggerer", "dag_processor_channel"]
#: The DAG and task that stand for a channel's code in its document.
CHANNEL_DAG_IDS: dict[ChannelPoint, str] = {
    "triggerer": "airflow_policies.triggerer",
    "dag_processor_channel": "airflow_policies.dag_file",
}
CHANNEL_TASK = "team_code"


class Caller(BaseModel):
    """Whose code a channel serves: the enforcement point, the bundle and team, and (DAG processor) the file.

    Sent by the supervisor's client as the ``airflow-policies-caller`` header, read back by the guard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    point: ChannelPoint
    bundle: BundleInfo
    file: str | None = None

    def header(self) -> bytes:
        """The header value: JSON, ASCII only (a header is latin-1)."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=True).encode()

    @classmethod
    def from_header(cls, value: str) -> Caller | None:
        """The caller a header value names, or ``None`` when it is not one."""
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return None

    def describe(self) -> str:
        """Who the caller is, for a refusal."""
        if self.point == "triggerer":
            return f"a trigger run by the triggerer of team {self.bundle.team!r}"
        return f"code of DAG file {self.file!r} (bundle {self.bundle.name!r}, team {self.bundle.team!r})"


class ChannelUnguardedError(RuntimeError):
    """An in-process Execution API answered team code without the guard's decision."""


_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("airflow_policies_caller", default=None)
#: The internals that could not be wrapped in this process: their channels refuse every call of team code.
_BROKEN: dict[ChannelPoint, str] = {}


@contextmanager
def serving(caller: Caller) -> Iterator[None]:
    """Bind ``caller`` to every request the supervisor's client sends in this block."""
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def _ttl() -> float:
    return settings().decision_cache_seconds


class _Baseline(NamedTuple):
    document: InputDocument
    denials: frozenset[tuple[str, str | None, str]]


#: The channel's document without a call, and what it is denied for already (a decided baseline only).
BASELINES: TtlCache[Caller, _Baseline] = TtlCache(_ttl, max_entries=2_000)
#: (caller, call) -> the verdict on it.
VERDICTS: TtlCache[tuple[Caller, Call], CallVerdict] = TtlCache(_ttl)


def _denial(violation: Violation) -> tuple[str, str | None, str]:
    return (violation.rule, violation.task_id, violation.message)


def _channel_document(caller: Caller) -> InputDocument:
    from airflow.sdk import DAG, BaseOperator

    with DAG(dag_id=CHANNEL_DAG_IDS[caller.point], schedule=None) as dag:
        BaseOperator(task_id=CHANNEL_TASK)
    document = build_input(dag, bundle=caller.bundle, enforcement_point=caller.point)
    return document.model_copy(update={"dag": document.dag.model_copy(update={"relative_fileloc": caller.file})})


def _baseline(caller: Caller) -> _Baseline | None:
    baseline = BASELINES.get(caller)
    if baseline is None:
        document = _channel_document(caller)
        record = decide(document)
        if not record.decided:
            return None
        baseline = _Baseline(document, frozenset(_denial(v) for v in record.violations if v.effect == "deny"))
        BASELINES.put(caller, baseline)
    return baseline


def _dag_of_task_instance(task_instance_id: str, session: Any) -> str | None:  # noqa: ANN401 - a session
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    try:
        key = uuid.UUID(task_instance_id)
    except ValueError:
        return None
    dag_id: str | None = session.scalar(select(TaskInstance.dag_id).where(TaskInstance.id == key))
    return dag_id


def task_instance_call(task_instance_id: str, location: str) -> Call | None:
    """Acting on a task instance, as a call naming its DAG; ``None`` for a task instance the DB does not hold."""
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_id = _dag_of_task_instance(task_instance_id, session)
    return None if dag_id is None else Call("task_instance", (("dag_id", dag_id),), location)


def judge_channel_call(caller: Caller, call: Call) -> CallVerdict:
    """Decide whether ``caller``'s code may make ``call``: what the call adds to the channel's own document."""
    from airflow.utils.session import create_session

    cached = VERDICTS.get((caller, call))
    if cached is not None:
        return cached
    baseline = _baseline(caller)
    if baseline is None:
        return CallVerdict(False, f"airflow-policies could not decide on {caller.describe()} (fail closed)")
    with create_session() as session:  # an alias's assets and an asset's URI by name, from the metadata DB
        document = with_call(baseline.document, CHANNEL_TASK, call, DbAssets(session))
    record = decide(document)
    if not record.decided:
        verdict = CallVerdict(record.admitted, f"{caller.describe()} may not {call.describe()}: {record.error}")
        if not verdict.allowed:
            _record_refusal(caller, [], verdict)
        return verdict
    denials = [v for v in record.violations if v.effect == "deny" and _denial(v) not in baseline.denials]
    reasons = "; ".join(f"[{v.rule}] {v.message}" for v in denials)
    verdict = CallVerdict(not denials, f"{caller.describe()} may not {call.describe()}: {reasons}")
    if denials:
        _record_refusal(caller, denials, verdict)
    VERDICTS.put((caller, call), verdict)
    return verdict


def _record_refusal(caller: Caller, denials: list[Violation], verdict: CallVerdict) -> None:
    record_refusal(
        RuntimeRefusal(
            enforcement_point=caller.point,
            team=caller.bundle.team,
            dag_id=None,
            task_id=None,
            rules=sorted({v.rule for v in denials}),
            message=verdict.message,
        )
    )


class ChannelGuard:
    """ASGI middleware on every Execution API app: decides the calls of team code on an in-process one."""

    def __init__(self, app: Callable[..., Any], execution_app: Any) -> None:  # noqa: ANN401 - a FastAPI app
        self.app = app
        self._execution_app = execution_app

    def _in_process(self) -> bool:
        """Whether Airflow's own token check is switched off on this app (``InProcessExecutionAPI``)."""
        from airflow.api_fastapi.execution_api.security import _jwt_bearer

        return _jwt_bearer in self._execution_app.dependency_overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._in_process():
            await self.app(scope, receive, send)
            return
        headers = header_values(scope)
        callers = headers.get(CALLER_HEADER, [])
        marked = _marking(send)
        if not callers and _BROKEN:  # a supervisor that cannot send its caller: nothing tells team code apart
            await refuse(marked, next(iter(_BROKEN.values())))
            return
        if not callers:  # the supervisor's own call, not one it serves to team code
            await self.app(scope, receive, send)
            return
        caller = Caller.from_header(callers[0]) if len(callers) == 1 else None
        if caller is None:
            await refuse(marked, f"airflow-policies refuses a request with a malformed {CALLER_HEADER} header")
            return
        if caller.point in _BROKEN:
            await refuse(marked, _BROKEN[caller.point])
            return
        if not settings().enabled(caller.point):
            await self.app(scope, receive, marked)
            return
        verdict = await self._verdict(scope, headers, caller)
        if verdict is None or verdict.allowed:
            await self.app(scope, receive, marked)
        else:
            await refuse(marked, verdict.message)

    async def _verdict(self, scope: Scope, headers: dict[str, list[str]], caller: Caller) -> CallVerdict | None:
        """The verdict on the request, or ``None`` when it names nothing to decide."""
        repeated = repeated_headers(headers)
        if repeated is not None:
            return CallVerdict(False, repeated)
        path = get_route_path(scope)
        match = match_route(scope["method"], path, headers.get("airflow-api-version", [None])[0])
        if match is None:
            return CallVerdict(
                False, f"airflow-policies does not know the Execution API route {scope['method']} {path}"
            )
        decision = channel_decision(match.route)
        if decision == "airflow":
            return None
        if decision == "refuse":
            return CallVerdict(False, f"airflow-policies refuses {match.route.method} {match.route.path} to team code")
        location = f"Execution API {match.route.method} {match.route.path}"
        try:
            if decision == "task_instance":
                task_instance_id = match.path_params["task_instance_id"]
                call = await anyio.to_thread.run_sync(task_instance_call, task_instance_id, location)
                if call is None:  # no such task instance: it names nothing of any team (Airflow answers 404)
                    return None
            elif decision == "dag_xcom":
                call = Call("dag_xcom", (("dag_id", match.path_params["dag_id"]),), location)
            else:
                query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
                call = call_of(match, query, None)
                if call is None:
                    return None
            too_many = oversized(call)
            if too_many is not None:
                return CallVerdict(False, too_many)
            return await anyio.to_thread.run_sync(judge_channel_call, caller, call)
        except Exception as exc:
            log.exception("airflow-policies could not decide on a call of %s", caller.describe())
            return CallVerdict(False, f"airflow-policies could not decide (fail closed): {type(exc).__name__}: {exc}")


def _marking(send: Send) -> Send:
    async def marked(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (DECIDED_HEADER.encode(), b"1")]}
        await send(message)

    return marked  # type: ignore[return-value]


# The supervisor's side: its client sends the bound caller and refuses an undecided answer.


def _send_caller(request: Any) -> None:  # noqa: ANN401 - an httpx.Request
    caller = _CALLER.get()
    if caller is not None:
        request.headers[CALLER_HEADER] = caller.header().decode()


def _require_decision(response: Any) -> None:  # noqa: ANN401 - an httpx.Response
    if CALLER_HEADER in response.request.headers and DECIDED_HEADER not in response.headers:
        raise ChannelUnguardedError(
            f"airflow-policies refuses the in-process Execution API's answer to {response.request.method} "
            f"{response.request.url.path}: its guard did not decide it (fail closed)"
        )


def _guard_client(client: Any) -> None:  # noqa: ANN401 - airflow.sdk.api.client.Client (an httpx.Client)
    hooks = client.event_hooks
    if _send_caller not in hooks["request"]:
        client.event_hooks = {
            "request": [_send_caller, *hooks["request"]],
            "response": [_require_decision, *hooks["response"]],
        }


# The wraps, one per Airflow internal.


def _wrap_handle_request(cls: Any, caller_of: Callable[[Any], Caller]) -> None:  # noqa: ANN401
    original = inspect.getattr_static(cls, "_handle_request", None)
    if not callable(original) or list(inspect.signature(original).parameters) != HANDLE_REQUEST_PARAMETERS:
        raise ShapeChangedError(
            f"{cls.__module__}.{cls.__qualname__}._handle_request(msg, log, req_id) is gone or changed"
        )

    @functools.wraps(original)
    def _handle_request(self: Any, msg: Any, log: Any, req_id: int) -> None:  # noqa: ANN401
        _guard_client(self.client)
        with serving(caller_of(self)):
            original(self, msg, log, req_id)

    cls._handle_request = _handle_request


def _triggerer_caller(supervisor: Any) -> Caller:  # noqa: ANN401 - a TriggerRunnerSupervisor
    return Caller(point="triggerer", bundle=BundleInfo(name=None, team=supervisor.team_name))


def _trigger_verdict(caller: Caller, workload: Any) -> CallVerdict:  # noqa: ANN401 - a workloads.RunTrigger
    """Whether the triggerer may run a trigger: its class, and the callables and connections its kwargs name."""
    if caller.point in _BROKEN:
        return CallVerdict(False, _BROKEN[caller.point])
    if not settings().enabled(caller.point):
        return CallVerdict(True, "")
    try:
        from airflow.models.trigger import Trigger

        kwargs = Trigger._decrypt_kwargs(workload.encrypted_kwargs)
        return judge_channel_call(caller, trigger_call(workload.classpath, kwargs, f"trigger {workload.id}"))
    except Exception as exc:
        return CallVerdict(False, f"airflow-policies could not decide (fail closed): {type(exc).__name__}: {exc}")


def admitted_workloads(supervisor: Any, workloads: list[Any]) -> list[Any]:  # noqa: ANN401
    """The trigger workloads the triggerer may hand its runner; each refused one is reported as failed, so its
    task instance fails with the refusal (deferrals, asset watchers and deadline callbacks alike)."""
    caller = _triggerer_caller(supervisor)
    admitted = []
    for workload in workloads:
        verdict = _trigger_verdict(caller, workload)
        if verdict.allowed:
            admitted.append(workload)
            continue
        log.warning("airflow-policies refused trigger %s (%s): %s", workload.id, workload.classpath, verdict.message)
        supervisor.failed_triggers.append((workload.id, [verdict.message]))
    return admitted


def _dag_file_caller(process: Any) -> Caller:  # noqa: ANN401 - a DagFileProcessorProcess
    return Caller(
        point="dag_processor_channel", bundle=bundle_info(process.bundle_name), file=process.dag_file_rel_path
    )


def _wrap_triggerer(module: ModuleType) -> None:
    supervisor = getattr(module, "TriggerRunnerSupervisor", None)
    fields = {attribute.name for attribute in getattr(supervisor, "__attrs_attrs__", ())}
    build = getattr(supervisor, "build_trigger_workloads", None)
    if (
        supervisor is None
        or not {"team_name", "failed_triggers"} <= fields
        or not hasattr(supervisor, "client")
        or build is None
        or list(inspect.signature(build).parameters) != ["self", "new_trigger_ids"]
    ):
        raise ShapeChangedError(
            "airflow.jobs.triggerer_job_runner.TriggerRunnerSupervisor(team_name, failed_triggers, client, "
            "build_trigger_workloads(new_trigger_ids)) is gone or changed"
        )
    _wrap_handle_request(supervisor, _triggerer_caller)

    @functools.wraps(build)
    def build_trigger_workloads(self: Any, new_trigger_ids: set[int]) -> list[Any]:  # noqa: ANN401
        return admitted_workloads(self, build(self, new_trigger_ids))

    supervisor.build_trigger_workloads = build_trigger_workloads


def _wrap_dag_processor(module: ModuleType) -> None:
    process = getattr(module, "DagFileProcessorProcess", None)
    fields = {attribute.name for attribute in getattr(process, "__attrs_attrs__", ())}
    if process is None or not {"bundle_name", "dag_file_rel_path", "client"} <= fields:
        raise ShapeChangedError(
            "airflow.dag_processing.processor.DagFileProcessorProcess(bundle_name, dag_file_rel_path, client) "
            "is gone or changed"
        )
    _wrap_handle_request(process, _dag_file_caller)


def _wrap_execution_app(module: ModuleType) -> None:
    original = getattr(module, "create_task_execution_api_app", None)
    if original is None:
        raise ShapeChangedError("airflow.api_fastapi.execution_api.app.create_task_execution_api_app is gone")
    from airflow.api_fastapi.execution_api import security

    if not hasattr(security, "_jwt_bearer"):
        raise ShapeChangedError("airflow.api_fastapi.execution_api.security._jwt_bearer is gone")

    @functools.wraps(original)
    def create_task_execution_api_app(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        app = original(*args, **kwargs)
        app.add_middleware(ChannelGuard, execution_app=app)
        return app

    module.create_task_execution_api_app = create_task_execution_api_app  # type: ignore[attr-defined]


def _skipped(points: tuple[ChannelPoint, ...]) -> Callable[[Exception], None]:
    def on_skipped(problem: Exception) -> None:
        message = (
            f"airflow-policies refuses every call of team code here: it cannot guard this channel on this "
            f"Airflow version ({problem}); use an apache-airflow-core version it is tested on "
            f"({', '.join(TESTED_AIRFLOW_VERSIONS)}), or upgrade airflow-policies"
        )
        for point in points:
            _BROKEN[point] = message
        log.error("%s", message)

    return on_skipped


def install() -> None:
    """Wrap the Execution API app factory and both supervisors now, or as soon as their modules are imported."""
    wrap_after_import(
        "airflow.api_fastapi.execution_api.app", _wrap_execution_app, _skipped(("triggerer", "dag_processor_channel"))
    )
    wrap_after_import("airflow.jobs.triggerer_job_runner", _wrap_triggerer, _skipped(("triggerer",)))
    wrap_after_import("airflow.dag_processing.processor", _wrap_dag_processor, _skipped(("dag_processor_channel",)))
