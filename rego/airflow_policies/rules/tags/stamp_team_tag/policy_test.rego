package airflow_policies.rules.tags.stamp_team_tag_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.tags.stamp_team_tag as rule

test_mutate_adds_team_tag if {
	rule.mutation == {{
		"rule": "tags.stamp_team_tag",
		"task_id": null,
		"field": "tags",
		"value": [
			"etl",
			"team:team_a",
		],
		"action": "deny",
	}}
		with input as fixtures.dag({"tags": ["etl"]}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_when_present if {
	rule.mutation == set() with input as fixtures.dag({"tags": ["team:team_a"]}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_known_team if {
	rule.mutation == set() with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as fixtures.registry
	rule.mutation == set() with input as fixtures.dag_of("team_z", {}, [])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_already_stamped if {
	count(rule.mutation) == 0 with input as rule.samples.golden.allowed_already_stamped
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_unstamped if {
	count(rule.mutation) == 1 with input as rule.samples.golden.mutated_unstamped
		with data.airflow_policies.registry as fixtures.registry
}
