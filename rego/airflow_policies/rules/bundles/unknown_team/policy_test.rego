package airflow_policies.rules.bundles.unknown_team_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.bundles.unknown_team as rule

test_deny_unregistered_team if {
	violations := rule.violation with input as fixtures.dag_of("team_z", {}, [])
		with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == ["team 'team_z' of bundle 'some_dags' is not in the team registry"]
}

test_allow_registered_team if {
	rule.violation == set() with input as fixtures.dag({}, []) with data.airflow_policies.registry as fixtures.registry
}

test_allow_null_team_is_left_to_teamless_bundle if {
	rule.violation == set() with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_registered_team if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_registered_team
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_unregistered_team if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_unregistered_team
		with data.airflow_policies.registry as fixtures.registry
}
