"""One decision per DAG version in the DAG processor, and none for a file that did not change.

A real ``airflow dag-processor`` loops over a team's bundle with ``min_file_process_interval`` 0 (every file
parsed again on every pass, each in a forked child), against a real OPA whose data this test can change.
Decisions are counted twice: the decision-log lines of every enforcement point, and the decisions OPA itself
logged for the decision entrypoint. A cold pass decides each DAG once (in the manager); passes over unchanged
files decide nothing; a changed file, a changed registry and a changed policy revision each cause one new
decision per DAG they concern, and what Airflow stores follows the new verdict.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_policies._paths import opa_binary, rego_library
from airflow_policies.local.net import free_loopback_port, stop
from airflow_policies.local.opa_server import SERVED_POLICY_IGNORES
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec
from airflow_policies.policy.rollout import load_rollout
from airflow_policies.policy.rule_index import declared_rules
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT

ENTRYPOINT = "airflow_policies/main/decision"
#: The admitted DAGs of the bundle, whose last parse time marks the passes; borrow_connection.py is rejected.
ADMITTED = {"team_a__etl", "team_a__legacy_export"}
DAGS = ADMITTED | {"team_a__borrow_connection"}


@pytest.fixture(scope="module")
def writable_opa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real OPA serving the shipped rules, the example registry and rollout, whose data the test may rewrite
    through OPA's API (the shipped local OPA refuses writes); its own decision log goes to the returned file."""
    directory = tmp_path_factory.mktemp("opa")
    rollout = load_rollout(EXAMPLE_ROLLOUT, {d.id for d in declared_rules(rego_library().resolve())})
    (directory / "rollout.json").write_text(rollout.model_dump_json(exclude_none=True))
    (directory / "meta.json").write_text(json.dumps({"revision": "sha256:first"}))
    url = f"http://127.0.0.1:{free_loopback_port()}"
    log = directory / "opa.log"
    command = [
        str(opa_binary()),
        "run",
        "--server",
        "--disable-telemetry",
        "--set",
        "decision_logs.console=true",
        "--addr",
        url.removeprefix("http://"),
        *SERVED_POLICY_IGNORES,
        str(rego_library()),
        f"airflow_policies.registry:{EXAMPLE_REGISTRY}",
        f"airflow_policies.rollout:{directory / 'rollout.json'}",
        f"airflow_policies.meta:{directory / 'meta.json'}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _until(lambda: _answers(url), 30, "OPA to start")
        yield url, log
    finally:
        stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.5)


