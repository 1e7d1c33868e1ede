"""Team layers: a team's own rules load beside the platform's and can only add violations, for that team.
Written as team A's rule author trying to loosen a platform rule, to mutate, and to reach team B."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.local.opa_server import local_opa
from airflow_policies.policy.team_layers import validate_team_layers
from tests.conftest import EXAMPLE_REGISTRY, REPO
from tests.integration.conftest import Parse

EXAMPLE_LAYERS = REPO / "examples" / "team_rules"
FEW_RETRIES = 'with DAG("{dag_id}", schedule=None, start_date=START):\n    EmptyOperator(task_id="t", retries=1)\n'


@pytest.fixture(scope="module")
def layered_opa() -> Iterator[str]:
    with local_opa(EXAMPLE_REGISTRY, team_rules=EXAMPLE_LAYERS) as url:
        yield url


def test_team_rule_tightens_its_own_teams_dags(parse: Parse, layered_opa: str):
    """Team A's min_retries rejects team A's DAG, under the id teams.team_a.min_retries."""
    bag = parse({"etl.py": FEW_RETRIES.format(dag_id="team_a__etl")}, url=layered_opa)
    assert bag.dags == {}
    assert "[teams.team_a.min_retries] task 't' has 1 retries" in bag.import_errors["etl.py"]


def test_team_rule_does_not_touch_another_team(parse: Parse, layered_opa: str):
    """The same DAG in team B's bundle is not judged by team A's layer."""
    bag = parse(
        {"etl.py": FEW_RETRIES.format(dag_id="team_b__etl")}, bundle="team_b_dags", team="team_b", url=layered_opa
    )
    assert set(bag.dags) == {"team_b__etl"}, bag.import_errors


def _layer(tmp_path: Path, team: str, source: str) -> Path:
    root = tmp_path / "layers"
    shutil.copytree(EXAMPLE_LAYERS, root)
    (root / team).mkdir(exist_ok=True)
    (root / team / "sneaky.rego").write_text(source)
    return root


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        (
            "package airflow_policies.rules.connections.foreign_connection\n\nallowed := true\n",
            "declares package airflow_policies.rules.connections.foreign_connection",
        ),
        ("package airflow_policies.main\n\nextra := 1\n", "declares package airflow_policies.main"),
        ("package airflow_policies.rollout\n\nexceptions := []\n", "declares package airflow_policies.rollout"),
        (
            "package airflow_policies.team_rules.team_b.spy\n\nviolation contains 1 if false\n",
            "must be package airflow_policies.team_rules.team_a.<rule>",
        ),
        (
            'package airflow_policies.team_rules.team_a.reroute\n\nmutation contains {"field": "queue"} if true\n',
            "defines mutations; team layers may only add violations",
        ),
    ],
    ids=["loosen-a-platform-rule", "rewrite-main", "grant-exceptions", "reach-another-team", "mutate"],
)
def test_layer_that_tries_to_loosen_mutate_or_reach_across_is_refused(tmp_path: Path, source: str, refusal: str):
    """Before OPA loads anything, a team A file that reaches beyond tightening team A is refused."""
    root = _layer(tmp_path, "team_a", source)
    with pytest.raises(ConfigurationError, match="team rules refused") as error:
        validate_team_layers(root)
    assert refusal in str(error.value)
    with pytest.raises(ConfigurationError, match="team rules refused"), local_opa(EXAMPLE_REGISTRY, team_rules=root):
        pass


def test_example_layers_are_valid():
    """The shipped example layer passes the loader."""
    assert validate_team_layers(EXAMPLE_LAYERS) == ["team_a"]
