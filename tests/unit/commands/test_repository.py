"""airflow-policies init and library, as the command line runs them (the upgrade's test run: integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies.cli import main
from airflow_policies.policy.library import LOCK_FILE, installed_library, library_files
from airflow_policies.policy.repository import PIN_FILE, find_repository, write_config


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))


def _drift(root: Path) -> None:
    """Pin the repository on a library other than the installed one."""
    repository = find_repository(root)
    assert repository is not None
    pin = repository.config.library.model_copy(update={"version": "0.0.1", "digest": "sha256:" + "2" * 64})
    write_config(root, repository.config.model_copy(update={"library": pin}))


def test_library_path_outside_a_repository_is_the_installed_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    assert main(["library", "path"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.is_relative_to(tmp_path / "cache")
    assert library_files(printed) == library_files(installed_library().rego)


def test_in_a_repository_path_and_check_refuse_a_library_it_does_not_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    assert main(["init", str(tmp_path / "repo")]) == 0
    monkeypatch.chdir(tmp_path / "repo")
    assert main(["library", "check"]) == 0
    assert "the installed library is the pinned one" in capsys.readouterr().out
    _drift(tmp_path / "repo")
    for command in (["library", "check"], ["library", "path"], ["library", "vendor", "vendor"]):
        assert main(command) == 2, command
        assert "pins the rule library of airflow-policies 0.0.1" in capsys.readouterr().err
    assert not (tmp_path / "repo" / "vendor").exists()


def test_check_outside_a_repository_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    assert main(["library", "check"]) == 2
    assert f"not in a policy repository (no {PIN_FILE} here or above): run airflow-policies init" in (
        capsys.readouterr().err
    )


def test_vendor_writes_a_locked_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert main(["library", "vendor", "vendored"]) == 0
    assert (tmp_path / "vendored" / LOCK_FILE).is_file()
    assert library_files(tmp_path / "vendored") == library_files(installed_library().rego)


def test_upgrade_with_the_pinned_library_installed_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    assert main(["init", str(tmp_path / "repo")]) == 0
    before = (tmp_path / "repo" / PIN_FILE).read_text()
    monkeypatch.chdir(tmp_path / "repo")
    assert main(["library", "upgrade"]) == 0
    assert "nothing to upgrade" in capsys.readouterr().out
    assert (tmp_path / "repo" / PIN_FILE).read_text() == before


def test_init_refuses_a_folder_holding_its_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "rollout.yaml").write_text("actions: []\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "already has rollout.yaml" in capsys.readouterr().err
    assert (tmp_path / "rollout.yaml").read_text() == "actions: []\n"
