"""Rollout and failure semantics through Airflow's DagBag and the real OPA: actions per enforcement point,
exceptions that expire, and OPA failing in every way a network service fails. Each case leaves a
decision-log line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies.local.opa_server import local_opa
from tests.conftest import EXAMPLE_REGISTRY
from tests.integration.conftest import Parse
from tests.integration.fake_opa import FakeOpa, serving_fake_opa

FOREIGN_QUEUE = (
    'with DAG("{dag_id}", schedule=None, start_date=START):\n    EmptyOperator(task_id="t", queue="team_b")\n'
)
FOREIGN_POOL = (
    'with DAG("{dag_id}", schedule=None, start_date=START):\n    EmptyOperator(task_id="t", pool="team_b_pool")\n'
)
COMPLIANT = 'with DAG("{dag_id}", schedule=None, start_date=START):\n    EmptyOperator(task_id="t")\n'

ROLLOUT = """
actions:
  - {rule: queues.foreign_queue, action: dryrun, teams: [team_a], enforcement_points: [cli]}
  - {rule: queues.foreign_queue, action: deny, teams: [team_a], enforcement_points: [check]}
  - {rule: pools.foreign_pool, action: warn, teams: [team_a]}
exceptions:
  - {id: EXC-OLD, rule: connections.foreign_connection, team: team_a, dag_id: team_a__old, owner: a,
     reason: r, ticket: T-1, expires: 2020-01-01}
  - {id: EXC-NEW, rule: connections.foreign_connection, team: team_a, dag_id: team_a__new, owner: a,
     reason: r, ticket: T-2, expires: 2099-12-31}
