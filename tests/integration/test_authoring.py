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
    assert "on the Wasm target (engine: wasm): PASS: " in tested.stdout

    denied = folder / "samples" / "denied" / "many_slots.py"
    denied.write_text(denied.read_text().replace("pool_slots=16", "pool_slots=4"))
    drifted = _cli("test", "--rule", "pools.max_slots", cwd=tmp_path)
    assert drifted.returncode == 1
    assert "FAIL  pools.max_slots" in drifted.stdout
    assert "samples/denied/many_slots.py: 0 violations of pools.max_slots, the suite expects 1" in drifted.stdout


def test_a_rule_that_decides_differently_on_the_wasm_target_fails_test(tmp_path: Path):
    """An author's rule whose tests pass on the OPA server but not on the Wasm target that engine: wasm runs
    (json.marshal keeps an object's keys in insertion order there, sorted on the server) fails `test`, naming
    the test; --no-wasm runs the server's evaluator alone."""
    shutil.copytree(REPO / "rego", tmp_path / "rego")
    assert _cli("new-rule", "pools.max_slots", cwd=tmp_path).returncode == 0
    assert _cli("golden", "--rego", "rego", "--rule", "pools.max_slots", cwd=tmp_path).returncode == 0
    folder = tmp_path / "rego" / "airflow_policies" / "rules" / "pools" / "max_slots"
    policy = folder / "policy.rego"
    policy.write_text(
        policy.read_text().replace(
            '{"slots": task.pool_slots}', '{"limits": json.marshal({"slots": task.pool_slots, "limit": 8})}'
        )
    )
    with (folder / "policy_test.rego").open("a") as tests:
        tests.write(
            "\ntest_details_name_the_limit if {\n"
            '\tviolations := rule.violation with input as fixtures.dag({}, [fixtures.task({"pool_slots": 9})])\n'
            "\t\twith data.airflow_policies.registry as fixtures.registry\n"
            "\tsome v in violations\n"
            '\tv.details.limits == `{"limit":8,"slots":9}`\n'
            "}\n"
        )

    on_server = _cli("test", "--no-samples", "--no-wasm", cwd=tmp_path)
    assert on_server.returncode == 0, on_server.stdout + on_server.stderr
    on_both = _cli("test", "--no-samples", cwd=tmp_path)
    assert on_both.returncode == 1, on_both.stdout + on_both.stderr
    assert "opa test --target wasm failed (the rules as engine: wasm runs them):" in on_both.stdout
    assert "data.airflow_policies.rules.pools.max_slots_test.test_details_name_the_limit: FAIL" in on_both.stdout


def test_new_rule_refuses_a_bad_id_or_an_existing_folder(tmp_path: Path):
    """A malformed id or an existing rule is a usage error, not an overwrite."""
    assert "must look like family.rule" in _cli("new-rule", "NoFamily", cwd=tmp_path).stderr
    assert _cli("new-rule", "pools.x", cwd=tmp_path).returncode == 0
    again = _cli("new-rule", "pools.x", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
