"""Validation of OPA's answer: anything but a well-formed decision is an error, never an allow."""

from __future__ import annotations

import pytest

from airflow_policies.decision import parse_decision
from airflow_policies.exceptions import MalformedDecisionError

VIOLATION = {"rule": "connections.foreign_connection", "task_id": "t", "message": "uses team_b_api"}


def _result(**decision):
    return {"result": {"violations": [], "mutations": [], **decision}}


class TestParseDecision:
    def test_valid_decision(self):
        """A well-formed decision is parsed with its violations and mutations."""
        mutation = {"rule": "r.q", "task_id": "t", "field": "queue", "value": "q"}
        decision = parse_decision(_result(violations=[VIOLATION], mutations=[mutation]), source="OPA")
        assert decision.rejected
        assert decision.violations[0].rule == "connections.foreign_connection"
        assert decision.mutations[0].value == "q"

    def test_undefined_decision_is_an_error(self):
        """OPA answers {} when the entrypoint is undefined (library not loaded): never an allow."""
        with pytest.raises(MalformedDecisionError, match="returned no decision"):
            parse_decision({}, source="OPA at x")

    @pytest.mark.parametrize(
        ("result", "fragment"),
        [
            ({"violations": []}, "mutations: Field required"),
            ({"violations": "none", "mutations": []}, "violations: Input should be a valid list"),
            ({"violations": [{"rule": "r"}], "mutations": []}, "violations.0.message: Field required"),
            ({"violations": [], "mutations": [], "allow": True}, "allow: Extra inputs are not permitted"),
            (True, "Input should be a valid dictionary"),
            (None, "Input should be a valid dictionary"),
        ],
    )
    def test_wrong_shapes_are_errors_naming_the_bad_field(self, result, fragment):
        """Every shape error says which field is wrong."""
        with pytest.raises(MalformedDecisionError, match="malformed decision") as error:
            parse_decision({"result": result}, source="OPA")
        assert fragment in str(error.value)

    @pytest.mark.parametrize(
        "mutation",
        [
            {"rule": "r", "task_id": "t", "field": "run_as_user", "value": "root"},
            {"rule": "r", "task_id": "t", "field": "executor_config", "value": {}},
            {"rule": "r", "task_id": "t", "field": "queue", "value": ""},
            {"rule": "r", "task_id": "t", "field": "queue", "value": 3},
            {"rule": "r", "task_id": "t", "field": "retries", "value": -1},
            {"rule": "r", "task_id": "t", "field": "retries", "value": True},
            {"rule": "r", "task_id": "t", "field": "execution_timeout", "value": 0},
            {"rule": "r", "task_id": None, "field": "tags", "value": ["ok", 1]},
            {"rule": "r", "task_id": "t", "field": "tags", "value": ["x"]},
            {"rule": "r", "task_id": None, "field": "queue", "value": "q"},
        ],
    )
    def test_mutations_outside_the_allowlist_or_of_the_wrong_type_are_refused(self, mutation):
        """Only allowlisted fields, with values of the right type and level, may be mutated."""
        with pytest.raises(MalformedDecisionError):
            parse_decision(_result(mutations=[mutation]), source="OPA")

    def test_conflicting_mutations_are_refused(self):
        """Two rules setting one field to different values make the decision unusable."""
        mutations = [
            {"rule": "a", "task_id": "t", "field": "queue", "value": "q1"},
            {"rule": "b", "task_id": "t", "field": "queue", "value": "q2"},
        ]
        with pytest.raises(MalformedDecisionError, match="different values"):
            parse_decision(_result(mutations=mutations), source="OPA")

    def test_agreeing_mutations_are_accepted(self):
        """Two rules setting the same value do not conflict."""
        mutations = [
            {"rule": "a", "task_id": "t", "field": "queue", "value": "q1"},
            {"rule": "b", "task_id": "t", "field": "queue", "value": "q1"},
        ]
        assert len(parse_decision(_result(mutations=mutations), source="OPA").mutations) == 2
