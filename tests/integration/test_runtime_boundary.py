"""The runtime boundary in a running deployment: every family of Execution API call a task makes, decided by
the policy, and the triggerer. Real API server, scheduler (LocalExecutor), triggerer (team A's), SQLite
metadata DB and OPA with the example registry.

Team A's bundle (``runtime/team_a``) holds one DAG per route family, each written as a team A author reaching
into team B at run time (names computed in the task, so parse time sees nothing) with an ``attack`` task, and
a ``control`` task doing the same on team A's own resources. Team B's bundle holds the victims: a DAG, an asset
(with a DAG it schedules) and a Variable. Every DAG passes every parse-time and server-side check; only the
Execution API guard stands between the attacks and team B.

One deployment runs with the guard, one without it (``disabled_points: [execution_api]``, read at start), both
from one parsed metadata DB: with the guard each attack fails with the rule in its log and team B's rows stay
as they were; without it each attack succeeds, except XComs, which Airflow scopes by team itself.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_policies.local.sandbox import WORKER_SECRETS, AirflowSandbox, BundleSpec

RUNTIME = Path(__file__).resolve().parent / "runtime"
#: Team A's task looking for the keys to act as team B (shared with the Celery deployment's test).
POSTURE = Path(__file__).resolve().parent / "posture"
TERMINAL = {"success", "failed", "upstream_failed", "skipped"}
#: The attack DAGs and their tasks; each finishes on its own (the run of team A's target DAG is a side effect).
ATTACKS = {
    "team_a__trigger_runtime": {"attack", "control"},
    "team_a__produce_runtime": {"attack_alias", "attack_declared", "control"},
    "team_a__read_assets": {"attack_asset", "attack_events", "control"},
    "team_a__asset_state": {"attack", "control"},
    "team_a__state_queries": {"attack_runs", "attack_task_states", "control"},
    "team_a__defer_foreign": {"attack", "control"},
    "team_a__variable_write": {"attack_overwrite", "attack_delete_global", "control"},
    "team_a__xcom_cross": {"make", "attack", "control"},
    "team_a__channel_probe": {"trigger_attack", "trigger_control", "fail"},
    "team_a__defer_callback": {"attack"},
    "team_a__deadline_callback": {"slow"},
    "team_a__look_for_keys": {"look"},
}
TEAM_B_PASSWORD = "team-b-password"
#: What team B's rows are before any attack: no run of its DAGs, no event or state on its asset, its Variable.
VARIABLES = {
    "team_b_api_base": ("https://team-b.example", "team_b"),
    "environment_name": ("prod", None),
    # Teamless in Airflow, so Airflow hands it to any team; the registry does not give it to team A.
    "team_b_channel_secret": ("team b's channel secret", None),
}


def _sandbox(home: Path, opa_url: str) -> AirflowSandbox:
    sandbox = AirflowSandbox(
        home=home,
        bundles=[
            BundleSpec("team_a_dags", RUNTIME / "team_a", "team_a"),
            BundleSpec("team_a_posture", POSTURE / "team_a", "team_a"),
            BundleSpec("team_b_dags", RUNTIME / "team_b", "team_b"),
        ],
        opa_url=opa_url,
        # Behind a reverse proxy, as usually deployed: [api] base_url puts every route under /airflow, and tasks
        # call the Execution API at /airflow/execution/.
        base_path="/airflow",
    )
    # The probe trigger must be importable by the worker and the triggerer: Airflow puts plugins on sys.path.
    shutil.copytree(RUNTIME / "plugins", home / "plugins", dirs_exist_ok=True)
    return sandbox


@pytest.fixture(scope="module")
def template_db(opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Teams, pools, teamless connections (Airflow hands them to any team), Variables and both bundles parsed
    with every check on."""
    sandbox = _sandbox(tmp_path_factory.mktemp("runtime-template"), opa_url)
    sandbox.initialise()
    # Six of team A's tasks at a time: enough to run the 22 in a minute, few enough for two shared cores.
    sandbox.airflow("pools", "set", "team_a_pool", "6", "team A", "--team-name", "team_a")
    sandbox.airflow("pools", "set", "team_b_pool", "4", "team B", "--team-name", "team_b")
    sandbox.airflow("pools", "set", "airflow_policies_quarantine", "0", "task instances airflow-policies rejects")
    sandbox.airflow("connections", "add", "team_a_postgres", "--conn-uri", "postgres://team-a-host/db")
    sandbox.airflow(
        "connections", "add", "team_b_warehouse", "--conn-uri", f"postgres://reader:{TEAM_B_PASSWORD}@team-b-host/db"
    )
    sandbox.python(
        textwrap.dedent(
            f"""
            from airflow.models.variable import Variable
            Variable.set("team_a_threshold", "5")
            for key, (value, team) in {VARIABLES!r}.items():
                Variable.set(key, value, team_name=team)
            """
        )
    )
    sandbox.airflow("dag-processor", "--num-runs", "1", timeout=300)
    state = sandbox.state()
    parsed = {dag_id for dag_id, dag in state["dags"].items() if not dag["has_import_errors"]}
    assert {*ATTACKS, "team_a__target", "team_b__ledger", "team_b__consumer"} <= parsed, state["import_errors"]
    return sandbox.home / "airflow.db"


