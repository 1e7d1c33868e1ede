package airflow_policies.rules.assets.produce_outside_namespace_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.assets.produce_outside_namespace as rule

test_deny_outlet_in_other_teams_namespace if {
	outlet := fixtures.asset("asset", "s3://team-b/orders", "s3://team-b/orders")
	inp := fixtures.dag({}, [fixtures.task({"outlets": [outlet]})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [concat("", [
		"task 't1' produces asset 's3://team-b/orders' (asset) outside the asset namespace of team 'team_a' ",
		"(s3://team-a/, team_a.)",
	])]
}

test_deny_producing_into_shared_prefix if {
	inp := fixtures.dag({}, [fixtures.task({"outlets": [fixtures.asset("uri_ref", null, "s3://team-b/public/prices")]})])
	count(rule.violation) == 1 with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_assets_and_aliases if {
	inp := fixtures.dag({}, [fixtures.task({"outlets": [
		fixtures.asset("asset", "s3://team-a/x", "s3://team-a/x"),
		fixtures.asset("alias", "team_a.daily", null),
	]})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_state_store_of_other_teams_asset if {
	store := fixtures.asset("state_store", "orders", "s3://team-b/public/orders")
	inp := fixtures.dag({}, [fixtures.task({"outlets": [store]})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [concat("", [
		"task 't1' uses the state store of asset 's3://team-b/public/orders', outside the asset namespace of ",
		"team 'team_a' (s3://team-a/, team_a.)",
	])]
}

test_allow_state_store_of_own_asset if {
	inp := fixtures.dag({}, [fixtures.task({"outlets": [fixtures.asset("state_store", "team_a.cursor", null)]})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_namespace if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_namespace
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_into_team_b if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_into_team_b
		with data.airflow_policies.registry as fixtures.registry
}
