"""The checked-in JSON schemas are the ones the models generate."""

from __future__ import annotations

import json

import jsonschema
import pytest

from airflow_policies.cli import main
from airflow_policies.commands.schema import SCHEMAS
from tests.conftest import REPO


@pytest.mark.parametrize(("name", "model"), SCHEMAS.items())
def test_checked_in_schema_is_current(name, model):
    """Regenerate with `airflow-policies schema` when a model changes."""
    checked_in = json.loads((REPO / "schemas" / f"{name}.schema.json").read_text())
    assert checked_in == model.model_json_schema()


def test_schema_command_writes_valid_schemas(tmp_path):
    """`airflow-policies schema` writes one valid JSON schema per document."""
    assert main(["schema", "--output", str(tmp_path)]) == 0
    for path in tmp_path.glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "check-report.schema.json",
        "decision-log.schema.json",
        "decision.schema.json",
        "input-document.schema.json",
        "library-lock.schema.json",
        "policy-report.schema.json",
        "policy-repository.schema.json",
        "posture-report.schema.json",
        "rollout.schema.json",
        "runtime-refusal.schema.json",
    ]
