package airflow_policies.rules.assets.foreign_consume_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.assets.foreign_consume as rule

test_deny_schedule_on_unshared_asset if {
	inp := fixtures.dag({"schedule_assets": [fixtures.asset("asset", "s3://team-b/private", "s3://team-b/private")]}, [])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[[v.task_id, v.message] | some v in violations] == [[
		null,
		"the DAG's schedule consumes asset 's3://team-b/private' (asset), which team 'team_a' may not consume",
	]]
}

test_deny_inlet_name_ref if {
	inp := fixtures.dag({}, [fixtures.task({"inlets": [fixtures.asset("name_ref", "team_b.orders", null)]})])
	[v.details | some v in rule.violation] == [{"asset": "team_b.orders", "kind": "name_ref"}] with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_global_and_shared_assets if {
	inp := fixtures.dag(
		{"schedule_assets": [
			fixtures.asset("asset", "s3://team-a/x", "s3://team-a/x"),
			fixtures.asset("uri_ref", null, "s3://reference-data/fx"),
			fixtures.asset("asset", "s3://team-b/public/prices", "s3://team-b/public/prices"),
		]},
		[fixtures.task({"inlets": [fixtures.asset("alias", "team_a.alias", null)]})],
	)
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_own_assets_for_null_team if {
	inp := fixtures.dag_of(null, {"schedule_assets": [fixtures.asset("asset", "s3://team-a/x", "s3://team-a/x")]}, [])
	count(rule.violation) == 1 with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_shared_asset if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_shared_asset
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_private_asset if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_private_asset
		with data.airflow_policies.registry as fixtures.registry
}
