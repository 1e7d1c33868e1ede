"""Every rule's sample DAGs, parsed by Airflow and decided by the real OPA, do what their suite says; the
golden inputs the Rego tests use are exactly what the runtime builds from those samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_policies._config import load_settings
from airflow_policies._paths import opa_binary
from airflow_policies.decision.opa_client import OpaEvaluator
from airflow_policies.local.opa_server import local_opa
from airflow_policies.policy.samples import SAMPLE_EXECUTORS, fixture_registry, sample_document, suites, verify_case
from tests.conftest import REPO

RULES = REPO / "rego" / "airflow_policies" / "rules"
CASES = [(samples, case) for samples in suites(RULES) for case in samples.suite.cases]


@pytest.fixture(scope="module")
def evaluate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaEvaluator]:
    """A real OPA with the Rego tests' own fixture registry, so samples and golden tests judge alike."""
    registry = tmp_path_factory.mktemp("registry") / "registry.json"
    registry.write_text(json.dumps(fixture_registry(REPO / "rego")))
    with local_opa(registry) as url:
        yield OpaEvaluator(load_settings(environ={}, opa_url=url)).evaluate


def test_every_rule_has_an_allowed_and_a_denied_or_mutated_sample():
    """Each rule folder ships samples of both sides."""
    folders = sorted(p.parent for p in RULES.glob("*/*/policy.rego"))
    covered = {samples.folder: {case.kind for case in samples.suite.cases} for samples in suites(RULES)}
    for folder in folders:
        kinds = covered.get(folder, set())
        assert "allowed" in kinds and kinds & {"denied", "mutated"}, folder


@pytest.mark.parametrize(("samples", "case"), CASES, ids=[f"{s.rule_id}:{c.golden_key}" for s, c in CASES])
def test_sample_matches_its_suite(samples, case, evaluate):
    """The sample, parsed as the runtime parses it, gets the violations, mutations and message its suite states."""
    document = sample_document(samples.folder, case)
    assert verify_case(samples.rule_id, case, document, evaluate) == []


def test_samples_run_in_the_rego_tests_deployment():
    """The executors the samples are parsed with are those the Rego tests' fixture DAGs carry."""
    query = "data.airflow_policies.lib.fixtures_test.executors"
    command = [str(opa_binary()), "eval", "--format", "json", "--data", str(REPO / "rego"), query]
    evaluated = subprocess.run(command, capture_output=True, text=True, check=True)
    fixture = json.loads(evaluated.stdout)["result"][0]["expressions"][0]["value"]
    assert fixture == [executor.model_dump(mode="json") for executor in SAMPLE_EXECUTORS]


def _golden(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_policies.cli", "golden", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_golden_inputs_are_current():
    """The checked-in golden files are what the samples produce today (regenerate: airflow-policies golden)."""
    result = _golden("--check", "--rego", str(REPO / "rego"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "0 golden inputs stale" in result.stdout


def test_a_stale_golden_file_fails(tmp_path: Path):
    """A golden input that no longer matches its sample fails the check, naming the file."""
    rego = tmp_path / "rego"
    shutil.copytree(REPO / "rego", rego)
    golden = (
        rego
        / "airflow_policies"
        / "rules"
        / "pools"
        / "foreign_pool"
        / "samples"
        / "golden"
        / "denied_team_b_pool.json"
    )
    golden.write_text(golden.read_text().replace('"team_b_pool"', '"team_a_pool"'))
    # One rule's samples are enough to see the check fail (test_golden_inputs_are_current reads them all).
    result = _golden("--check", "--rego", str(rego), "--rule", "pools.foreign_pool")
    assert result.returncode == 1
    assert "stale golden inputs" in result.stderr and str(golden) in result.stderr
