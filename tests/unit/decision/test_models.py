"""Validation of OPA's answer: anything but a well-formed decision is an error, never an allow."""

from __future__ import annotations

import pytest

from airflow_policies.decision.models import parse_decision
from airflow_policies.exceptions import MalformedDecisionError

VIOLATION = {"rule": "connections.foreign_connection", "task_id": "t", "message": "uses team_b_api", "action": "deny"}


def _result(**decision):
    return {"result": {"violations": [], "mutations": [], "policy_revision": "sha256:x", **decision}}


class TestParseDecision:
    def test_valid_decision(self):
        """A well-formed decision is parsed with its violations and mutations."""
        mutation = {"rule": "r.q", "task_ids": ["t"], "field": "queue", "value": "q", "action": "deny"}
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
            (
                {"violations": [{**VIOLATION, "action": "allow"}], "mutations": []},
                "violations.0.action: Input should be",
            ),
            ({"violations": [{**VIOLATION, "action": None}], "mutations": []}, "violations.0.action: Input should be"),
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
            {"rule": "r", "task_ids": ["t"], "field": "run_as_user", "value": "root", "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "executor_config", "value": {}, "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "queue", "value": "", "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "queue", "value": 3, "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "retries", "value": -1, "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "retries", "value": True, "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "execution_timeout", "value": 0, "action": "deny"},
            {"rule": "r", "task_ids": [None], "field": "tags", "value": ["ok", 1], "action": "deny"},
            {"rule": "r", "task_ids": ["t"], "field": "tags", "value": ["x"], "action": "deny"},
            {"rule": "r", "task_ids": [None], "field": "queue", "value": "q", "action": "deny"},
            {"rule": "r", "task_ids": ["t", None], "field": "queue", "value": "q", "action": "deny"},
            {"rule": "r", "task_ids": ["t", "t"], "field": "queue", "value": "q", "action": "deny"},
            {"rule": "r", "task_ids": [], "field": "queue", "value": "q", "action": "deny"},
        ],
    )
    def test_mutations_outside_the_allowlist_or_of_the_wrong_type_are_refused(self, mutation):
        """Only allowlisted fields, with values of the right type and level, may be mutated."""
        with pytest.raises(MalformedDecisionError):
            parse_decision(_result(mutations=[mutation]), source="OPA")

    def test_conflicting_mutations_are_refused(self):
        """Two rules setting one field to different values make the decision unusable."""
        mutations = [
            {"rule": "a", "task_ids": ["t"], "field": "queue", "value": "q1", "action": "deny"},
            {"rule": "b", "task_ids": ["t"], "field": "queue", "value": "q2", "action": "deny"},
        ]
        with pytest.raises(MalformedDecisionError, match="different values"):
            parse_decision(_result(mutations=mutations), source="OPA")

    def test_agreeing_mutations_are_accepted(self):
        """Two rules setting the same value do not conflict."""
        mutations = [
            {"rule": "a", "task_ids": ["t"], "field": "queue", "value": "q1", "action": "deny"},
            {"rule": "b", "task_ids": ["t"], "field": "queue", "value": "q1", "action": "deny"},
        ]
        assert len(parse_decision(_result(mutations=mutations), source="OPA").mutations) == 2


class TestEffects:
    def _decision(self, *violations, mutations=()):
        return parse_decision(_result(violations=list(violations), mutations=list(mutations)), source="OPA")

    def test_only_an_unexcepted_deny_rejects(self):
        """warn, dryrun and excepted violations admit the DAG; a plain deny rejects it."""
        exception = {"id": "E-1", "owner": "o", "reason": "r", "ticket": "t", "expires": "2030-01-01"}
        admitted = self._decision(
            {**VIOLATION, "action": "warn"},
            {**VIOLATION, "action": "dryrun"},
            {**VIOLATION, "action": "deny", "exception": exception},
        )
        assert not admitted.rejected
        assert [v.effect for v in admitted.violations] == ["warn", "dryrun", "excepted"]
        assert self._decision(VIOLATION).rejected

    def test_dryrun_mutations_are_not_applied(self):
        """A dryrun mutation is reported but not among the applied ones."""
        mutations = [
            {"rule": "a", "task_ids": ["t"], "field": "queue", "value": "q1", "action": "dryrun"},
            {"rule": "b", "task_ids": ["t"], "field": "pool", "value": "p1", "action": "warn"},
        ]
        decision = self._decision(mutations=mutations)
        assert [m.rule for m in decision.applied_mutations] == ["b"]
