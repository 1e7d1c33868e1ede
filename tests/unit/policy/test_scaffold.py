"""airflow-policies init: a policy repository on the installed library, never written over existing files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import installed_library
from airflow_policies.policy.registry import load_registry
from airflow_policies.policy.repository import PIN_FILE, find_repository, policy_sources
from airflow_policies.policy.rollout import load_rollout
from airflow_policies.policy.scaffold import init_repository


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))


def test_a_new_repository_is_pinned_on_the_installed_library_with_everything_it_needs(tmp_path: Path):
    root = tmp_path / "policies"
    written = init_repository(root)
    assert written[0] == root / PIN_FILE
    assert {p.relative_to(root).as_posix() for p in written} == {
        PIN_FILE,
        "README.md",
        "registry.yaml",
        "rollout.yaml",
        "rego/README.md",
        "team_rules/README.md",
        ".regal/config.yaml",
        ".github/workflows/policies.yaml",
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
        ".gitignore",
    }
    assert (root / "rego" / "airflow_policies" / "rules").is_dir()
    repository = find_repository(root)
    installed = installed_library()
    assert repository is not None
    assert (repository.config.library.version, repository.config.library.digest) == (
        installed.version,
        installed.digest,
    )
    assert repository.config.library.rules["routing.team_queue"].kind == "mutation"
    load_registry(root / "registry.yaml")
    known = {d.id for d in policy_sources(None, start=root).rule_declarations()}
    assert load_rollout(root / "rollout.yaml", known).actions
    for ci in (".github/workflows/policies.yaml", ".gitlab-ci.yml", ".pre-commit-config.yaml", ".regal/config.yaml"):
        assert isinstance(yaml.safe_load((root / ci).read_text()), dict), ci
    assert f'airflow-policies=={installed.version}"' in (root / ".github/workflows/policies.yaml").read_text()
    assert "@VERSION@" not in (root / "README.md").read_text()


def test_existing_files_are_never_overwritten(tmp_path: Path):
    (tmp_path / "README.md").write_text("ours")
    (tmp_path / "registry.yaml").write_text("ours too")
    with pytest.raises(ConfigurationError, match=r"already has README.md, registry.yaml: .*overwrites nothing"):
        init_repository(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "registry.yaml"]
    assert (tmp_path / "README.md").read_text() == "ours"


def test_a_folder_with_unrelated_files_gets_the_repository_beside_them(tmp_path: Path):
    (tmp_path / "NOTES").write_text("kept")
    init_repository(tmp_path)
    assert (tmp_path / "NOTES").read_text() == "kept" and (tmp_path / PIN_FILE).is_file()


def test_no_repository_inside_another(tmp_path: Path):
    init_repository(tmp_path)
    with pytest.raises(ConfigurationError, match="is inside the policy repository"):
        init_repository(tmp_path / "nested")
    assert not (tmp_path / "nested").exists()


def test_a_file_is_not_a_folder(tmp_path: Path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigurationError, match="is a file"):
        init_repository(tmp_path / "taken")