"""
BORROW = (
    'with DAG("{dag_id}", schedule=None, start_date=START):\n'
    '    BashOperator(task_id="t", bash_command="echo {{{{ conn.team_b_warehouse.host }}}}")\n'
)


@pytest.fixture(scope="module")
def rollout_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rollout") / "rollout.yaml"
    path.write_text(ROLLOUT)
    return path


@pytest.fixture(scope="module")
def rollout_opa(rollout_file: Path) -> Iterator[str]:
    with local_opa(EXAMPLE_REGISTRY, rollout=rollout_file) as url:
        yield url


def _log(path: Path) -> dict[str, dict]:
    return {r["dag_id"]: r for r in (json.loads(line) for line in path.read_text().splitlines())}


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"AIRFLOW__AIRFLOW_POLICIES__DECISION_LOG": str(tmp_path / "decisions.jsonl"), **more}


def test_actions_per_enforcement_point(parse: Parse, rollout_opa: str, tmp_path: Path, rollout_file: Path):
    """One rollout, three behaviours: dryrun (CLI parse), warn (shown as an Airflow DAG warning), deny (check)."""
    files = {
        "queue.py": FOREIGN_QUEUE.format(dag_id="team_a__queue"),
        "pool.py": FOREIGN_POOL.format(dag_id="team_a__pool"),
    }
    bag = parse(files, url=rollout_opa, env=_env(tmp_path))
    assert set(bag.dags) == {"team_a__queue", "team_a__pool"}, bag.import_errors
    assert bag.dags["team_a__queue"].task_dict["t"].queue == "team_b"  # dryrun: nothing changes
    # The warning reaches Airflow's own DagWarning objects, which sync_bag_to_db writes for the UI.
    warnings = {w.dag_id: w.message for w in bag.dag_warnings}
    assert list(warnings) == ["team_a__pool"]
    assert "[pools.foreign_pool] task 't' runs on pool 'team_b_pool'" in warnings["team_a__pool"]
    log = _log(tmp_path / "decisions.jsonl")
    assert [(v["rule"], v["action"]) for v in log["team_a__queue"]["violations"]] == [
        ("queues.foreign_queue", "dryrun")
    ]
    assert (log["team_a__queue"]["outcome"], log["team_a__pool"]["outcome"]) == ("mutated", "warned")

    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_policies.cli",
            "check",
            str(tmp_path / "team_a_dags"),
            "--bundle",
            "team_a_dags",
            "--team",
            "team_a",
            "--opa-url",
            rollout_opa,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outcomes = {d["dag_id"]: d["outcome"] for f in json.loads(checked.stdout)["files"] for d in f["dags"]}
    assert (checked.returncode, outcomes) == (1, {"team_a__queue": "rejected", "team_a__pool": "warned"})


def test_warnings_alone_exit_zero(rollout_opa: str, tmp_path: Path):
    """check shows warnings and exits 0 when nothing is denied."""
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "pool.py").write_text(
        "import pendulum\nfrom airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "START = pendulum.datetime(2026, 1, 1, tz='UTC')\n" + FOREIGN_POOL.format(dag_id="team_a__pool")
    )
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_policies.cli",
            "check",
            str(bundle),
            "--bundle",
            "b",
            "--team",
            "team_a",
            "--opa-url",
            rollout_opa,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WARNED" in checked.stdout and "! warn     [pools.foreign_pool]" in checked.stdout


def test_expired_exception_stops_applying(parse: Parse, rollout_opa: str, tmp_path: Path):
    """An unexpired exception admits the DAG and is logged; an expired one no longer excuses anything."""
    files = {"old.py": BORROW.format(dag_id="team_a__old"), "new.py": BORROW.format(dag_id="team_a__new")}
    bag = parse(files, url=rollout_opa, env=_env(tmp_path))
    assert set(bag.dags) == {"team_a__new"}
    assert "[connections.foreign_connection]" in bag.import_errors["old.py"]
    log = _log(tmp_path / "decisions.jsonl")
    assert (log["team_a__new"]["exceptions_applied"], log["team_a__old"]["exceptions_applied"]) == (["EXC-NEW"], [])
    assert log["team_a__new"]["violations"][0]["exception"]["ticket"] == "T-2"


@pytest.fixture
def fake_opa(opa_url: str) -> Iterator[FakeOpa]:
    with serving_fake_opa(opa_url) as fake:
        yield fake


@pytest.mark.parametrize(
    ("fixed", "fragment"),
    [
        ((500, b'{"code": "internal_error", "message": "eval_conflict_error"}'), "answered HTTP 500: internal_error"),
        ((200, b'{"result": {"violations": "none", "mutations": []}}'), "malformed decision: violations"),
        ((200, b"{}"), "returned no decision"),
    ],
    ids=["http-500", "malformed", "undefined"],
)
def test_bad_answers_fail_closed_with_the_reason(parse: Parse, fake_opa: FakeOpa, tmp_path: Path, fixed, fragment):
    """An error or a decision of the wrong shape rejects the DAG (never an allow), says why, and is logged."""
    fake_opa.fixed = fixed
    bag = parse({"etl.py": COMPLIANT.format(dag_id="team_a__etl")}, url=fake_opa.url, env=_env(tmp_path))
    assert bag.dags == {}
    assert "could not decide on it (fail closed)" in bag.import_errors["etl.py"]
    assert fragment in bag.import_errors["etl.py"]
    record = _log(tmp_path / "decisions.jsonl")["team_a__etl"]
    assert record["outcome"] == "failed_closed" and fragment in record["error"]


def test_slow_opa_costs_one_timeout_then_the_breaker_fails_fast(parse: Parse, fake_opa: FakeOpa, tmp_path: Path):
    """A slow OPA: the first DAG waits one read timeout, the next ones are rejected without a request."""
    fake_opa.delay = 3.0
    files = {f"dag_{n}.py": COMPLIANT.format(dag_id=f"team_a__dag_{n}") for n in range(4)}
    bag = parse(files, url=fake_opa.url, env=_env(tmp_path, AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS="0.3"))
    assert bag.dags == {}
    assert sorted("circuit breaker open" in error for error in bag.import_errors.values()) == [False, True, True, True]
    assert all("did not answer within 0.3s (read timeout)" in error for error in bag.import_errors.values())
    assert fake_opa.requests == 1
    assert {r["outcome"] for r in _log(tmp_path / "decisions.jsonl").values()} == {"failed_closed"}


def test_one_slow_document_is_refused_alone_even_failing_open(parse: Parse, fake_opa: FakeOpa, tmp_path: Path):
    """An author inflates one DAG until OPA times out on it: with failure_mode open that DAG is still refused
    (never admitted unchecked), and the breaker stays closed, so the other DAGs are decided as usual."""
    fake_opa.delay, fake_opa.slow_from = 3.0, 20_000
    big = 'with DAG("team_a__big", schedule=None, start_date=START):\n' + "".join(
        f'    EmptyOperator(task_id="t{n}", doc="{"x" * 200}")\n' for n in range(100)
    )
    files = {"big.py": big, **{f"dag_{n}.py": COMPLIANT.format(dag_id=f"team_a__dag_{n}") for n in range(3)}}
    env = _env(
        tmp_path,
        AIRFLOW__AIRFLOW_POLICIES__READ_TIMEOUT_SECONDS="0.3",
        AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE='{"cli": "open"}',
    )
    bag = parse(files, url=fake_opa.url, env=env)
    assert set(bag.dags) == {"team_a__dag_0", "team_a__dag_1", "team_a__dag_2"}
    assert "could not decide on it (fail closed)" in bag.import_errors["big.py"]
    assert "so this document" in bag.import_errors["big.py"] and "is what is slow" in bag.import_errors["big.py"]
    outcomes = {dag_id: r["outcome"] for dag_id, r in _log(tmp_path / "decisions.jsonl").items()}
    assert outcomes == {"team_a__big": "failed_closed", **{f"team_a__dag_{n}": "mutated" for n in range(3)}}
    assert fake_opa.requests == 4


def test_fail_open_admits_and_tells_the_authors(parse: Parse, tmp_path: Path):
    """failure_mode open at this point: the DAG is admitted, with a DAG warning saying it was not checked."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = _env(tmp_path, AIRFLOW__AIRFLOW_POLICIES__FAILURE_MODE='{"cli": "open"}')
    bag = parse({"etl.py": COMPLIANT.format(dag_id="team_a__etl")}, url=dead, env=env)
    assert set(bag.dags) == {"team_a__etl"}
    (warning,) = bag.dag_warnings
    assert "admitted unchecked (fail open)" in warning.message and dead in warning.message
    assert _log(tmp_path / "decisions.jsonl")["team_a__etl"]["outcome"] == "failed_open"


