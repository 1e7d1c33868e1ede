"""Merging Airflow's ownership into the hand-written registry: additions, the narrower registry rule kept,
conflicts never resolved silently, and the diff against what OPA holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.registry import Registry, load_registry
from airflow_policies.policy.sync import AirflowOwnership, KubernetesExecutorConfig, merge, registry_diff
from tests.conftest import EXAMPLE_REGISTRY


@pytest.fixture
def registry() -> Registry:
    return load_registry(EXAMPLE_REGISTRY)


def test_airflow_owned_resources_are_added_to_their_team(registry):
    airflow = AirflowOwnership(
        connections={"team_a_new_db": "team_a", "team_a_postgres": "team_a"},
        variables={"team_b_flag": "team_b"},
        pools={"team_c_pool": "team_c", "shared_pool": None},
        executors={"": ["LocalExecutor"], "team_b": ["CeleryExecutor"]},
    )
    result = merge(registry, airflow)
    assert result.conflicts == []
    teams = result.registry.teams
    assert teams["team_a"].connections == ["team_a_postgres", "team_a_s3", "team_a_new_db"]
    assert "team_b_flag" in teams["team_b"].variables
    assert teams["team_c"].pools == ["team_c_pool"]
    assert result.registry.global_.pools == ["shared_pool"]
    assert teams["team_b"].executors == ["LocalExecutor", "CeleryExecutor"]
    assert "teams.team_a.connections: team_a_new_db" in result.added
    # A global executor is the registry's to open to teams: reported, not added.
    assert result.registry.global_.executors == []
    closed = "global executor 'LocalExecutor': no team's task may run on it"
    assert any(note.startswith(closed) for note in result.notes)
    assert any(line.startswith("teams.team_c (a team Airflow knows") for line in result.added)
    # the hand-written parts are untouched
    assert teams["team_a"].queues == registry.teams["team_a"].queues and result.registry.shares == registry.shares


def test_a_teamless_resource_the_registry_narrows_keeps_the_registry_rule(registry):
    """Airflow lets every team use team_b_warehouse (no team); the registry's owner stays, with a note."""
    result = merge(registry, AirflowOwnership(connections={"team_b_warehouse": None}))
    assert result.conflicts == []
    assert result.registry.owners("connections", "team_b_warehouse") == {"team_b"}
    assert result.notes == ["connection 'team_b_warehouse' has no team in Airflow; the registry keeps it to team_b"]


@pytest.mark.parametrize(
    ("airflow", "expected"),
    [
        (
            AirflowOwnership(connections={"team_a_postgres": "team_b"}),
            "connection 'team_a_postgres': Airflow gives it to team 'team_b', the registry to team 'team_a'",
        ),
        (
            AirflowOwnership(variables={"environment_name": "team_a"}),
            "variable 'environment_name': Airflow gives it to team 'team_a', the registry to everyone (global)",
        ),
    ],
)
def test_conflicts_are_reported_never_resolved(registry, airflow, expected):
    result = merge(registry, airflow)
    assert [c.message.split(";")[0] for c in result.conflicts] == [expected]
    assert result.conflicts[0].message.endswith("fix the registry, or the resource's team_name in Airflow")


def test_the_diff_against_what_opa_holds(registry):
    result = merge(registry, AirflowOwnership(connections={"team_a_new_db": "team_a"}))
    diff = registry_diff(registry.as_data(), result.registry)
    assert diff == ['+ teams.team_a.connections: "team_a_new_db"']
    assert registry_diff(None, registry)[0].startswith("+ ")


def test_a_malformed_registry_names_the_field(tmp_path: Path):
    bad = tmp_path / "registry.yaml"
    bad.write_text("teams:\n  team_a:\n    conections: [x]\n")
    with pytest.raises(ConfigurationError, match=r"teams\.team_a\.conections: Extra inputs are not permitted"):
        load_registry(bad)


def test_each_kubernetes_executors_namespace_template_and_image_go_to_its_team_or_to_every_team():
    """A team's KubernetesExecutor gives the team its namespace (also its default), template and worker image
    repository; the global one's are every team's. Existing entries are kept, never duplicated."""
    registry = Registry.model_validate({"teams": {"team_a": {"kubernetes": {"namespaces": ["team-a-batch"]}}}})
    airflow = AirflowOwnership(
        kubernetes={
            "": KubernetesExecutorConfig(namespace="airflow", image_repository="apache/airflow"),
            "team_a": KubernetesExecutorConfig(
                namespace="team-a", pod_template_file="/opt/templates/a.yaml", image_repository="registry/team-a"
            ),
            "team_b": KubernetesExecutorConfig(namespace="team-a-batch"),
        }
    )
    result = merge(registry, airflow)
    team_a, team_b = result.registry.teams["team_a"].kubernetes, result.registry.teams["team_b"].kubernetes
    assert team_a.namespaces == ["team-a-batch", "team-a"] and team_a.default_namespace == "team-a"
    assert team_a.pod_template_files == ["/opt/templates/a.yaml"] and team_a.image_prefixes == ["registry/team-a:"]
    assert result.registry.global_.kubernetes.namespaces == ["airflow"]
    assert result.registry.global_.kubernetes.image_prefixes == ["apache/airflow:"]
    assert result.registry.global_.kubernetes.pod_template_files == []
    # Two teams' executors in one namespace: merged as Airflow says, for the registry's owner to see in the diff.
    assert team_b.namespaces == ["team-a-batch"]
    assert "teams.team_a.kubernetes.default_namespace: team-a" in result.added


def test_a_teams_kubernetes_executor_reads_its_own_section(monkeypatch):
    """`[team_a=kubernetes_executor]` (here its environment form) is team A's; the global section is the global
    executor's, as the executor itself reads them."""
    from airflow.configuration import conf

    from airflow_policies.policy.sync import _kubernetes_executor_config

    monkeypatch.setenv("AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE", "airflow")
    monkeypatch.setenv("AIRFLOW__TEAM_A___KUBERNETES_EXECUTOR__NAMESPACE", "team-a")
    monkeypatch.setenv("AIRFLOW__TEAM_A___KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE", "/opt/templates/a.yaml")
    assert _kubernetes_executor_config(conf, "team_a") == KubernetesExecutorConfig(
        namespace="team-a", pod_template_file="/opt/templates/a.yaml"
    )
    assert _kubernetes_executor_config(conf, None).namespace == "airflow"
