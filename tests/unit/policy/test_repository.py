"""The policy repository: its pin file, and what a command loads inside and outside one."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies._paths import rego_library
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import installed_library, library_files
from airflow_policies.policy.repository import (
    PIN_FILE,
    PinnedLibrary,
    PinnedRule,
    PolicySources,
    RepositoryConfig,
    find_repository,
    library_changes,
    policy_sources,
    write_config,
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))


def _repository(root: Path, digest: str | None = None, version: str | None = None) -> Path:
    installed = installed_library()
    pin = PinnedLibrary(version=version or installed.version, digest=digest or installed.digest, rules={})
    (root / "rego" / "airflow_policies" / "rules").mkdir(parents=True)
    write_config(root, RepositoryConfig(library=pin))
    return root


def _rule(rego: Path, family: str, rule: str) -> None:
    folder = rego / "airflow_policies" / "rules" / family / rule
    folder.mkdir(parents=True)
    (folder / "policy.rego").write_text(f"package airflow_policies.rules.{family}.{rule}\n")


class TestFindRepository:
    def test_found_from_a_folder_below_it(self, tmp_path: Path):
        _repository(tmp_path)
        below = tmp_path / "rego" / "airflow_policies"
        found = find_repository(below)
        assert found is not None and found.root == tmp_path.resolve()
        assert found.rego == tmp_path.resolve() / "rego"

    def test_none_outside_one(self, tmp_path: Path):
        assert find_repository(tmp_path) is None

    def test_a_malformed_pin_names_the_field(self, tmp_path: Path):
        (tmp_path / PIN_FILE).write_text("library:\n  version: 1.0.0\n  digest: sha256:abc\n  rules: {}\n")
        with pytest.raises(ConfigurationError, match=r"airflow-policies.yaml is invalid: library.digest"):
            find_repository(tmp_path)

    def test_the_pin_file_round_trips_with_its_header(self, tmp_path: Path):
        pin = PinnedLibrary(
            version="1.2.3", digest="sha256:" + "0" * 64, rules={"a.b": PinnedRule(kind="mutation", action=None)}
        )
        config = RepositoryConfig(library=pin, rego="policies", team_rules=None)
        path = write_config(tmp_path, config)
        assert path.read_text().startswith("# The policy repository's pin")
        found = find_repository(tmp_path)
        assert found is not None and found.config == config


class TestPolicySources:
    def test_outside_a_repository_one_directory_as_before(self, tmp_path: Path):
        assert policy_sources(None, start=tmp_path) == PolicySources(library=rego_library())
        assert policy_sources(None, fallback=Path("rego"), start=tmp_path) == PolicySources(library=Path("rego"))
        given = tmp_path / "mine"
        assert policy_sources(given, start=tmp_path) == PolicySources(library=given)
        assert policy_sources(given).authored == [given]

    def test_rules_without_the_library_outside_a_repository_point_to_init(self, tmp_path: Path):
        """The issue's first step: new-rule in an empty folder, then test, once failed on undefined imports."""
        _rule(tmp_path / "rego", "tasks", "min_retries")
        with pytest.raises(ConfigurationError, match=r"holds rules but not the library .* run `airflow-policies init`"):
            policy_sources(None, fallback=tmp_path / "rego", start=tmp_path)

    def test_inside_a_repository_the_pinned_library_and_the_repositorys_rules(self, tmp_path: Path):
        root = _repository(tmp_path / "repo")
        sources = policy_sources(None, start=root)
        assert sources.own == (root.resolve() / "rego",)
        assert sources.authored == [root.resolve() / "rego"]
        assert library_files(sources.library) == library_files(rego_library())
        assert policy_sources(root / "rego").own == (root / "rego",)  # found from --rego's parent

    def test_a_library_that_is_not_the_pinned_one_is_refused_with_the_fix(self, tmp_path: Path):
        root = _repository(tmp_path / "repo", digest="sha256:" + "1" * 64, version="0.0.1")
        with pytest.raises(ConfigurationError) as raised:
            policy_sources(None, start=root)
        message = str(raised.value)
        assert "pins the rule library of airflow-policies 0.0.1" in message
        assert f"but the installed one is {installed_library().version}" in message
        assert "install airflow-policies==0.0.1" in message and "airflow-policies library upgrade" in message

    def test_a_warning_where_drift_is_only_worth_one(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
        root = _repository(tmp_path / "repo", digest="sha256:" + "1" * 64, version="0.0.1")
        assert policy_sources(None, start=root, on_drift="warn").own == (root.resolve() / "rego",)
        assert "warning: " in capsys.readouterr().err

    def test_a_rule_of_the_library_cannot_be_redefined(self, tmp_path: Path):
        """A repository rule in a shipped rule's package would merge into it, not override it: refused."""
        root = _repository(tmp_path / "repo")
        _rule(root / "rego", "pools", "foreign_pool")
        with pytest.raises(ConfigurationError, match=r"the library already has the rule pools\.foreign_pool"):
            policy_sources(None, start=root)

    def test_only_rules_are_added_never_lib_or_main(self, tmp_path: Path):
        root = _repository(tmp_path / "repo")
        (root / "rego" / "airflow_policies" / "main").mkdir()
        with pytest.raises(ConfigurationError, match="adds rules under airflow_policies/rules/ only"):
            policy_sources(None, start=root)

    def test_a_missing_rule_directory_is_named(self, tmp_path: Path):
        root = _repository(tmp_path / "repo")
        (root / "rego" / "airflow_policies" / "rules").rmdir()
        (root / "rego" / "airflow_policies").rmdir()
        (root / "rego").rmdir()
        with pytest.raises(ConfigurationError, match=r"rule directory .* does not exist"):
            policy_sources(None, start=root)

    def test_the_rules_of_both_are_declared(self, tmp_path: Path):
        root = _repository(tmp_path / "repo")
        folder = root / "rego" / "airflow_policies" / "rules" / "tasks" / "min_retries"
        folder.mkdir(parents=True)
        (folder / "policy.rego").write_text(
            "# METADATA\n# title: Min retries\n# custom:\n#   id: tasks.min_retries\n#   action: warn\n"
            "package airflow_policies.rules.tasks.min_retries\n\nviolation contains 1 if false\n"
        )
        ids = {d.id for d in policy_sources(None, start=root).rule_declarations()}
        assert {"tasks.min_retries", "routing.team_queue", "main.conflicting_mutation"} <= ids


def test_library_changes_name_added_removed_and_changed_rules():
    pinned = {
        "a.kept": PinnedRule(kind="violation", action="deny", severity="high"),
        "a.gone": PinnedRule(kind="violation", action="deny"),
        "a.softer": PinnedRule(kind="violation", action="deny", severity="high"),
    }
    current = {
        "a.kept": PinnedRule(kind="violation", action="deny", severity="high"),
        "a.softer": PinnedRule(kind="violation", action="warn", severity="low"),
        "b.new": PinnedRule(kind="mutation", action=None),
    }
    assert library_changes(pinned, current) == [
        "added    b.new: mutation, deny",
        "removed  a.gone",
        "changed  a.softer: action deny -> warn, severity high -> low",
    ]
    assert library_changes(pinned, pinned) == []


def test_the_repositorys_data_files_are_those_it_has(tmp_path: Path):
    """The defaults of bundle build and check: the configured registry, rollout and team layers that exist."""
    root = _repository(tmp_path)
    (root / "registry.yaml").write_text("teams: {}\n")
    repository = find_repository(root)
    assert repository is not None
    files = repository.data_files()
    assert (files.registry, files.rollout, files.team_rules) == (root.resolve() / "registry.yaml", None, None)