_VICTIM_ROWS = """
import datetime
import json
from airflow.models.asset import AssetEvent, AssetModel
from airflow.models.asset_state_store import AssetStateStoreModel
from airflow.models.dagrun import DagRun
from airflow.models.log import Log
from airflow.models.variable import Variable
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

from airflow_policies.enforcement.audit_log import latest_postures, recent_refusals

since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
with create_session() as session:
    every = lambda model: session.scalars(select(model))
    uris = {a.id: a.uri for a in every(AssetModel)}
    print(json.dumps({
        "dag_runs": sorted([r.dag_id, r.run_id] for r in every(DagRun)),
        "asset_events": sorted([e.asset.uri, e.source_dag_id, e.source_task_id] for e in every(AssetEvent)),
        "asset_state": sorted([uris[s.asset_id], s.key, s.value] for s in every(AssetStateStoreModel)),
        "variables": {v.key: [v.val, v.team_name] for v in every(Variable)},
        "xcoms": {f"{x.dag_id}.{x.task_id}": x.value for x in every(XComModel) if x.key == "return_value"},
        "audit_log": [[row.event, row.dag_id, row.task_id, json.loads(row.extra)] for row in every(Log)
                      if row.event.startswith("airflow_policies.")],
        # What the Policies page reads back of them.
        "page": {"refusals": [r.model_dump(mode="json") for r in recent_refusals(session, since)],
                 "posture": sorted(r.component for r in latest_postures(session, since))},
    }, default=str))
"""


_TASK_TOKEN = """
from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args
from airflow.configuration import conf
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

with create_session() as session:
    ti_id = session.scalar(select(TaskInstance.id).where(TaskInstance.dag_id == "team_a__read_assets"))
generator = JWTGenerator(
    valid_for=600,
    audience=conf.get_mandatory_list_value("execution_api", "jwt_audience")[0],
    issuer=conf.get("api_auth", "jwt_issuer", fallback=None),
    **get_signing_args(make_secret_key_if_needed=False),
)
print(generator.generate(extras={"sub": str(ti_id)}))
"""

