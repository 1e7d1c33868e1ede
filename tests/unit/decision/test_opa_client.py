"""The OPA client's failure handling, against a small fake HTTP server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pendulum
import pytest
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_policies._config import load_settings
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.exceptions import MalformedDecisionError, OpaUnavailableError


class FakeOpa:
    """Answers every POST with a configured status, body and delay; records the requests."""

    def __init__(self) -> None:
        self.status, self.body, self.delay = 200, b"{}", 0.0
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, {}))
                time.sleep(fake.delay)
                self.send_response(fake.status)
                self.end_headers()

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, payload))
                time.sleep(fake.delay)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(fake.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as the slow-OPA tests intend

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, status: int, body: object, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def fake_opa() -> Iterator[FakeOpa]:
    fake = FakeOpa()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def document() -> InputDocument:
    with DAG("team_a__d", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        EmptyOperator(task_id="a")
        EmptyOperator(task_id="b")
    return build_input(dag, bundle=BundleInfo(name="b", team="team_a"), enforcement_point="cli")


def _evaluator(url: str, timeout: float = 2.0) -> OpaEvaluator:
    return OpaEvaluator(load_settings(environ={}, opa_url=url, read_timeout_seconds=timeout))


class TestOpaEvaluator:
    def test_one_request_per_dag_at_the_documented_entrypoint(self, fake_opa, document):
        """One POST to /v1/data/airflow_policies/main/decision carries the whole DAG, all tasks included."""
        fake_opa.answer(200, {"result": {"violations": [], "mutations": [], "policy_revision": "sha256:r"}})
        decision = _evaluator(fake_opa.url).evaluate(document)
        assert (decision.rejected, decision.policy_revision) == (False, "sha256:r")
        assert len(fake_opa.requests) == 1
        path, payload = fake_opa.requests[0]
        assert path == "/v1/data/airflow_policies/main/decision?provenance=true"
        assert [t["task_id"] for t in payload["input"]["tasks"]] == ["a", "b"]

    def test_http_error_names_url_status_and_opa_message(self, fake_opa, document):
        """An OPA error answer is reported with the URL, the status and OPA's own message."""
        fake_opa.answer(500, {"code": "internal_error", "message": "eval_conflict_error: complete rules"})
        with pytest.raises(OpaUnavailableError) as error:
            _evaluator(fake_opa.url).evaluate(document)
        text = str(error.value)
        assert f"{fake_opa.url}/v1/data/airflow_policies/main/decision" in text
        assert "HTTP 500" in text
        assert "eval_conflict_error" in text

    def test_slow_opa_is_abandoned_within_the_budget(self, fake_opa, document):
        """A slow OPA costs at most the configured timeout, and the error says so."""
        fake_opa.answer(200, {"result": {"violations": [], "mutations": [], "policy_revision": ""}}, delay=5.0)
        started = time.monotonic()
        with pytest.raises(OpaUnavailableError, match=r"did not answer within 0.4s \(read timeout\)"):
            _evaluator(fake_opa.url, timeout=0.4).evaluate(document)
        # Far below the 5 s the fake takes to answer, with room for a loaded machine.
        assert time.monotonic() - started < 3.0

    def test_answers_asks_the_health_endpoint_within_the_connect_timeout(self, fake_opa):
        """What tells a slow document from a slow OPA: OPA's health endpoint, answered in time with a 200."""
        evaluator = _evaluator(fake_opa.url)
        assert evaluator.answers() and fake_opa.requests == [("/health", {})]
        fake_opa.answer(500, {})
        assert not evaluator.answers()
        fake_opa.answer(200, {}, delay=2.0)
        started = time.monotonic()
        assert not evaluator.answers()
        assert time.monotonic() - started < 1.5  # the connect timeout (0.5 s), not the fake's 2 s
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        assert not _evaluator(f"http://127.0.0.1:{port}").answers()

    def test_unreachable_opa_names_the_url_and_the_fix(self, document):
        """Nothing listening: the error names the URL and how to fix it."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        unreachable = rf"127.0.0.1:{port}.*unreachable.*AIRFLOW__AIRFLOW_POLICIES__OPA_URL"
        with pytest.raises(OpaUnavailableError, match=unreachable):
            _evaluator(f"http://127.0.0.1:{port}").evaluate(document)

    @pytest.mark.parametrize(
        "body",
        [b"<html>proxy error</html>", {}, {"result": {"allow": True}}, {"result": []}],
        ids=["not-json", "undefined", "wrong-shape", "wrong-type"],
    )
    def test_anything_but_a_decision_is_malformed(self, fake_opa, document, body):
        """A 200 answer that is not a decision is an error, never an allow."""
        fake_opa.answer(200, body)
        with pytest.raises(MalformedDecisionError):
            _evaluator(fake_opa.url).evaluate(document)

    def test_bundle_revisions_from_provenance_name_the_policy(self, fake_opa, document):
        """When OPA serves bundles, their revisions (from provenance) identify the policy."""
        fake_opa.answer(
            200,
            {
                "result": {"violations": [], "mutations": [], "policy_revision": "sha256:data"},
                "provenance": {"version": "1.22.2", "bundles": {"policies": {"revision": "r42"}}},
            },
        )
        assert _evaluator(fake_opa.url).evaluate(document).policy_revision == "policies@r42"

    def test_refused_connection_is_retried_once(self, document, monkeypatch):
        """A refused connection never reached OPA, so it is retried once (riding over a restart), not more."""
        pauses: list[float] = []
        monkeypatch.setattr("airflow_policies.decision.opa_client.time.sleep", pauses.append)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with pytest.raises(OpaUnavailableError):
            _evaluator(f"http://127.0.0.1:{port}").evaluate(document)
        assert pauses == [0.2]

    def test_timeouts_and_http_errors_are_not_retried(self, fake_opa, document):
        """A timeout or an HTTP error reached OPA: retrying would spend the time twice or repeat a failure."""
        fake_opa.answer(500, {"code": "internal_error", "message": "boom"})
        with pytest.raises(OpaUnavailableError):
            _evaluator(fake_opa.url).evaluate(document)
        fake_opa.answer(200, {}, delay=1.0)
        with pytest.raises(OpaUnavailableError, match="read timeout"):
            _evaluator(fake_opa.url, timeout=0.2).evaluate(document)
        assert len(fake_opa.requests) == 2


def test_a_kept_alive_connection_that_opa_closed_is_replaced_once(document):
    """OPA may close an idle keep-alive connection: the next decision is sent again on a new one, once."""
    answer = json.dumps({"result": {"violations": [], "mutations": [], "policy_revision": "r"}}).encode()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    connections: list[int] = []

    def serve() -> None:
        for index in range(2):
            connection, _ = server.accept()
            connections.append(index)
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(
                    next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(
                        b":"
                    )[1]
                )
                while len(body) < length:
                    body += connection.recv(65536)
                # HTTP/1.1 keep-alive answer, then the server closes the idle connection.
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode() + b"\r\n\r\n" + answer
                )  # fmt: skip

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    evaluator = _evaluator(f"http://127.0.0.1:{server.getsockname()[1]}")
    try:
        assert evaluator.evaluate(document).policy_revision == "r"
        time.sleep(0.1)  # the server has closed its end by now
        assert evaluator.evaluate(document).policy_revision == "r"
    finally:
        thread.join(timeout=5)
        server.close()
    assert connections == [0, 1]