def _put(url: str, path: str, value: object) -> None:
    request = urllib.request.Request(
        f"{url}/v1/data/{path}",
        data=json.dumps(value).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status in (200, 204)


def _get(url: str, path: str) -> object:
    with urllib.request.urlopen(f"{url}/v1/data/{path}", timeout=5) as response:
        return json.loads(response.read())["result"]


class Processor:
    """A running ``airflow dag-processor`` over one sandbox, and what it decided so far."""

    def __init__(self, sandbox: AirflowSandbox, bundle: Path, opa_log: Path) -> None:
        self.sandbox = sandbox
        self.bundle = bundle
        self.opa_log = opa_log
        self.decision_log = sandbox.home / "decisions.jsonl"

    def records(self) -> list[dict]:
        text = self.decision_log.read_text() if self.decision_log.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def by_point(self) -> Counter[str]:
        return Counter(r["enforcement_point"] for r in self.records())

    def by_dag(self) -> Counter[str]:
        return Counter(r["dag_id"] for r in self.records())

    def opa_decisions(self) -> int:
        """Decisions OPA logged for the decision entrypoint (the revision probe is another path)."""
        count = 0
        for line in self.opa_log.read_text().splitlines():
            if '"decision_id"' in line:
                entry = json.loads(line)
                count += entry.get("path") == ENTRYPOINT
        return count

    def parse_times(self) -> dict[str, str]:
        with sqlite3.connect(self.sandbox.home / "airflow.db", timeout=30) as db:
            return dict(db.execute("select dag_id, last_parsed_time from dag where not is_stale"))

    def passes(self, count: int, timeout: float = 180) -> None:
        """Wait until every admitted DAG was parsed (and written) ``count`` more times."""
        seen: dict[str, set[str]] = {dag_id: set() for dag_id in ADMITTED}
        start = {dag_id: time for dag_id, time in self.parse_times().items()}

        def done() -> bool:
            for dag_id, parsed in self.parse_times().items():
                if dag_id in seen and parsed != start.get(dag_id):
                    seen[dag_id].add(parsed)
            return all(len(times) >= count for times in seen.values())

        _until(done, timeout, f"{count} passes")

    def versions(self) -> dict[str, int]:
        """How many serialized versions Airflow holds of each DAG."""
        with sqlite3.connect(self.sandbox.home / "airflow.db", timeout=30) as db:
            return dict(db.execute("select dag_id, count(*) from serialized_dag group by dag_id"))

    def routing(self) -> dict:
        return self.sandbox.state()["dags"]


@pytest.fixture(scope="module")
def processor(writable_opa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processor]:
    url, opa_log = writable_opa
    bundle = tmp_path_factory.mktemp("team_a")
    for name in ("etl.py", "legacy_export.py", "borrow_connection.py"):
        shutil.copy(EXAMPLE_DAGS / "team_a" / name, bundle / name)
    sandbox = AirflowSandbox(
        home=tmp_path_factory.mktemp("home"), bundles=[BundleSpec("team_a_dags", bundle, "team_a")], opa_url=url
    )
    sandbox.initialise()
    running = Processor(sandbox, bundle, opa_log)
    env = {
        **sandbox.env,
        "AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(running.decision_log),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "0",
        # Airflow writes a changed DAG at most every 30 s by default: at once here, to read the new verdict back.
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
        # The revision is probed at most once per decision_cache_seconds: short, so the test sees changes soon.
        "AIRFLOW__AIRFLOW_POLICIES__DECISION_CACHE_SECONDS": "2",
    }
    airflow_cli = str(Path(sys.executable).with_name("airflow"))
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [airflow_cli, "dag-processor"], env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode not in (0, -15, 15):
                output.seek(0)
                print(output.read()[-3000:].decode(errors="replace"))


def test_a_cold_pass_decides_each_dag_once_in_the_manager(processor):
    """The first pass: one decision per DAG (admitted, routed or rejected), at the manager, none in a parse child."""
    processor.passes(1)
    _until(lambda: set(processor.by_dag()) == DAGS, 60, "every DAG decided")
    assert processor.by_point() == Counter({"dag_processor_manager": len(DAGS)})
    assert processor.by_dag() == Counter(dict.fromkeys(DAGS, 1))
    assert processor.opa_decisions() == len(DAGS)


def test_passes_over_unchanged_files_decide_nothing(processor):
    """Three more passes over the same files: no decision-log line and no decision at OPA; and since the manager
    writes the same routed DAG every pass, Airflow keeps one version of each (no new DAG version per pass)."""
    before, at_opa, versions = len(processor.records()), processor.opa_decisions(), processor.versions()
    processor.passes(3)
    assert len(processor.records()) == before
    assert processor.opa_decisions() == at_opa
    assert processor.versions() == versions == dict.fromkeys(ADMITTED, 1)


def test_the_stored_dags_carry_the_managers_verdict(processor):
    """Routed by the manager in what Airflow stores; the rejected file is an import error, its DAG not stored."""
    state = processor.sandbox.state()
    assert state["dags"]["team_a__etl"]["tasks"] == {
        "load": {"queue": "team_a", "pool": "team_a_pool"},
        "report": {"queue": "team_a", "pool": "team_a_pool"},
    }
    assert state["dags"]["team_a__etl"]["tags"] == ["etl", "team:team_a"]
    assert "team_a__borrow_connection" not in state["dags"]
    (error,) = [e["message"] for e in state["import_errors"] if e["file"] == "borrow_connection.py"]
    assert "[connections.foreign_connection] task 'query_warehouse' uses connection 'team_b_warehouse'" in error


def test_a_changed_file_is_decided_again_alone(processor):
    """A file whose DAG changed is one new decision, for that DAG only."""
    before = processor.by_dag()
    etl = processor.bundle / "etl.py"
    etl.write_text(etl.read_text().replace('tags=["etl"]', 'tags=["etl", "nightly"]'))
    _until(lambda: processor.by_dag()["team_a__etl"] == before["team_a__etl"] + 1, 120, "the changed DAG decided")
    processor.passes(2)
    assert processor.by_dag() - before == Counter({"team_a__etl": 1})
    assert processor.routing()["team_a__etl"]["tags"] == ["etl", "nightly", "team:team_a"]


def test_a_changed_registry_decides_every_dag_again_once(processor, writable_opa):
    """The registry is data in OPA: the manager's probe sees it change and every DAG is decided once more, with
    the new registry (team A's default queue moved)."""
    url, _ = writable_opa
    before, at_opa = processor.by_dag(), processor.opa_decisions()
    registry = _get(url, "airflow_policies/registry")
    registry["teams"]["team_a"]["default_queue"] = "team_a_gpu"  # type: ignore[index]
    _put(url, "airflow_policies/registry", registry)
    _until(lambda: set(processor.by_dag() - before) == DAGS, 120, "every DAG decided under the new registry")
    processor.passes(2)
    assert processor.by_dag() - before == Counter(dict.fromkeys(DAGS, 1))
    assert processor.opa_decisions() - at_opa == len(DAGS)
    assert {t["queue"] for t in processor.routing()["team_a__etl"]["tasks"].values()} == {"team_a_gpu"}


def test_a_new_policy_revision_decides_every_dag_again_once(processor, writable_opa):
    """A new policy revision (as a new bundle or rule set announces it) is a new key for every verdict."""
    url, _ = writable_opa
    before = processor.by_dag()
    _put(url, "airflow_policies/meta", {"revision": "sha256:second"})
    _until(lambda: set(processor.by_dag() - before) == DAGS, 120, "every DAG decided under the new revision")
    processor.passes(2)
    assert processor.by_dag() - before == Counter(dict.fromkeys(DAGS, 1))
    assert {r["policy_revision"] for r in processor.records()[-len(DAGS) :]} == {"sha256:second"}


FORGERY = """\
# Top-level code of team A's file: open the breaker the host's processes share, for an hour, at every parse.
import hashlib as _hashlib, json as _json, os as _os, time as _time
from pathlib import Path as _Path
from urllib.parse import urlsplit as _urlsplit

# The file is named after the decision URL, as the policy names it (its source is public).
_opa = _urlsplit(_os.environ["AIRFLOW__AIRFLOW_POLICIES__OPA_URL"])
_url = f"{_opa.scheme}://{_opa.hostname}:{_opa.port}/v1/data/airflow_policies/main/decision"
_state = _Path(_os.environ["AIRFLOW__AIRFLOW_POLICIES__STATE_DIR"])
_state.mkdir(parents=True, exist_ok=True)
_now = _time.time()
_forged = {"opened_at": _now, "probe_at": _now + 3600, "cooldown": 3600, "last_error": "forged by a DAG file"}
(_state / f"breaker-{_hashlib.sha256(_url.encode()).hexdigest()[:16]}.json").write_text(_json.dumps(_forged))
"""


def test_a_dag_file_that_forges_the_shared_breaker_fails_no_decision_of_the_manager(processor, monkeypatch):
    """As the attacker: a team A file's code writes the host's shared breaker state as open, at every parse. The
    parse-time points read that file (control: the forgery is real); the manager keeps a breaker of its own, so
    the next changed file is decided as usual, and nothing fails closed."""
    from airflow_policies.decision import decide
    from airflow_policies.exceptions import CircuitOpenError
    from airflow_policies.local.testing import reload_configuration

    forging = processor.bundle / "legacy_export.py"
    forging.write_text(f"{forging.read_text()}\n{FORGERY}")  # after its `from __future__` import
    for name in ("AIRFLOW__AIRFLOW_POLICIES__STATE_DIR", "AIRFLOW__AIRFLOW_POLICIES__OPA_URL"):
        monkeypatch.setenv(name, processor.sandbox.env[name])
    reload_configuration()
    try:
        # Control: the breaker a parse-time point (a parse child, a worker's re-parse) reads is open once the
        # forging file was parsed.
        _until(lambda: decide._breaker(shared=True).is_open, 120, "the forging file parsed")
        with pytest.raises(CircuitOpenError, match="forged by a DAG file"):
            decide._breaker(shared=True).before_call()
    finally:
        monkeypatch.undo()
        reload_configuration()
    before = processor.by_dag()
    etl = processor.bundle / "etl.py"
    etl.write_text(etl.read_text() + "\n# changed after the forgery\n")
    etl.write_text(etl.read_text().replace('tags=["etl"', 'tags=["etl", "forged-around"'))
    _until(lambda: processor.by_dag()["team_a__etl"] == before["team_a__etl"] + 1, 120, "the next DAG decided")
    processor.passes(1)
    (latest,) = [r for r in processor.records() if r["dag_id"] == "team_a__etl"][-1:]
    assert latest["enforcement_point"] == "dag_processor_manager" and latest["outcome"] == "mutated", latest
    assert not [r for r in processor.records() if "circuit breaker open" in (r["error"] or "")]
    assert "forged-around" in processor.routing()["team_a__etl"]["tags"]
