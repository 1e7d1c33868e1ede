"""Ask OPA for the decision on one input document: one HTTP request per DAG."""

from __future__ import annotations

import json
import os
import time

import requests
from opa_client import OpaClient

from airflow_policies._config import Settings
from airflow_policies.decision.models import Decision, parse_decision
from airflow_policies.document.models import InputDocument
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


class OpaEvaluator:
    """Evaluates input documents against the decision entrypoint of one OPA server.

    Args:
        settings: where OPA is, which entrypoint to query and the timeouts of one decision.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        url = settings.opa_url
        self.url = f"{url.scheme}://{url.host}:{url.port}/v1/data/{settings.decision_path}"
        self._client_and_pid: tuple[OpaClient, int] | None = None

    @property
    def _client(self) -> OpaClient:
        # One client (and keep-alive connection) per process: the DAG processor forks its parse children
        # from a manager that asks OPA too, and a socket shared across a fork interleaves their answers.
        if self._client_and_pid is None or self._client_and_pid[1] != os.getpid():
            self._client_and_pid = (self._new_client(), os.getpid())
        return self._client_and_pid[0]

    def _new_client(self) -> OpaClient:
        url = self._settings.opa_url
        client = OpaClient(
            host=url.host or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            token=self._settings.opa_token,
            # Retrying a timeout would spend the parse's time twice; _query retries only refused connections.
            retries=0,
        )
        client.timeout = (self._settings.connect_timeout_seconds, self._settings.read_timeout_seconds)
        return client

    def _query(self, document: InputDocument) -> object:
        package, _, rule = self._settings.decision_path.rpartition("/")
        payload = document.model_dump(mode="json")
        for attempt in (1, 2):
            try:
                return self._client.query_rule(
                    input_data=payload, package_path=package, rule_name=rule, query_params={"provenance": "true"}
                )
            except requests.Timeout:
                raise
            except requests.ConnectionError as exc:
                if attempt == 2 or not _refused(exc):
                    raise
                time.sleep(_REFUSED_RETRY_PAUSE)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def evaluate(self, document: InputDocument) -> Decision:
        """The decision for ``document``.

        Raises:
            OpaUnreachableError: OPA is unreachable or too slow (this opens the circuit breaker).
            OpaUnavailableError: OPA answered with an HTTP error.
            MalformedDecisionError: OPA answered something that is not a decision.
        """
        try:
            body = self._query(document)
        except requests.ConnectTimeout:
            raise OpaTimeoutError(
                f"OPA at {self.url} did not accept the connection within "
                f"{self._settings.connect_timeout_seconds}s (connect timeout); {_HINT}"
            ) from None
        except requests.Timeout:
            raise OpaTimeoutError(
                f"OPA at {self.url} did not answer within {self._settings.read_timeout_seconds}s (read timeout); "
                f"check OPA's load and logs, or raise AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS"
            ) from None
        except requests.ConnectionError as exc:
            raise OpaUnreachableError(f"OPA at {self.url} is unreachable ({_root_cause(exc)}); {_HINT}") from None
        except requests.HTTPError as exc:
            raise OpaUnavailableError(
                f"OPA at {self.url} answered HTTP {exc.response.status_code}: {_opa_error(exc.response)}; "
                "OPA's own log has the details"
            ) from None
        except json.JSONDecodeError:
            raise MalformedDecisionError(f"OPA at {self.url} answered with a body that is not JSON") from None
        decision = parse_decision(body, source=f"OPA at {self.url}")
        bundles = body.get("provenance", {}).get("bundles") if isinstance(body, dict) else None
        if isinstance(bundles, dict) and bundles:
            # OPA serves the policy from bundles: their revisions identify it better than a data value.
            revision = ",".join(f"{name}@{info.get('revision', '')}" for name, info in sorted(bundles.items()))
            decision = decision.model_copy(update={"policy_revision": revision})
        return decision


def _refused(exc: requests.ConnectionError) -> bool:
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _root_cause(exc: BaseException) -> str:
    while exc.__context__ is not None or exc.__cause__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc) or type(exc).__name__


def _opa_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or "(empty body)"
    if isinstance(body, dict) and "message" in body:
        return f"{body.get('code', 'error')}: {body['message']}"[:500]
    return str(body)[:300]