def _opa_pid(url: str) -> int:
    address = url.removeprefix("http://")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if address.encode() in command and command[0].endswith(b"opa"):
                return int(entry.name)
    raise AssertionError(f"no OPA process serves {url}")


def test_opa_killed_mid_run(parse: Parse, tmp_path: Path):
    """OPA is killed while a parse pass runs (by the second DAG file parsed): the first DAG was admitted, the
    second is rejected naming the unreachable URL, the third fails fast on the open breaker; all logged."""
    killer = (
        "import os, pathlib, signal, socket, time\n"
        "_count = pathlib.Path(os.environ['PARSE_COUNTER'])\n"
        "_count.write_text(str(int(_count.read_text() or 0) + 1) if _count.exists() else '1')\n"
        "if _count.read_text() == '2':\n"
        "    os.kill(int(os.environ['OPA_PID']), signal.SIGKILL)\n"
        "    while socket.socket().connect_ex(('127.0.0.1', int(os.environ['OPA_PORT']))) == 0:\n"
        "        time.sleep(0.05)\n"
    )
    with local_opa(EXAMPLE_REGISTRY) as url:
        env = _env(tmp_path, OPA_PID=str(_opa_pid(url)), OPA_PORT=url.rsplit(":", 1)[1])
        env["PARSE_COUNTER"] = str(tmp_path / "parsed")
        files = {f"{name}.py": killer + COMPLIANT.format(dag_id=f"team_a__{name}") for name in ("a", "b", "c")}
        bag = parse(files, url=url, env=env)
    records = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["mutated", "failed_closed", "failed_closed"]
    assert "is unreachable" in records[1]["error"] and url in records[1]["error"]
    assert "circuit breaker open" not in records[1]["error"] and "circuit breaker open" in records[2]["error"]
    assert set(bag.dags) == {records[0]["dag_id"]} and len(bag.import_errors) == 2