#: Requests a team A task can send itself, with its own valid token (it can always get one), each naming team B's
#: connection (or, for the control, team A's) the way a hand-written client could: header lists and paths.
_B = "/airflow/execution/connections/team_b_warehouse"
DIRECT = {
    "plain": (_B, ["Bearer {token}"], []),
    "junk_authorization_last": (_B, ["Bearer {token}", "Bearer x"], []),
    "junk_authorization_first": (_B, ["Bearer x", "Bearer {token}"], []),
    "version_twice": (_B, ["Bearer {token}"], ["2025-04-28", "2099-01-01"]),
    "without_the_base_path": ("/execution/connections/team_b_warehouse", ["Bearer {token}"], []),
    "lower_case_scheme": (_B, ["bearer  {token} "], []),
    "control": ("/airflow/execution/connections/team_a_postgres", ["Bearer {token}"], []),
}  # fmt: skip


def _direct_attacks(sandbox: AirflowSandbox) -> dict[str, tuple[int, str]]:
    """Each request of :data:`DIRECT`, sent as written (repeated headers included): its status and body."""
    token = sandbox.python(_TASK_TOKEN).strip().splitlines()[-1]
    answers = {}
    for name, (path, authorizations, versions) in DIRECT.items():
        connection = http.client.HTTPConnection("127.0.0.1", sandbox.api_port, timeout=60)
        connection.putrequest("GET", path)
        for value in authorizations:
            connection.putheader("Authorization", value.format(token=token))
        for value in versions:
            connection.putheader("Airflow-API-Version", value)
        connection.endheaders()
        response = connection.getresponse()
        answers[name] = (response.status, response.read().decode())
        connection.close()
    return answers


@dataclass
class Deployment:
    """One run of the deployment: its sandbox (logs, decision logs), task instances, team B's rows, and the
    answers to the requests a task can send by hand."""

    sandbox: AirflowSandbox
    states: dict[tuple[str, str], str | None]
    rows: dict[str, Any]
    direct: dict[str, tuple[int, str]]

    def channel_probe(self, name: str) -> dict[str, dict[str, str]]:
        """What a channel served to team A's code: ``dag_file``, ``dag_callback``, or a trigger task's XCom."""
        if name.startswith("trigger_"):
            team = "team_b" if name == "trigger_attack" else "team_a"
            return {team: self.rows["xcoms"][f"team_a__channel_probe.{name}"]}
        path = self.sandbox.home / "channel-probe" / f"{name}.json"
        probe: dict[str, dict[str, str]] = json.loads(path.read_text())
        return probe

    def log(self, dag_id: str, task_id: str) -> str:
        logs = sorted((self.sandbox.home / "logs").glob(f"dag_id={dag_id}/*/task_id={task_id}/attempt=*.log"))
        return "\n".join(path.read_text() for path in logs)


def _finished(state: dict) -> bool:
    tis = {(ti["dag_id"], ti["task_id"]): ti["state"] for ti in state["task_instances"]}
    return all(tis.get((dag_id, task)) in TERMINAL for dag_id, tasks in ATTACKS.items() for task in tasks)


def _deadline_refusals(sandbox: AirflowSandbox) -> list[dict[str, Any]]:
    """The triggerer's refusals of a trigger told to import team A's unlisted callable."""
    return [
        v
        for record in sandbox.decisions("triggerer-team_a")
        if record["outcome"] == "rejected"
        for v in record["violations"]
        if v["rule"] == "triggers.unlisted_trigger" and v["details"].get("callable") == "team_a_triggers.escape"
    ]


def _deadline_callback_settled(sandbox: AirflowSandbox) -> bool:
    return (sandbox.home / "channel-probe" / "callback_trigger.json").exists() or bool(_deadline_refusals(sandbox))


