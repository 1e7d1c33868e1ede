package airflow_policies.rules.cross_dag.foreign_target_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.cross_dag.foreign_target as rule

_ref(dag_id, kind) := {"dag_id": dag_id, "kind": kind, "verifiable": true, "raw": dag_id, "location": "trigger_dag_id"}

test_deny_trigger_of_other_teams_dag if {
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": [_ref("team_b__private", "trigger")]})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [
		"task 't1' triggers DAG 'team_b__private', which is outside the namespace of team 'team_a' and not shared with it",
	]
}

test_deny_sensor_on_other_teams_dag if {
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": [_ref("team_b__private", "external_sensor")]})])
	[v.details.kind | some v in rule.violation] == ["external_sensor"] with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_runtime_clear_and_state_read_of_other_teams_dag if {
	refs := [_ref("team_b__private", "clear"), _ref("team_b__private", "state")]
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": refs})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	{v.message | some v in violations} == {
		sprintf("task 't1' clears a run of DAG 'team_b__private', %s", [_outside]),
		sprintf("task 't1' reads the state of DAG 'team_b__private', %s", [_outside]),
	}
}

test_deny_channel_xcom_and_task_instance_use_of_other_teams_dag if {
	refs := [_ref("team_b__private", "xcom"), _ref("team_b__private", "task_instance"), _ref("team_a__etl", "xcom")]
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": refs})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	{v.message | some v in violations} == {
		sprintf("task 't1' uses the XComs of DAG 'team_b__private', %s", [_outside]),
		sprintf("task 't1' acts on a task instance of DAG 'team_b__private', %s", [_outside]),
	}
}

# A kind this rule does not know yet still denies: the message falls back to a neutral verb.
test_deny_reference_of_unknown_kind if {
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": [_ref("team_b__private", "future_kind")]})])
	[v.message | some v in rule.violation] == [sprintf("task 't1' references DAG 'team_b__private', %s", [_outside])]
		with input as inp with data.airflow_policies.registry as fixtures.registry
}

_outside := "which is outside the namespace of team 'team_a' and not shared with it"

test_allow_own_and_shared_targets if {
	refs := [_ref("team_a__other", "trigger"), _ref("team_b__publish", "external_sensor"), _ref("team_a__etl", "state")]
	inp := fixtures.dag({}, [fixtures.task({"dag_refs": refs})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_shared_target if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_shared_target
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_private_target if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_private_target
		with data.airflow_policies.registry as fixtures.registry
}
