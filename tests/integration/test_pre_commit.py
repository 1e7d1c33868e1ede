"""The pre-commit hook, as a DAG repository uses it: real pre-commit, real git commits, the shipped manifest.

The hook repository is a throw-away git repository holding this checkout's ``.pre-commit-hooks.yaml``
(pre-commit reads hooks from a commit); the DAG repository installs pre-commit's git hook and commits one
compliant and one violating team A DAG. The ``language: system`` hook is run for real, with this checkout's
``airflow-policies`` on PATH; the ``language: python`` hook shares its entry and arguments, and the manifest
that declares both is validated by pre-commit itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, REPO

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
VIOLATING_DAG = """\
import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG

with DAG(dag_id="team_a__sneaky", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    SQLExecuteQueryOperator(task_id="read_b", conn_id="team_b_warehouse", sql="select * from b.secrets")
"""


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "Team A author",
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "Team A author",
        "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
    }


def _git_repo(path: Path, env: dict[str, str]) -> None:
    path.mkdir(parents=True)
    assert _run(["git", "init", "-q", "-b", "main"], path, env).returncode == 0


@pytest.fixture
def hook_repo(tmp_path, env) -> tuple[Path, str]:
    """A git repository holding the shipped manifest, as pre-commit fetches hook repositories."""
    repo = tmp_path / "hooks"
    _git_repo(repo, env)
    shutil.copy(REPO / ".pre-commit-hooks.yaml", repo / ".pre-commit-hooks.yaml")
    _run(["git", "add", "."], repo, env)
    assert _run(["git", "commit", "-q", "-m", "hooks"], repo, env).returncode == 0
    return repo, _run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()


def test_the_manifest_is_valid_for_pre_commit(env):
    result = _run([*PRE_COMMIT, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")], REPO, env)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["entry"] for h in hooks.values()} == {"airflow-policies check"}
    assert {h["language"] for h in hooks.values()} == {"python", "system"}


def test_a_violating_commit_is_refused_with_the_finding(tmp_path, env, hook_repo):
    hooks, rev = hook_repo
    repo = tmp_path / "dags-repo"
    _git_repo(repo, env)
    args = ["--bundle", "team_a_dags", "--team", "team_a", "--bundle-root", "dags", "--registry", str(EXAMPLE_REGISTRY)]
    config = {
        "repos": [
            {
                "repo": str(hooks),
                "rev": rev,
                "hooks": [{"id": "airflow-policies-check-system", "files": "^dags/", "args": args}],
            }
        ]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (repo / "dags").mkdir()
    shutil.copy(EXAMPLE_DAGS / "team_a" / "etl.py", repo / "dags" / "etl.py")
    (repo / "README.md").write_text("team A's DAGs\n")
    assert _run([*PRE_COMMIT, "install"], repo, env).returncode == 0

    _run(["git", "add", "."], repo, env)
    compliant = _run(["git", "commit", "-m", "compliant ETL"], repo, env)
    passed = compliant.stdout + compliant.stderr
    assert compliant.returncode == 0, passed
    assert "airflow-policies check (installed)" in passed and "Passed" in passed

    (repo / "dags" / "sneaky.py").write_text(VIOLATING_DAG)
    _run(["git", "add", "dags/sneaky.py"], repo, env)
    refused = _run(["git", "commit", "-m", "read team B's warehouse"], repo, env)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "Failed" in output
    assert "REJECTED" in output and "sneaky.py" in output and "team_a__sneaky" in output
    assert "[connections.foreign_connection]" in output and "team_b_warehouse" in output
    log = _run(["git", "log", "--format=%s"], repo, env).stdout.splitlines()
    assert log == ["compliant ETL"], "the violating commit must not exist"
    # Only the changed file is checked: the compliant DAG already committed is not parsed again.
    assert "etl.py" not in output