def _deploy(template_db: Path, home: Path, opa_url: str, disabled: list[str]) -> Deployment:
    sandbox = _sandbox(home, opa_url)
    for part in template_db.parent.glob("airflow.db*"):
        shutil.copy(part, home / part.name)
    disabled_env = {"AIRFLOW__AIRFLOW_POLICIES__DISABLED_POINTS": json.dumps(disabled)}
    with sandbox.serve(env=disabled_env, triggerer_teams=("team_a",), dag_processor=True):
        state = sandbox.wait_for(_finished, timeout=420)
        # The failed run's DAG callback runs in the DAG processor once the scheduler has handed it over.
        sandbox.wait_for(lambda _: (home / "channel-probe" / "dag_callback.json").exists(), timeout=180)
        # The missed deadline's callback reaches team A's triggerer: it runs it, or refuses it.
        sandbox.wait_for(lambda _: _deadline_callback_settled(sandbox), timeout=180)
        direct = _direct_attacks(sandbox)
    states = {(ti["dag_id"], ti["task_id"]): ti["state"] for ti in state["task_instances"]}
    rows = json.loads(sandbox.python(_VICTIM_ROWS).strip().splitlines()[-1])
    return Deployment(sandbox, states, rows, direct)


@pytest.fixture(scope="module")
def guarded(template_db: Path, opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return _deploy(template_db, tmp_path_factory.mktemp("guarded"), opa_url, [])


@pytest.fixture(scope="module")
def unguarded(template_db: Path, opa_url: str, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    disabled = ["execution_api", "triggerer", "dag_processor_channel"]
    return _deploy(template_db, tmp_path_factory.mktemp("unguarded"), opa_url, disabled)


#: Each route family: its DAG, its attack tasks with the target each names, and the rule that refuses them.
FAMILIES = {
    "trigger a DAG run": ("team_a__trigger_runtime", {"attack": "team_b__ledger"}, "cross_dag.foreign_target"),
    "asset event through an alias": (
        "team_a__produce_runtime", {"attack_alias": "s3://team-b/ledger"}, "assets.produce_outside_namespace",
    ),
    "asset event of an outlet added at run time": (
        "team_a__produce_runtime", {"attack_declared": "s3://team-b/ledger"}, "assets.produce_outside_namespace",
    ),
    "asset and asset-event reads": (
        "team_a__read_assets", {"attack_asset": "s3://team-b/ledger", "attack_events": "s3://team-b/ledger"},
        "assets.foreign_consume",
    ),
    "asset state store write": (
        "team_a__asset_state", {"attack": "s3://team-b/ledger"}, "assets.produce_outside_namespace",
    ),
    "state of another team's DAG": (
        "team_a__state_queries", {"attack_runs": "team_b__ledger", "attack_task_states": "team_b__ledger"},
        "cross_dag.foreign_target",
    ),
    "deferral to a trigger with another team's connection": (
        "team_a__defer_foreign", {"attack": "team_b_warehouse"}, "connections.foreign_connection",
    ),
    "deferral to a trigger told to import an unlisted callable": (
        "team_a__defer_callback", {"attack": "team_a_triggers.escape"}, "triggers.unlisted_trigger",
    ),
    "Variable writes": (
        "team_a__variable_write", {"attack_overwrite": "team_b_api_base", "attack_delete_global": "environment_name"},
        "variables.foreign_variable",
    ),
}  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_with_the_guard_each_attack_fails_with_the_rule_and_its_control_succeeds(guarded, family):
    dag_id, attacks, rule = FAMILIES[family]
    for task_id in attacks:
        assert guarded.states[dag_id, task_id] == "failed", task_id
        log = guarded.log(dag_id, task_id)
        assert "'reason': 'airflow_policies'" in log and f"[{rule}]" in log, task_id
    if (dag_id, "control") in guarded.states:
        assert guarded.states[dag_id, "control"] == "success"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_api_server_decided_each_attack_on_its_runtime_reference(guarded, family):
    """The decision log names the rule, the attacking task and the target its request named, at execution_api."""
    dag_id, attacks, rule = FAMILIES[family]
    refused = {
        (v["task_id"], target)
        for record in guarded.sandbox.decisions("api-server")
        if (record["dag_id"], record["enforcement_point"], record["outcome"]) == (dag_id, "execution_api", "rejected")
        for v in record["violations"]
        if v["rule"] == rule
        for target in attacks.values()
        if target in json.dumps(v["details"])
    }
    assert set(attacks.items()) <= refused
    assert not any(task_id == "control" for task_id, _ in refused)


def test_the_triggerer_refuses_a_deadline_callback_it_would_import(guarded, unguarded):
    """A missed deadline's CallbackTrigger, created by the scheduler (no Execution API call, nothing at parse time):
    team A's triggerer refuses it before its runner imports the callable; without the triggerer point it runs."""
    assert _deadline_refusals(guarded.sandbox)
    assert not (guarded.sandbox.home / "channel-probe" / "callback_trigger.json").exists()
    assert json.loads((unguarded.sandbox.home / "channel-probe" / "callback_trigger.json").read_text()) == {
        "ran": {"in": "the triggerer"}
    }


def test_without_the_guard_the_unlisted_callable_reached_the_triggerer(unguarded, guarded):
    """CallbackTrigger with team A's callable path went to the triggerer without the guard, never with it."""
    logs = "/dag_id=team_a__defer_callback/*/task_id=attack/*.trigger.*.log"
    assert list(unguarded.sandbox.home.glob("logs" + logs)), "the trigger ran in team A's triggerer"
    assert not list(guarded.sandbox.home.glob("logs" + logs))


def test_with_the_guard_team_b_is_untouched_and_team_a_got_its_own(guarded):
    rows = guarded.rows
    assert [run for run in rows["dag_runs"] if run[0].startswith("team_b__")] == []
    assert sorted(run for run in rows["dag_runs"] if run[0] == "team_a__target") == [["team_a__target", "from_team_a"]]
    assert rows["asset_events"] == [
        ["s3://team-a/made", "team_a__produce_runtime", "control"],
        ["s3://team-a/out", "team_a__produce_runtime", "control"],
    ]
    assert rows["asset_state"] == [["s3://team-a/out", "cursor", '"team a\'s own cursor"']]
    assert rows["variables"] == {**{k: list(v) for k, v in VARIABLES.items()}, "team_a_threshold": ["6", None]}
    assert rows["xcoms"]["team_a__defer_foreign.control"] == "team-a-host"
    assert rows["xcoms"]["team_a__state_queries.control"] == 1
    assert "team_a__read_assets.attack_asset" not in rows["xcoms"]


def test_with_the_guard_the_refused_deferral_never_reaches_the_triggerer(guarded):
    """Team A's own trigger ran in team A's triggerer; the one with team B's connection was never created."""
    runs = guarded.sandbox.home / "logs" / "dag_id=team_a__defer_foreign"
    assert [p.name.split(".trigger")[0] for p in runs.glob("*/task_id=*/*.trigger.*.log")] == ["attempt=1.log"]
    assert list(runs.glob("*/task_id=control/*.trigger.*.log")), "the control's trigger ran"


@pytest.mark.parametrize("deployment", ["guarded", "unguarded"])
def test_xcoms_stay_team_scoped_by_airflow_itself(deployment, request):
    """Team A's read of team B's XCom is refused by Airflow's own check, guard or no guard."""
    run: Deployment = request.getfixturevalue(deployment)
    assert run.states["team_a__xcom_cross", "attack"] == "failed"
    assert "Task does not have access to this XCom in multi-team mode" in run.log("team_a__xcom_cross", "attack")
    assert run.states["team_a__xcom_cross", "control"] == "success"


def test_without_the_guard_every_attack_reaches_team_b(unguarded):
    """The control: with disabled_points [execution_api] (and every other point on) each attack succeeds."""
    for family, (dag_id, attacks, _) in FAMILIES.items():
        for task_id in [*attacks, "control"]:
            assert unguarded.states.get((dag_id, task_id), "success") == "success", (family, task_id)
    rows = unguarded.rows
    assert ["team_b__ledger", "from_team_a"] in rows["dag_runs"]
    assert {(e[1], e[2]) for e in rows["asset_events"] if e[0] == "s3://team-b/ledger"} == {
        ("team_a__produce_runtime", "attack_alias"),
        ("team_a__produce_runtime", "attack_declared"),
    }
    assert [run for run in rows["dag_runs"] if run[0] == "team_b__consumer"], "team A's events scheduled team B's DAG"
    assert ["s3://team-b/ledger", "cursor", '"hijacked by team a"'] in rows["asset_state"]
    assert rows["variables"]["team_b_api_base"] == ["hijacked by team a", "team_b"]
    assert "environment_name" not in rows["variables"]
    assert rows["xcoms"]["team_a__read_assets.attack_asset"] == {"secret": "team-b-only"}
    assert rows["xcoms"]["team_a__defer_foreign.attack"] == "team-b-host"
    assert "team_a__state_queries.attack_runs" in rows["xcoms"]


#: Each channel team A's code reaches team B through without the API server, the enforcement point that decides it,
#: and the rule each of its reads refuses with.
CHANNELS = {"dag_file": "dag_processor_channel", "dag_callback": "dag_processor_channel", "trigger_attack": "triggerer"}
CHANNEL_RULES = {
    "connection": "connections.foreign_connection",
    "variable": "variables.foreign_variable",
    "xcom": "cross_dag.foreign_target",
    "task_instances": "cross_dag.foreign_target",
    "variable_write": "variables.foreign_variable",
}


@pytest.mark.parametrize("channel", CHANNELS)
def test_with_the_guard_every_channel_refuses_team_b_and_serves_team_a(guarded, channel):
    """Top-level DAG code, a DAG callback and a trigger: team B's connection, Variable (read and write), XComs and
    task states are refused (with the rule, where the task SDK passes the 403's message on); team A's own are
    served."""
    attack = guarded.channel_probe(channel)["team_b"]
    assert set(attack) == set(CHANNEL_RULES)
    for reach, outcome in attack.items():
        assert outcome.startswith("refused:"), (reach, outcome)
        if reach not in ("connection", "variable"):  # the SDK reads those 403s as AirflowSecretsBackendAccessDenied
            assert f"[{CHANNEL_RULES[reach]}]" in outcome, (reach, outcome)
    control = guarded.channel_probe(channel if channel != "trigger_attack" else "trigger_control")["team_a"]
    assert (control["connection"], control["xcom"]) == ("served: 'team-a-host'", "served: None")
    # team_a__variable_write's control sets it from 5 to 6 while the deployment runs.
    assert control["variable"] in ("served: '5'", "served: '6'")
    assert control["task_instances"].startswith("served: ")
    assert guarded.rows["variables"]["team_b_channel_secret"] == ["team b's channel secret", None]


@pytest.mark.parametrize("channel", CHANNELS)
def test_each_channel_decided_at_its_own_point_in_its_own_process(guarded, channel):
    point = CHANNELS[channel]
    process = "triggerer-team_a" if point == "triggerer" else "dag-processor"
    refused = {
        v["rule"]
        for record in guarded.sandbox.decisions(process)
        if (record["enforcement_point"], record["outcome"], record["team"]) == (point, "rejected", "team_a")
        for v in record["violations"]
    }
    assert set(CHANNEL_RULES.values()) <= refused


@pytest.mark.parametrize("channel", CHANNELS)
def test_without_the_channel_guards_team_a_reaches_team_b_through_each_channel(unguarded, channel):
    """The control: with the triggerer and DAG-processor points off, Airflow serves team B's connection, teamless
    Variable, XComs and task-instance counts to team A's code, and lets it overwrite the Variable."""
    attack = unguarded.channel_probe(channel)["team_b"]
    assert all(outcome.startswith("served:") for outcome in attack.values()), attack
    assert attack["connection"] == "served: 'team-b-host'"
    assert unguarded.rows["variables"]["team_b_channel_secret"][0] == "overwritten by team_b's reader"


def test_with_the_guard_no_request_a_task_writes_by_hand_reaches_team_b(guarded):
    """Under a base path, with or without it, a repeated Authorization (junk first or last) or API version, a
    differently spelled scheme: every request for team B's connection is refused; the control is served."""
    direct = guarded.direct
    for name in ("plain", "lower_case_scheme"):
        status, body = direct[name]
        assert status == 403 and "[connections.foreign_connection]" in body, (name, body)
    # Without the base path Starlette still reaches the Execution API's mount, whose own router then finds no
    # route (Airflow answers 404): the guard reads the path as the mount does and refuses it as no route it knows.
    status, body = direct["without_the_base_path"]
    assert status == 403 and "does not know the Execution API route GET /execution/connections/" in body
    for name, header in (
        ("junk_authorization_last", "authorization"),
        ("junk_authorization_first", "authorization"),
        ("version_twice", "airflow-api-version"),
    ):
        assert direct[name] == (403, json.dumps({"detail": {"reason": "airflow_policies", "message": (
            f"airflow-policies refuses an Execution API request that repeats {header}"
        )}})), name  # fmt: skip
    status, body = direct["control"]
    assert status == 200 and json.loads(body)["host"] == "team-a-host"
    assert "team-b-host" not in json.dumps(direct)


def test_without_the_guard_the_same_requests_read_team_bs_connection(unguarded):
    """The control: Airflow authenticates the first Authorization and serves team B's (teamless) connection under
    the base path, past a junk second header, a repeated API version and a lower-case scheme."""
    direct = unguarded.direct
    for name in ("plain", "junk_authorization_last", "version_twice", "lower_case_scheme"):
        status, body = direct[name]
        assert status == 200 and json.loads(body)["host"] == "team-b-host", (name, body)
    assert direct["junk_authorization_first"][0] == 403  # Airflow read the junk one: its own refusal
    assert direct["without_the_base_path"][0] == 404


# What the policy cannot decide: the keys a task on the LocalExecutor can read (docs/hardening.md).


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.mark.parametrize("deployment", ["guarded", "unguarded"])
def test_on_the_local_executor_a_task_finds_the_keys_to_act_as_team_b(deployment, request):
    """Guard or no guard: the task reads the signing secret and Fernet key from its own configuration and the
    metadata DB's address from its scheduler's environment, and so team B's connection password from the DB;
    doctor, run by the task on its own process as a team A worker, reports each of those ways (and exits 1)."""
    run: Deployment = request.getfixturevalue(deployment)
    assert run.states["team_a__look_for_keys", "look"] == "success"
    look = run.rows["xcoms"]["team_a__look_for_keys.look"]
    assert look["found"] == {name: _digest(run.sandbox.env[name]) for name in WORKER_SECRETS}
    assert look["team_b_password"] == TEAM_B_PASSWORD
    assert look["doctor_exit"] == 1
    assert {"signing_key", "fernet_key", "other_processes", "foreign_bundles"} <= set(look["doctor_checks"])


def _doctor(sandbox: AirflowSandbox, *args: str) -> tuple[int, str]:
    command = [sys.executable, "-m", "airflow_policies.cli", "doctor", *args]
    result = subprocess.run(command, env=sandbox.env, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout


def test_doctor_reports_the_scheduler_of_a_local_executor_deployment(guarded):
    """Run on the deployment's configuration: each team's tasks are the scheduler's children, holding its keys."""
    code, out = _doctor(guarded.sandbox, "--component", "scheduler", "--format", "json", "--no-processes")
    report = json.loads(out[out.index("{") :])
    assert code == 1 and report["teams"] == ["team_a", "team_b"]
    assert {(f["check"], f["team"]) for f in report["findings"] if f["severity"] == "error"} == {
        (check, team) for check in ("signing_key", "metadata_db", "fernet_key") for team in ("team_a", "team_b")
    }
    code, out = _doctor(guarded.sandbox, "--component", "scheduler", "--format", "sarif", "--no-processes")
    (run,) = json.loads(out[out.index("{") :])["runs"]
    assert code == 1 and {r["ruleId"] for r in run["results"]} == {"signing_key", "metadata_db", "fernet_key"}
    assert all(r["level"] == "error" for r in run["results"])


def _audit(run: Deployment, event: str) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    return [(dag_id, task_id, extra) for name, dag_id, task_id, extra in run.rows["audit_log"] if name == event]


def test_every_runtime_refusal_is_in_airflows_audit_log(guarded, unguarded):
    """Each attack the Execution API refused is a row of Airflow's audit log (what its UI lists), with team, DAG,
    task and rule; so are the refusals of the triggerer and the DAG processor's channel. Without the guards: none."""
    refused = _audit(guarded, "airflow_policies.refused")
    rules: dict[tuple[str | None, str | None, str], set[str]] = {}
    for dag_id, task_id, extra in refused:
        assert extra["team"] == "team_a", extra
        rules.setdefault((dag_id, task_id, extra["enforcement_point"]), set()).update(extra["rules"])
    for dag_id, attacks, rule in FAMILIES.values():
        for task_id in attacks:
            assert rule in rules[dag_id, task_id, "execution_api"], (dag_id, task_id, rules)
    assert not any(task_id == "control" for _, task_id, _ in refused)
    page = guarded.rows["page"]["refusals"]  # as the Policies page reads them back
    assert sorted(f"{r['dag_id']}.{r['task_id']}@{r['enforcement_point']}" for r in page) == sorted(
        f"{dag_id}.{task_id}@{extra['enforcement_point']}" for dag_id, task_id, extra in refused
    )
    channel_points = {extra["enforcement_point"] for dag_id, _, extra in refused if dag_id is None}
    assert channel_points == {"triggerer", "dag_processor_channel"}
    # The unguarded deployment's DB is a copy of the template, whose parse (every check on) refused the DAG file's
    # reads at the DAG processor's channel; running without the guards it refused nothing more.
    assert {extra["enforcement_point"] for _, _, extra in _audit(unguarded, "airflow_policies.refused")} == {
        "dag_processor_channel"
    }


def test_each_component_reported_its_posture_at_start(guarded, unguarded):
    """The scheduler, the DAG processor, team A's triggerer and the API server each wrote their start-up findings:
    the scheduler the LocalExecutor's keys per team; the API server no finding with the guard, guard_missing
    without it; the triggerer and DAG processor their point switched off."""

    def posture(run: Deployment) -> dict[str, dict[str, Any]]:
        return {extra["component"]: extra for _, _, extra in _audit(run, "airflow_policies.posture")}

    with_guard, without = posture(guarded), posture(unguarded)
    assert set(with_guard) == {"scheduler", "dag-processor", "triggerer", "api-server"}
    assert guarded.rows["page"]["posture"] == sorted(with_guard)  # one per component, as the page reads them
    scheduler = {(f["check"], f["team"]) for f in with_guard["scheduler"]["findings"]}
    assert {("signing_key", "team_a"), ("signing_key", "team_b"), ("metadata_db", "team_a")} <= scheduler
    assert with_guard["api-server"]["findings"] == []
    assert with_guard["triggerer"]["teams"] == ["team_a"]
    assert [f["check"] for f in without["api-server"]["findings"]] == ["guard_missing"]
    for component in ("triggerer", "dag-processor"):
        assert "policy_not_loaded" in {f["check"] for f in without[component]["findings"]}
        assert "policy_not_loaded" not in {f["check"] for f in with_guard[component]["findings"]}
    log = (guarded.sandbox.home / "scheduler.log").read_text()
    assert "airflow-policies posture: [signing_key] scheduler/team_a:" in log
