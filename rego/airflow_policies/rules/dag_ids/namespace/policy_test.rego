package airflow_policies.rules.dag_ids.namespace_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.dag_ids.namespace as rule

test_deny_takeover_of_another_teams_dag_id if {
	violations := rule.violation with input as fixtures.dag({"dag_id": "team_b__publish"}, [])
		with data.airflow_policies.registry as fixtures.registry
	[[v.message, v.details] | some v in violations] == [[
		concat("", [
			"dag_id 'team_b__publish' is outside the namespace of team 'team_a' (prefixes: team_a__); ",
			"it is in the namespace of team 'team_b'",
		]),
		{"dag_id": "team_b__publish", "owners": ["team_b"]},
	]]
}

test_deny_unowned_name if {
	violations := rule.violation with input as fixtures.dag({"dag_id": "etl"}, [])
		with data.airflow_policies.registry as fixtures.registry
	[v.details.owners | some v in violations] == [[]]
	every v in violations {
		endswith(v.message, "no team owns that name")
	}
}

test_deny_teamless_dag_in_a_team_namespace if {
	violations := rule.violation with input as fixtures.dag_of(null, {"dag_id": "team_a__x"}, [])
		with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [
		"dag_id 'team_a__x' of a bundle with no team is in the namespace of team 'team_a'",
	]
}

test_allow_own_namespace if {
	rule.violation == set() with input as fixtures.dag({"dag_id": "team_a__etl"}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_teamless_dag_outside_team_namespaces if {
	rule.violation == set() with input as fixtures.dag_of(null, {"dag_id": "maintenance"}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_unknown_team_is_left_to_unknown_team_rule if {
	rule.violation == set() with input as fixtures.dag_of("team_z", {"dag_id": "x"}, [])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_prefixed_dag_id if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_prefixed_dag_id
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_other_teams_dag_id if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_other_teams_dag_id
		with data.airflow_policies.registry as fixtures.registry
}
