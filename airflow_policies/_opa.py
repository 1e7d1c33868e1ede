"""Ask OPA for the decision on one input document: one HTTP request per DAG."""

from __future__ import annotations

import json
from functools import cached_property

import requests
from opa_client import OpaClient

from airflow_policies._config import Settings
from airflow_policies.decision import Decision, parse_decision
from airflow_policies.document import InputDocument
from airflow_policies.exceptions import MalformedDecisionError, OpaUnavailableError

__all__ = ["OpaEvaluator"]

_HINT = "check that OPA is running and reachable, or set AIRFLOW_POLICIES_OPA_URL"


class OpaEvaluator:
    """Evaluates input documents against the decision entrypoint of one OPA server.

    Args:
        settings: where OPA is, which entrypoint to query and the time budget of one decision.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        url = settings.opa_url
        self.url = f"{url.scheme}://{url.host}:{url.port}/v1/data/{settings.decision_path}"

    @cached_property
    def _client(self) -> OpaClient:
        url = self._settings.opa_url
        client = OpaClient(
            host=url.host or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            token=self._settings.opa_token,
            # A retry would spend the parse's time budget twice; the caller decides what a failure means.
            retries=0,
        )
        # requests applies the timeout to connect and to each read: split the budget so the sum holds.
        half = self._settings.timeout_seconds / 2
        client.timeout = (half, half)
        return client

    def evaluate(self, document: InputDocument) -> Decision:
        """The decision for ``document``.

        Raises:
            OpaUnavailableError: OPA is unreachable, too slow, or answered with an HTTP error.
            MalformedDecisionError: OPA answered something that is not a decision.
        """
        package, _, rule = self._settings.decision_path.rpartition("/")
        try:
            body = self._client.query_rule(
                input_data=document.model_dump(mode="json"), package_path=package, rule_name=rule
            )
        except requests.Timeout:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer within {self._settings.timeout_seconds}s; "
                f"{_HINT}, or raise AIRFLOW_POLICIES_TIMEOUT_SECONDS"
            ) from None
        except requests.ConnectionError as exc:
            raise OpaUnavailableError(f"OPA at {self.url} is unreachable ({_root_cause(exc)}); {_HINT}") from None
        except requests.HTTPError as exc:
            raise OpaUnavailableError(
                f"OPA at {self.url} answered HTTP {exc.response.status_code}: {_opa_error(exc.response)}"
            ) from None
        except json.JSONDecodeError:
            raise MalformedDecisionError(f"OPA at {self.url} answered with a body that is not JSON") from None
        return parse_decision(body, source=f"OPA at {self.url}")


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
