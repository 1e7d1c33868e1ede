"""A platform team's policy repository, from an empty folder to a signed bundle that an OPA serves: the walk a new
platform engineer makes with the package installed from its wheel, what the repository's own rules may do
beside the library, and upgrading the library as a reviewed change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from airflow_policies._config import load_settings
from airflow_policies._paths import opa_binary
from airflow_policies.decision.models import Decision
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.document.models import InputDocument
from airflow_policies.local.opa_server import local_bundle_server, local_opa, opa_replica
from airflow_policies.policy.bundle import new_signing_keys, replica_config
from airflow_policies.policy.repository import PIN_FILE, find_repository, policy_sources, write_config
from airflow_policies.policy.scaffold import init_repository
from tests.conftest import EXAMPLE_REGISTRY, REPO

pytestmark = pytest.mark.integration

_SAMPLE = """\
from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    EmptyOperator(task_id="noop", pool="team_a_pool", pool_slots={slots})
"""


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a shell whose ``airflow-policies`` is this package installed from its wheel (not the
    checkout), in a fresh virtualenv that reuses this one's installed dependencies (no network)."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv (which builds the wheel and the virtualenv offline) is not installed")
    work = tmp_path_factory.mktemp("wheel")
    build = [uv, "build", "--wheel", "--offline", "--out-dir", str(work / "dist"), str(REPO)]
    subprocess.run(build, check=True, capture_output=True, timeout=120)
    venv = work / "venv"
    subprocess.run([uv, "venv", "--offline", "--python", sys.executable, str(venv)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("airflow_policies-*.whl"))
    install = [uv, "pip", "install", "--offline", "--no-deps", "--python", str(venv / "bin" / "python"), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    # Airflow and the other dependencies come from this environment's site-packages, after the venv's own (a plain
    # path line: the .pth files there, among them this checkout's editable install, are not processed).
    site = Path(
        subprocess.check_output(
            [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["AIRFLOW_POLICIES_OPA_BINARY"] = str(opa_binary())
    env["AIRFLOW_POLICIES_CACHE_DIR"] = str(work / "cache")
    return env


def test_from_an_empty_folder_to_a_bundle_that_rejects_a_dag(tmp_path: Path, wheel_env: dict[str, str]):
    """init, new-rule, golden, test, plain opa test, validate-rollout, rules and a signed bundle build, each as
    the installed command; an OPA replica serving that bundle rejects a DAG of the new rule through check."""
    env = wheel_env
    where = _run(["python", "-c", "import airflow_policies; print(airflow_policies.__file__)"], tmp_path, env)
    assert "site-packages" in where.stdout and not where.stdout.startswith(str(REPO)), where

    def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return _run(["airflow-policies", *args], cwd, env)

    assert cli("init", "policies", cwd=tmp_path).returncode == 0
    repo = tmp_path / "policies"
    created = cli("new-rule", "pools.max_slots", cwd=repo)
    assert created.returncode == 0, created.stderr
    assert (repo / "rego/airflow_policies/rules/pools/max_slots/policy.rego").is_file()
    golden = cli("golden", cwd=repo)
    assert golden.returncode == 0 and "2 golden inputs written" in golden.stdout, golden.stderr

    tested = cli("test", cwd=repo)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "ok    pools.max_slots: 2 samples" in tested.stdout
    assert "every policy file covered >= 95.0%" in tested.stdout
    covered = [line for line in tested.stdout.splitlines() if line.strip().endswith(".rego")]
    assert covered == [f"   100.0%  {repo}/rego/airflow_policies/rules/pools/max_slots/policy.rego"], covered

    library = cli("library", "path", cwd=repo)
    assert library.returncode == 0, library.stderr
    plain = _run([str(opa_binary()), "test", library.stdout.strip(), "rego"], repo, env)
    assert plain.returncode == 0 and "PASS: 4/4" in plain.stdout, plain.stdout + plain.stderr
    # The generated CI's style steps, once the author has described the rule (Regal flags the scaffold's TODO).
    policy = repo / "rego/airflow_policies/rules/pools/max_slots/policy.rego"
    policy.write_text(policy.read_text().replace("TODO: ", "").replace(" (TODO)", ""))
    opa = str(opa_binary())
    for step in (
        [opa, "fmt", "--list", "--fail", "rego", "team_rules"],
        [opa, "check", "--strict", library.stdout.strip(), "rego", "team_rules"],
        [str(opa_binary().parent / "regal"), "lint", "rego", "team_rules"],
    ):
        ran = _run(step, repo, env)
        assert ran.returncode == 0, (step, ran.stdout + ran.stderr)
    assert cli("golden", "--check", cwd=repo).returncode == 0

    # Roll the new rule out: deny for team_a (it starts in dryrun, as every new rule).
    rollout = repo / "rollout.yaml"
    document = yaml.safe_load(rollout.read_text())
    document["actions"].append({"rule": "pools.max_slots", "action": "deny", "teams": ["team_a"]})
    rollout.write_text(yaml.safe_dump(document))
    assert cli("validate-rollout", "rollout.yaml", cwd=repo).returncode == 0
    index = cli("rules", cwd=repo).stdout
    assert "| `pools.max_slots` | violation | dryrun |" in index and "| `routing.team_queue` | mutation |" in index

    key, public_key = new_signing_keys(tmp_path)
    served = tmp_path / "server"
    (served / "bundles").mkdir(parents=True)
    # The repository's registry, rollout and team layers are the defaults.
    built = cli(
        "bundle",
        "build",
        "--output",
        str(served / "bundles/airflow_policies.tar.gz"),
        "--signing-key",
        str(key),
        cwd=repo,
    )
    assert built.returncode == 0 and "(signed)" in built.stdout, built.stderr
    assert f"registry {repo}/registry.yaml, rollout {repo}/rollout.yaml, team layers {repo}/team_rules" in built.stdout

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "big.py").write_text(_SAMPLE.format(dag_id="team_a__big", slots=16))
    (dags / "small.py").write_text(_SAMPLE.format(dag_id="team_a__small", slots=2))
    config = tmp_path / "opa.yaml"
    with local_bundle_server(served) as server:
        config.write_text(yaml.safe_dump(replica_config(server, public_key=public_key)))
        with opa_replica(config) as opa_url:
            checked = cli(
                "check", "dags", "--bundle", "team_a_dags", "--team", "team_a", "--opa-url", opa_url, cwd=tmp_path
            )
    # In the repository, check's local OPA loads the library, the repository's rules and its data by default.
    in_repository = cli("check", "../dags", "--bundle", "team_a_dags", "--team", "team_a", cwd=repo)
    for report in (checked, in_repository):
        assert report.returncode == 1, report.stdout + report.stderr
        assert "[pools.max_slots] task 'noop' takes 16 pool slots; the limit is 8" in report.stdout
        assert "REJECTED      big.py  team_a__big  (team: team_a)" in report.stdout
        assert "MUTATED       small.py  team_a__small  (team: team_a)" in report.stdout


_MUTATION = """\
# METADATA
# title: At least two retries
# description: A task with fewer than two retries is given two.
# custom:
#   id: tasks.min_retries
#   action: deny
#   remediation: Set retries=2 or more on the task.
package airflow_policies.rules.tasks.min_retries

