package airflow_policies.lib.rollout_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.lib.rollout

_input_at(point) := object.union(fixtures.dag({}, []), {"enforcement_point": point})

_overrides := [
	{"rule": "f.r", "action": "warn"},
	{"rule": "f.r", "action": "dryrun", "enforcement_points": ["dag_processor"]},
	{"rule": "f.r", "action": "deny", "teams": ["team_a"], "enforcement_points": ["check"]},
	{"rule": "f.other", "action": "dryrun"},
]

test_default_action_without_overrides if {
	object.get(rollout.actions, "f.r", "deny") == "deny" with input as _input_at("check")
}

test_rule_wide_override_applies_everywhere_else if {
	object.get(rollout.actions, "f.r", "deny") == "warn" with input as _input_at("worker")
		with data.airflow_policies.rollout.actions as _overrides
}

test_point_override_wins_over_rule_wide if {
	object.get(rollout.actions, "f.r", "deny") == "dryrun" with input as _input_at("dag_processor")
		with data.airflow_policies.rollout.actions as _overrides
}

test_team_and_point_override_wins_over_point_only if {
	object.get(rollout.actions, "f.r", "warn") == "deny" with input as _input_at("check")
		with data.airflow_policies.rollout.actions as _overrides
}

test_another_teams_override_does_not_apply if {
	inp := object.union(_input_at("check"), {"bundle": {"name": "b", "team": "team_b"}})
	object.get(rollout.actions, "f.r", "deny") == "warn" with input as inp
		with data.airflow_policies.rollout.actions as _overrides
}

test_strictest_wins_among_equally_specific if {
	overrides := [{"rule": "f.r", "action": "dryrun"}, {"rule": "f.r", "action": "warn"}]
	object.get(rollout.actions, "f.r", "deny") == "warn" with input as _input_at("check")
		with data.airflow_policies.rollout.actions as overrides
}

test_override_with_unknown_action_is_ignored if {
	overrides := [{"rule": "f.r", "action": "allow"}]
	object.get(rollout.actions, "f.r", "deny") == "deny" with input as _input_at("check")
		with data.airflow_policies.rollout.actions as overrides
}

_exception(fields) := object.union(
	{
		"id": "EXC-1", "rule": "f.r", "team": "team_a", "dag_id": "team_a__*", "task_id": "t*",
		"owner": "alice", "reason": "migration", "ticket": "https://t/1", "expires": "2026-12-31",
	},
	fields,
)

_violation(task_id) := {"rule": "f.r", "task_id": task_id}

_noon(date) := time.parse_rfc3339_ns(sprintf("%sT12:00:00Z", [date]))

test_unexpired_matching_exception_applies if {
	e := rollout.exception_for(_violation("t1"), rollout.live_exceptions) with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as [_exception({})]
		with time.now_ns as _noon("2026-12-31")
	e == {"id": "EXC-1", "owner": "alice", "reason": "migration", "ticket": "https://t/1", "expires": "2026-12-31"}
}

test_expired_exception_does_not_apply if {
	rollout.exception_for(_violation("t1"), rollout.live_exceptions) == null with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as [_exception({})]
		with time.now_ns as _noon("2027-01-01")
}

test_exception_scope_must_match if {
	every fields in [{"rule": "f.other"}, {"team": "team_b"}, {"dag_id": "team_b__*"}, {"task_id": "x*"}] {
		rollout.exception_for(_violation("t1"), rollout.live_exceptions) == null with input as fixtures.dag({}, [])
			with data.airflow_policies.rollout.exceptions as [_exception(fields)]
			with time.now_ns as _noon("2026-01-01")
	}
}

test_dag_level_violation_needs_a_task_glob_matching_nothing if {
	rollout.exception_for(_violation(null), rollout.live_exceptions) == null with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as [_exception({})]
		with time.now_ns as _noon("2026-01-01")
	rollout.exception_for(_violation(null), rollout.live_exceptions).id == "EXC-2" with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as [_exception({"id": "EXC-2", "task_id": "*"})]
		with time.now_ns as _noon("2026-01-01")
}

test_lowest_id_wins_among_matching_exceptions if {
	exceptions := [_exception({"id": "EXC-9"}), _exception({"id": "EXC-3"})]
	rollout.exception_for(_violation("t1"), rollout.live_exceptions).id == "EXC-3" with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as exceptions
		with time.now_ns as _noon("2026-01-01")
}

test_exception_without_a_parseable_expiry_never_applies if {
	rollout.exception_for(_violation("t1"), rollout.live_exceptions) == null with input as fixtures.dag({}, [])
		with data.airflow_policies.rollout.exceptions as [object.remove(_exception({}), ["expires"])]
		with time.now_ns as _noon("2026-01-01")
}
