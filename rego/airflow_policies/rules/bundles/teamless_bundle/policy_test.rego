package airflow_policies.rules.bundles.teamless_bundle_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.bundles.teamless_bundle as rule

test_deny_teamless_bundle if {
	rule.violation == {{
		"rule": "bundles.teamless_bundle",
		"title": "Bundle without a team",
		"task_id": null,
		"message": "bundle 'some_dags' has no team, so its DAGs cannot be checked against team boundaries",
		"remediation": concat(" ", [
			"Map the bundle to its team with team_name in [dag_processor] dag_bundle_config_list (multi_team on)",
			"or in [airflow_policies] bundle_teams, or set teamless_bundles to allow in the registry.",
		]),
		"details": {"bundle": "some_dags"},
		"action": "deny",
	}} with input as fixtures.dag_of(null, {}, []) with data.airflow_policies.registry as fixtures.registry
}

test_deny_when_registry_says_nothing if {
	count(rule.violation) == 1 with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as object.remove(fixtures.registry, ["teamless_bundles"])
}

test_allow_when_registry_allows_teamless_bundles if {
	rule.violation == set() with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as object.union(fixtures.registry, {"teamless_bundles": "allow"})
}

test_allow_bundle_with_team if {
	rule.violation == set() with input as fixtures.dag({}, []) with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_in_a_team_bundle if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_in_a_team_bundle
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_in_a_teamless_bundle if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_in_a_teamless_bundle
		with data.airflow_policies.registry as fixtures.registry
}