import data.airflow_policies.lib.result

mutation contains result.mutations(rego.metadata.chain(), task_ids, "retries", 2) if {
	task_ids := [task.task_id | some task in input.tasks; task.retries < 2]
	count(task_ids) > 0
}
"""
_VIOLATION = """\
# METADATA
# title: Tasks have a timeout
# description: Every task sets execution_timeout.
# custom:
#   id: tasks.timeout_required
#   action: deny
#   remediation: Set execution_timeout on the task.
package airflow_policies.rules.tasks.timeout_required

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {}) if {
	some task in input.tasks
	task.execution_timeout == null
	message := sprintf("task '%s' has no execution_timeout", [task.task_id])
}
"""


def _platform_repository(root: Path) -> Path:
    init_repository(root)
    for name, source in {"min_retries": _MUTATION, "timeout_required": _VIOLATION}.items():
        folder = root / "rego" / "airflow_policies" / "rules" / "tasks" / name
        folder.mkdir(parents=True)
        (folder / "policy.rego").write_text(source)
    return root


def _document(team: str, dag_id: str) -> InputDocument:
    """A real input document (a shipped sample's golden input) of a DAG with one task: 0 retries, no timeout."""
    golden = REPO / "rego/airflow_policies/rules/routing/team_pool/samples/golden/mutated_default_pool.json"
    document = json.loads(golden.read_text())["mutated_default_pool"]
    document["bundle"] = {"name": f"{team}_dags", "team": team}
    document["dag"]["dag_id"] = dag_id
    return InputDocument.model_validate(document)


def _decide(root: Path, rollout: Path | None, document: InputDocument) -> Decision:
    with local_opa(EXAMPLE_REGISTRY, policy_sources(None, start=root), rollout=rollout) as url:
        return OpaEvaluator(load_settings(environ={}, opa_url=url)).evaluate(document)


def _actions(decision: Decision) -> dict[str, str]:
    found = {v.rule: v.action for v in decision.violations}
    return found | {f"{m.rule}:{m.field}={m.value}": m.action for m in decision.mutations}


def test_platform_rules_mutate_and_roll_out_per_team_like_shipped_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The library's decision collects a repository's rules: a mutation is applied, a violation denies; the
    rollout sets each per team (warn for team_a, dryrun -- off -- for team_b) and switches a shipped rule off,
    without editing the library."""
    monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))
    root = _platform_repository(tmp_path / "policies")
    rogue = _document("team_a", "rogue_etl")  # outside team_a's dag_id namespace: dag_ids.namespace denies it

    as_declared = _decide(root, None, rogue)
    assert as_declared.rejected
    assert {
        "tasks.timeout_required": "deny",
        "dag_ids.namespace": "deny",
        "tasks.min_retries:retries=2": "deny",
    }.items() <= _actions(as_declared).items()

    rollout = root / "rollout.yaml"
    rollout.write_text(
        yaml.safe_dump(
            {
                "actions": [
                    {"rule": "tasks.timeout_required", "action": "warn", "teams": ["team_a"]},
                    {"rule": "tasks.timeout_required", "action": "dryrun", "teams": ["team_b"]},
                    {"rule": "tasks.min_retries", "action": "dryrun", "teams": ["team_b"]},
                    {"rule": "dag_ids.namespace", "action": "dryrun"},
                ]
            }
        )
    )
    team_a = _decide(root, rollout, rogue)
    assert not team_a.rejected, team_a.violations
    assert {
        "tasks.timeout_required": "warn",
        "dag_ids.namespace": "dryrun",
        "tasks.min_retries:retries=2": "deny",
    }.items() <= _actions(team_a).items()

    team_b = _decide(root, rollout, _document("team_b", "team_b__etl"))
    assert not team_b.rejected, team_b.violations
    assert {"tasks.timeout_required": "dryrun", "tasks.min_retries:retries=2": "dryrun"}.items() <= _actions(
        team_b
    ).items()


def _cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO), "AIRFLOW_POLICIES_CACHE_DIR": str(cache)}
    return _run([sys.executable, "-m", "airflow_policies.cli", *args], cwd, env)


def test_upgrading_the_library_is_shown_tested_and_pinned_only_when_the_repository_passes(tmp_path: Path):
    """With another library installed than the pinned one, the commands refuse; library upgrade lists the rules
    it adds, removes and changes, runs the repository's tests and suites on it, keeps the pin while the
    repository does not pass (here: its rollout names a rule the new library removed), and re-pins once it does."""
    cache = tmp_path / "cache"
    repo = tmp_path / "policies"
    assert _cli("init", str(repo), cwd=tmp_path, cache=cache).returncode == 0
    assert _cli("new-rule", "pools.max_slots", cwd=repo, cache=cache).returncode == 0
    assert _cli("golden", cwd=repo, cache=cache).returncode == 0

    # Pin an older library: it had a rule the installed one removed, lacked one it added, and warned where it denies.
    repository = find_repository(repo)
    assert repository is not None
    rules = dict(repository.config.library.rules)
    del rules["routing.team_queue"]
    rules["legacy.gone"] = rules["pools.foreign_pool"]
    rules["pools.foreign_pool"] = rules["pools.foreign_pool"].model_copy(update={"action": "warn"})
    old = repository.config.library.model_copy(
        update={"version": "0.1.0", "digest": "sha256:" + "3" * 64, "rules": rules}
    )
    write_config(repo, repository.config.model_copy(update={"library": old}))
    rollout = repo / "rollout.yaml"
    pinned = (repo / PIN_FILE).read_text()

    refused = _cli("test", cwd=repo, cache=cache)
    assert refused.returncode == 2
    assert "pins the rule library of airflow-policies 0.1.0" in refused.stderr
    assert "airflow-policies library upgrade" in refused.stderr

    document = yaml.safe_load(rollout.read_text())
    document["actions"].append({"rule": "legacy.gone", "action": "warn"})
    rollout.write_text(yaml.safe_dump(document))
    blocked = _cli("library", "upgrade", cwd=repo, cache=cache)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "library: 0.1.0 (sha256:3333" in blocked.stdout
    assert "  added    routing.team_queue: mutation, deny" in blocked.stdout
    assert "  removed  legacy.gone" in blocked.stdout
    assert "  changed  pools.foreign_pool: action warn -> deny" in blocked.stdout
    assert "no loaded rule has the id 'legacy.gone'" in blocked.stdout
    assert "ok    pools.max_slots: 2 samples" in blocked.stdout
    assert "not re-pinned" in blocked.stdout
    assert (repo / PIN_FILE).read_text() == pinned

    document["actions"] = [a for a in document["actions"] if a["rule"] != "legacy.gone"]
    rollout.write_text(yaml.safe_dump(document))
    dry = _cli("library", "upgrade", "--dry-run", cwd=repo, cache=cache)
    assert dry.returncode == 0 and "dry run" in dry.stdout, dry.stdout + dry.stderr
    assert (repo / PIN_FILE).read_text() == pinned

    upgraded = _cli("library", "upgrade", cwd=repo, cache=cache)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "pinned on" in upgraded.stdout
    checked = _cli("library", "check", cwd=repo, cache=cache)
    assert checked.returncode == 0 and "the installed library is the pinned one" in checked.stdout
    assert _cli("test", "--no-samples", cwd=repo, cache=cache).returncode == 0
