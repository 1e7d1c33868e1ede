"""The library a policy repository builds on: its files, their digest, and the copies put on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import (
    LOCK_FILE,
    LibraryRelease,
    cached_library,
    library_digest,
    library_files,
    read_lock,
    vendor_library,
)
from tests.conftest import REPO


def _library(root: Path) -> Path:
    """A tiny library: main, a lib package with its test, the fixtures, and one rule with a test and a sample."""
    files = {
        "airflow_policies/main/main.rego": "package airflow_policies.main\n",
        "airflow_policies/main/main_test.rego": "package airflow_policies.main_test\n",
        "airflow_policies/lib/result/result.rego": "package airflow_policies.lib.result\n",
        "airflow_policies/lib/fixtures/fixtures_test.rego": "package airflow_policies.lib.fixtures_test\n",
        "airflow_policies/rules/pools/cap/policy.rego": "package airflow_policies.rules.pools.cap\n",
        "airflow_policies/rules/pools/cap/policy_test.rego": "package airflow_policies.rules.pools.cap_test\n",
        "airflow_policies/rules/pools/cap/samples/allowed/ok.py": "print('a sample')\n",
        "airflow_policies/rules/pools/cap/suite.yaml": "cases: []\n",
    }
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    return root


def _release(rego: Path, version: str = "1.0.0") -> LibraryRelease:
    return LibraryRelease(version=version, digest=library_digest(library_files(rego)), rego=rego)


class TestLibraryFiles:
    def test_the_rules_and_the_fixtures_without_the_librarys_tests(self, tmp_path: Path):
        """What a repository builds on: every rule file, the fixtures its tests import, nothing else."""
        assert sorted(library_files(_library(tmp_path))) == [
            "airflow_policies/lib/fixtures/fixtures_test.rego",
            "airflow_policies/lib/result/result.rego",
            "airflow_policies/main/main.rego",
            "airflow_policies/rules/pools/cap/policy.rego",
        ]

    def test_the_shipped_library_has_main_lib_rules_and_fixtures(self):
        files = library_files(REPO / "rego")
        assert "airflow_policies/main/main.rego" in files
        assert "airflow_policies/lib/fixtures/fixtures_test.rego" in files
        assert "airflow_policies/rules/routing/team_queue/policy.rego" in files
        assert not [name for name in files if name.endswith("policy_test.rego")]

    def test_a_folder_without_the_library_is_named(self, tmp_path: Path):
        with pytest.raises(ConfigurationError, match="holds no airflow-policies rule library"):
            library_files(tmp_path)

    def test_the_digest_changes_with_any_rule_file_and_not_with_a_test(self, tmp_path: Path):
        rego = _library(tmp_path)
        before = library_digest(library_files(rego))
        assert before.startswith("sha256:") and len(before) == 71
        (rego / "airflow_policies/main/main_test.rego").write_text("package airflow_policies.main_test\n# edited\n")
        assert library_digest(library_files(rego)) == before
        (rego / "airflow_policies/main/main.rego").write_text("package airflow_policies.main\n# edited\n")
        assert library_digest(library_files(rego)) != before


class TestCachedLibrary:
    def test_written_once_under_its_version_and_digest(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))
        release = _release(_library(tmp_path / "src"))
        folder = cached_library(release)
        assert folder.name == f"1.0.0-{release.digest.removeprefix('sha256:')[:16]}"
        assert library_files(folder) == library_files(release.rego)
        assert read_lock(folder).digest == release.digest
        main = folder / "airflow_policies/main/main.rego"
        stamp = main.stat().st_mtime_ns
        assert cached_library(release) == folder
        assert main.stat().st_mtime_ns == stamp

    def test_an_edited_copy_is_written_again(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """The cache is checked against the release on every use: an edited copy never reaches a test run."""
        monkeypatch.setenv("AIRFLOW_POLICIES_CACHE_DIR", str(tmp_path / "cache"))
        release = _release(_library(tmp_path / "src"))
        folder = cached_library(release)
        (folder / "airflow_policies/main/main.rego").write_text("package airflow_policies.main\nallow := true\n")
        assert cached_library(release) == folder
        assert (folder / "airflow_policies/main/main.rego").read_text() == "package airflow_policies.main\n"


class TestVendorLibrary:
    def test_a_copy_with_its_lock(self, tmp_path: Path):
        release = _release(_library(tmp_path / "src"))
        vendor_library(tmp_path / "vendor", release)
        assert library_files(tmp_path / "vendor") == library_files(release.rego)
        lock = read_lock(tmp_path / "vendor")
        assert (lock.version, lock.digest) == ("1.0.0", release.digest)

    def test_an_earlier_copy_is_replaced_with_no_file_of_it_left(self, tmp_path: Path):
        old_source = _library(tmp_path / "old")
        (old_source / "airflow_policies/rules/pools/gone").mkdir(parents=True)
        (old_source / "airflow_policies/rules/pools/gone/policy.rego").write_text("package x\n")
        vendor_library(tmp_path / "vendor", _release(old_source, "1.0.0"))
        new = _release(_library(tmp_path / "new"), "2.0.0")
        vendor_library(tmp_path / "vendor", new)
        assert library_files(tmp_path / "vendor") == library_files(new.rego)
        assert read_lock(tmp_path / "vendor").version == "2.0.0"

    def test_a_folder_with_other_files_is_refused_untouched(self, tmp_path: Path):
        target = tmp_path / "vendor"
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        with pytest.raises(ConfigurationError, match="not empty and is not a copy of the library"):
            vendor_library(target, _release(_library(tmp_path / "src")))
        assert [p.name for p in target.iterdir()] == ["notes.txt"]

    def test_a_malformed_lock_is_named(self, tmp_path: Path):
        (tmp_path / LOCK_FILE).write_text("version: 1.0.0\ndigest: md5:abc\n")
        with pytest.raises(ConfigurationError, match=r"library lock .* is invalid: digest"):
            read_lock(tmp_path)
