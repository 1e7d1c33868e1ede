package airflow_policies.rules.tags.spoofed_team_tag_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.tags.spoofed_team_tag as rule

test_deny_other_team_tag if {
	violations := rule.violation with input as fixtures.dag({"tags": ["etl", "team:team_b"]}, [])
		with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [
		"tag 'team:team_b' claims a team, but the DAG belongs to team 'team_a' (from its bundle 'team_a_dags')",
	]
}

test_deny_any_team_tag_without_team if {
	count(rule.violation) == 1 with input as fixtures.dag_of(null, {"tags": ["team:team_a"]}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_team_tag if {
	rule.violation == set() with input as fixtures.dag({"tags": ["team:team_a", "etl"]}, [])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_plain_tags if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_plain_tags
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_claims_team_b if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_claims_team_b
		with data.airflow_policies.registry as fixtures.registry
}
