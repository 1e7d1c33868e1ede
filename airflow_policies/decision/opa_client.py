"""Ask OPA for the decision on one input document: one HTTP request per DAG.

The request goes over one keep-alive connection per process (``http.client``), with the document's JSON
as serialized once by :func:`~airflow_policies.document.models.document_json` (the verdict hashes the same
bytes). ``benchmarks/transport.py`` measured this against opa-python-client (which
re-serializes the document through ``json.dumps`` and goes through requests) and against a Unix socket;
the numbers are in docs/performance.md.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import time

from airflow_policies._config import Settings
from airflow_policies.decision.models import Decision, parse_decision
from airflow_policies.document.models import InputDocument, document_json
from airflow_policies.exceptions import (
    MalformedDecisionError,
    OpaTimeoutError,
    OpaUnavailableError,
    OpaUnreachableError,
)

__all__ = ["OpaEvaluator"]

_HINT = "check that OPA is running and reachable, or set AIRFLOW__AIRFLOW_POLICIES__OPA_URL"
# A refused connection is retried once after this pause: the request never reached OPA, so the retry is
# safe, and it rides over an OPA restart. Timeouts and HTTP errors are never retried.
_REFUSED_RETRY_PAUSE = 0.2
# A kept-alive connection that OPA closed while it was idle fails on its next request before any answer:
# that request is sent again, once, on a new connection (a query has no side effect).
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


#: Where the policy's revision lives (``?provenance=true`` adds the revisions of the bundles OPA serves).
_META_PATH = "/v1/data/airflow_policies/meta?provenance=true"
#: A digest of the policy's data, computed by OPA: each document in a list (empty when the document is absent).
_DATA_DIGEST_QUERY = (
    "digest := crypto.sha256(json.marshal(["
    "[x | x := data.airflow_policies.registry], "
    "[x | x := data.airflow_policies.rollout], "
    "[x | x := data.airflow_policies.meta]]))"
)


class _ConnectTimeout(Exception):
    """The connection was not accepted within the connect timeout."""


class _ReadTimeout(Exception):
    """The answer did not come within the read timeout."""


class OpaEvaluator:
    """Evaluates input documents against the decision entrypoint of one OPA server.

    Args:
        settings: where OPA is, which entrypoint to query and the timeouts of one decision.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        url = settings.opa_url
        self._host = url.host or "127.0.0.1"
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._tls = url.scheme == "https"
        self.url = f"{url.scheme}://{url.host}:{url.port}/v1/data/{settings.decision_path}"
        self._path = f"/v1/data/{settings.decision_path}?provenance=true"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if settings.opa_token:
            self._headers["Authorization"] = f"Bearer {settings.opa_token}"
        # Per thread (the Execution API guard decides in worker threads) and per process, see _connection.
        self._local = threading.local()

    def _new_connection(self) -> http.client.HTTPConnection:
        timeout = self._settings.connect_timeout_seconds
        if self._tls:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before. One connection (and keep-alive
        socket) per process and thread: the DAG processor forks its parse children from a manager that asks
        OPA too, and a socket shared across a fork (or by two threads) interleaves their answers."""
        held: tuple[http.client.HTTPConnection, int] | None = getattr(self._local, "held", None)
        if held is not None and held[1] == os.getpid():
            return held[0], True
        connection = self._new_connection()
        self._local.held = (connection, os.getpid())
        return connection, False

    def _drop_connection(self) -> None:
        held: tuple[http.client.HTTPConnection, int] | None = getattr(self._local, "held", None)
        self._local.held = None
        # A socket inherited across a fork is the parent's: only forgotten here, never closed.
        if held is not None and held[1] == os.getpid():
            held[0].close()

    def _exchange(self, body: bytes, path: str | None = None) -> tuple[int, bytes]:
        connection, reused = self._connection()
        try:
            if connection.sock is None:
                try:
                    connection.connect()
                except TimeoutError:
                    raise _ConnectTimeout from None
                # Connected: from now on each read may wait the read timeout.
                sock: socket.socket = connection.sock  # type: ignore[assignment]  # set by connect()
                sock.settimeout(self._settings.read_timeout_seconds)
                # http.client sends the headers and the body in two writes: with Nagle's algorithm the body
                # waits for OPA to acknowledge the headers (a delayed ACK). requests/urllib3 set this too.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.request("POST", path or self._path, body=body, headers=self._headers)
            try:
                response = connection.getresponse()
                answer = response.read()
            except TimeoutError:
                raise _ReadTimeout from None
        except _STALE:
            self._drop_connection()
            if not reused:
                raise
            return self._exchange(body, path)
        except BaseException:
            self._drop_connection()
            raise
        if response.will_close:
            self._drop_connection()
        return response.status, answer

    def _query(self, body: bytes, path: str | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                return self._exchange(body, path)
            except ConnectionRefusedError:
                if attempt == 2:
                    raise
                time.sleep(_REFUSED_RETRY_PAUSE)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def answers(self) -> bool:
        """Whether OPA answers its health endpoint within the connect timeout, on a connection of its own.

        Asked after a decision timed out, it tells a slow OPA (which opens the breaker for everyone) from one
        slow document (which only that decision pays for): the document is what its DAG author or task made it.
        """
        connection = self._new_connection()
        try:
            connection.request("GET", "/health", headers=self._headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        return response.status == 200

    def revision(self) -> str:
        """What every decision of this OPA depends on besides its input: the revisions of the bundles it serves
        and a digest of the policy's data (registry, rollout, ``meta``), in two small requests.

        Raises:
            DecisionError: OPA could not be asked, or answered something else.
        """
        try:
            status, answer = self._query(b"{}", _META_PATH)
            if status == 200:
                meta = json.loads(answer)
                status, answer = self._query(json.dumps({"query": _DATA_DIGEST_QUERY}).encode(), "/v1/query")
        except (_ConnectTimeout, _ReadTimeout):
            raise OpaTimeoutError(f"OPA at {self.url} did not answer the revision probe in time; {_HINT}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise OpaUnreachableError(f"OPA at {self.url} is unreachable ({_describe(exc)}); {_HINT}") from None
        except ValueError:
            raise MalformedDecisionError(f"OPA at {self.url} answered with a body that is not JSON") from None
        if status != 200:
            raise OpaUnavailableError(f"OPA at {self.url} answered HTTP {status}: {_opa_error(answer)}")
        try:
            (row,) = json.loads(answer)["result"]
            digest = row["digest"]
        except (ValueError, KeyError, TypeError):
            raise MalformedDecisionError(
                f"OPA at {self.url} answered the revision query with {answer[:200]!r}"
            ) from None
        bundles = meta.get("provenance", {}).get("bundles") if isinstance(meta, dict) else None
        served = ",".join(f"{name}@{info.get('revision', '')}" for name, info in sorted((bundles or {}).items()))
        return f"{served};data:{digest}"

    def evaluate(self, document: InputDocument) -> Decision:
        """The decision for ``document``.

        Raises:
            OpaUnreachableError: OPA is unreachable or too slow (this opens the circuit breaker).
            OpaUnavailableError: OPA answered with an HTTP error.
            MalformedDecisionError: OPA answered something that is not a decision.
        """
        try:
            status, answer = self._query(b'{"input":' + document_json(document) + b"}")
        except _ConnectTimeout:
            raise OpaTimeoutError(
                f"OPA at {self.url} did not accept the connection within "
                f"{self._settings.connect_timeout_seconds}s (connect timeout); {_HINT}"
            ) from None
        except _ReadTimeout:
            raise OpaTimeoutError(
                f"OPA at {self.url} did not answer within {self._settings.read_timeout_seconds}s (read timeout); "
                f"check OPA's load and logs, or raise AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise OpaUnreachableError(f"OPA at {self.url} is unreachable ({_describe(exc)}); {_HINT}") from None
        if status != 200:
            raise OpaUnavailableError(
                f"OPA at {self.url} answered HTTP {status}: {_opa_error(answer)}; OPA's own log has the details"
            )
        try:
            body = json.loads(answer)
        except ValueError:
            raise MalformedDecisionError(f"OPA at {self.url} answered with a body that is not JSON") from None
        decision = parse_decision(body, source=f"OPA at {self.url}")
        bundles = body.get("provenance", {}).get("bundles") if isinstance(body, dict) else None
        if isinstance(bundles, dict) and bundles:
            # OPA serves the policy from bundles: their revisions identify it better than a data value.
            revision = ",".join(f"{name}@{info.get('revision', '')}" for name, info in sorted(bundles.items()))
            decision = decision.model_copy(update={"policy_revision": revision})
        return decision


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    return str(exc) or type(exc).__name__


def _opa_error(answer: bytes) -> str:
    try:
        body = json.loads(answer)
    except ValueError:
        return answer[:300].decode(errors="replace") or "(empty body)"
    if isinstance(body, dict) and "message" in body:
        return f"{body.get('code', 'error')}: {body['message']}"[:500]
    return str(body)[:300]
