"""The transport to the OPA server, measured: the same 50-task worst-case decision over each way to send it.

In alternating rounds of one run, against real OPA servers with the shipped rules and the example registry:
- ``opa_python_client``: what the client did before issue #14: opa-python-client's ``query_rule`` (requests,
  the document as a dict re-serialized by ``json.dumps``, the answer parsed by requests);
- ``evaluator_tcp``: :class:`OpaEvaluator` as shipped: one keep-alive ``http.client`` connection, the
  document's JSON serialized once (and hashed from the same bytes by the verdict), validated;
- ``unix_socket``: the same request and validation over ``opa run --addr unix://...``;
- ``wasm_in_process``: no server: the same rules compiled to OPA's Wasm target, run by wasmtime in this
  process (``engine: wasm``);
- ``pruned_body``: the same over TCP with the fields no shipped rule reads left out of the body (operator,
  task group, owners, retries, callbacks, ...): what a smaller body would save. Not shipped: team layers
  and bundles may read any field, and every enforcement point sends the same document.

Each figure is the p50 / p99 of the decision (serialize, send, OPA, receive, validate) in ms, and its
ratio to ``evaluator_tcp``; ``opa bench`` of the same document gives the rule evaluation alone. Where the
server's time goes comes from OPA itself (``?metrics=true``, asked in separate requests after the timed
rounds): decoding the input, evaluating the query, and the whole handler, for the full and the pruned body.

Run: .venv/bin/python benchmarks/transport.py [--rounds 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-policies-bench-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

#: Fields of the input document that no shipped rule reads (the team layers may).
UNREAD_TASK_FIELDS = {
    "operator", "task_group", "is_mapped", "is_setup", "is_teardown", "owner", "pool_slots", "run_as_user",
    "executor_config", "retries", "execution_timeout", "callbacks",
}  # fmt: skip
UNREAD_DAG_FIELDS = {"owner", "relative_fileloc", "callbacks"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=2)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


@contextmanager
def _unix_socket_opa(repo: Path, registry: Path) -> Iterator[str]:
    from airflow_policies._paths import opa_binary
    from airflow_policies.policy.revision import REGISTRY_DATA_PATH

    path = Path(tempfile.mkdtemp(prefix="opa-sock-")) / "opa.sock"
    command = [
        str(opa_binary()), "run", "--server", "--disable-telemetry", "--log-level", "error",
        "--addr", f"unix://{path}", "--ignore", "*_test.rego", "--ignore", "samples", "--ignore", "suite.yaml",
        str(repo / "rego"), f"{REGISTRY_DATA_PATH}:{registry}",
    ]  # fmt: skip
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = _UnixConnection(str(path))
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield str(path)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _posting(connection: http.client.HTTPConnection, path: str) -> Callable[[bytes], bytes]:
    def post(body: bytes) -> bytes:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        assert response.status == 200, answer
        return answer

    return post


#: OPA's own timers of one request (``?metrics=true``), as the report names them.
_SERVER_TIMERS = {
    "input_parse": "timer_rego_input_parse_ns",
    "query_eval": "timer_rego_query_eval_ns",
    "handler": "timer_server_handler_ns",
}


def _server_timers(post: Callable[[bytes], bytes], body: bytes, requests: int) -> dict[str, float]:
    """The p50 of each of OPA's own timers over ``requests`` decisions on ``body``, in ms."""
    from parse_overhead import _percentile

    samples: dict[str, list[float]] = {name: [] for name in _SERVER_TIMERS}
    for _ in range(requests):
        metrics = json.loads(post(body))["metrics"]
        for name, timer in _SERVER_TIMERS.items():
            samples[name].append(metrics[timer] / 1e6)
    return {name: round(_percentile(values, 0.5), 3) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=50)
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    sys.path.insert(0, str(repo / "benchmarks"))
    from opa_client import OpaClient
    from parse_overhead import _bench_documents, _percentile, opa_bench

    from airflow_policies._config import load_settings
    from airflow_policies.decision.models import Decision, parse_decision
    from airflow_policies.decision.opa_client import OpaEvaluator
    from airflow_policies.decision.wasm import WasmEvaluator
    from airflow_policies.document.models import InputDocument, document_json
    from airflow_policies.local.opa_server import local_opa
    from airflow_policies.policy.bundle import build_bundle

    registry = repo / "examples" / "registry.yaml"
    path = Path(tempfile.mkdtemp(prefix="airflow-policies-transport-"))
    worst = _bench_documents(args.tasks, path)["worst"]
    document = InputDocument.model_validate_json(worst.read_text())
    wasm_bundle = path / "policy-wasm.tar.gz"
    build_bundle(registry, wasm_bundle, wasm=True)
    in_process = WasmEvaluator(wasm_bundle)
    decision_path = "/v1/data/airflow_policies/main/decision?provenance=true"

    with local_opa(registry) as url, _unix_socket_opa(repo, registry) as socket_path:
        host, port = url.removeprefix("http://").split(":")
        client = OpaClient(host=host, port=int(port), retries=0)
        evaluator = OpaEvaluator(load_settings(environ={}, opa_url=url))
        over_unix = _posting(_UnixConnection(socket_path), decision_path)
        over_tcp = _posting(http.client.HTTPConnection(host, int(port), timeout=2), decision_path)
        over_metrics = _posting(http.client.HTTPConnection(host, int(port), timeout=2), f"{decision_path}&metrics=true")

        def opa_python_client() -> Decision:
            body = client.query_rule(
                input_data=document.model_dump(mode="json"),
                package_path="airflow_policies/main",
                rule_name="decision",
                query_params={"provenance": "true"},
            )
            return parse_decision(body, source="bench")

        def unix_socket() -> Decision:
            return parse_decision(json.loads(over_unix(b'{"input":' + document_json(document) + b"}")), source="b")

        def _pruned() -> bytes:
            pruned = document.model_dump(
                mode="json", exclude={"dag": UNREAD_DAG_FIELDS, "tasks": {"__all__": UNREAD_TASK_FIELDS}}
            )
            return json.dumps({"input": pruned}, separators=(",", ":")).encode()

        def pruned_body() -> Decision:
            return parse_decision(json.loads(over_tcp(_pruned())), source="bench")

        ways: dict[str, Callable[[], Decision]] = {
            "opa_python_client": opa_python_client,
            "evaluator_tcp": lambda: evaluator.evaluate(document),
            "unix_socket": unix_socket,
            "wasm_in_process": lambda: in_process.evaluate(document),
            "pruned_body": pruned_body,
        }
        reference = evaluator.evaluate(document)
        for name, way in ways.items():
            # The unix-socket OPA loads no policy revision; everything else must be the same decision.
            decision = way()
            same = (decision.violations, decision.mutations) == (reference.violations, reference.mutations)
            assert same, f"{name} got another decision"
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):  # interleaved so drift hits every way alike
            for name, way in ways.items():
                for _ in range(args.requests // args.rounds):
                    started = time.perf_counter()
                    way()
                    timings[name].append((time.perf_counter() - started) * 1000)
        server_side = {
            body_name: _server_timers(over_metrics, body, args.requests)
            for body_name, body in (("full", b'{"input":' + document_json(document) + b"}"), ("pruned", _pruned()))
        }

    full = len(b'{"input":' + document_json(document) + b"}")
    pruned_size = len(_pruned())
    base = _percentile(timings["evaluator_tcp"], 0.5)
    result = {
        "tasks": args.tasks,
        "requests_per_way": len(timings["evaluator_tcp"]),
        "body_bytes": {"full": full, "pruned": pruned_size},
        **{
            name: {
                "ms_p50": round(_percentile(values, 0.5), 3),
                "ms_p99": round(_percentile(values, 0.99), 3),
                "p50_ratio_to_evaluator_tcp": round(_percentile(values, 0.5) / base, 3),
            }
            for name, values in timings.items()
        },
        "opa_server_ms_p50": server_side,
        "opa_bench_same_document": opa_bench(repo, worst),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
