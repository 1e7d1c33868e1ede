"""For policy authors: new-rule scaffolds a rule that passes its own CI; `test` catches samples drifting from
their rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_policies.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd, check=False)


def test_scaffolded_rule_passes_its_tests_and_a_drifting_sample_fails(tmp_path: Path):
    """new-rule + golden give a rule whose Rego tests, coverage, suite and golden inputs all pass beside the
    shipped library; a sample edited so it no longer does what its suite says makes `test` fail, naming it."""
    shutil.copytree(REPO / "rego", tmp_path / "rego")
    created = _cli("new-rule", "pools.max_slots", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    folder = tmp_path / "rego" / "airflow_policies" / "rules" / "pools" / "max_slots"
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "policy.rego",
        "policy_test.rego",
        "suite.yaml",
        "samples/allowed/few_slots.py",
        "samples/denied/many_slots.py",
    }
    assert _cli("golden", "--rego", "rego", "--rule", "pools.max_slots", cwd=tmp_path).returncode == 0
    tested = _cli("test", "--rule", "pools.max_slots", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "ok    pools.max_slots: 2 samples" in tested.stdout
    assert "every policy file covered >= 95.0%" in tested.stdout

    denied = folder / "samples" / "denied" / "many_slots.py"
    denied.write_text(denied.read_text().replace("pool_slots=16", "pool_slots=4"))
    drifted = _cli("test", "--rule", "pools.max_slots", cwd=tmp_path)
    assert drifted.returncode == 1
    assert "FAIL  pools.max_slots" in drifted.stdout
    assert "samples/denied/many_slots.py: 0 violations of pools.max_slots, the suite expects 1" in drifted.stdout


def test_new_rule_refuses_a_bad_id_or_an_existing_folder(tmp_path: Path):
    """A malformed id or an existing rule is a usage error, not an overwrite."""
    assert "must look like family.rule" in _cli("new-rule", "NoFamily", cwd=tmp_path).stderr
    assert _cli("new-rule", "pools.x", cwd=tmp_path).returncode == 0
    again = _cli("new-rule", "pools.x", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
